"""A small per-instance cache of computed answers, so polling dashboards cost one computation.

``get(key, compute, max_age)`` returns the stored value while it is younger than ``max_age``
seconds, else computes it once: callers asking for the same key meanwhile wait for that
computation instead of repeating it (a dashboard's burst of polls costs one set of reads).
Ages run on the monotonic clock, which no change of the wall clock can move.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Entry(Generic[T]):
    value: T
    stored_at: float


class TtlCache(Generic[T]):
    def __init__(self, max_entries: int = 32, clock: Callable[[], float] = time.monotonic):
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry[T]] = OrderedDict()
        self._guard = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, compute: Callable[[], T], max_age: float) -> tuple[T, bool]:
        """The value for ``key`` and whether it came from the cache."""
        if max_age <= 0:
            return compute(), False
        hit = self._fresh(key, max_age)
        if hit is not None:
            return hit, True
        with self._guard:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:  # one computation per key at a time; the others then find its result
            hit = self._fresh(key, max_age)
            if hit is not None:
                return hit, True
            try:
                value = compute()
            except BaseException:
                with self._guard:
                    if key not in self._entries:
                        self._key_locks.pop(key, None)
                raise
            with self._guard:
                self._entries[key] = _Entry(value, self._clock())
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    old, _ = self._entries.popitem(last=False)
                    self._key_locks.pop(old, None)
            return value, False

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()

    def _fresh(self, key: Hashable, max_age: float) -> T | None:
        with self._guard:
            entry = self._entries.get(key)
            if entry is None or self._clock() - entry.stored_at >= max_age:
                return None
            return entry.value
