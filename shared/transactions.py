"""Running a Firestore transaction through contention: the one retry helper.

Firestore server transactions lock what they read; requests racing for one document abort
one another. :func:`run_transaction` is the one answer, for every function:

1. this instance's threads take turns on the documents the transaction names
   (shared.locks), so only other instances can still collide in Firestore;
2. the client library retries an aborted commit inside one transaction object, keeping
   its "spot in line";
3. outer retries with jittered back-off catch what the library does not retry (a read that
   timed out waiting for a lock) and an exhausted inner budget;
4. after that the caller gets :class:`Contended`: **503** ``contention`` with
   ``Retry-After`` — nothing was written and the same request may simply be sent again.

Contention is recognised by exception type only (``google.api_core.exceptions.Aborted``,
raised directly or as the cause of the library's "too many attempts" error), never by
message text. A business refusal raised inside the work (an :class:`~shared.errors.ApiError`
such as 409 ``slot_full``) rolls back and propagates at once, unretried.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from google.api_core import exceptions as google_exceptions

from shared import locks, logs
from shared.deadline import DeadlineExceeded
from shared.errors import ApiError, ServiceUnavailable
from shared.firestore import get_client

if TYPE_CHECKING:
    from google.cloud.firestore import Transaction

T = TypeVar("T")

# The client library retries an aborted commit this many times inside one transaction
# object. 50 requests racing for one slot on the emulator abort each other repeatedly; 20
# attempts plus the outer retries below were enough in measurement (docs/bookings.md)
# without letting one request spin for long.
TRANSACTION_ATTEMPTS = 20
# Outer retries with jittered back-off, for aborts the library does not retry and for an
# exhausted inner budget.
OUTER_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 0.02
BACKOFF_CAP_SECONDS = 0.5
# What a client is told to wait before sending the request again.
RETRY_AFTER_SECONDS = 1


class Contended(ServiceUnavailable):
    """Every retry lost to concurrent writers; nothing was written (503, Retry-After)."""

    code = "contention"
    default_message = "Too many requests are changing the same data right now; try again."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def is_contention(exc: BaseException) -> bool:
    """True when ``exc`` means "lost to a concurrent transaction" (by type, never by text).

    The library raises ``Aborted`` for a lost read or commit, and wraps the last ``Aborted``
    as the ``__cause__`` of its own error when its attempts run out.
    """
    return isinstance(exc, google_exceptions.Aborted) or isinstance(
        exc.__cause__, google_exceptions.Aborted
    )


def _underlying(exc: Exception) -> Exception:
    """The failure that started it, when the library's rollback masked it.

    On any error the library rolls back, and a rollback that cannot run (the transaction
    never began, say because the request's deadline passed first) raises its own
    ValueError with the real cause as ``__context__``: an out-of-time request must still
    answer 503 ``deadline_exceeded``, not 500.
    """
    from google.api_core import exceptions as google_exceptions

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ApiError):
            return seen
        if isinstance(seen, google_exceptions.DeadlineExceeded | google_exceptions.RetryError):
            return DeadlineExceeded()
        seen = seen.__cause__ or seen.__context__
    return exc


def run_transaction(
    work: Callable[[Transaction], T],
    *,
    what: str,
    lock_keys: Iterable[str] = (),
    attempts: int = TRANSACTION_ATTEMPTS,
    outer_attempts: int = OUTER_ATTEMPTS,
) -> T:
    """Run ``work(transaction)`` in a Firestore transaction, retrying contention.

    ``work`` must do every read before its first write (Firestore's rule) and may run more
    than once, so it must not have effects outside the transaction. ``lock_keys`` name the
    documents it will touch (their paths) for in-process turn-taking; ``what`` names the
    operation in the log line written for each lost attempt.
    """
    from google.cloud import firestore

    client = get_client()
    keys = list(lock_keys)
    for attempt in range(outer_attempts):
        try:
            transaction = client.transaction(max_attempts=attempts)
            with locks.holding(keys):
                result: T = firestore.transactional(work)(transaction)
                return result
        except ApiError:
            raise
        except Exception as exc:
            if not is_contention(exc):
                raise _underlying(exc) from exc
            logs.warning("transaction contention", what=what, attempt=attempt + 1)
            # Full jitter: spreads the retries of many losers instead of re-colliding.
            delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
            time.sleep(random.uniform(0, delay))
    raise Contended()
