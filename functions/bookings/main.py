"""Bookings function: service centers, conflict-free bookings, lifecycle, suggestions.

Routes only; the rules live beside this file: ``scheduling`` (calendars and slots),
``lifecycle`` (states and who may act), ``centers`` (center storage, availability),
``booking_store`` (transactions on bookings, slot cells and holders),
``booking_idempotency`` (Idempotency-Key) and ``booking_suggestions`` (alerts → slots).
docs/bookings.md describes the API and the capacity design.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import booking_clock
import booking_idempotency
import booking_store
import booking_suggestions
import centers
import flask
import functions_framework
from booking_models import (
    AssignBody,
    AvailabilityQuery,
    BookingCreate,
    BookingListQuery,
    CenterCreate,
    CenterPatch,
    CompleteBody,
    RescheduleBody,
    SuggestionsQuery,
    slot_error_to_422,
)
from lifecycle import BookingAction
from scheduling import SlotError, parse_local_date, parse_start, validate_start

from shared.auth.principal import Principal
from shared.auth.rbac import Permission, Role, public, require_permission, require_role
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.http import App, Reply, RequestContext
from shared.pagination import PageQuery
from shared.startup import check_configuration

check_configuration()  # a bad setting or signing key stops the instance here
app = App("bookings")


@app.get("/health", rate_limited=False)
@public
def health(ctx: RequestContext) -> dict[str, Any]:
    """This function is up."""
    return {"status": "ok", "function": app.name}


# --------------------------------------------------------------------------- centers


@app.get("/centers", query=PageQuery)
@require_permission(Permission.CENTERS_READ)
def list_centers(ctx: RequestContext) -> dict[str, Any]:
    """Service centers, by name, one page at a time."""
    items, cursor = centers.list_centers(ctx.query_as(PageQuery))
    return {"items": [c.to_json() for c in items], "next_cursor": cursor}


@app.get("/centers/<center_id>")
@require_permission(Permission.CENTERS_READ)
def get_center(ctx: RequestContext) -> dict[str, Any]:
    """One service center."""
    return centers.get_center(ctx.path_params["center_id"]).to_json()


@app.post("/centers", body=CenterCreate, status=201)
@require_permission(Permission.CENTERS_MANAGE)
def create_center(ctx: RequestContext) -> dict[str, Any]:
    """Create a service center (admin)."""
    return centers.create_center(ctx.body_as(CenterCreate)).to_json()


@app.patch("/centers/<center_id>", body=CenterPatch)
@require_permission(Permission.CENTERS_MANAGE)
def update_center(ctx: RequestContext) -> dict[str, Any]:
    """Change some fields of a service center (admin)."""
    return centers.update_center(ctx.path_params["center_id"], ctx.body_as(CenterPatch)).to_json()


@app.get("/centers/<center_id>/availability", query=AvailabilityQuery)
@require_permission(Permission.CENTERS_READ)
def availability(ctx: RequestContext) -> dict[str, Any]:
    """Slots of one day for one service, in the center's zone, with bays remaining."""
    query = ctx.query_as(AvailabilityQuery)
    center = centers.get_center(ctx.path_params["center_id"])
    offering = center.service(query.service)
    if offering is None:
        raise _unknown_service(query.service, "query")
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


def _unknown_service(code: str, location: str) -> ValidationFailed:
    return ValidationFailed(
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


# --------------------------------------------------------------------------- booking


def _own_vehicle(principal: Principal, vehicle_id: str) -> None:
    """404 unless ``vehicle_id`` is the caller's (another's vehicle is not even named)."""
    from shared.firestore import get_client

    snapshot = get_client().collection(booking_store.VEHICLES).document(vehicle_id).get()
    if not snapshot.exists or (snapshot.to_dict() or {}).get("owner_id") != principal.user_id:
        raise NotFound("The vehicle does not exist.")


def _new_booking(
    principal: Principal,
    *,
    vehicle_id: str,
    center_id: str,
    service_type: str,
    start: str,
    notes: str | None,
    source: str = "direct",
    suggestion_id: str | None = None,
) -> booking_store.NewBooking:
    """Every check that needs no lock: ownership, center, service, calendar rules."""
    _own_vehicle(principal, vehicle_id)
    center = centers.get_center(center_id)
    offering = center.service(service_type)
    if offering is None:
        raise _unknown_service(service_type, "body")
    try:
        slot = validate_start(
            center.calendar,
            parse_start(start),
            offering.duration_minutes,
            now=booking_clock.utc_now(),
        )
    except SlotError as exc:
        raise slot_error_to_422(exc) from None
    return booking_store.NewBooking(
        customer=principal,
        vehicle_id=vehicle_id,
        center=center,
        service_type=offering.code,
        service_name=offering.name,
        slot=slot,
        notes=notes,
        source=source,
        suggestion_id=suggestion_id,
    )


def _idempotent_create(
    ctx: RequestContext, operation: str, payload: Any, build: Callable[[], booking_store.NewBooking]
) -> Reply:
    """Run a booking-creating request once per Idempotency-Key (see booking_idempotency)."""
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
        body = booking_store.create_booking(
            build(), max_active=ctx.settings.max_active_bookings, claim=claim
        )
    except BaseException:
        if claim is not None:
            booking_idempotency.abandon(claim)
        raise
    return Reply(body, 201, {"Location": f"{app.prefix}/{body['id']}"})


@app.post("/", body=BookingCreate, status=201)
@require_permission(Permission.BOOKINGS_CREATE)
def create_booking(ctx: RequestContext) -> Reply:
    """Book a service for one of the caller's vehicles (honours Idempotency-Key)."""
    body = ctx.body_as(BookingCreate)
    return _idempotent_create(
        ctx,
        "create_booking",
        body.model_dump(mode="json"),
        lambda: _new_booking(
            ctx.user,
            vehicle_id=body.vehicle_id,
            center_id=body.center_id,
            service_type=body.service_type,
            start=body.start,
            notes=body.notes,
        ),
    )


@app.get("/", query=BookingListQuery)
@require_permission(Permission.BOOKINGS_READ)
def list_bookings(ctx: RequestContext) -> dict[str, Any]:
    """Bookings in the caller's scope, by start; filters status, center_id, from, to."""
    query = ctx.query_as(BookingListQuery)
    if query.from_date and query.to_date and query.from_date >= query.to_date:
        raise ValidationFailed("'from' must be before 'to'.", code="invalid_range")
    items, cursor = booking_store.list_bookings(ctx.user, query)
    return {"items": items, "next_cursor": cursor}


# --------------------------------------------------------------------------- suggestions


@app.get("/suggestions", query=SuggestionsQuery)
@require_permission(Permission.BOOKINGS_CREATE)
def suggestions(ctx: RequestContext) -> dict[str, Any]:
    """Free slots for the caller's vehicles' open alerts and due services."""
    query = ctx.query_as(SuggestionsQuery)
    if (query.lat is None) != (query.lng is None):
        raise ValidationFailed("Send both lat and lng, or neither.", code="invalid_location")
    location = (query.lat, query.lng) if query.lat is not None and query.lng is not None else None
    return {"suggestions": booking_suggestions.suggestions(ctx.user, location)}


@app.post("/suggestions/<suggestion_id>/accept", status=201)
@require_permission(Permission.BOOKINGS_CREATE)
def accept_suggestion(ctx: RequestContext) -> Reply:
    """Book a suggestion, re-checked as a fresh booking; a slot gone meanwhile is 409."""
    suggestion_id = ctx.path_params["suggestion_id"]
    ref = booking_suggestions.SuggestionRef.decode(suggestion_id)

    def build() -> booking_store.NewBooking:
        try:
            return _new_booking(
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
            # The suggestion was valid when issued: now in the past or no longer offered.
            raise Conflict(
                f"The suggested slot can no longer be booked ({exc.code}); "
                "ask for fresh suggestions.",
                code="suggestion_stale",
            ) from None

    try:
        return _idempotent_create(ctx, "accept_suggestion", suggestion_id, build)
    except Conflict as exc:
        if exc.code == "slot_full":
            raise Conflict(
                "The suggested slot was taken meanwhile; ask for fresh suggestions.",
                code="suggestion_stale",
            ) from None
        raise


# --------------------------------------------------------------------------- one booking


@app.get("/<booking_id>")
@require_permission(Permission.BOOKINGS_READ)
def get_booking(ctx: RequestContext) -> dict[str, Any]:
    """One booking in the caller's scope (another's is 404)."""
    booking = booking_store.get_booking(ctx.path_params["booking_id"], ctx.user)
    return booking_store.booking_to_json(booking, ctx.user)


@app.post("/<booking_id>/confirm")
@require_permission(Permission.BOOKINGS_MANAGE)
def confirm(ctx: RequestContext) -> dict[str, Any]:
    """requested → confirmed (the center)."""
    return booking_store.perform_action(
        ctx.path_params["booking_id"], BookingAction.CONFIRM, ctx.user
    )


@app.post("/<booking_id>/start")
@require_permission(Permission.BOOKINGS_WORK)
def start(ctx: RequestContext) -> dict[str, Any]:
    """confirmed → in_progress (the center or the assigned mechanic)."""
    return booking_store.perform_action(
        ctx.path_params["booking_id"], BookingAction.START, ctx.user
    )


@app.post("/<booking_id>/complete", body=CompleteBody)
@require_permission(Permission.BOOKINGS_WORK)
def complete(ctx: RequestContext) -> dict[str, Any]:
    """in_progress → completed, writing the vehicle's service record."""
    return booking_store.complete(
        ctx.path_params["booking_id"], ctx.body_as(CompleteBody), ctx.user
    )


@app.post("/<booking_id>/cancel")
@require_permission(Permission.BOOKINGS_CANCEL)
def cancel(ctx: RequestContext) -> dict[str, Any]:
    """requested/confirmed → cancelled (the customer or the center); frees the bay."""
    return booking_store.perform_action(
        ctx.path_params["booking_id"], BookingAction.CANCEL, ctx.user
    )


@app.post("/<booking_id>/no-show")
@require_permission(Permission.BOOKINGS_MANAGE)
def no_show(ctx: RequestContext) -> dict[str, Any]:
    """confirmed → no_show (the center); frees the bay."""
    return booking_store.perform_action(
        ctx.path_params["booking_id"], BookingAction.NO_SHOW, ctx.user
    )


@app.post("/<booking_id>/assign", body=AssignBody)
@require_permission(Permission.BOOKINGS_MANAGE)
def assign(ctx: RequestContext) -> dict[str, Any]:
    """Give the booking to a mechanic of its center (center staff or admin)."""
    booking = booking_store.get_booking(ctx.path_params["booking_id"], ctx.user)
    center = centers.get_center(booking.center_id)
    return booking_store.assign_mechanic(
        booking.id, ctx.body_as(AssignBody).mechanic_id, ctx.user, center
    )


@app.post("/<booking_id>/reschedule", body=RescheduleBody)
@require_role(Role.CUSTOMER, Role.SERVICE_CENTER, Role.ADMIN)
def reschedule(ctx: RequestContext) -> dict[str, Any]:
    """Move the booking to another start: new slot taken and old freed atomically."""
    booking = booking_store.get_booking(ctx.path_params["booking_id"], ctx.user)
    center = centers.get_center(booking.center_id)
    try:
        slot = validate_start(
            center.calendar,
            parse_start(ctx.body_as(RescheduleBody).start),
            int(booking.data["duration_minutes"]),
            now=booking_clock.utc_now(),
        )
    except SlotError as exc:
        raise slot_error_to_422(exc) from None
    return booking_store.reschedule(booking.id, slot, ctx.user, center)


@functions_framework.http
def bookings(request: flask.Request) -> flask.Response:
    """Entry point of the bookings Cloud Function."""
    return app(request)
