"""When a center may start a booking or mark it a no-show: the pure rule
(booking.lifecycle.timing_problem) at its boundaries; through HTTP:
tests/test_bookings_timing.py.

* no-show: only from NO_SHOW_GRACE (15 minutes) after the booking's start — before that the
  customer is merely late, and marking them absent would free their bay under them;
* start: from START_EARLY_ALLOWANCE (30 minutes) before the start until the slot's end.

OWASP API Security Top 10 (2023): API6 Unrestricted Access to Sensitive Business Flows — the
no-show flow releases a customer's bay and could be used against them before their time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.lifecycle import (
    NO_SHOW_GRACE,
    START_EARLY_ALLOWANCE,
    BookingAction,
    timing_problem,
)

START = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
SECOND = timedelta(seconds=1)


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
