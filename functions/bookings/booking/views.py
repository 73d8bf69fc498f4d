"""A stored booking and what callers see of it: the JSON shape and who may see which.

Pure (no Firestore): :mod:`booking.store` reads and writes, and renders through here, so a
booking looks the same in a listing, a transaction's answer and a replayed response. Out of
scope answers exactly like missing (404), so booking ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from booking.lifecycle import BookingState
from shared.auth.principal import Principal
from shared.auth.scoping import can_see, redact_for
from shared.errors import NotFound


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
    def vehicle_id(self) -> str:
        return str(self.data["vehicle_id"])

    @property
    def slot_keys(self) -> list[str]:
        return list(self.data.get("slot_keys") or [])

    @property
    def history(self) -> list[dict[str, Any]]:
        return list(self.data.get("history") or [])


def as_utc(value: Any) -> datetime:
    """A stored timestamp as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    raise ValueError(f"not a timestamp: {value!r}")


def booking_to_json(booking: Booking, principal: Principal) -> dict[str, Any]:
    """The API shape: times in the center's zone, personal data removed for viewers."""
    data = booking.data
    zone = ZoneInfo(data.get("time_zone") or "UTC")

    def local(value: Any) -> str | None:
        return as_utc(value).astimezone(zone).isoformat() if value else None

    history = [{**entry, "at": local(entry.get("at"))} for entry in data.get("history") or []]
    body = {
        "id": booking.id,
        "customer_id": data.get("customer_id"),
        "vehicle_id": data.get("vehicle_id"),
        "center_id": data.get("center_id"),
        "center_name": data.get("center_name"),
        "service_type": data.get("service_type"),
        "service_name": data.get("service_name"),
        "duration_minutes": data.get("duration_minutes"),
        "start": local(data.get("start")),
        "end": local(data.get("end")),
        "time_zone": data.get("time_zone"),
        "status": data.get("status"),
        "mechanic_id": data.get("mechanic_id"),
        "notes": data.get("notes"),
        "source": data.get("source"),
        "suggestion_id": data.get("suggestion_id"),
        "completion": data.get("completion"),
        "history": history,
        "created_at": local(data.get("created_at")),
        "updated_at": local(data.get("updated_at")),
    }
    # Viewers: what happened where and when, not who (customer, actors, mechanic), nor which
    # vehicle (vehicle_id, the suggestion id encoding it, the record and alert ids of the
    # completion), nor anyone's words (notes, reasons, work done): shared.auth.scoping.
    return redact_for(principal, body)


def visible(booking: Booking | None, principal: Principal) -> Booking:
    """``booking`` if it exists and is in the caller's scope; else 404.

    Missing and out-of-scope answer alike, so ids cannot be probed.
    """
    if booking is None or not can_see(
        principal, owner_id=booking.customer_id, center_ids=[booking.center_id]
    ):
        raise NotFound("The booking does not exist.")
    return booking
