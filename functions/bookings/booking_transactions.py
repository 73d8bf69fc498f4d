"""Running one Firestore transaction of the bookings function, retried through contention.

Firestore server transactions lock what they read; many requests racing for one slot abort
each other (docs/bookings.md, "Contention"). This module owns the answer: in-process
turn-taking (booking_locks), the client library's inner retries, outer retries with
jittered back-off, and finally a retryable 409 ``slot_contended``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import booking_locks
from google.api_core import exceptions as google_exceptions

from shared import logs
from shared.errors import ApiError, Conflict
from shared.firestore import get_client

T = TypeVar("T")

# The client library retries an aborted commit this many times inside one transaction
# object, keeping its "spot in line" (retry_id). 50 requests racing for one slot on the
# emulator abort each other repeatedly; 20 attempts plus the outer retries below were enough
# in measurement (docs/bookings.md) without letting one request spin for long.
TRANSACTION_ATTEMPTS = 20
# Outer retries with jittered back-off, for aborts the library does not retry (a read
# that timed out waiting for a lock) and for an exhausted inner budget.
OUTER_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 0.02
BACKOFF_CAP_SECONDS = 0.5


def _is_contention(exc: BaseException) -> bool:
    if isinstance(exc, google_exceptions.Aborted):
        return True
    return isinstance(exc, ValueError) and str(exc).startswith("Failed to commit transaction")


def run_transaction(work: Callable[[Any], T], *, what: str, lock_keys: Iterable[str]) -> T:
    """Run ``work(transaction)`` in a Firestore transaction, retrying contention.

    ``lock_keys`` name the documents the transaction will touch: this instance's threads
    take turns on them (booking_locks) so they do not abort one another in Firestore.
    ApiErrors raised by ``work`` (slot full, illegal transition, ...) roll back and
    propagate at once. Only when every retry lost to contention does the caller get
    409 ``slot_contended`` — the request can simply be sent again.
    """
    from google.cloud import firestore

    client = get_client()
    keys = list(lock_keys)
    for attempt in range(OUTER_ATTEMPTS):
        try:
            transaction = client.transaction(max_attempts=TRANSACTION_ATTEMPTS)
            with booking_locks.holding(keys):
                return firestore.transactional(work)(transaction)
        except ApiError:
            raise
        except Exception as exc:
            if not _is_contention(exc):
                raise
            logs.warning("transaction contention", what=what, attempt=attempt + 1)
            # Full jitter: spreads the retries of many losers instead of re-colliding.
            delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
            time.sleep(random.uniform(0, delay))
    raise Conflict(
        "Too many requests compete for this slot right now; try again.",
        code="slot_contended",
    )
