"""Creating bookings: the happy path, every kind of bad input, and Idempotency-Key."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bookings_helpers import (
    BOOKINGS,
    World,
    berlin_start,
    next_weekday,
    world_fixture,  # noqa: F401 - provides the "world" fixture
)


@pytest.fixture
def center(world: World) -> dict[str, Any]:
    return world.create_center()


def test_customer_books_a_slot_and_the_vehicle_links_the_center(
    world: World, center: dict[str, Any]
) -> None:
    user, vehicle = world.customer()
    day = next_weekday(0)
    response = world.book(user, vehicle, center["id"], berlin_start(day, 9), notes="rattle")
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()
    assert booking["status"] == "requested"
    assert booking["start"] == berlin_start(day, 9)
    assert booking["end"] == berlin_start(day, 10)
    assert booking["history"][0]["actor_id"] == user.id
    assert response.headers["Location"].endswith(booking["id"])
    stored = world.db.collection("bookings").document(booking["id"]).get().to_dict()
    assert stored["start"] == datetime.fromisoformat(berlin_start(day, 9)).astimezone(UTC)
    assert world.db.collection("vehicles").document(vehicle).get().get("center_ids") == [
        center["id"]
    ]
    holder = world.db.collection("booking_holders").document(user.id).get().to_dict()
    assert holder["active_count"] == 1
    world.assert_capacity_invariant(center["id"], bays=3)


def test_malformed_json_is_400(world: World, center: dict[str, Any]) -> None:
    user, _ = world.customer()
    response = world.client.post(
        BOOKINGS, data='{"vehicle_id": ', content_type="application/json", headers=user.headers
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"


@pytest.mark.parametrize("missing", ["vehicle_id", "center_id", "service_type", "start"])
def test_missing_field_is_422(world: World, center: dict[str, Any], missing: str) -> None:
    user, vehicle = world.customer()
    body = {
        "vehicle_id": vehicle,
        "center_id": center["id"],
        "service_type": "oil_change",
        "start": berlin_start(next_weekday(0), 9),
    }
    del body[missing]
    response = world.client.post(BOOKINGS, json=body, headers=user.headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == missing


def test_extra_field_is_422(world: World, center: dict[str, Any]) -> None:
    user, vehicle = world.customer()
    response = world.book(
        user, vehicle, center["id"], berlin_start(next_weekday(0), 9), status="confirmed"
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "status"


@pytest.mark.parametrize(
    ("start", "code"),
    [
        (lambda d: berlin_start(d, 9, 10), "not_a_slot_start"),
        (lambda d: berlin_start(d, 6), "outside_opening_hours"),
        (lambda d: berlin_start(d, 16, 30), "ends_after_closing"),
        (lambda d: berlin_start(d + timedelta(days=5), 9), "outside_opening_hours"),  # Saturday
        (lambda d: d.isoformat() + "T09:00:00", "naive_datetime"),
        (lambda d: "next tuesday", "invalid_datetime"),
        (lambda d: berlin_start(d + timedelta(days=200), 9), "beyond_horizon"),
        (lambda d: (datetime.now(UTC) - timedelta(days=3)).isoformat(), "in_past"),
    ],
)
def test_start_that_is_not_a_real_slot_is_422(
    world: World, center: dict[str, Any], start: Any, code: str
) -> None:
    user, vehicle = world.customer()
    response = world.book(user, vehicle, center["id"], start(next_weekday(0)))
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == code


def test_unknown_service_is_422(world: World, center: dict[str, Any]) -> None:
    user, vehicle = world.customer()
    response = world.book(
        user, vehicle, center["id"], berlin_start(next_weekday(0), 9), "coolant_flush"
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unknown_service"


def test_booking_another_customers_vehicle_is_404(world: World, center: dict[str, Any]) -> None:
    _owner, vehicle = world.customer()
    thief, _ = world.customer()
    response = world.book(thief, vehicle, center["id"], berlin_start(next_weekday(0), 9))
    assert response.status_code == 404
    assert world.db.collection("bookings").get() == []


def test_unknown_center_is_404(world: World) -> None:
    user, vehicle = world.customer()
    assert world.book(user, vehicle, "nope", berlin_start(next_weekday(0), 9)).status_code == 404


@pytest.mark.parametrize("role", ["service_center", "mechanic", "viewer"])
def test_roles_without_create_permission_get_403(
    world: World, center: dict[str, Any], role: str
) -> None:
    user = world.users.create(role, service_center_id=center["id"])
    vehicle = world.vehicle(user.id)
    response = world.book(user, vehicle, center["id"], berlin_start(next_weekday(0), 9))
    assert response.status_code == 403


def test_fourth_active_booking_is_409_until_one_ends(world: World, center: dict[str, Any]) -> None:
    user, vehicle = world.customer()
    day = next_weekday(0)
    ids = [
        world.book(user, vehicle, center["id"], berlin_start(day, hour)).get_json()["id"]
        for hour in (9, 11, 13)
    ]
    fourth = world.book(user, vehicle, center["id"], berlin_start(day, 15))
    assert fourth.status_code == 409
    assert fourth.get_json()["error"]["code"] == "active_booking_limit"
    assert world.act(user, ids[0], "cancel").status_code == 200
    assert world.book(user, vehicle, center["id"], berlin_start(day, 15)).status_code == 201


def test_full_slot_is_409(world: World) -> None:
    center = world.create_center(bays=1)
    start = berlin_start(next_weekday(0), 9)
    first, first_vehicle = world.customer()
    second, second_vehicle = world.customer()
    assert world.book(first, first_vehicle, center["id"], start).status_code == 201
    response = world.book(second, second_vehicle, center["id"], start)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "slot_full"


# --------------------------------------------------------------------------- idempotency


def test_same_key_and_body_replays_the_first_response(world: World, center: dict[str, Any]) -> None:
    user, vehicle = world.customer()
    start = berlin_start(next_weekday(0), 9)
    key = {"Idempotency-Key": "retry-1"}
    first = world.book(user, vehicle, center["id"], start, headers=key)
    again = world.book(user, vehicle, center["id"], start, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(world.db.collection("bookings").get()) == 1
    record = world.db.collection("booking_idempotency").get()[0].to_dict()
    assert record["expires_at"] - record["completed_at"] >= timedelta(hours=24)


def test_same_key_with_a_different_body_is_422(world: World, center: dict[str, Any]) -> None:
    user, vehicle = world.customer()
    day = next_weekday(0)
    key = {"Idempotency-Key": "retry-2"}
    assert (
        world.book(user, vehicle, center["id"], berlin_start(day, 9), headers=key).status_code
        == 201
    )
    other = world.book(user, vehicle, center["id"], berlin_start(day, 10), headers=key)
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert len(world.db.collection("bookings").get()) == 1


def test_keys_are_scoped_per_user(world: World, center: dict[str, Any]) -> None:
    start = berlin_start(next_weekday(0), 9)
    key = {"Idempotency-Key": "same-key"}
    for _ in range(2):
        user, vehicle = world.customer()
        response = world.book(user, vehicle, center["id"], start, headers=key)
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response.headers
    assert len(world.db.collection("bookings").get()) == 2


def test_concurrent_duplicate_is_409_and_books_once(
    world: World, center: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from booking import store as booking_store

    entered, release = threading.Event(), threading.Event()
    real_create = booking_store.create_booking

    def slow_create(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(10)
        return real_create(*args, **kwargs)

    monkeypatch.setattr(booking_store, "create_booking", slow_create)
    user, vehicle = world.customer()
    start = berlin_start(next_weekday(0), 9)
    key = {"Idempotency-Key": "double-click"}
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(world.book, user, vehicle, center["id"], start, headers=key)
        assert entered.wait(10)
        duplicate = world.book(user, vehicle, center["id"], start, headers=key)
        release.set()
        assert first.result().status_code == 201
    assert duplicate.status_code == 409
    assert duplicate.get_json()["error"]["code"] == "idempotency_in_progress"
    assert len(world.db.collection("bookings").get()) == 1


def test_failed_request_frees_its_key_for_a_retry(world: World) -> None:
    center = world.create_center(bays=1)
    start = berlin_start(next_weekday(0), 9)
    other, other_vehicle = world.customer()
    blocker = world.book(other, other_vehicle, center["id"], start).get_json()
    user, vehicle = world.customer()
    key = {"Idempotency-Key": "after-409"}
    assert world.book(user, vehicle, center["id"], start, headers=key).status_code == 409
    assert world.act(other, blocker["id"], "cancel").status_code == 200
    assert world.book(user, vehicle, center["id"], start, headers=key).status_code == 201


def test_malformed_idempotency_key_is_400(world: World, center: dict[str, Any]) -> None:
    user, vehicle = world.customer()
    response = world.book(
        user,
        vehicle,
        center["id"],
        berlin_start(next_weekday(0), 9),
        headers={"Idempotency-Key": "x" * 300},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("change", ["deleted", "handed_over"])
def test_vehicle_gone_before_the_transaction_is_404_and_writes_nothing(
    world: World, center: dict[str, Any], monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """The ownership check passed, then the vehicle changed before the booking transaction."""
    from booking import store as booking_store

    user, vehicle = world.customer()
    vehicle_doc = world.db.collection("vehicles").document(vehicle)
    real_create = booking_store.create_booking

    def vehicle_changes_first(*args: Any, **kwargs: Any) -> Any:
        # Runs after booking.service checked the vehicle, before the transaction reads it.
        if change == "deleted":
            vehicle_doc.delete()
        else:
            vehicle_doc.update({"owner_id": "someone-else"})
        return real_create(*args, **kwargs)

    monkeypatch.setattr(booking_store, "create_booking", vehicle_changes_first)
    key = {"Idempotency-Key": f"vehicle-{change}"}
    response = world.book(
        user, vehicle, center["id"], berlin_start(next_weekday(0), 9), headers=key
    )
    assert response.status_code == 404, response.get_json()
    error = response.get_json()["error"]
    assert (error["code"], error["message"]) == ("not_found", "The vehicle does not exist.")
    assert world.db.collection("bookings").get() == []
    assert world.slot_doc_counts(center["id"]) == {}
    assert not world.db.collection("booking_holders").document(user.id).get().exists
    # The failed request frees its Idempotency-Key, like any other refusal.
    assert world.db.collection("booking_idempotency").get() == []
