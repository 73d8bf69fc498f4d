"""One function per route of the vehicles function: from a validated request to an answer.

Scoping rule for every ``/{vehicle_id}`` route: the vehicle is loaded through
:func:`vehicle.store.load_visible`, so one outside the caller's scope answers 404 exactly as
a missing one (BOLA). Each function then makes its call into one store —
:mod:`vehicle.store` (registry), :mod:`vehicle.telemetry_store`, :mod:`vehicle.record_store`,
:mod:`vehicle.alert_store` — or runs the health evaluation (:mod:`vehicle.health`) or the
shared rule for recorded work (shared.service_completion).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from shared import clock, logs
from shared.alerts import query_lock_keys
from shared.auth.principal import Principal
from shared.auth.rbac import Role
from shared.auth.scoping import redact_for
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.http import Reply
from shared.ids import is_document_id
from shared.pagination import decode_cursor, encode_cursor
from shared.service_completion import OWNER_SOURCE, CompletedService, read_completion
from shared.transactions import run_transaction
from shared.vehicle_documents import vehicle_ref
from vehicle import claims, record_store, store

# Request models appear here only in annotations: a cold start whose first request validates
# no body does not import them (shared/model_refs.py).
if TYPE_CHECKING:
    from shared.request_models import PageQuery
    from vehicle.models import (
        AlertListQuery,
        MileageCorrection,
        ServiceRecordCreate,
        TelemetryBatch,
        TelemetryQuery,
        VehicleCreate,
        VehicleListQuery,
        VehiclePatch,
        VinClaimListQuery,
        VinClaimResolution,
    )

# The health evaluation (vehicle.health, vehicle.alert_store and the rules beneath them,
# about 15 ms of CPU to import) and the telemetry store (its codec and rollups, about 4 ms)
# are imported by the functions below that use them, on their first call: a cold start for
# any other route does not pay for them.

# Telemetry cursors carry one value (the last reading's key) and this fixed marker.
TELEMETRY_CURSOR_ID = "telemetry"


def _ops_header(reads: int, writes: int) -> dict[str, str]:
    # Firestore operations this request cost (besides the caller's user document): lets the
    # benchmark verify the storage design's cost per reading from outside the process.
    return {"X-Firestore-Ops": f"reads={reads}; writes={writes}"}


# --- registry ------------------------------------------------------------------------------


def create_vehicle(
    principal: Principal, body: VehicleCreate, *, location_prefix: str, ip: str | None
) -> Reply:
    """Register a vehicle owned by the caller; a VIN registered already becomes a claim an
    admin resolves (202, vehicle.claims) unless the caller holds it (409)."""
    try:
        vehicle = store.create_vehicle(principal.user_id, body)
    except store.VinTaken as taken:
        holder = store.read_vehicle(taken.vehicle_id) if taken.vehicle_id else None
        if holder is not None and holder.get("owner_id") == principal.user_id:
            raise Conflict(
                "You have registered this VIN already.", code="vin_already_yours"
            ) from None
        claimed = claims.open_claim(principal, body, ip=ip)
        return Reply(
            {
                "status": "pending_review",
                "message": (
                    "This VIN needs a review before it can be registered to you: an "
                    "administrator will check it. Follow it under /vin-claims."
                ),
                "claim": claims.present(principal, claimed.claim),
            },
            status=202,
        )
    return Reply(
        store.present(principal, vehicle),
        status=201,
        headers={"Location": f"{location_prefix}/{vehicle['id']}"},
    )


def list_vehicles(principal: Principal, query: VehicleListQuery) -> dict[str, Any]:
    items, cursor = store.list_vehicles(principal, query)
    return {"items": items, "next_cursor": cursor}


def list_alerts(principal: Principal, query: AlertListQuery) -> dict[str, Any]:
    from vehicle import alert_store  # on first use (see the imports)

    items, cursor = alert_store.list_alerts(principal, query)
    return {"items": items, "next_cursor": cursor}


def get_vehicle(principal: Principal, vehicle_id: str) -> dict[str, Any]:
    return store.present(principal, store.load_visible(principal, vehicle_id))


def patch_vehicle(principal: Principal, vehicle_id: str, body: VehiclePatch) -> dict[str, Any]:
    vehicle = store.load_visible(principal, vehicle_id)
    return store.present(principal, store.patch_vehicle(vehicle["id"], body))


def delete_vehicle(principal: Principal, vehicle_id: str) -> Reply:
    store.delete_vehicle(store.load_visible(principal, vehicle_id))
    return Reply(status=204)


# --- telemetry -----------------------------------------------------------------------------


def ingest_telemetry(principal: Principal, vehicle_id: str, batch: TelemetryBatch) -> Reply:
    """Store a batch; evaluate health when due (vehicle.health.should_evaluate_after_ingest)."""
    from vehicle import health, telemetry_store  # on first use (see the imports)

    if not is_document_id(vehicle_id):
        raise NotFound("The vehicle does not exist.")
    now = clock.now()
    # The scope check runs on the vehicle the ingest reads for its batch (one read, not two).
    result = telemetry_store.ingest(
        vehicle_id,
        batch.readings,
        now,
        visible=lambda vehicle: store.in_scope(principal, vehicle),
    )
    reads, writes = result.reads, result.writes
    body = result.as_json()
    body["ignored_fields"] = batch.ignored
    body["health_evaluated"] = False
    if health.should_evaluate_after_ingest(result.vehicle, result.accepted_readings, now):
        try:
            fresh = store.load_visible(principal, vehicle_id)
            outcome = health.evaluate(fresh, now)
            reads, writes = reads + 1 + outcome.reads, writes + outcome.writes
            body["health_evaluated"] = True
        except Exception as exc:  # the readings are stored; health catches up next time
            logs.warning("health evaluation after ingest failed", error=repr(exc))
    return Reply(body, status=result.http_status, headers=_ops_header(reads, writes))


def list_telemetry(principal: Principal, vehicle_id: str, query: TelemetryQuery) -> Reply:
    """Readings between ``from`` and ``to`` (default: the last 7 days), oldest first."""
    from vehicle import telemetry_store  # on first use (see the imports)
    from vehicle.models import DEFAULT_TELEMETRY_SPAN_DAYS  # loaded by the query's validation

    vehicle = store.load_visible(principal, vehicle_id)
    end = query.to or clock.now()
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
            "items": [
                redact_for(principal, {k: v for k, v in item.items() if k != "_key"})
                for item in items
            ],
            "next_cursor": encode_cursor([next_key], TELEMETRY_CURSOR_ID) if next_key else None,
            "from": start.isoformat(),
            "to": end.isoformat(),
        },
        headers=_ops_header(1 + docs, 0),
    )


# --- service records and health ------------------------------------------------------------


def list_service_records(principal: Principal, vehicle_id: str, page: PageQuery) -> dict[str, Any]:
    vehicle = store.load_visible(principal, vehicle_id)
    items, cursor = record_store.list_records(vehicle["id"], page)
    # A record's id may embed its booking's (booking-{id}): viewers get none.
    return {
        "items": [redact_for(principal, item, id_is_a_link=True) for item in items],
        "next_cursor": cursor,
    }


def _record_center(principal: Principal, is_owner: bool, requested: str | None) -> str | None:
    """The center a service record carries: center staff always their own (another center
    named in the body is 422), owners none (a center vouches for its own work only), an
    admin the one named."""
    if principal.is_admin:
        return requested
    own = None if is_owner else principal.service_center_id
    if requested is not None and requested != own:
        who = "an owner" if is_owner else "your center"
        raise ValidationFailed(
            "A service record names only the center of the staff who write it.",
            code="foreign_center",
            details=[
                {
                    "field": "center_id",
                    "location": "body",
                    "message": f"must be left out or be {who}'s own center"
                    if not is_owner
                    else "must be left out: only a center's staff record work in its name",
                    "type": "foreign_center",
                }
            ],
        )
    return own


def add_service_record(principal: Principal, vehicle_id: str, body: ServiceRecordCreate) -> Reply:
    """Record completed work (shared.service_completion, one transaction), then evaluate."""
    from vehicle import health  # on first use (see the imports)

    vehicle = store.load_visible(principal, vehicle_id)
    is_owner = principal.role is Role.CUSTOMER or vehicle.get("owner_id") == principal.user_id
    service = CompletedService(
        vehicle_id=vehicle["id"],
        record_id=uuid.uuid4().hex,
        service_codes=body.service_codes,
        performed_at=body.performed_at,
        mileage_km=body.mileage_km,
        work_done=body.work_done,
        cost=body.cost,
        source=OWNER_SOURCE if is_owner else "staff",
        created_by=principal.user_id,
        center_id=_record_center(principal, is_owner, body.center_id),
    )
    now = clock.now()
    outcome = run_transaction(
        lambda transaction: read_completion(transaction, service).write(transaction, now),
        what="add service record",
        lock_keys=[vehicle_ref(vehicle["id"]).path, *query_lock_keys()],
    )
    if outcome.record is None:  # deleted between the scope check and the transaction
        raise NotFound("The vehicle does not exist.")
    # The completion cleared the health it made stale; evaluate now so this vehicle's
    # score and alerts are fresh in the same request.
    health.evaluate(store.load_visible(principal, vehicle["id"]), now)
    return Reply(outcome.record, status=201)


def health_report(principal: Principal, vehicle_id: str) -> Reply:
    """Score 0-100 and explainable findings; refreshes alerts and due services."""
    from vehicle import health  # on first use (see the imports)

    vehicle = store.load_visible(principal, vehicle_id)
    outcome = health.evaluate(vehicle, clock.now())
    return Reply(
        redact_for(principal, outcome.as_json(vehicle["id"])),
        headers=_ops_header(1 + outcome.reads, outcome.writes),
    )


def correct_mileage(
    principal: Principal, vehicle_id: str, body: MileageCorrection, *, ip: str | None
) -> dict[str, Any]:
    """Lower a wrong mileage (owner or admin), audited; re-evaluate health on the new figure."""
    from vehicle import health  # on first use (see the imports)

    vehicle = store.load_visible(principal, vehicle_id)
    corrected = store.correct_mileage(
        vehicle["id"], body.mileage_km, reason=body.reason, actor_id=principal.user_id, ip=ip
    )
    health.evaluate(store.load_visible(principal, vehicle["id"]), clock.now())
    return {
        "vehicle": store.present(principal, store.load_visible(principal, vehicle["id"])),
        "from_km": corrected.from_km,
        "to_km": body.mileage_km,
        "records_adjusted": corrected.records_adjusted,
    }


# --- VIN claims ----------------------------------------------------------------------------


def list_vin_claims(principal: Principal, query: VinClaimListQuery) -> dict[str, Any]:
    items, cursor = claims.list_claims(principal, query)
    return {"items": items, "next_cursor": cursor}


def resolve_vin_claim(
    principal: Principal, claim_id: str, body: VinClaimResolution, *, ip: str | None
) -> dict[str, Any]:
    resolved = claims.resolve(
        claim_id, approve=body.decision == "approve", reason=body.reason, admin=principal, ip=ip
    )
    view = claims.present(principal, resolved.claim)
    view["removed_vehicle_id"] = resolved.removed_vehicle_id
    return view
