"""Bookings function: service centers, conflict-free bookings, lifecycle, suggestions.

Routes only: each declares who may call it, parses its input, makes one call into
:mod:`booking.service` and returns. Where things live: docs/bookings.md ("Where things
live") and the package docstring of :mod:`booking`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flask
import functions_framework

from booking import service
from booking.lifecycle import BookingAction
from shared.auth.rbac import PUBLIC, Permission
from shared.http import App, Reply, RequestContext
from shared.model_refs import lazy_models
from shared.startup import check_configuration

# Request and response models are imported by the first request that needs one (and by
# the OpenAPI generator), not at every cold start: shared/model_refs.py.
if TYPE_CHECKING:
    from booking import list_query as lq
    from booking import models as m
    from booking import responses as r
    from shared import request_models as shared_m
    from shared import responses as shared_r
else:
    shared_m = lazy_models("shared.request_models")
    shared_r = lazy_models("shared.responses")
    m = lazy_models("booking.models")
    # The list's query alone: GET / is many a cold instance's first request.
    lq = lazy_models("booking.list_query")
    r = lazy_models("booking.responses")

check_configuration()  # a bad setting or signing key stops the instance here
app = App("bookings")

# How a state change of a booking is refused, as every action route documents it.
ACTION_REFUSALS = {
    403: "action_forbidden: your relation to this booking does not allow it",
    409: "illegal_transition: the booking is not in a state this action applies to",
}


@app.get("/health", access=PUBLIC, rate_limited=False, response=shared_r.FunctionHealth)
def health(ctx: RequestContext) -> dict[str, Any]:
    """This function is up."""
    return {"status": "ok", "function": app.name}


# --------------------------------------------------------------------------- centers


@app.get(
    "/centers", access=Permission.CENTERS_READ, query=shared_m.PageQuery, response=r.CenterPage
)
def list_centers(ctx: RequestContext) -> dict[str, Any]:
    """Service centers, by name, one page at a time."""
    return service.list_centers(ctx.user, ctx.query_as(shared_m.PageQuery))


@app.get("/centers/<center_id>", access=Permission.CENTERS_READ, response=r.Center)
def get_center(ctx: RequestContext) -> dict[str, Any]:
    """One service center."""
    return service.get_center(ctx.user, ctx.path_params["center_id"])


@app.post(
    "/centers", access=Permission.CENTERS_MANAGE, body=m.CenterCreate, status=201, response=r.Center
)
def create_center(ctx: RequestContext) -> dict[str, Any]:
    """Create a service center (admin)."""
    return service.create_center(ctx.body_as(m.CenterCreate))


@app.patch(
    "/centers/<center_id>", access=Permission.CENTERS_MANAGE, body=m.CenterPatch, response=r.Center
)
def update_center(ctx: RequestContext) -> dict[str, Any]:
    """Change some fields of a service center (admin)."""
    return service.update_center(ctx.path_params["center_id"], ctx.body_as(m.CenterPatch))


@app.get(
    "/centers/<center_id>/availability",
    access=Permission.CENTERS_READ,
    query=m.AvailabilityQuery,
    response=r.Availability,
)
def availability(ctx: RequestContext) -> dict[str, Any]:
    """Slots of one day for one service, in the center's zone, with bays remaining."""
    return service.availability(ctx.path_params["center_id"], ctx.query_as(m.AvailabilityQuery))


@app.get("/centers/<center_id>/team", access=Permission.BOOKINGS_WORK, response=r.CenterTeam)
def center_team(ctx: RequestContext) -> dict[str, Any]:
    """The center's mechanics by name (its staff and admins; another center's staff: 404)."""
    return service.team(ctx.user, ctx.path_params["center_id"])


@app.get(
    "/centers/<center_id>/suggestions",
    access=Permission.BOOKINGS_MANAGE,
    response=r.CenterSuggestions,
)
def center_suggestions(ctx: RequestContext) -> dict[str, Any]:
    """Open alerts of the vehicles the center may see now, with its own free slots."""
    return service.center_suggestions(ctx.user, ctx.path_params["center_id"])


# --------------------------------------------------------------------------- booking


@app.post(
    "/",
    access=Permission.BOOKINGS_CREATE,
    body=m.BookingCreate,
    status=201,
    response=r.Booking,
    idempotency_key=True,
    responses={
        400: "invalid_idempotency_key: the Idempotency-Key header is not 1..255 printable "
        "characters",
        404: "not_found: the vehicle is not the caller's, or the center does not exist",
        409: "slot_full, active_booking_limit, idempotency_in_progress (the first request "
        "with this key is still running: retry after Retry-After)",
    },
)
def create_booking(ctx: RequestContext) -> Reply:
    """Book a service for one of the caller's vehicles (honours Idempotency-Key)."""
    return service.create_booking(ctx, ctx.body_as(m.BookingCreate), location_prefix=app.prefix)


@app.get(
    "/",
    access=Permission.BOOKINGS_READ,
    query=lq.BookingListQuery,
    response=r.BookingPage,
    responses={404: "not_found: with date, center_id names no service center"},
)
def list_bookings(ctx: RequestContext) -> dict[str, Any]:
    """Bookings in the caller's scope, by start; filters status, center_id, date or from/to."""
    return service.list_bookings(ctx.user, ctx.query_as(lq.BookingListQuery))


# --------------------------------------------------------------------------- suggestions


@app.get(
    "/suggestions",
    access=Permission.BOOKINGS_CREATE,
    query=m.SuggestionsQuery,
    response=r.Suggestions,
)
def suggestions(ctx: RequestContext) -> dict[str, Any]:
    """Free slots for the caller's vehicles' open alerts and due services."""
    return service.suggest(ctx.user, ctx.query_as(m.SuggestionsQuery))


@app.post(
    "/suggestions/<opaque:suggestion_id>/accept",
    access=Permission.BOOKINGS_CREATE,
    status=201,
    response=r.Booking,
    idempotency_key=True,
    responses={
        400: "invalid_idempotency_key",
        409: "suggestion_stale (ask for fresh suggestions), active_booking_limit, "
        "idempotency_in_progress",
    },
)
def accept_suggestion(ctx: RequestContext) -> Reply:
    """Book a suggestion, re-checked as a fresh booking; a slot gone meanwhile is 409."""
    return service.accept_suggestion(
        ctx, ctx.path_params["suggestion_id"], location_prefix=app.prefix
    )


# --------------------------------------------------------------------------- one booking


@app.get("/<booking_id>", access=Permission.BOOKINGS_READ, response=r.Booking)
def get_booking(ctx: RequestContext) -> dict[str, Any]:
    """One booking in the caller's scope (another's is 404)."""
    return service.get_booking(ctx.path_params["booking_id"], ctx.user)


@app.post(
    "/<booking_id>/confirm",
    access=Permission.BOOKINGS_MANAGE,
    response=r.Booking,
    responses=ACTION_REFUSALS,
)
def confirm(ctx: RequestContext) -> dict[str, Any]:
    """requested → confirmed (the center)."""
    return service.act(ctx.path_params["booking_id"], BookingAction.CONFIRM, ctx.user)


@app.post(
    "/<booking_id>/start",
    access=Permission.BOOKINGS_WORK,
    response=r.Booking,
    responses=ACTION_REFUSALS,
)
def start(ctx: RequestContext) -> dict[str, Any]:
    """confirmed → in_progress (the center or the assigned mechanic)."""
    return service.act(ctx.path_params["booking_id"], BookingAction.START, ctx.user)


@app.post(
    "/<booking_id>/complete",
    access=Permission.BOOKINGS_WORK,
    body=m.CompleteBody,
    response=r.Booking,
    responses=ACTION_REFUSALS,
)
def complete(ctx: RequestContext) -> dict[str, Any]:
    """in_progress → completed, recording the work on the vehicle in the same transaction."""
    return service.complete(ctx.path_params["booking_id"], ctx.body_as(m.CompleteBody), ctx.user)


@app.post(
    "/<booking_id>/cancel",
    access=Permission.BOOKINGS_CANCEL,
    body=m.CancelBody,
    body_optional=True,
    response=r.Booking,
    responses=ACTION_REFUSALS,
)
def cancel(ctx: RequestContext) -> dict[str, Any]:
    """requested/confirmed → cancelled (the customer or the center); frees the bay."""
    reason = ctx.body_as(m.CancelBody).reason
    return service.act(ctx.path_params["booking_id"], BookingAction.CANCEL, ctx.user, reason=reason)


@app.post(
    "/<booking_id>/no-show",
    access=Permission.BOOKINGS_MANAGE,
    response=r.Booking,
    responses=ACTION_REFUSALS,
)
def no_show(ctx: RequestContext) -> dict[str, Any]:
    """confirmed → no_show (the center); frees the bay."""
    return service.act(ctx.path_params["booking_id"], BookingAction.NO_SHOW, ctx.user)


@app.post(
    "/<booking_id>/assign",
    access=Permission.BOOKINGS_MANAGE,
    body=m.AssignBody,
    response=r.Booking,
    responses={
        403: "action_forbidden: only the center's staff may assign",
        409: "illegal_transition: the booking can no longer be assigned",
    },
)
def assign(ctx: RequestContext) -> dict[str, Any]:
    """Give the booking to a mechanic of its center (center staff or admin)."""
    mechanic_id = ctx.body_as(m.AssignBody).mechanic_id
    return service.assign(ctx.path_params["booking_id"], mechanic_id, ctx.user)


@app.post(
    "/<booking_id>/reschedule",
    access=Permission.BOOKINGS_RESCHEDULE,
    body=m.RescheduleBody,
    response=r.Booking,
    responses={
        403: "action_forbidden: your relation to this booking does not allow it",
        409: "slot_full, illegal_transition: the booking is not in a state this action applies to",
    },
)
def reschedule(ctx: RequestContext) -> dict[str, Any]:
    """Move the booking to another start: new slot taken and old freed atomically."""
    start = ctx.body_as(m.RescheduleBody).start
    return service.reschedule(ctx.path_params["booking_id"], start, ctx.user)


@functions_framework.http
def bookings(request: flask.Request) -> flask.Response:
    """Entry point of the bookings Cloud Function."""
    return app(request)
