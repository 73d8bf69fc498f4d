"""Capacity bookkeeping inside a transaction: slot cells (bays) and holders (active limit).

* ``slots/{slot_key}`` — one document per grid cell of a center (``scheduling.slot_key``),
  ``{center_id, start, count, booking_ids}``. A booking holds every cell its duration covers
  (``scheduling.slot_keys_held``); ``count`` never exceeds the center's bays.
* ``booking_holders/{customer_id}`` — ``{active_count, booking_ids}``, the customer's bookings
  in an active state; ``active_count`` never exceeds ``Settings.max_active_bookings``.

The booking transactions (:mod:`booking.store`) read these documents first; the functions
here only check the limits and stage the writes, so a refusal (409) leaves nothing behind.
Availability reads the counts without a transaction (:func:`counts`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from booking.scheduling import Slot, slot_keys_held
from shared import clock, fast_writes
from shared.errors import Conflict
from shared.firestore import get_client

if TYPE_CHECKING:
    from google.cloud.firestore import DocumentReference, Transaction

    from booking.calendar_models import CenterCalendar

SLOTS: Final = "slots"
HOLDERS: Final = "booking_holders"

# A document as read_in returns it: None when it does not exist.
Found = Mapping[str, dict[str, Any] | None]


def slot_ref(key: str) -> DocumentReference:
    return get_client().collection(SLOTS).document(key)


def holder_ref(customer_id: str) -> DocumentReference:
    return get_client().collection(HOLDERS).document(customer_id)


def counts(keys: Iterable[str]) -> dict[str, int]:
    """Current booking count of each slot cell (missing cells count 0); no transaction."""
    refs = [slot_ref(key) for key in dict.fromkeys(keys)]
    found = {ref.id: 0 for ref in refs}
    if not refs:
        return found
    for snapshot in get_client().get_all(refs):
        if snapshot.exists:
            found[snapshot.id] = int((snapshot.to_dict() or {}).get("count", 0))
    return found


def take_cells(
    transaction: Transaction,
    cells: Found,
    keys: Iterable[str],
    *,
    booking_id: str,
    center_id: str,
    calendar: CenterCalendar,
    slot: Slot,
) -> None:
    """Add the booking to each of ``keys`` (already read), or raise 409 if one is full.

    ``keys`` are cells of ``slot``: all of them, or on a reschedule only those the old slot
    did not hold already.
    """
    now = clock.now()
    bays = calendar.bays
    step_minutes = calendar.slot_step_minutes
    # A cell's start follows from its place among every cell the slot covers.
    all_keys = slot_keys_held(center_id, calendar, slot)
    writes = []
    for key in keys:
        current = cells[slot_ref(key).path] or {}
        count = int(current.get("count", 0))
        if count >= bays:
            raise Conflict("This slot is fully booked; pick another time.", code="slot_full")
        ids = [i for i in current.get("booking_ids") or [] if i != booking_id]
        cell_start = slot.start_utc + timedelta(minutes=step_minutes * all_keys.index(key))
        writes.append(
            (
                key,
                {
                    "center_id": center_id,
                    "start": cell_start,
                    "count": count + 1,
                    "booking_ids": [*ids, booking_id],
                    "updated_at": now,
                },
            )
        )
    for key, document in writes:
        fast_writes.set_document(transaction, slot_ref(key), document)


def release_cells(
    transaction: Transaction, cells: Found, keys: Iterable[str], booking_id: str
) -> None:
    """Take the booking out of each of ``keys`` (already read), freeing its bay there."""
    now = clock.now()
    for key in keys:
        current = cells[slot_ref(key).path]
        if current is None:
            continue  # nothing held there (should not happen; never go below zero)
        ids = [i for i in current.get("booking_ids") or [] if i != booking_id]
        transaction.update(
            slot_ref(key),
            {
                "count": max(int(current.get("count", 0)) - 1, 0),
                "booking_ids": ids,
                "updated_at": now,
            },
        )


def take_holder(
    transaction: Transaction,
    holder: dict[str, Any] | None,
    customer_id: str,
    booking_id: str,
    *,
    max_active: int,
) -> None:
    """Count the booking as one of the customer's active ones, or 409 at the limit."""
    held_ids = [i for i in (holder or {}).get("booking_ids") or [] if i != booking_id]
    if len(held_ids) >= max_active:
        raise Conflict(
            f"You already hold {len(held_ids)} active bookings (the limit is "
            f"{max_active}); cancel or finish one first.",
            code="active_booking_limit",
        )
    fast_writes.set_document(
        transaction,
        holder_ref(customer_id),
        {
            "active_count": len(held_ids) + 1,
            "booking_ids": [*held_ids, booking_id],
            "updated_at": clock.now(),
        },
    )


def release_holder(
    transaction: Transaction, holder: dict[str, Any] | None, customer_id: str, booking_id: str
) -> None:
    """Stop counting the booking as active for the customer."""
    if holder is None:
        return
    ids = [i for i in holder.get("booking_ids") or [] if i != booking_id]
    transaction.set(
        holder_ref(customer_id),
        {"active_count": len(ids), "booking_ids": ids, "updated_at": clock.now()},
    )
