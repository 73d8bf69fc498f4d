"""The booking lifecycle through HTTP: every action from every state, who may act, scope,
mechanic assignment, atomic rescheduling, and what completion writes."""

from __future__ import annotations

from typing import Any

import pytest
from bookings_helpers import (
    World,
    berlin_start,
    next_weekday,
    world_fixture,  # noqa: F401 - provides the "world" fixture
)

ACTIONS = ("confirm", "start", "complete", "cancel", "no-show")
COMPLETE_BODY = {
    "mileage_km": 61_000,
    "work_done": "Oil and filter",
    "cost": {"amount": 89.5, "currency": "EUR"},
}
# How to reach each state from "requested", and which actions are legal there.
PATHS = {
    "requested": [],
    "confirmed": ["confirm"],
    "in_progress": ["confirm", "start"],
    "completed": ["confirm", "start", "complete"],
    "cancelled": ["cancel"],
    "no_show": ["confirm", "no-show"],
}
LEGAL = {
    ("requested", "confirm"): "confirmed",
    ("requested", "cancel"): "cancelled",
    ("confirmed", "start"): "in_progress",
    ("confirmed", "cancel"): "cancelled",
    ("confirmed", "no-show"): "no_show",
    ("in_progress", "complete"): "completed",
}


def _body(action: str) -> Any:
    return COMPLETE_BODY if action == "complete" else None


def _booking_in(world: World, center: dict[str, Any], staff: Any, state: str, hour: int = 9) -> str:
    """A booking in ``state``, with the clock at its slot (20 minutes past the start) so that
    every action is on time; see test_bookings_timing.py for the times themselves."""
    world.back_to_now()
    user, vehicle = world.customer()
    start = berlin_start(next_weekday(0), hour)
    response = world.book(user, vehicle, center["id"], start)
    assert response.status_code == 201, response.get_json()
    booking_id = str(response.get_json()["id"])
    world.arrive(start)
    for step in PATHS[state]:
        assert world.act(staff, booking_id, step, _body(step)).status_code == 200
    return booking_id


@pytest.mark.parametrize("state", list(PATHS))
def test_every_action_from_every_state_is_applied_or_409(world: World, state: str) -> None:
    center = world.create_center(bays=50)
    staff = world.users.create("service_center", service_center_id=center["id"])
    for action in ACTIONS:
        booking_id = _booking_in(world, center, staff, state)
        response = world.act(staff, booking_id, action, _body(action))
        expected = LEGAL.get((state, action))
        if expected is None:
            assert response.status_code == 409, (state, action, response.get_json())
            assert response.get_json()["error"]["code"] == "illegal_transition"
        else:
            assert response.status_code == 200, (state, action, response.get_json())
            body = response.get_json()
            assert body["status"] == expected
            last = body["history"][-1]
            assert (last["actor_id"], last["from_state"], last["to_state"]) == (
                staff.id,
                state,
                expected,
            )
            assert last["at"]
    world.assert_capacity_invariant(center["id"], bays=50)


@pytest.mark.parametrize(
    ("role", "action", "expected"),
    [
        ("customer", "confirm", 403),
        ("customer", "start", 403),
        ("customer", "no-show", 403),
        ("customer", "cancel", 200),
        ("viewer", "confirm", 403),
        ("viewer", "cancel", 403),
        ("mechanic", "confirm", 403),
        ("mechanic", "cancel", 403),
        ("unassigned_mechanic", "start", 403),
        ("mechanic", "start", 200),
        ("service_center", "confirm", 200),
        ("admin", "no-show", 200),
        ("other_center_staff", "confirm", 404),
        ("other_customer", "cancel", 404),
    ],
)
def test_role_matrix_on_a_confirmed_booking(
    world: World, role: str, action: str, expected: int
) -> None:
    center = world.create_center(bays=5)
    other_center = world.create_center(name="Elsewhere")
    staff = world.users.create("service_center", service_center_id=center["id"])
    mechanic = world.users.create("mechanic", service_center_id=center["id"])
    world.client.patch(
        f"/api/bookings/centers/{center['id']}",
        json={"mechanic_ids": [mechanic.id]},
        headers=world.admin.headers,
    )
    owner, vehicle = world.customer()
    start = berlin_start(next_weekday(0), 9)
    booking = world.book(owner, vehicle, center["id"], start).get_json()
    world.arrive(start)
    if action != "confirm":
        assert world.act(staff, booking["id"], "confirm").status_code == 200
    assign = world.act(staff, booking["id"], "assign", {"mechanic_id": mechanic.id})
    assert assign.status_code == 200

    actors = {
        "customer": owner,
        "other_customer": world.users.create("customer"),
        "viewer": world.users.create("viewer"),
        "mechanic": mechanic,
        "unassigned_mechanic": world.users.create("mechanic", service_center_id=center["id"]),
        "service_center": staff,
        "admin": world.admin,
        "other_center_staff": world.users.create(
            "service_center", service_center_id=other_center["id"]
        ),
    }
    response = world.act(actors[role], booking["id"], action, _body(action))
    assert response.status_code == expected, response.get_json()


def test_assign_requires_a_mechanic_of_the_center(world: World) -> None:
    center = world.create_center()
    staff = world.users.create("service_center", service_center_id=center["id"])
    booking_id = _booking_in(world, center, staff, "requested")
    stranger = world.users.create("mechanic")
    response = world.act(staff, booking_id, "assign", {"mechanic_id": stranger.id})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unknown_mechanic"


def test_reschedule_into_a_full_slot_changes_nothing(world: World) -> None:
    center = world.create_center(bays=1)
    day = next_weekday(0)
    user, vehicle = world.customer()
    mine = world.book(user, vehicle, center["id"], berlin_start(day, 9)).get_json()
    other, other_vehicle = world.customer()
    assert world.book(other, other_vehicle, center["id"], berlin_start(day, 12)).status_code == 201
    before = world.slot_doc_counts(center["id"])

    # 11:30 overlaps the other booking's 12:00 cell: refused as a whole.
    response = world.client.post(
        f"/api/bookings/{mine['id']}/reschedule",
        json={"start": berlin_start(day, 11, 30)},
        headers=user.headers,
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "slot_full"
    assert world.slot_doc_counts(center["id"]) == before
    stored = world.client.get(f"/api/bookings/{mine['id']}", headers=user.headers).get_json()
    assert stored["start"] == mine["start"]
    world.assert_capacity_invariant(center["id"], bays=1)


def test_reschedule_moves_the_booking_and_frees_the_old_slot(world: World) -> None:
    center = world.create_center(bays=1)
    day = next_weekday(0)
    user, vehicle = world.customer()
    mine = world.book(user, vehicle, center["id"], berlin_start(day, 9)).get_json()
    # Moving by 30 minutes keeps the shared 09:30 cell and takes 10:00.
    response = world.client.post(
        f"/api/bookings/{mine['id']}/reschedule",
        json={"start": berlin_start(day, 9, 30)},
        headers=user.headers,
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["start"] == berlin_start(day, 9, 30)
    assert response.get_json()["history"][-1]["action"] == "reschedule"
    world.assert_capacity_invariant(center["id"], bays=1)
    other, other_vehicle = world.customer()
    assert world.book(other, other_vehicle, center["id"], berlin_start(day, 8)).status_code == 201
    bad = world.client.post(
        f"/api/bookings/{mine['id']}/reschedule",
        json={"start": berlin_start(day, 9, 10)},
        headers=user.headers,
    )
    assert bad.status_code == 422


def test_completion_writes_a_service_record_and_resolves_matching_alerts(world: World) -> None:
    center = world.create_center()
    staff = world.users.create("service_center", service_center_id=center["id"])
    user, vehicle = world.customer()
    alerts = world.db.collection("alerts")
    alerts.document(f"{vehicle}_oil_life").set(
        {
            "vehicle_id": vehicle,
            "owner_id": user.id,
            "status": "open",
            "severity": "high",
            "service_code": "oil_change",
            "rule_id": "oil_life",
        }
    )
    alerts.document(f"{vehicle}_battery").set(
        {
            "vehicle_id": vehicle,
            "owner_id": user.id,
            "status": "open",
            "severity": "high",
            "service_code": "battery_check",
            "rule_id": "battery",
        }
    )
    start = berlin_start(next_weekday(0), 9)
    booking = world.book(user, vehicle, center["id"], start).get_json()
    world.arrive(start)
    for step in ("confirm", "start"):
        assert world.act(staff, booking["id"], step).status_code == 200
    done = world.act(staff, booking["id"], "complete", COMPLETE_BODY)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["completion"]["resolved_alert_ids"] == [f"{vehicle}_oil_life"]

    vehicle_ref = world.db.collection("vehicles").document(vehicle)
    record = vehicle_ref.collection("service_records").document(f"booking-{booking['id']}").get()
    assert record.exists
    assert record.get("service_codes") == ["oil_change"]
    assert record.get("cost") == {"amount": 89.5, "currency": "EUR"}
    assert record.get("source") == "booking"
    assert vehicle_ref.get().get("mileage_km") == 61_000
    assert alerts.document(f"{vehicle}_oil_life").get().get("status") == "resolved"
    assert alerts.document(f"{vehicle}_battery").get().get("status") == "open"
    # A retried completion is refused and adds no second record.
    assert world.act(staff, booking["id"], "complete", COMPLETE_BODY).status_code == 409
    assert len(vehicle_ref.collection("service_records").get()) == 1
    world.assert_capacity_invariant(center["id"], bays=3)


def test_completion_never_lowers_mileage_and_validates_its_body(world: World) -> None:
    center = world.create_center()
    staff = world.users.create("service_center", service_center_id=center["id"])
    booking_id = _booking_in(world, center, staff, "in_progress")
    bad = world.act(
        staff,
        booking_id,
        "complete",
        {"mileage_km": -1, "work_done": "x", "cost": {"amount": 1, "currency": "EUR"}},
    )
    assert bad.status_code == 422
    low = dict(COMPLETE_BODY, mileage_km=10)
    assert world.act(staff, booking_id, "complete", low).status_code == 200
    vehicle_id = world.db.collection("bookings").document(booking_id).get().get("vehicle_id")
    assert world.db.collection("vehicles").document(vehicle_id).get().get("mileage_km") == 50_000
