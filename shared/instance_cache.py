"""A small per-instance cache of documents, each kept for a bounded time.

A function instance serves many requests with the same few documents (the caller's user
document, the service center a customer books at). Reading them again on every request
costs a Firestore round trip each; keeping them for a few seconds costs a staleness bound
that the caller states. Two properties make that bound honest:

- an entry's age counts from before its read began (the caller passes ``read_at``), so a
  slow read cannot stretch the bound;
- :meth:`InstanceCache.forget` on this instance wins over a read that was in flight when it
  was called: such a read's (possibly older) result is never stored.

Thread-safe; bounded in entries (the least recently used go first).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


class InstanceCache(Generic[V]):
    """Values by key, each for at most the ``max_age`` the caller asks with."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._generation = 0  # bumped by every forget
        self._lock = threading.Lock()

    def get(self, key: str, max_age: float) -> V | None:
        """The value stored for ``key`` if younger than ``max_age`` seconds, else None."""
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if now - entry[0] >= max_age:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def generation(self) -> int:
        """Take this before a read; pass it to :meth:`put` with the read's result."""
        with self._lock:
            return self._generation

    def put(self, key: str, value: V, read_at: float, generation: int) -> None:
        """Remember ``value`` as read at ``read_at`` (monotonic), unless forgotten since."""
        with self._lock:
            if generation != self._generation:
                return
            self._entries[key] = (read_at, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, key: str) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
