"""Prediction → booking: alerts and due services become slots that really have room."""

from __future__ import annotations

from typing import Any

from bookings_helpers import (
    World,
    world_fixture,  # noqa: F401 - provides the "world" fixture
)

SUGGESTIONS = "/api/bookings/suggestions"
ALL_WEEK = {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _customer_with_needs(world: World) -> tuple[Any, str]:
    user = world.users.create("customer")
    vehicle = world.vehicle(
        user.id,
        due_services=[
            {
                "code": "oil_change",
                "name": "Oil",
                "due_date": None,
                "due_km": 60000,
                "urgency": "overdue",
            }
        ],
    )
    world.db.collection("alerts").document(f"{vehicle}_brakes").set(
        {
            "vehicle_id": vehicle,
            "owner_id": user.id,
            "status": "open",
            "severity": "critical",
            "service_code": "brake_inspection",
            "title": "Brake wear",
            "rule_id": "brakes",
        }
    )
    world.db.collection("alerts").document(f"{vehicle}_minor").set(
        {
            "vehicle_id": vehicle,
            "owner_id": user.id,
            "status": "resolved",
            "severity": "high",
            "service_code": "battery_check",
            "title": "old",
            "rule_id": "minor",
        }
    )
    return user, vehicle


def test_alert_and_due_service_get_slots_nearest_center_first(world: World) -> None:
    far = world.create_center(
        name="Munich", opening_hours=ALL_WEEK, location={"lat": 48.14, "lng": 11.58}
    )
    near = world.create_center(
        name="Berlin", opening_hours=ALL_WEEK, location={"lat": 52.52, "lng": 13.40}
    )
    user, vehicle = _customer_with_needs(world)
    response = world.client.get(f"{SUGGESTIONS}?lat=52.5&lng=13.4", headers=user.headers)
    assert response.status_code == 200
    items = response.get_json()["suggestions"]
    # The critical alert comes first; the resolved battery alert suggests nothing.
    assert [i["service_code"] for i in items] == ["brake_inspection"] * 2 + ["oil_change"] * 2
    assert items[0]["reason"]["kind"] == "alert"
    assert items[2]["reason"] == {
        "kind": "due_service",
        "urgency": "overdue",
        "due_date": None,
        "due_km": 60000,
    }
    assert [i["center"]["id"] for i in items[:2]] == [near["id"], far["id"]]
    assert items[0]["center"]["distance_km"] < items[1]["center"]["distance_km"]
    assert all(i["vehicle_id"] == vehicle and i["remaining"] > 0 for i in items)


def test_without_location_the_soonest_slots_come_first(world: World) -> None:
    world.create_center(opening_hours=ALL_WEEK)
    user, _ = _customer_with_needs(world)
    items = world.client.get(SUGGESTIONS, headers=user.headers).get_json()["suggestions"]
    brakes = [i["start"] for i in items if i["service_code"] == "brake_inspection"]
    assert len(brakes) == 3
    assert brakes == sorted(brakes)


def test_accepting_a_suggestion_books_it_and_it_is_not_suggested_again(world: World) -> None:
    center = world.create_center(opening_hours=ALL_WEEK)
    user, vehicle = _customer_with_needs(world)
    first = world.client.get(SUGGESTIONS, headers=user.headers).get_json()["suggestions"][0]
    accepted = world.client.post(f"{SUGGESTIONS}/{first['id']}/accept", headers=user.headers)
    assert accepted.status_code == 201, accepted.get_json()
    booking = accepted.get_json()
    assert (booking["vehicle_id"], booking["center_id"], booking["service_type"]) == (
        vehicle,
        center["id"],
        "brake_inspection",
    )
    assert booking["start"] == first["start"]
    assert booking["source"] == "suggestion"
    again = world.client.get(SUGGESTIONS, headers=user.headers).get_json()["suggestions"]
    assert {i["service_code"] for i in again} == {"oil_change"}
    world.assert_capacity_invariant(center["id"], bays=3)


def test_accepting_a_suggestion_whose_slot_filled_up_is_409(world: World) -> None:
    center = world.create_center(opening_hours=ALL_WEEK, bays=1)
    user, _ = _customer_with_needs(world)
    suggestion = world.client.get(SUGGESTIONS, headers=user.headers).get_json()["suggestions"][0]
    other, other_vehicle = world.customer()
    taken = world.book(other, other_vehicle, center["id"], suggestion["start"], "brake_inspection")
    assert taken.status_code == 201
    stale = world.client.post(f"{SUGGESTIONS}/{suggestion['id']}/accept", headers=user.headers)
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "suggestion_stale"


def test_another_users_or_a_forged_suggestion_is_404(world: World) -> None:
    world.create_center(opening_hours=ALL_WEEK)
    user, _ = _customer_with_needs(world)
    suggestion = world.client.get(SUGGESTIONS, headers=user.headers).get_json()["suggestions"][0]
    stranger = world.users.create("customer")
    path = f"{SUGGESTIONS}/{suggestion['id']}/accept"
    assert world.client.post(path, headers=stranger.headers).status_code == 404
    forged = world.client.post(f"{SUGGESTIONS}/not-a-suggestion/accept", headers=user.headers)
    assert forged.status_code == 404


def test_half_a_location_is_422(world: World) -> None:
    user = world.users.create("customer")
    assert world.client.get(f"{SUGGESTIONS}?lat=52.5", headers=user.headers).status_code == 422
