"""What callers see of bookings: the JSON shape, who may see which, and the listings.

Reads only; every change goes through booking_store's transactions. Out of scope answers
exactly like missing (404), so booking ids cannot be probed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from booking_documents import BOOKINGS, Booking, as_utc, booking_ref, holder_ref
from booking_models import BookingListQuery

from shared.auth.principal import Principal
from shared.auth.rbac import Role
from shared.auth.scoping import can_see, redact_for, scope_query
from shared.errors import NotFound, ValidationFailed
from shared.firestore import get_client
from shared.pagination import page_of
from shared.query_shapes import QueryShape, register


def _all_shapes() -> tuple[QueryShape, ...]:
    """Every listing the API can run: scope field, optional status, range/order on start."""
    shapes = []
    scope_fields: tuple[tuple[str, ...], ...] = (
        ("customer_id",),
        ("customer_id", "center_id"),
        ("center_id",),
        (),
    )
    for scope in scope_fields:
        for status in ((), ("status",)):
            shapes.append(
                QueryShape(
                    BOOKINGS,
                    equality=scope + status,
                    order=(("start", "ASCENDING"),),
                    description="GET / (list bookings) with its filters",
                )
            )
    return tuple(shapes)


LIST_SHAPES = register(*_all_shapes())
# History fields a viewer does not get: who acted, and what they wrote.
VIEWER_HIDDEN_HISTORY_FIELDS = frozenset({"actor_id", "reason"})


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
    if principal.role is Role.VIEWER:
        # Reporting needs what happened where and when, not who the customer is (nor their
        # free text: a cancellation reason is as personal as the notes).
        body = redact_for(principal, body)
        body.pop("customer_id", None)
        body["history"] = [
            {k: v for k, v in entry.items() if k not in VIEWER_HIDDEN_HISTORY_FIELDS}
            for entry in history
        ]
    return body


def visible_booking(snapshot: Any, principal: Principal) -> Booking:
    """The snapshot's booking if it exists and is in the caller's scope; else 404.

    Missing and out-of-scope answer alike, so ids cannot be probed.
    """
    if not snapshot.exists:
        raise NotFound("The booking does not exist.")
    booking = Booking(snapshot.id, snapshot.to_dict() or {})
    if not can_see(principal, owner_id=booking.customer_id, center_ids=[booking.center_id]):
        raise NotFound("The booking does not exist.")
    return booking


def get_booking(booking_id: str, principal: Principal) -> Booking:
    """The booking if it exists and is in the caller's scope; else 404 (ids are not probed)."""
    return visible_booking(booking_ref(booking_id).get(), principal)


def list_bookings(
    principal: Principal, query: BookingListQuery
) -> tuple[list[dict[str, Any]], str | None]:
    """The caller's scope of bookings, filtered, ordered by start, one page at a time."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    if query.from_date and query.to_date and query.from_date >= query.to_date:
        raise ValidationFailed("'from' must be before 'to'.", code="invalid_range")
    collection = get_client().collection(BOOKINGS)
    built = scope_query(
        collection,
        principal,
        owner_field="customer_id",
        center_field="center_id",
        center_is_array=False,
    )
    if built is None:
        return [], None
    filters: list[tuple[str, str, Any]] = []
    if principal.is_center_staff:
        if query.center_id and query.center_id != principal.service_center_id:
            return [], None  # nothing of another center is in scope
    elif query.center_id:
        # Staff are already narrowed to their center; for others it is a plain filter.
        filters.append(("center_id", "==", query.center_id))
    if query.status:
        filters.append(("status", "==", query.status))
    if query.from_date:
        filters.append(("start", ">=", datetime.combine(query.from_date, datetime.min.time(), UTC)))
    if query.to_date:
        filters.append(("start", "<", datetime.combine(query.to_date, datetime.min.time(), UTC)))

    for field_path, op, value in filters:
        built = built.where(filter=FieldFilter(field_path, op, value))
    built = built.order_by("start").order_by("__name__")
    snapshots, cursor = page_of(collection, built, ["start"], query)
    return [booking_to_json(Booking(s.id, s.to_dict() or {}), principal) for s in snapshots], cursor


def active_bookings_of(customer_id: str) -> list[Booking]:
    """The customer's active bookings (from the holder document, no query needed)."""
    client = get_client()
    holder = holder_ref(customer_id).get()
    ids = list((holder.to_dict() or {}).get("booking_ids") or []) if holder.exists else []
    refs = [client.collection(BOOKINGS).document(i) for i in ids]
    return (
        [Booking(s.id, s.to_dict() or {}) for s in client.get_all(refs) if s.exists] if refs else []
    )
