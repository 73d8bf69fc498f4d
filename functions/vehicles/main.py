"""Vehicles function: registry, telemetry intake, service records, health and alerts.

Routes only; the work is in the modules beside this one (vehicle_store, telemetry_store,
service_records, alerts, vehicle_health, vehicle_models). Scoping rule for every
``/{vehicle_id}`` route: a vehicle outside the caller's scope answers 404 exactly as a
missing one (BOLA); a role that never holds the route's permission gets 403 before any
lookup, which reveals nothing about any vehicle. See docs/vehicles.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import alerts
import flask
import functions_framework
import service_records
import telemetry_store
import vehicle_health
import vehicle_store
from vehicle_models import (
    DEFAULT_TELEMETRY_SPAN_DAYS,
    AlertListQuery,
    ServiceRecordCreate,
    TelemetryBatch,
    TelemetryQuery,
    VehicleCreate,
    VehicleListQuery,
    VehiclePatch,
)

from shared import logs
from shared.auth.rbac import Permission, public, require_permission
from shared.http import App, Reply, RequestContext
from shared.pagination import PageQuery, decode_cursor, encode_cursor
from shared.startup import check_configuration

check_configuration()  # a bad setting or signing key stops the instance here
app = App("vehicles")

# Telemetry cursors carry one value (the last reading's key) and this fixed marker.
TELEMETRY_CURSOR_ID = "telemetry"


def _ops_header(reads: int, writes: int) -> dict[str, str]:
    # Firestore operations this request cost (besides the caller's user document): lets the
    # benchmark verify the storage design's cost per reading from outside the process.
    return {"X-Firestore-Ops": f"reads={reads}; writes={writes}"}


@app.get("/health", rate_limited=False)
@public
def health(ctx: RequestContext) -> dict[str, Any]:
    """This function is up."""
    return {"status": "ok", "function": app.name}


# --- registry ------------------------------------------------------------------------------


@app.post("/", body=VehicleCreate, status=201)
@require_permission(Permission.VEHICLES_WRITE)
def create_vehicle(ctx: RequestContext) -> Reply:
    """Register a vehicle owned by the caller (VIN unique on the platform, else 409)."""
    vehicle = vehicle_store.create_vehicle(ctx.user.user_id, ctx.body_as(VehicleCreate))
    return Reply(
        vehicle_store.present(ctx.user, vehicle),
        status=201,
        headers={"Location": f"/api/vehicles/{vehicle['id']}"},
    )


@app.get("/", query=VehicleListQuery)
@require_permission(Permission.VEHICLES_READ)
def list_vehicles(ctx: RequestContext) -> dict[str, Any]:
    """The vehicles the caller may see, newest first, cursor-paginated."""
    items, cursor = vehicle_store.list_vehicles(ctx.user, ctx.query_as(VehicleListQuery))
    return {"items": items, "next_cursor": cursor}


@app.get("/alerts", query=AlertListQuery)
@require_permission(Permission.VEHICLES_READ)
def list_alerts(ctx: RequestContext) -> dict[str, Any]:
    """Alerts on the vehicles the caller may see (default: open), newest first."""
    items, cursor = alerts.list_alerts(ctx.user, ctx.query_as(AlertListQuery))
    return {"items": items, "next_cursor": cursor}


@app.get("/<vehicle_id>")
@require_permission(Permission.VEHICLES_READ)
def get_vehicle(ctx: RequestContext) -> dict[str, Any]:
    """One vehicle (404 when it is not in the caller's scope)."""
    vehicle = vehicle_store.load_visible(ctx.user, ctx.path_params["vehicle_id"])
    return vehicle_store.present(ctx.user, vehicle)


@app.patch("/<vehicle_id>", body=VehiclePatch)
@require_permission(Permission.VEHICLES_WRITE)
def patch_vehicle(ctx: RequestContext) -> dict[str, Any]:
    """Change plate, nickname, fuel type, mileage (never lower) or maintenance overrides."""
    vehicle = vehicle_store.load_visible(ctx.user, ctx.path_params["vehicle_id"])
    updated = vehicle_store.patch_vehicle(vehicle["id"], ctx.body_as(VehiclePatch))
    return vehicle_store.present(ctx.user, updated)


@app.delete("/<vehicle_id>")
@require_permission(Permission.VEHICLES_WRITE)
def delete_vehicle(ctx: RequestContext) -> Reply:
    """Delete the vehicle, free its VIN, and delete its telemetry, records and alerts."""
    vehicle = vehicle_store.load_visible(ctx.user, ctx.path_params["vehicle_id"])
    vehicle_store.delete_vehicle(vehicle)
    return Reply(status=204)


# --- telemetry -----------------------------------------------------------------------------


@app.post("/<vehicle_id>/telemetry", body=TelemetryBatch)
@require_permission(Permission.TELEMETRY_WRITE)
def ingest_telemetry(ctx: RequestContext) -> Reply:
    """Store a batch of up to 500 readings; 207 lists each refused one with its reason."""
    vehicle = vehicle_store.load_visible(ctx.user, ctx.path_params["vehicle_id"])
    now = vehicle_store.now_utc()
    result = telemetry_store.ingest(vehicle["id"], ctx.body_as(TelemetryBatch).readings, now)
    reads, writes = 1 + result.reads, result.writes
    body = result.as_json()
    body["health_evaluated"] = False
    if vehicle_health.should_evaluate_after_ingest(vehicle, result.accepted_readings, now):
        try:
            fresh = vehicle_store.load_visible(ctx.user, vehicle["id"])
            outcome = vehicle_health.evaluate(fresh, now)
            reads, writes = reads + 1 + outcome.reads, writes + outcome.writes
            body["health_evaluated"] = True
        except Exception as exc:  # the readings are stored; health catches up next time
            logs.warning("health evaluation after ingest failed", error=repr(exc))
    return Reply(body, status=result.http_status, headers=_ops_header(reads, writes))


@app.get("/<vehicle_id>/telemetry", query=TelemetryQuery)
@require_permission(Permission.TELEMETRY_READ)
def list_telemetry(ctx: RequestContext) -> Reply:
    """Readings between ``from`` and ``to`` (default: the last 7 days), oldest first."""
    vehicle = vehicle_store.load_visible(ctx.user, ctx.path_params["vehicle_id"])
    query = ctx.query_as(TelemetryQuery)
    end = query.to or vehicle_store.now_utc()
    start = query.from_ or end - timedelta(days=DEFAULT_TELEMETRY_SPAN_DAYS)
    after_key = None
    if query.cursor:
        values, marker = decode_cursor(query.cursor)
        if marker != TELEMETRY_CURSOR_ID or len(values) != 1 or not str(values[0]).isdigit():
            decode_cursor("!")  # raises the standard 422 for a foreign cursor
        after_key = str(values[0])
    items, next_key, docs = telemetry_store.readings_between(
        vehicle["id"], start, end, after_key, query.limit
    )
    return Reply(
        {
            "items": [{k: v for k, v in item.items() if k != "_key"} for item in items],
            "next_cursor": encode_cursor([next_key], TELEMETRY_CURSOR_ID) if next_key else None,
            "from": start.isoformat(),
            "to": end.isoformat(),
        },
        headers=_ops_header(1 + docs, 0),
    )


# --- service records and health ------------------------------------------------------------


@app.get("/<vehicle_id>/service-records", query=PageQuery)
@require_permission(Permission.VEHICLES_READ)
def list_service_records(ctx: RequestContext) -> dict[str, Any]:
    """The vehicle's service records, newest first."""
    vehicle = vehicle_store.load_visible(ctx.user, ctx.path_params["vehicle_id"])
    items, cursor = service_records.list_records(vehicle["id"], ctx.query_as(PageQuery))
    return {"items": items, "next_cursor": cursor}


@app.post("/<vehicle_id>/service-records", body=ServiceRecordCreate, status=201)
@require_permission(Permission.SERVICE_RECORDS_WRITE)
def add_service_record(ctx: RequestContext) -> Reply:
    """Record completed work; it resets intervals and resolves matching alerts."""
    vehicle = vehicle_store.load_visible(ctx.user, ctx.path_params["vehicle_id"])
    body = ctx.body_as(ServiceRecordCreate)
    now = vehicle_store.now_utc()
    record = service_records.add_record(vehicle, ctx.user, body, now)
    alerts.resolve_for_services(vehicle["id"], body.service_codes, now)
    vehicle_health.evaluate(vehicle_store.load_visible(ctx.user, vehicle["id"]), now)
    return Reply(record, status=201)


@app.get("/<vehicle_id>/health")
@require_permission(Permission.VEHICLES_READ)
def vehicle_health_report(ctx: RequestContext) -> Reply:
    """Score 0-100 and explainable findings; refreshes alerts and due services."""
    vehicle = vehicle_store.load_visible(ctx.user, ctx.path_params["vehicle_id"])
    outcome = vehicle_health.evaluate(vehicle)
    return Reply(
        outcome.as_json(vehicle["id"]),
        headers=_ops_header(1 + outcome.reads, outcome.writes),
    )


@functions_framework.http
def vehicles(request: flask.Request) -> flask.Response:
    """Entry point of the vehicles Cloud Function."""
    return app(request)
