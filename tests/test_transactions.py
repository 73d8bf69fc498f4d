"""The one transaction helper (shared.transactions) and the one clock (shared.clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from google.api_core import exceptions as google_exceptions

from shared import clock
from shared.errors import Conflict
from shared.transactions import Contended, is_contention, run_transaction


def _exhausted_library_error() -> ValueError:
    """What the client library raises when its own attempts run out: ValueError from Aborted."""
    try:
        try:
            raise google_exceptions.Aborted("transaction lock timeout")  # type: ignore[no-untyped-call]
        except google_exceptions.Aborted as lost:
            raise ValueError("Failed to commit transaction in 20 attempts.") from lost
    except ValueError as exc:
        return exc


def test_contention_is_recognised_by_type_never_by_message() -> None:
    assert is_contention(google_exceptions.Aborted("lost"))  # type: ignore[no-untyped-call]
    assert is_contention(_exhausted_library_error())
    # The same words without an Aborted cause are some other failure, not contention.
    assert not is_contention(ValueError("Failed to commit transaction in 20 attempts."))
    assert not is_contention(google_exceptions.ServiceUnavailable("down"))  # type: ignore[no-untyped-call]
    assert not is_contention(RuntimeError("Aborted"))


def test_giving_up_on_contention_is_503_with_retry_after(db: Any) -> None:
    attempts = []

    def always_loses(transaction: Any) -> None:
        attempts.append(transaction)
        transaction.get(db.collection("probe").document("hot"))
        raise google_exceptions.Aborted("another transaction holds the lock")  # type: ignore[no-untyped-call]

    with pytest.raises(Contended) as gave_up:
        run_transaction(always_loses, what="test", lock_keys=["probe/hot"], outer_attempts=3)
    assert len(attempts) == 3
    error = gave_up.value
    assert (error.status, error.code, error.headers) == (503, "contention", {"Retry-After": "1"})
    assert error.envelope("r1")["error"]["code"] == "contention"


def test_a_business_refusal_is_not_retried_and_writes_nothing(db: Any) -> None:
    calls = []
    ref = db.collection("probe").document("doc")

    def refuses(transaction: Any) -> None:
        calls.append(1)
        transaction.set(ref, {"written": True})
        raise Conflict("The slot is full.", code="slot_full")

    with pytest.raises(Conflict):
        run_transaction(refuses, what="test", lock_keys=[ref.path])
    assert calls == [1]
    assert not ref.get().exists


def test_lost_attempts_are_retried_until_one_commits(db: Any) -> None:
    ref = db.collection("probe").document("counter")
    losses = iter([True, True, False])

    def work(transaction: Any) -> int:
        snapshot = ref.get(transaction=transaction)
        count = int((snapshot.to_dict() or {}).get("count", 0)) if snapshot.exists else 0
        if next(losses):
            raise google_exceptions.Aborted("lost")  # type: ignore[no-untyped-call]
        transaction.set(ref, {"count": count + 1})
        return count + 1

    assert run_transaction(work, what="test", lock_keys=[ref.path]) == 1
    assert ref.get().to_dict() == {"count": 1}


def test_pinned_clock_is_what_every_caller_reads(pin_clock: Any) -> None:
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=1)))
    pin_clock(moment)
    assert clock.now() == moment and clock.now().tzinfo is UTC
    assert clock.timestamp() == moment.timestamp()


def test_clock_refuses_a_naive_instant(pin_clock: Any) -> None:
    pin_clock(datetime(2026, 3, 29, 1, 30))
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.now()


def test_system_clock_is_restored_after_a_pinned_test() -> None:
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_pinned_clock_reaches_every_function(pin_clock: Any, call: Any, users: Any) -> None:
    moment = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    pin_clock(moment)
    admin, owner = users.create("admin"), users.create("customer")
    from bookings_helpers import center_body
    from vehicles_testkit import create_vehicle

    center = call("bookings").post(
        "/api/bookings/centers", json=center_body(), headers=admin.headers
    )
    assert center.get_json()["created_at"] == moment.isoformat()
    vehicle = create_vehicle(call("vehicles"), owner)
    assert vehicle["created_at"] == moment.isoformat()
    from auth_test_helpers import confirm

    registration = call("auth").post(
        "/api/auth/register",
        json={
            "email": "clock@example.test",
            "password": "sturdy-gearbox-7791-lane",
            "full_name": "Clock Test",
        },
    )
    assert registration.status_code == 202
    account = confirm(call("auth"), "clock@example.test")
    assert account.get_json()["user"]["created_at"] == moment.isoformat()


def test_a_transaction_that_runs_out_of_request_time_is_503_not_the_librarys_rollback_error(
    db: Any,
) -> None:
    """Regression (tests/test_faults.py): when the deadline refuses BeginTransaction, the
    library's rollback raises ValueError("no transaction ID") over the real cause; that
    became a 500. It must be the request's 503 deadline_exceeded, with Retry-After."""
    import time

    from shared import deadline

    def work(transaction: Any) -> None:
        transaction.get(db.collection("probe").document("late"))

    with deadline.budget(0.001), pytest.raises(deadline.DeadlineExceeded) as ran_out:
        time.sleep(0.01)
        run_transaction(work, what="test", lock_keys=["probe/late"])
    assert ran_out.value.status == 503 and ran_out.value.headers == {"Retry-After": "2"}
