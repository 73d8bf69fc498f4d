"""One function per route of the bookings function: from a validated request to an answer.

Each function checks what can be checked without a lock — the center offers the service,
the start is a real slot of its calendar — and makes one call into a store
(:mod:`booking.store`, :mod:`booking.centers`, :mod:`booking.suggestions`), whose
transaction checks what can change under it (capacity, the vehicle is the caller's, the
booking's state). Creating runs once per ``Idempotency-Key`` (:mod:`booking.idempotency`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from booking import centers, idempotency, store

# booking.suggestions (the scan for free slots near the caller's alerts) is imported by the
# two functions that use it, on their first call: other routes' cold starts skip it.
from booking.centers import Center
from booking.lifecycle import BookingAction
from booking.scheduling import (
    Slot,
    SlotError,
    local_day_bounds,
    parse_local_date,
    parse_start,
    validate_start,
)
from booking.store import NewBooking
from booking.views import booking_to_json
from shared import clock
from shared.auth.principal import Principal
from shared.auth.scoping import redact_for
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.http import Reply, RequestContext
from shared.ids import is_document_id

# Request and calendar models (pydantic) are named in annotations only: the routes hand
# them in validated, so a cold start whose first request validates none imports none.
if TYPE_CHECKING:
    from booking.calendar_models import ServiceOffering
    from booking.list_query import BookingListQuery
    from booking.models import (
        AvailabilityQuery,
        BookingCreate,
        CenterCreate,
        CenterPatch,
        CompleteBody,
        SuggestionsQuery,
    )
    from shared.request_models import PageQuery


def slot_error_to_422(error: SlotError, field: str = "start") -> ValidationFailed:
    """A calendar rule the request broke, as a 422 whose code names the rule."""
    return ValidationFailed(
        f"The requested {field} cannot be booked: {error.detail or error.reason.value}.",
        code=error.reason.value,
        details=[
            {
                "field": field,
                "location": "body" if field == "start" else "query",
                "message": error.detail or error.reason.value,
                "type": error.reason.value,
            }
        ],
    )


# --------------------------------------------------------------------------- centers


def list_centers(principal: Principal, page: PageQuery) -> dict[str, Any]:
    items, cursor = centers.list_centers(page)
    return {"items": [redact_for(principal, c.to_json()) for c in items], "next_cursor": cursor}


def get_center(principal: Principal, center_id: str) -> dict[str, Any]:
    """One center (viewers do not get its mechanics' user ids: shared.auth.scoping)."""
    return redact_for(principal, centers.get_center(center_id).to_json())


def create_center(body: CenterCreate) -> dict[str, Any]:
    return centers.create_center(body).to_json()


def update_center(center_id: str, patch: CenterPatch) -> dict[str, Any]:
    return centers.update_center(center_id, patch).to_json()


def availability(center_id: str, query: AvailabilityQuery) -> dict[str, Any]:
    """Slots of one day for one service, in the center's zone, with bays remaining."""
    center = centers.recent_center(center_id)
    offering = offered_service(center, query.service, location="query")
    try:
        day = parse_local_date(query.date)
    except SlotError as exc:
        raise slot_error_to_422(exc, "date") from None
    slots = centers.availability(center, day, offering.duration_minutes)
    return {
        "center_id": center.id,
        "date": day.isoformat(),
        "service": offering.code,
        "time_zone": center.calendar.time_zone,
        "slots": [s.to_json() for s in slots],
    }


def _center_of_staff(principal: Principal, center_id: str) -> Center:
    """The center, for its own staff and admins; another center's staff get 404 (as if it
    did not exist, so its id cannot be probed), before anything is read."""
    if principal.is_center_staff and principal.service_center_id != center_id:
        raise NotFound("The service center does not exist.")
    return centers.get_center(center_id)


def team(principal: Principal, center_id: str) -> dict[str, Any]:
    """The center's mechanics by name, for assigning work (its staff and admins)."""
    center = _center_of_staff(principal, center_id)
    return {"center_id": center.id, "items": centers.team_of(center)}


def center_suggestions(principal: Principal, center_id: str) -> dict[str, Any]:
    """What the vehicles the center may see need, with the center's own free slots."""
    center = _center_of_staff(principal, center_id)
    from booking import suggestions  # on first use (see the imports)

    return {
        "center_id": center.id,
        "time_zone": center.calendar.time_zone,
        "suggestions": suggestions.center_suggestions(center),
    }


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


# --------------------------------------------------------------------------- reads


def list_bookings(principal: Principal, query: BookingListQuery) -> dict[str, Any]:
    """The caller's bookings; ``date`` is a day on the center's own clock (DST-correct)."""
    if query.local_date is None:
        items, cursor = store.list_bookings(principal, query)
        return {"items": items, "next_cursor": cursor}
    center_id = query.center_id
    if principal.is_center_staff:
        center_id = center_id or principal.service_center_id
        if center_id is None or center_id != principal.service_center_id:
            return {"items": [], "next_cursor": None}  # nothing of another center is in scope
    if center_id is None:
        raise ValidationFailed(
            "A day is a day in a center's time zone: send center_id with date.",
            code="center_required",
            details=[
                {
                    "field": "center_id",
                    "location": "query",
                    "message": "required with date",
                    "type": "center_required",
                }
            ],
        )
    center = centers.get_center(center_id)
    items, cursor = store.list_bookings(
        principal, query, starts_within=local_day_bounds(center.calendar, query.local_date)
    )
    return {"items": items, "next_cursor": cursor}


def get_booking(booking_id: str, principal: Principal) -> dict[str, Any]:
    return booking_to_json(store.get_booking(booking_id, principal), principal)


# --------------------------------------------------------------------------- booking


def slot_at(center: Center, start: str, duration_minutes: int) -> Slot:
    """The slot of ``center`` starting at ``start`` (ISO 8601), else 422 with the reason."""
    try:
        return validate_start(
            center.calendar, parse_start(start), duration_minutes, now=clock.now()
        )
    except SlotError as exc:
        raise slot_error_to_422(exc) from None


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
    """Every check that needs no lock: center, service, calendar rules.

    Nothing is read from Firestore here when this instance read the center recently
    (booking.centers.recent_center). The vehicle is read once, in the booking transaction,
    which answers 404 unless it is the caller's (booking.store.create_booking).
    """
    if not is_document_id(vehicle_id):  # a suggestion id may carry anything
        raise NotFound("The vehicle does not exist.")
    center = centers.recent_center(center_id)
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


def _create_once(
    ctx: RequestContext,
    operation: str,
    payload: Any,
    build: Callable[[], NewBooking],
    *,
    location_prefix: str,
) -> Reply:
    """Run a booking-creating request once per Idempotency-Key (see booking.idempotency).

    ``build`` runs only when the key is new (a replay answers from the stored response), and
    a failure frees the key so the client may retry. ``location_prefix`` is the API path the
    new booking's ``Location`` header starts with.
    """
    key = idempotency.parse_key(ctx.request.headers.get(idempotency.HEADER))
    claim = None
    if key is not None:
        outcome = idempotency.begin(
            ctx.user.user_id, key, idempotency.fingerprint(operation, payload)
        )
        if isinstance(outcome, idempotency.Replay):
            return Reply(outcome.body, outcome.status, {"Idempotent-Replayed": "true"})
        claim = outcome
    try:
        body = store.create_booking(
            build(), max_active=ctx.settings.max_active_bookings, claim=claim
        )
    except BaseException:
        if claim is not None:
            idempotency.abandon(claim)
        raise
    return Reply(body, 201, {"Location": f"{location_prefix}/{body['id']}"})


def create_booking(ctx: RequestContext, body: BookingCreate, *, location_prefix: str) -> Reply:
    """POST /: book a service for one of the caller's vehicles, once per Idempotency-Key."""
    return _create_once(
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


# --------------------------------------------------------------------------- suggestions


def suggest(principal: Principal, query: SuggestionsQuery) -> dict[str, Any]:
    """Free slots for the caller's vehicles' open alerts and due services."""
    from booking import suggestions  # on first use (see the imports)

    return {"suggestions": suggestions.suggestions(principal, _location(query))}


def _location(query: SuggestionsQuery) -> tuple[float, float] | None:
    """Where to look for centers: both coordinates, or none (then everywhere)."""
    if query.lat is None and query.lng is None:
        return None
    if query.lat is None or query.lng is None:
        raise ValidationFailed("Send both lat and lng, or neither.", code="invalid_location")
    return (query.lat, query.lng)


def accept_suggestion(ctx: RequestContext, suggestion_id: str, *, location_prefix: str) -> Reply:
    """Book a suggestion, re-checked as a fresh booking; a slot gone meanwhile is 409.

    Whatever made the suggestion unbookable since it was issued (now in the past, no
    longer offered, taken) answers 409 ``suggestion_stale``: the client asks for fresh ones.
    """
    from booking import suggestions  # on first use (see the imports)

    ref = suggestions.SuggestionRef.decode(suggestion_id)

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
        return _create_once(
            ctx, "accept_suggestion", suggestion_id, build, location_prefix=location_prefix
        )
    except Conflict as exc:
        if exc.code == "slot_full":
            raise Conflict(
                "The suggested slot was taken meanwhile; ask for fresh suggestions.",
                code="suggestion_stale",
            ) from None
        raise


# --------------------------------------------------------------------------- one booking


def act(
    booking_id: str, action: BookingAction, principal: Principal, *, reason: str | None = None
) -> dict[str, Any]:
    """confirm / start / cancel / no-show (lifecycle rules and capacity in one transaction)."""
    return store.perform_action(booking_id, action, principal, reason=reason)


def complete(booking_id: str, body: CompleteBody, principal: Principal) -> dict[str, Any]:
    """in_progress → completed, recording the work on the vehicle in the same transaction."""
    return store.complete(booking_id, body, principal)


def assign(booking_id: str, mechanic_id: str, principal: Principal) -> dict[str, Any]:
    """Give the booking to a mechanic of its own center."""
    booking = store.get_booking(booking_id, principal)
    center = centers.get_center(booking.center_id)
    return store.assign_mechanic(booking.id, mechanic_id, principal, center)


def reschedule(booking_id: str, start: str, principal: Principal) -> dict[str, Any]:
    """Move the booking to ``start`` (same duration), checked against its center's calendar."""
    booking = store.get_booking(booking_id, principal)
    center = centers.get_center(booking.center_id)
    slot = slot_at(center, start, int(booking.data["duration_minutes"]))
    return store.reschedule(booking.id, slot, principal, center)
