"""The ingest's day-document write, built straight as a protobuf.

An ingest batch adds up to 500 packed readings to the day documents it touches with a
merge: only the new map entries (and the day's ``count``, ``rollup`` and ``updated_at``)
are written, so concurrent batches never overwrite one another's readings. The client
library's ``Transaction.set(..., merge=True)`` builds that write through proto-plus, one
wrapped message per value, and derives the update mask by walking the dict: ~12 ms of CPU
per 500 readings, more than half of the function's own work on a batch. Built here with
the raw protobuf classes the library itself sends (shared.fast_writes.merge_write, the
bookings' writes' encoder with a merge mask and an optional condition), the same write
costs well under 1 ms.

:func:`merge_day` returns exactly the message the library builds for
``set(ref, fields, merge=True)`` with the same fields (tests/test_vehicles_day_writes.py
compares the serialised bytes, so a library upgrade that changes the encoding fails there
first), and :func:`add_to` queues it on a transaction as the library's own ``set`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared import fast_writes

if TYPE_CHECKING:
    from google.cloud.firestore import DocumentReference, Transaction, WriteBatch

UNREAD = fast_writes.UNCONDITIONAL
"""No condition on the stored document (the default of :func:`merge_day`)."""


def merge_day(
    ref: DocumentReference,
    day: str,
    entries: Mapping[str, str],
    count: int,
    updated_at: datetime,
    *,
    as_read: datetime | fast_writes.Unconditional | None = UNREAD,
) -> Any:
    """The write of ``set(ref, {"day", "readings": entries, "count", "rollup": None,
    "updated_at"}, merge=True)``: the new map entries merged into the stored ones.

    ``as_read`` makes it conditional on the document being as it was read: the update time
    it was read with, or None when it did not exist (then it must still not exist).
    """
    fields = {
        "day": day,
        "readings": dict(entries),
        "count": count,
        "rollup": None,
        "updated_at": updated_at,
    }
    return fast_writes.merge_write(ref, fields, as_read=as_read)


def add_to(batch: WriteBatch | Transaction, write: Any) -> None:
    """Queue ``write`` in a write batch or transaction, as the library's own ``set`` does."""
    fast_writes.stage(batch, write)
