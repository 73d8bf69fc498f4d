"""Brute-force protection: failed sign-ins counted per account and per IP, in Firestore.

The counters live in Firestore (``login_failures/{sha256(scope|key)}``) so every instance
sees the same count; each is updated in a transaction, so concurrent failures are never
lost. A fixed window starts at the first failure: once ``MAX_FAILURES`` failures fall
inside ``WINDOW_SECONDS``, further attempts are refused with 429 and ``Retry-After`` until
the window ends — even with the right password, or guessing would continue unhindered.
A successful sign-in clears the account's counter (not the IP's: an attacker must not
reset their IP budget by signing in to an account of their own).

This is separate from the per-route request rate limit: that one bounds request volume,
this one bounds password guesses however slowly they arrive.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import clock
from shared.errors import TooManyRequests
from shared.firestore import get_client
from shared.transactions import run_transaction

if TYPE_CHECKING:
    from google.cloud.firestore import Transaction

COLLECTION = "login_failures"
# OWASP's authentication cheat sheet: lock after a small number of failures (10 here)
# within a window (15 minutes), long enough to make online guessing impractical.
MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60
# Counter documents linger a little past their window; a TTL policy on expires_at
# (docs/operations.md) deletes them.
EXPIRY_SLACK_SECONDS = 60


@dataclass(frozen=True)
class Subject:
    """One counter: ``scope`` is "account" or "ip"."""

    scope: str
    key: str

    @property
    def doc_id(self) -> str:
        return hashlib.sha256(f"{self.scope}|{self.key}".encode()).hexdigest()


def subjects(email: str, ip: str) -> tuple[Subject, Subject]:
    return Subject("account", email), Subject("ip", ip)


def _locked_for(data: dict[str, Any] | None, now: float) -> float:
    """Seconds until the window ends if the counter is past the limit, else 0."""
    if not data:
        return 0.0
    window_end = float(data.get("window_start", 0.0)) + WINDOW_SECONDS
    if now >= window_end or int(data.get("count", 0)) < MAX_FAILURES:
        return 0.0
    return window_end - now


def ensure_not_locked(*targets: Subject, now: float | None = None) -> None:
    """Raise 429 ``too_many_attempts`` (with Retry-After) if any counter is past the limit."""
    now = clock.timestamp() if now is None else now
    refs = [get_client().collection(COLLECTION).document(t.doc_id) for t in targets]
    wait = 0.0
    for snapshot in get_client().get_all(refs):
        if snapshot.exists:
            wait = max(wait, _locked_for(snapshot.to_dict(), now))
    if wait > 0:
        raise too_many_attempts(wait)


def too_many_attempts(wait_seconds: float) -> TooManyRequests:
    retry_after = max(1, math.ceil(wait_seconds))
    return TooManyRequests(
        "Too many failed sign-in attempts; try again later.",
        code="too_many_attempts",
        headers={"Retry-After": str(retry_after)},
    )


def record_failure(target: Subject, now: float | None = None) -> int:
    """Count one failure (transaction); returns the count in the current window."""
    now = clock.timestamp() if now is None else now
    ref = get_client().collection(COLLECTION).document(target.doc_id)

    def bump(transaction: Transaction) -> int:
        snapshot = ref.get(transaction=transaction)
        data = snapshot.to_dict() if snapshot.exists else None
        if data and now < float(data.get("window_start", 0.0)) + WINDOW_SECONDS:
            count, window_start = int(data.get("count", 0)) + 1, float(data["window_start"])
        else:
            count, window_start = 1, now
        transaction.set(
            ref,
            {
                "scope": target.scope,
                "count": count,
                "window_start": window_start,
                "expires_at": datetime.fromtimestamp(
                    window_start + WINDOW_SECONDS + EXPIRY_SLACK_SECONDS, tz=UTC
                ),
            },
        )
        return count

    # Many attempts against one hot counter contend; the default 5 retries can run out.
    return run_transaction(bump, what="count sign-in failure", lock_keys=[ref.path], attempts=12)


def reset(target: Subject) -> None:
    """Forget a counter (after a successful sign-in)."""
    get_client().collection(COLLECTION).document(target.doc_id).delete()
