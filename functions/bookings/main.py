"""Bookings function: service centers, conflict-free bookings, lifecycle, suggestions.

Routes only: each parses its input, calls one function beside this file, and returns.
``booking_requests`` (checks that need no lock, Idempotency-Key), ``booking_store``
(transactions), ``booking_views`` (JSON, scope, listings), ``centers`` (center storage,
availability) and ``booking_suggestions`` (alerts → slots); docs/bookings.md lists the rest
and describes the API and the capacity design.
"""

from __future__ import annotations

from typing import Any

import booking_requests
import booking_store
import booking_suggestions
import booking_views
import centers
import flask
import functions_framework
from booking_models import (
    AssignBody,
    AvailabilityQuery,
    BookingCreate,
    BookingListQuery,
    CancelBody,
    CenterCreate,
    CenterPatch,
    CompleteBody,
    RescheduleBody,
    SuggestionsQuery,
    slot_error_to_422,
)
from lifecycle import BookingAction
from scheduling import SlotError, parse_local_date

from shared.auth.rbac import Permission, Role, public, require_permission, require_role
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
    offering = booking_requests.offered_service(center, query.service, location="query")
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


# --------------------------------------------------------------------------- booking


@app.post("/", body=BookingCreate, status=201)
@require_permission(Permission.BOOKINGS_CREATE)
def create_booking(ctx: RequestContext) -> Reply:
    """Book a service for one of the caller's vehicles (honours Idempotency-Key)."""
    return booking_requests.create_booking(
        ctx, ctx.body_as(BookingCreate), location_prefix=app.prefix
    )


@app.get("/", query=BookingListQuery)
@require_permission(Permission.BOOKINGS_READ)
def list_bookings(ctx: RequestContext) -> dict[str, Any]:
    """Bookings in the caller's scope, by start; filters status, center_id, from, to."""
    items, cursor = booking_views.list_bookings(ctx.user, ctx.query_as(BookingListQuery))
    return {"items": items, "next_cursor": cursor}


# --------------------------------------------------------------------------- suggestions


@app.get("/suggestions", query=SuggestionsQuery)
@require_permission(Permission.BOOKINGS_CREATE)
def suggestions(ctx: RequestContext) -> dict[str, Any]:
    """Free slots for the caller's vehicles' open alerts and due services."""
    location = booking_requests.suggestion_location(ctx.query_as(SuggestionsQuery))
    return {"suggestions": booking_suggestions.suggestions(ctx.user, location)}


@app.post("/suggestions/<suggestion_id>/accept", status=201)
@require_permission(Permission.BOOKINGS_CREATE)
def accept_suggestion(ctx: RequestContext) -> Reply:
    """Book a suggestion, re-checked as a fresh booking; a slot gone meanwhile is 409."""
    return booking_requests.accept_suggestion(
        ctx, ctx.path_params["suggestion_id"], location_prefix=app.prefix
    )


# --------------------------------------------------------------------------- one booking


@app.get("/<booking_id>")
@require_permission(Permission.BOOKINGS_READ)
def get_booking(ctx: RequestContext) -> dict[str, Any]:
    """One booking in the caller's scope (another's is 404)."""
    booking = booking_views.get_booking(ctx.path_params["booking_id"], ctx.user)
    return booking_views.booking_to_json(booking, ctx.user)


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


@app.post("/<booking_id>/cancel", body=CancelBody, body_optional=True)
@require_permission(Permission.BOOKINGS_CANCEL)
def cancel(ctx: RequestContext) -> dict[str, Any]:
    """requested/confirmed → cancelled (the customer or the center); frees the bay."""
    return booking_store.perform_action(
        ctx.path_params["booking_id"],
        BookingAction.CANCEL,
        ctx.user,
        reason=ctx.body_as(CancelBody).reason,
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
    return booking_requests.assign(
        ctx.path_params["booking_id"], ctx.body_as(AssignBody).mechanic_id, ctx.user
    )


@app.post("/<booking_id>/reschedule", body=RescheduleBody)
@require_role(Role.CUSTOMER, Role.SERVICE_CENTER, Role.ADMIN)
def reschedule(ctx: RequestContext) -> dict[str, Any]:
    """Move the booking to another start: new slot taken and old freed atomically."""
    return booking_requests.reschedule(
        ctx.path_params["booking_id"], ctx.body_as(RescheduleBody).start, ctx.user
    )


@functions_framework.http
def bookings(request: flask.Request) -> flask.Response:
    """Entry point of the bookings Cloud Function."""
    return app(request)
