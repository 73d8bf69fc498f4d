"""Suggestions for a predicted failure: slots before the alert's predicted date, soonest
first, saying why (the alert document is the contract: docs/data-model.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from bookings_helpers import (
    World,
    world_fixture,  # noqa: F401 - provides the "world" fixture
)

SUGGESTIONS = "/api/bookings/suggestions"
ALL_WEEK = {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
BATTERY = [{"code": "battery_check", "name": "Battery test", "duration_minutes": 60}]


def predicted_alert(world: World, predicted: date | str, **extra: Any) -> tuple[Any, str]:
    user = world.users.create("customer")
    vehicle = world.vehicle(user.id)
    world.db.collection("alerts").document(f"{vehicle}_trend.battery_resting_voltage").set(
        {
            "vehicle_id": vehicle,
            "owner_id": user.id,
            "status": "open",
            "severity": "high",
            "service_code": "battery_check",
            "rule_id": "trend.battery_resting_voltage",
            "title": "12 V battery resting voltage is falling toward 12 V",
            "recommended_action": "Book a battery test by ...",
            "predicted_failure_date": str(predicted),
            "book_by": str(predicted),
            **extra,
        }
    )
    return user, vehicle


def local_day(item: dict[str, Any]) -> date:
    return datetime.fromisoformat(item["start"]).date()


def test_slots_come_before_the_predicted_date_soonest_first_with_the_reason(
    world: World,
) -> None:
    world.create_center(opening_hours=ALL_WEEK, services=BATTERY)
    predicted = datetime.now(UTC).date() + timedelta(days=4)
    user, vehicle = predicted_alert(world, predicted)
    response = world.client.get(SUGGESTIONS, headers=user.headers)
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["suggestions"]
    assert len(items) == 3
    assert all(local_day(i) < predicted for i in items)
    assert [i["start"] for i in items] == sorted(i["start"] for i in items)
    first = items[0]
    assert first["vehicle_id"] == vehicle and first["service_code"] == "battery_check"
    assert first["book_before"] == predicted.isoformat()
    assert first["before_predicted_date"] is True
    assert first["reason"]["predicted_failure_date"] == predicted.isoformat()
    assert first["reason"]["why"] == "Book a battery test by ..."


def test_with_a_location_a_deadline_still_orders_the_slots_soonest_first(world: World) -> None:
    near = world.create_center(
        name="Near", opening_hours=ALL_WEEK, services=BATTERY, location={"lat": 52.52, "lng": 13.4}
    )
    far = world.create_center(
        name="Far", opening_hours=ALL_WEEK, services=BATTERY, location={"lat": 48.1, "lng": 11.6}
    )
    predicted = datetime.now(UTC).date() + timedelta(days=6)
    user, vehicle = predicted_alert(world, predicted)
    first_near = world.client.get(
        f"{SUGGESTIONS}?lat=52.5&lng=13.4", headers=user.headers
    ).get_json()["suggestions"]
    assert {i["center"]["id"] for i in first_near} == {near["id"], far["id"]}
    starts = [i["start"] for i in first_near]
    assert starts == sorted(starts)
    assert all(local_day(i) < predicted for i in first_near)
    assert vehicle


def test_without_room_before_the_date_the_soonest_later_slots_are_marked(world: World) -> None:
    world.create_center(opening_hours=ALL_WEEK, services=BATTERY)
    today = datetime.now(UTC).date()
    user, _ = predicted_alert(world, today - timedelta(days=1))  # already due
    items = world.client.get(SUGGESTIONS, headers=user.headers).get_json()["suggestions"]
    assert items and all(i["before_predicted_date"] is False for i in items)
    assert [i["start"] for i in items] == sorted(i["start"] for i in items)


def test_an_alert_without_a_valid_predicted_date_is_an_ordinary_need(world: World) -> None:
    world.create_center(opening_hours=ALL_WEEK, services=BATTERY)
    user, _ = predicted_alert(world, "not-a-date")
    items = world.client.get(SUGGESTIONS, headers=user.headers).get_json()["suggestions"]
    assert items and all("book_before" not in i for i in items)
    assert "predicted_failure_date" not in items[0]["reason"]
