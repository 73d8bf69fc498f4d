"""When a center may start a booking or mark it a no-show, through HTTP.

* no-show: only from 15 minutes after the booking's start — before that the customer is
  merely late, and marking them absent would free their bay under them;
* start: from 30 minutes before the start until the slot's end.

Refusals are 409 with their own codes and the boundary in the center's time zone, and change
nothing. The clock is the platform's (shared.clock), pinned here. The pure rule and its
boundaries: tests/test_lifecycle_timing.py. The minutes are written out here, not imported,
so the test states the contract on its own.

OWASP API Security Top 10 (2023): API6 Unrestricted Access to Sensitive Business Flows — the
no-show flow releases a customer's bay and could be used against them before their time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from bookings_helpers import (
    World,
    berlin_start,
    next_weekday,
    world_fixture,  # noqa: F401 - provides the "world" fixture
)

NO_SHOW_GRACE = timedelta(minutes=15)
START_EARLY_ALLOWANCE = timedelta(minutes=30)
SECOND = timedelta(seconds=1)


@pytest.fixture
def confirmed(world: World) -> tuple[Any, str, str]:
    """(the center's staff, a confirmed booking a week ahead at 09:00 Berlin, its start)."""
    center = world.create_center()
    staff = world.users.create("service_center", service_center_id=center["id"])
    user, vehicle = world.customer()
    start = berlin_start(next_weekday(0), 9)
    response = world.book(user, vehicle, center["id"], start)
    assert response.status_code == 201, response.get_json()
    booking_id = str(response.get_json()["id"])
    assert world.act(staff, booking_id, "confirm").status_code == 200
    return staff, booking_id, start


def test_a_no_show_before_start_plus_grace_is_409_and_changes_nothing(
    world: World, confirmed: tuple[Any, str, str]
) -> None:
    staff, booking_id, start = confirmed
    for after in (timedelta(hours=-2), timedelta(0), NO_SHOW_GRACE - SECOND):
        world.arrive(start, after=after)
        response = world.act(staff, booking_id, "no-show")
        assert response.status_code == 409, (after, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == "no_show_too_early"
        assert "09:15:00+02:00" in error["message"] or "09:15:00+01:00" in error["message"]
    stored = world.db.collection("bookings").document(booking_id).get().to_dict()
    assert stored["status"] == "confirmed" and len(stored["history"]) == 2
    world.arrive(start, after=NO_SHOW_GRACE)
    marked = world.act(staff, booking_id, "no-show")
    assert marked.status_code == 200 and marked.get_json()["status"] == "no_show"


def test_work_starts_only_near_the_slot(world: World, confirmed: tuple[Any, str, str]) -> None:
    staff, booking_id, start = confirmed
    world.back_to_now()  # a week early
    early = world.act(staff, booking_id, "start")
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "start_too_early"
    world.arrive(start, after=-START_EARLY_ALLOWANCE - SECOND)
    assert world.act(staff, booking_id, "start").status_code == 409
    world.arrive(start, after=-START_EARLY_ALLOWANCE)
    started = world.act(staff, booking_id, "start")
    assert started.status_code == 200 and started.get_json()["status"] == "in_progress"


def test_a_slot_that_has_ended_can_no_longer_be_started(
    world: World, confirmed: tuple[Any, str, str]
) -> None:
    staff, booking_id, start = confirmed
    world.arrive(start, after=timedelta(hours=1))  # an oil change takes 60 minutes
    late = world.act(staff, booking_id, "start")
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "start_too_late"
    # What is left to do with it: a no-show (or a cancellation).
    assert world.act(staff, booking_id, "no-show").status_code == 200


def test_the_time_rule_applies_to_admins_too(world: World, confirmed: tuple[Any, str, str]) -> None:
    _, booking_id, _ = confirmed
    world.back_to_now()  # a week before the slot
    response = world.act(world.admin, booking_id, "no-show")
    assert (
        response.status_code == 409 and response.get_json()["error"]["code"] == "no_show_too_early"
    )
