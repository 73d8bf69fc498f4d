"""From a validated request to a booking change: every check that needs no lock.

The routes in main.py parse the request and call one function here. These functions check
what can be checked without a transaction — the vehicle is the caller's, the center offers
the service, the start is a real slot of its calendar — and hand the result to
booking_store, whose transaction re-checks only what can change under it (capacity, the
vehicle, the booking's state). Creating also runs through ``Idempotency-Key`` here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import booking_clock
import booking_idempotency
import booking_store
import booking_suggestions
import centers
from booking_documents import require_own_vehicle, vehicle_ref
from booking_models import BookingCreate, SuggestionsQuery, slot_error_to_422
from booking_store import NewBooking
from booking_views import get_booking
from centers import Center
from scheduling import ServiceOffering, Slot, SlotError, parse_start, validate_start

from shared.auth.principal import Principal
from shared.errors import Conflict, ValidationFailed
from shared.http import Reply, RequestContext


def offered_service(center: Center, code: str, *, location: str) -> ServiceOffering:
    """The center's offering for ``code``, else 422 ``unknown_service``.

    ``location`` is where the code came from (``"query"`` or ``"body"``), which names the
    field in the error's details.
    """
    offering = center.service(code)
    if offering is None:
        raise ValidationFailed(
            f"This center does not offer the service {code!r}.",
            code="unknown_service",
            details=[
                {
                    "field": "service" if location == "query" else "service_type",
                    "location": location,
                    "message": "not offered by this center",
                    "type": "unknown_service",
                }
            ],
        )
    return offering


def slot_at(center: Center, start: str, duration_minutes: int) -> Slot:
    """The slot of ``center`` starting at ``start`` (ISO 8601), else 422 with the reason."""
    try:
        return validate_start(
            center.calendar, parse_start(start), duration_minutes, now=booking_clock.utc_now()
        )
    except SlotError as exc:
        raise slot_error_to_422(exc) from None


def own_vehicle(principal: Principal, vehicle_id: str) -> None:
    """404 unless ``vehicle_id`` is the caller's (another's vehicle is not even named).

    A first, lock-free check so a bad vehicle fails before any other lookup; the booking
    transaction reads the vehicle again (it may be deleted meanwhile).
    """
    snapshot = vehicle_ref(vehicle_id).get()
    require_own_vehicle(snapshot.to_dict() if snapshot.exists else None, principal.user_id)


def new_booking(
    principal: Principal,
    *,
    vehicle_id: str,
    center_id: str,
    service_type: str,
    start: str,
    notes: str | None,
    source: str = "direct",
    suggestion_id: str | None = None,
) -> NewBooking:
    """Every check that needs no lock: ownership, center, service, calendar rules."""
    own_vehicle(principal, vehicle_id)
    center = centers.get_center(center_id)
    offering = offered_service(center, service_type, location="body")
    return NewBooking(
        customer=principal,
        vehicle_id=vehicle_id,
        center=center,
        service_type=offering.code,
        service_name=offering.name,
        slot=slot_at(center, start, offering.duration_minutes),
        notes=notes,
        source=source,
        suggestion_id=suggestion_id,
    )


def create_once(
    ctx: RequestContext,
    operation: str,
    payload: Any,
    build: Callable[[], NewBooking],
    *,
    location_prefix: str,
) -> Reply:
    """Run a booking-creating request once per Idempotency-Key (see booking_idempotency).

    ``build`` runs only when the key is new (a replay answers from the stored response), and
    a failure frees the key so the client may retry. ``location_prefix`` is the API path the
    new booking's ``Location`` header starts with.
    """
    key = booking_idempotency.parse_key(ctx.request.headers.get(booking_idempotency.HEADER))
    claim = None
    if key is not None:
        outcome = booking_idempotency.begin(
            ctx.user.user_id, key, booking_idempotency.fingerprint(operation, payload)
        )
        if isinstance(outcome, booking_idempotency.Replay):
            return Reply(outcome.body, outcome.status, {"Idempotent-Replayed": "true"})
        claim = outcome
    try:
        # Through the module, not a name imported once: tests slow this call down.
        body = booking_store.create_booking(
            build(), max_active=ctx.settings.max_active_bookings, claim=claim
        )
    except BaseException:
        if claim is not None:
            booking_idempotency.abandon(claim)
        raise
    return Reply(body, 201, {"Location": f"{location_prefix}/{body['id']}"})


def create_booking(ctx: RequestContext, body: BookingCreate, *, location_prefix: str) -> Reply:
    """POST /: book a service for one of the caller's vehicles, once per Idempotency-Key."""
    return create_once(
        ctx,
        "create_booking",
        body.model_dump(mode="json"),
        lambda: new_booking(
            ctx.user,
            vehicle_id=body.vehicle_id,
            center_id=body.center_id,
            service_type=body.service_type,
            start=body.start,
            notes=body.notes,
        ),
        location_prefix=location_prefix,
    )


def accept_suggestion(ctx: RequestContext, suggestion_id: str, *, location_prefix: str) -> Reply:
    """Book a suggestion, re-checked as a fresh booking; a slot gone meanwhile is 409.

    Whatever made the suggestion unbookable since it was issued (now in the past, no
    longer offered, taken) answers 409 ``suggestion_stale``: the client asks for fresh ones.
    """
    ref = booking_suggestions.SuggestionRef.decode(suggestion_id)

    def build() -> NewBooking:
        try:
            return new_booking(
                ctx.user,
                vehicle_id=ref.vehicle_id,
                center_id=ref.center_id,
                service_type=ref.service_code,
                start=ref.start.isoformat(),
                notes=None,
                source="suggestion",
                suggestion_id=suggestion_id,
            )
        except ValidationFailed as exc:
            raise Conflict(
                f"The suggested slot can no longer be booked ({exc.code}); "
                "ask for fresh suggestions.",
                code="suggestion_stale",
            ) from None

    try:
        return create_once(
            ctx, "accept_suggestion", suggestion_id, build, location_prefix=location_prefix
        )
    except Conflict as exc:
        if exc.code == "slot_full":
            raise Conflict(
                "The suggested slot was taken meanwhile; ask for fresh suggestions.",
                code="suggestion_stale",
            ) from None
        raise


def suggestion_location(query: SuggestionsQuery) -> tuple[float, float] | None:
    """Where to look for centers: both coordinates, or none (then everywhere)."""
    if query.lat is None and query.lng is None:
        return None
    if query.lat is None or query.lng is None:
        raise ValidationFailed("Send both lat and lng, or neither.", code="invalid_location")
    return (query.lat, query.lng)


def assign(booking_id: str, mechanic_id: str, principal: Principal) -> dict[str, Any]:
    """Give the booking to a mechanic of its own center."""
    booking = get_booking(booking_id, principal)
    center = centers.get_center(booking.center_id)
    return booking_store.assign_mechanic(booking.id, mechanic_id, principal, center)


def reschedule(booking_id: str, start: str, principal: Principal) -> dict[str, Any]:
    """Move the booking to ``start`` (same duration), checked against its center's calendar."""
    booking = get_booking(booking_id, principal)
    center = centers.get_center(booking.center_id)
    slot = slot_at(center, start, int(booking.data["duration_minutes"]))
    return booking_store.reschedule(booking.id, slot, principal, center)
