"""Vehicles function: registry, telemetry intake, service records, health and alerts.

Routes only: each declares who may call it, parses its input, makes one call into
:mod:`vehicle.service` and returns. A vehicle outside the caller's scope answers 404
exactly as a missing one (BOLA); a role that never holds the route's permission gets 403
before any lookup, which reveals nothing about any vehicle. Where things live:
docs/vehicles.md ("Where things live") and the package docstring of :mod:`vehicle`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flask
import functions_framework

from shared.auth.rbac import PUBLIC, Permission
from shared.http import App, Reply, RequestContext
from shared.model_refs import lazy_models
from shared.startup import check_configuration
from vehicle import service

# Request and response models are imported by the first request that needs one (and by
# the OpenAPI generator), not at every cold start: shared/model_refs.py.
if TYPE_CHECKING:
    from shared import request_models as shared_m
    from shared import responses as shared_r
    from vehicle import models as m
    from vehicle import responses as r
else:
    shared_m = lazy_models("shared.request_models")
    shared_r = lazy_models("shared.responses")
    m = lazy_models("vehicle.models")
    r = lazy_models("vehicle.responses")

check_configuration()  # a bad setting or signing key stops the instance here
app = App("vehicles")


@app.get("/health", access=PUBLIC, rate_limited=False, response=shared_r.FunctionHealth)
def health(ctx: RequestContext) -> dict[str, Any]:
    """This function is up."""
    return {"status": "ok", "function": app.name}


# --- registry ------------------------------------------------------------------------------


@app.post(
    "/",
    access=Permission.VEHICLES_WRITE,
    body=m.VehicleCreate,
    status=201,
    response=r.Vehicle,
    responses={
        202: r.VinClaimPending,
        409: (
            "vin_already_yours: you have registered this VIN already; too_many_vin_claims: "
            "your VIN claims waiting for review reached the cap"
        ),
    },
)
def create_vehicle(ctx: RequestContext) -> Reply:
    """Register a vehicle owned by the caller; a VIN registered already is a claim (202)."""
    return service.create_vehicle(
        ctx.user, ctx.body_as(m.VehicleCreate), location_prefix=app.prefix, ip=ctx.client_ip
    )


@app.get("/", access=Permission.VEHICLES_READ, query=m.VehicleListQuery, response=r.VehiclePage)
def list_vehicles(ctx: RequestContext) -> dict[str, Any]:
    """The vehicles the caller may see, newest first, cursor-paginated."""
    return service.list_vehicles(ctx.user, ctx.query_as(m.VehicleListQuery))


@app.get("/alerts", access=Permission.VEHICLES_READ, query=m.AlertListQuery, response=r.AlertPage)
def list_alerts(ctx: RequestContext) -> dict[str, Any]:
    """Alerts on the vehicles the caller may see (default: open), newest first."""
    return service.list_alerts(ctx.user, ctx.query_as(m.AlertListQuery))


@app.get(
    "/vin-claims",
    access=Permission.VEHICLES_WRITE,
    query=m.VinClaimListQuery,
    response=r.VinClaimPage,
)
def list_vin_claims(ctx: RequestContext) -> dict[str, Any]:
    """The caller's VIN claims (admins: everyone's, with the current registration)."""
    return service.list_vin_claims(ctx.user, ctx.query_as(m.VinClaimListQuery))


@app.post(
    "/vin-claims/<claim_id>/resolve",
    access=Permission.VIN_CLAIMS_RESOLVE,
    body=m.VinClaimResolution,
    response=r.ResolvedVinClaim,
    responses={409: "claim_not_pending: the claim was approved or rejected already"},
)
def resolve_vin_claim(ctx: RequestContext) -> dict[str, Any]:
    """Approve (the claimant gets the VIN) or reject a pending VIN claim, with a reason."""
    return service.resolve_vin_claim(
        ctx.user, ctx.path_params["claim_id"], ctx.body_as(m.VinClaimResolution), ip=ctx.client_ip
    )


@app.get("/<vehicle_id>", access=Permission.VEHICLES_READ, response=r.Vehicle)
def get_vehicle(ctx: RequestContext) -> dict[str, Any]:
    """One vehicle (404 when it is not in the caller's scope)."""
    return service.get_vehicle(ctx.user, ctx.path_params["vehicle_id"])


@app.patch(
    "/<vehicle_id>", access=Permission.VEHICLES_WRITE, body=m.VehiclePatch, response=r.Vehicle
)
def patch_vehicle(ctx: RequestContext) -> dict[str, Any]:
    """Change plate, nickname, fuel type, mileage (never lower) or maintenance overrides."""
    vehicle_id = ctx.path_params["vehicle_id"]
    return service.patch_vehicle(ctx.user, vehicle_id, ctx.body_as(m.VehiclePatch))


@app.delete("/<vehicle_id>", access=Permission.VEHICLES_WRITE, status=204)
def delete_vehicle(ctx: RequestContext) -> Reply:
    """Delete the vehicle, free its VIN, and delete its telemetry, records and alerts."""
    return service.delete_vehicle(ctx.user, ctx.path_params["vehicle_id"])


# --- telemetry -----------------------------------------------------------------------------


@app.post(
    "/<vehicle_id>/telemetry",
    access=Permission.TELEMETRY_WRITE,
    body=m.TelemetryBatch,
    status=201,
    response=r.IngestResult,
    responses={
        200: r.IngestResult,  # every reading was known already (duplicates)
        207: r.IngestResult,  # some readings were refused, each with its reason
    },
)
def ingest_telemetry(ctx: RequestContext) -> Reply:
    """Store a batch of up to 500 readings; 207 lists each refused one with its reason."""
    vehicle_id = ctx.path_params["vehicle_id"]
    return service.ingest_telemetry(ctx.user, vehicle_id, ctx.body_as(m.TelemetryBatch))


@app.get(
    "/<vehicle_id>/telemetry",
    access=Permission.TELEMETRY_READ,
    query=m.TelemetryQuery,
    response=r.TelemetryPage,
)
def list_telemetry(ctx: RequestContext) -> Reply:
    """Readings between ``from`` and ``to`` (default: the last 7 days), oldest first."""
    vehicle_id = ctx.path_params["vehicle_id"]
    return service.list_telemetry(ctx.user, vehicle_id, ctx.query_as(m.TelemetryQuery))


# --- service records and health ------------------------------------------------------------


@app.get(
    "/<vehicle_id>/service-records",
    access=Permission.VEHICLES_READ,
    query=shared_m.PageQuery,
    response=r.ServiceRecordPage,
)
def list_service_records(ctx: RequestContext) -> dict[str, Any]:
    """The vehicle's service records, newest first."""
    vehicle_id = ctx.path_params["vehicle_id"]
    return service.list_service_records(ctx.user, vehicle_id, ctx.query_as(shared_m.PageQuery))


@app.post(
    "/<vehicle_id>/service-records",
    access=Permission.SERVICE_RECORDS_WRITE,
    body=m.ServiceRecordCreate,
    status=201,
    response=r.ServiceRecord,
)
def add_service_record(ctx: RequestContext) -> Reply:
    """Record completed work; it resets intervals and resolves matching alerts."""
    vehicle_id = ctx.path_params["vehicle_id"]
    return service.add_service_record(ctx.user, vehicle_id, ctx.body_as(m.ServiceRecordCreate))


@app.post(
    "/<vehicle_id>/mileage-correction",
    access=Permission.VEHICLES_WRITE,
    body=m.MileageCorrection,
    response=r.MileageCorrected,
    responses={
        409: "too_many_records: too many service records lie above the corrected mileage",
    },
)
def correct_mileage(ctx: RequestContext) -> dict[str, Any]:
    """Lower a wrong mileage with a reason (owner or admin); audited, records follow."""
    vehicle_id = ctx.path_params["vehicle_id"]
    return service.correct_mileage(
        ctx.user, vehicle_id, ctx.body_as(m.MileageCorrection), ip=ctx.client_ip
    )


@app.get("/<vehicle_id>/health", access=Permission.VEHICLES_READ, response=r.HealthReport)
def vehicle_health_report(ctx: RequestContext) -> Reply:
    """Score 0-100 and explainable findings; refreshes alerts and due services."""
    return service.health_report(ctx.user, ctx.path_params["vehicle_id"])


@functions_framework.http
def vehicles(request: flask.Request) -> flask.Response:
    """Entry point of the vehicles Cloud Function."""
    return app(request)
