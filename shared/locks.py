"""In-process turn-taking for transactions that touch the same documents.

Correctness never depends on this module: Firestore transactions alone keep every
invariant (a slot within its bays, an idempotency key used once), across any number of
instances. This is about *speed under contention*, and shared.transactions uses it.
Server-side Firestore transactions lock what they read; when several transactions of one
instance read the same slot document at once, they block one another until the backend
aborts all but one (measured on the emulator: 2 racing transactions took 2.6 s, 10 took
100 s and exhausted their retries). Letting a function instance's own threads take turns
per document first means only *other* instances can still collide in Firestore, and a
hot slot costs one short transaction per request instead of a lock-timeout storm.

Locks are striped (a fixed pool indexed by a hash of the document key) so memory stays
bounded, and always taken in ascending stripe order, so two requests needing overlapping
sets can never deadlock.
"""

from __future__ import annotations

import os
import threading
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

# Enough stripes that unrelated slots rarely share one (a false share only serialises two
# requests that need not be, which is harmless); small enough to allocate at import time.
STRIPES = 1024
_locks = tuple(threading.Lock() for _ in range(STRIPES))


def _stripes(keys: Iterable[str]) -> list[int]:
    return sorted({zlib.crc32(key.encode()) % STRIPES for key in keys})


@contextmanager
def holding(keys: Iterable[str]) -> Iterator[None]:
    """Hold the locks of every key (document path) for the duration of the block."""
    taken: list[threading.Lock] = []
    try:
        for stripe in _stripes(keys):
            lock = _locks[stripe]
            lock.acquire()
            taken.append(lock)
        yield
    finally:
        for lock in reversed(taken):
            lock.release()


def query_keys(collection: str) -> list[str]:
    """Extra lock keys for a transaction that runs a query on ``collection``.

    Production Firestore locks the index range a query in a transaction scans (one
    vehicle's alerts, one claimant's claims). The emulator locks the whole collection, so
    concurrent transactions querying it for *different* keys wait at commit for one another
    until they time out, and their retries collide again (16 vehicles ingesting at once
    stalled bench/bench_load.py on the alerts; three owners claiming one VIN at once each
    waited out the 30 s request deadline, again and again). Against the emulator, an
    instance's such transactions take turns on the collection instead; in production they
    need not.
    """
    return [collection] if os.environ.get("FIRESTORE_EMULATOR_HOST") else []
