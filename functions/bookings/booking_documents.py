"""Where bookings live in Firestore: collection names, document references, the Booking type.

Every other booking module reads and writes through these, so a path is spelled once.
Layout (docs/bookings.md): ``bookings/{id}``, ``slots/{slot_key}`` (one per grid cell),
``booking_holders/{customer_id}``, and the vehicles' own ``vehicles/{id}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from centers import SLOTS
from lifecycle import BookingState

from shared.errors import NotFound
from shared.firestore import get_client

BOOKINGS = "bookings"
HOLDERS = "booking_holders"
VEHICLES = "vehicles"
ALERTS = "alerts"
SERVICE_RECORDS = "service_records"
# Firestore ids may be longer; ours never are, and a bound keeps a hostile id out of the
# database entirely.
MAX_BOOKING_ID_CHARS = 128


@dataclass(frozen=True)
class Booking:
    """One stored booking: its id and the document as Firestore returned it."""

    id: str
    data: dict[str, Any]

    @property
    def state(self) -> BookingState:
        return BookingState(self.data["status"])

    @property
    def customer_id(self) -> str:
        return str(self.data["customer_id"])

    @property
    def center_id(self) -> str:
        return str(self.data["center_id"])

    @property
    def slot_keys(self) -> list[str]:
        return list(self.data.get("slot_keys") or [])


def as_utc(value: Any) -> datetime:
    """A stored timestamp as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    raise ValueError(f"not a timestamp: {value!r}")


def booking_ref(booking_id: str) -> Any:
    """The booking's document; an id that cannot be one is 404 without a read."""
    if not booking_id or "/" in booking_id or len(booking_id) > MAX_BOOKING_ID_CHARS:
        raise NotFound("The booking does not exist.")
    return get_client().collection(BOOKINGS).document(booking_id)


def slot_ref(key: str) -> Any:
    return get_client().collection(SLOTS).document(key)


def holder_ref(customer_id: str) -> Any:
    return get_client().collection(HOLDERS).document(customer_id)


def vehicle_ref(vehicle_id: str) -> Any:
    return get_client().collection(VEHICLES).document(vehicle_id)


def require_own_vehicle(vehicle: dict[str, Any] | None, user_id: str) -> None:
    """404 unless the vehicle document exists and is ``user_id``'s.

    Another's vehicle answers exactly like a missing one, so vehicle ids cannot be probed.
    """
    if vehicle is None or vehicle.get("owner_id") != user_id:
        raise NotFound("The vehicle does not exist.")


def read_in(transaction: Any, refs: Iterable[Any]) -> dict[str, dict[str, Any] | None]:
    """Read documents in a transaction, keyed by path; missing documents are None."""
    refs = list(refs)
    found: dict[str, dict[str, Any] | None] = {ref.path: None for ref in refs}
    if refs:
        for snapshot in transaction.get_all(refs):
            if snapshot.exists:
                found[snapshot.reference.path] = snapshot.to_dict() or {}
    return found
