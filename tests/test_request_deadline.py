"""The request deadline (shared/deadline.py) as units: the budget, the clamp each Firestore
call gets, and the retry policy cut to the time left. tests/test_faults.py proves it end to
end against a slowed, frozen and unreachable database."""

from __future__ import annotations

import time
from typing import Any

import pytest
from google.api_core import retry as api_retry

from shared import deadline


class Details:
    def __init__(self, method: str = "/google.firestore.v1.Firestore/GetDocument") -> None:
        self.method, self.timeout, self.metadata, self.credentials = method, 60.0, (), None


def test_outside_a_request_calls_keep_the_librarys_own_limits() -> None:
    assert deadline.remaining() is None
    details = Details()
    assert deadline._clamped(details) is details


def test_inside_a_request_each_call_gets_at_most_the_time_left() -> None:
    with deadline.budget(2.0):
        clamped = deadline._clamped(Details())
        assert 1.5 < clamped.timeout <= 2.0
        assert clamped.method == Details().method
    assert deadline.remaining() is None  # the budget ends with the request


def test_a_call_with_no_time_left_is_refused_as_503_with_retry_after() -> None:
    with deadline.budget(0.001):
        time.sleep(0.01)
        with pytest.raises(deadline.DeadlineExceeded) as refused:
            deadline._clamped(Details())
    error = refused.value
    assert (error.status, error.code) == (503, "deadline_exceeded")
    assert error.headers == {"Retry-After": str(deadline.RETRY_AFTER_SECONDS)}


def test_a_rollback_may_run_past_the_deadline_to_release_its_locks() -> None:
    with deadline.budget(0.001):
        time.sleep(0.01)
        rollback = deadline._clamped(Details("/google.firestore.v1.Firestore/Rollback"))
    assert rollback.timeout == deadline.ROLLBACK_GRACE_SECONDS


def test_the_librarys_retries_keep_to_the_time_left() -> None:
    original = api_retry.Retry(initial=0.1, maximum=60.0, multiplier=1.3, timeout=60.0)
    budgeted = deadline.BudgetRetry.like(original)
    assert budgeted._timeout == 60.0  # outside a request: as configured
    with deadline.budget(1.0):
        assert 0.5 < budgeted._timeout <= 1.0
    wrapped: dict[Any, Any] = {"get": type("M", (), {"_retry": original})()}
    assert deadline.budget_retries(wrapped) == 1
    assert isinstance(wrapped["get"]._retry, deadline.BudgetRetry)


def test_the_client_the_functions_use_carries_the_interceptor(db: Any) -> None:
    """A real call through the instance's client obeys the budget (session emulator)."""
    ref = db.collection("probe").document("deadline")
    ref.set({"ok": True})
    with deadline.budget(5.0):
        assert ref.get().to_dict() == {"ok": True}
    with deadline.budget(0.001), pytest.raises(deadline.DeadlineExceeded):
        time.sleep(0.01)
        ref.get()
