"""Cancelling with an optional body: none at all, a reason kept in the history, or a bad one.

``/cancel`` is the route that uses shared.http's ``body_optional``: no bytes means "no
reason"; any bytes go through the usual checks (415 / 400 / 422).
"""

from __future__ import annotations

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
def booked(world: World) -> tuple[Any, str]:
    """A customer and their freshly requested booking."""
    center = world.create_center()
    user, vehicle = world.customer()
    response = world.book(user, vehicle, center["id"], berlin_start(next_weekday(0), 9))
    assert response.status_code == 201, response.get_json()
    return user, str(response.get_json()["id"])


def _stored_history(world: World, booking_id: str) -> list[dict[str, Any]]:
    return list(world.db.collection("bookings").document(booking_id).get().get("history"))


def _cancel_raw(world: World, user: Any, booking_id: str, data: str, content_type: str) -> Any:
    return world.client.post(
        f"{BOOKINGS}/{booking_id}/cancel",
        data=data,
        content_type=content_type,
        headers=user.headers,
    )


def test_cancel_without_a_body_records_no_reason(world: World, booked: tuple[Any, str]) -> None:
    user, booking_id = booked
    response = world.act(user, booking_id, "cancel")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "cancelled"
    assert "reason" not in response.get_json()["history"][-1]
    assert "reason" not in _stored_history(world, booking_id)[-1]


def test_cancel_with_zero_bytes_labelled_json_is_no_body(
    world: World, booked: tuple[Any, str]
) -> None:
    user, booking_id = booked
    response = _cancel_raw(world, user, booking_id, "", "application/json")
    assert response.status_code == 200, response.get_json()


def test_cancel_with_an_empty_object_records_no_reason(
    world: World, booked: tuple[Any, str]
) -> None:
    user, booking_id = booked
    response = world.act(user, booking_id, "cancel", {})
    assert response.status_code == 200, response.get_json()
    assert "reason" not in _stored_history(world, booking_id)[-1]


def test_cancel_reason_is_kept_in_the_history(world: World, booked: tuple[Any, str]) -> None:
    user, booking_id = booked
    response = world.act(user, booking_id, "cancel", {"reason": "  Car sold  "})
    assert response.status_code == 200, response.get_json()
    last = response.get_json()["history"][-1]
    assert (last["action"], last["reason"]) == ("cancel", "Car sold")
    stored = _stored_history(world, booking_id)[-1]
    assert (stored["action"], stored["to_state"], stored["reason"]) == (
        "cancel",
        "cancelled",
        "Car sold",
    )


def test_viewers_do_not_see_the_reason(world: World, booked: tuple[Any, str]) -> None:
    # Free text from the customer is as personal as the booking's notes.
    user, booking_id = booked
    assert world.act(user, booking_id, "cancel", {"reason": "Moving abroad"}).status_code == 200
    viewer = world.users.create("viewer")
    response = world.client.get(f"{BOOKINGS}/{booking_id}", headers=viewer.headers)
    assert response.status_code == 200, response.get_json()
    assert "reason" not in response.get_json()["history"][-1]
    assert "Moving abroad" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "body",
    [{"foo": 1}, {"reason": "x" * 501}, {"reason": 42}],
    ids=["unknown_field", "reason_too_long", "reason_not_text"],
)
def test_bad_cancel_body_is_422_and_changes_nothing(
    world: World, booked: tuple[Any, str], body: dict[str, Any]
) -> None:
    user, booking_id = booked
    response = world.act(user, booking_id, "cancel", body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "validation_failed"
    assert world.db.collection("bookings").document(booking_id).get().get("status") == "requested"


def test_reason_of_the_maximum_length_is_accepted(world: World, booked: tuple[Any, str]) -> None:
    user, booking_id = booked
    response = world.act(user, booking_id, "cancel", {"reason": "x" * 500})
    assert response.status_code == 200, response.get_json()


def test_malformed_cancel_body_is_400(world: World, booked: tuple[Any, str]) -> None:
    user, booking_id = booked
    response = _cancel_raw(world, user, booking_id, '{"reason": ', "application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"


def test_cancel_body_that_is_not_json_is_415(world: World, booked: tuple[Any, str]) -> None:
    # Only "no bytes" skips the checks; a body in another format is still refused.
    user, booking_id = booked
    response = _cancel_raw(world, user, booking_id, "reason=sold", "text/plain")
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"


def test_whitespace_only_cancel_body_is_400(world: World, booked: tuple[Any, str]) -> None:
    user, booking_id = booked
    response = _cancel_raw(world, user, booking_id, "  \n", "application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "empty_body"
