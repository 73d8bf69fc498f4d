"""When a center may start a booking or mark it a no-show (booking.lifecycle.timing_problem).

* no-show: only from NO_SHOW_GRACE (15 minutes) after the booking's start — before that the
  customer is merely late, and marking them absent would free their bay under them;
* start: from START_EARLY_ALLOWANCE (30 minutes) before the start until the slot's end.

Refusals are 409 with their own codes and the boundary in the center's time zone, and change
nothing. The clock is the platform's (shared.clock), pinned here.

OWASP API Security Top 10 (2023): API6 Unrestricted Access to Sensitive Business Flows — the
no-show flow releases a customer's bay and could be used against them before their time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bookings_helpers import (
    World,
    berlin_start,
    next_weekday,
    world_fixture,  # noqa: F401 - provides the "world" fixture
)

from booking.lifecycle import (
    NO_SHOW_GRACE,
    START_EARLY_ALLOWANCE,
    BookingAction,
    timing_problem,
)

START = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
SECOND = timedelta(seconds=1)


# --------------------------------------------------------------------------- the pure rule


@pytest.mark.parametrize(
    ("action", "now", "code"),
    [
        (BookingAction.NO_SHOW, START, "no_show_too_early"),
        (BookingAction.NO_SHOW, START + NO_SHOW_GRACE - SECOND, "no_show_too_early"),
        (BookingAction.NO_SHOW, START + NO_SHOW_GRACE, None),
        (BookingAction.NO_SHOW, END + timedelta(days=3), None),
        (BookingAction.START, START - START_EARLY_ALLOWANCE - SECOND, "start_too_early"),
        (BookingAction.START, START - START_EARLY_ALLOWANCE, None),
        (BookingAction.START, END - SECOND, None),
        (BookingAction.START, END, "start_too_late"),
        (BookingAction.CONFIRM, START - timedelta(days=30), None),
        (BookingAction.CANCEL, END + timedelta(days=1), None),
    ],
)
def test_timing_rule_at_its_boundaries(
    action: BookingAction, now: datetime, code: str | None
) -> None:
    problem = timing_problem(action, start=START, end=END, now=now)
    assert (problem.code if problem else None) == code


def test_the_refusal_names_the_instant_the_answer_changes() -> None:
    early = timing_problem(BookingAction.NO_SHOW, start=START, end=END, now=START)
    assert early is not None and early.boundary == START + NO_SHOW_GRACE
    late = timing_problem(BookingAction.START, start=START, end=END, now=END)
    assert late is not None and late.boundary == END


# --------------------------------------------------------------------------- through HTTP


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
