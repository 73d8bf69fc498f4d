"""The telemetry tail: where a vehicle's stored readings end, kept on the vehicle document.

Pure (no Firestore). ``telemetry_tail`` on ``vehicles/{id}`` is ``{"key", "day_count"}``:
the map key (:func:`vehicle.codec.reading_key`, whole microseconds since the epoch) of the
newest reading stored for the vehicle, ``0`` when none is, and how many readings its UTC day
document holds.

Why: devices send their readings in time order, so nearly every batch is newer than
everything stored. Such a batch cannot repeat a stored reading, its newest day can only be
the tail's day or a later, empty one, and the tail says how full the tail's day is. So it is
judged and stored without reading its day documents — one read of the vehicle instead of
the vehicle and 1–7 day documents of up to 5,000 entries each
(vehicle.telemetry_store, "the fast path"). A batch that reaches back to or before the tail
(a resend, a backlog out of order) reads its day documents as before.

The tail is exact because every ingest commit writes it on the vehicle document on the
condition that the vehicle is as the batch read it: two batches can never both store
readings judged against the same tail. A vehicle without a tail (stored before it existed,
or whose days were written some other way) gets one from its newest day document the first
time a batch reads its days.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vehicle.codec import day_of, key_time

FIELD = "telemetry_tail"


@dataclass(frozen=True)
class Tail:
    """The newest stored reading's key (0: none stored) and its day document's count."""

    key: int
    day_count: int

    @property
    def day(self) -> str | None:
        """The UTC day document of the newest stored reading (None when none is stored)."""
        return day_of(key_time(str(self.key))) if self.key else None

    def as_field(self) -> dict[str, int]:
        """The value stored in :data:`FIELD`."""
        return {"key": self.key, "day_count": self.day_count}


NOTHING_STORED = Tail(0, 0)


def of_vehicle(vehicle: Mapping[str, Any]) -> Tail | None:
    """The vehicle's tail, or None when it has none (or one this code did not write)."""
    raw = vehicle.get(FIELD)
    if not isinstance(raw, Mapping):
        return None
    key, count = raw.get("key"), raw.get("day_count")
    # bool is an int in Python; a stored True is not a key.
    if type(key) is not int or type(count) is not int or key < 0 or count < 0:
        return None
    if key == 0 and count != 0:
        return None
    return Tail(key, count)


def of_newest_day(readings: Collection[str], count: int | None) -> Tail:
    """The tail as the newest day document gives it: its greatest key, its count."""
    if not readings:
        return NOTHING_STORED
    return Tail(max(int(key) for key in readings), count or len(readings))


def counts_after(
    tail: Tail | None, keys: Iterable[str], days: Iterable[str]
) -> dict[str, int] | None:
    """Stored counts of ``days`` if every one of ``keys`` is newer than the tail, else None.

    Then no stored reading can share a key with the batch, and of its days only the tail's
    own holds readings yet (the others come after it): the batch needs no day document read.
    """
    if tail is None or any(int(key) <= tail.key for key in keys):
        return None
    return {day: tail.day_count if day == tail.day else 0 for day in days}


def after_batch(tail: Tail, added: Iterable[str], counts: Mapping[str, int]) -> Tail:
    """The tail once a batch's ``added`` keys are stored; ``counts`` are the day counts after
    the batch, for every day it touched (read or known from the tail)."""
    newest = max((int(key) for key in added), default=0)
    if newest > tail.key:
        return Tail(newest, counts[day_of(key_time(str(newest)))])
    if tail.day is not None and tail.day in counts:
        return Tail(tail.key, counts[tail.day])  # late readings on the tail's own day
    return tail
