"""The vehicle registry in Firestore: ``vehicles`` and the ``vehicle_vins`` uniqueness guard.

Invariants and how they hold under concurrency:

* **One vehicle per VIN.** ``vehicle_vins/{VIN}`` is created in the same transaction as the
  vehicle; a transaction that finds it already there answers 409. Two concurrent POSTs of
  one VIN serialise on that document: exactly one commits.
* **Deleting frees the VIN.** The vehicle and its guard are deleted in one transaction; the
  vehicle's subcollections (telemetry days, service records) and its alerts are then deleted
  in batches. A crash between the two leaves unreachable orphans, never a reachable vehicle
  with missing parts (see docs/vehicles.md).
* **Mileage never decreases.** PATCH checks it inside a transaction.

Scoping: every read goes through :func:`load_visible`, which answers 404 for a vehicle that
does not exist *and* for one outside the caller's scope (BOLA), so ids cannot be probed.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as google_exceptions
from google.cloud import firestore

from shared import alerts, audit, center_links, clock
from shared.auth.principal import Principal
from shared.auth.scoping import can_see, redact_for, scope_query
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.firestore import get_client
from shared.ids import is_document_id
from shared.pagination import page_of
from shared.query_shapes import QueryShape, register
from shared.transactions import run_transaction
from shared.vehicle_documents import (
    SERVICE_RECORDS,
    TELEMETRY_DAYS,
    VEHICLES,
    service_records_of,
    vehicle_ref,
)

if TYPE_CHECKING:
    from google.cloud.firestore import (
        CollectionReference,
        DocumentReference,
        Query,
        Transaction,
    )

    # Request models appear here only in annotations: a cold start whose first request
    # validates no body does not import them (shared/model_refs.py).
    from vehicle.models import VehicleCreate, VehicleListQuery, VehiclePatch

VEHICLE_VINS = "vehicle_vins"

# Subcollection deletes go in batches: Firestore caps a write batch at 500 operations.
DELETE_BATCH_SIZE = 400

# What the API returns of a vehicle document (internal bookkeeping stays inside).
PUBLIC_FIELDS = (
    "owner_id",
    "vin",
    "make",
    "model",
    "year",
    "mileage_km",
    "plate",
    "nickname",
    "fuel_type",
    "created_at",
    "updated_at",
    "center_ids",
    "maintenance_overrides",
    "odometer_km",
    "last_reading_at",
    "due_services",
    "health_score",
    "health_evaluated_at",
)

# --- query shapes (checked against firestore.indexes.json) ---------------------------------
_SCOPES: tuple[tuple[tuple[str, ...], str | None], ...] = (
    (("owner_id",), None),  # customers: their own
    ((), "center_ids"),  # center staff: vehicles booked at their center
    ((), None),  # admin, viewer: all
)
_FILTERS: tuple[tuple[str, ...], ...] = ((), ("make",), ("fuel_type",), ("make", "fuel_type"))
LIST_SHAPES = register(
    *(
        QueryShape(
            VEHICLES,
            equality=scope_eq + filters,
            array_contains=contains,
            order=(("created_at", "DESCENDING"),),
            description="GET /api/vehicles, scoped by role, optional filters",
        )
        for (scope_eq, contains), filters in itertools.product(_SCOPES, _FILTERS)
    )
)


def in_scope(principal: Principal, document: Mapping[str, Any]) -> bool:
    """The vehicle (or one of its alerts, which copy its scope fields) is the caller's to see.

    Center staff count only with a center whose access has not expired
    (shared.center_links), whatever ``center_ids`` still lists.
    """
    return can_see(
        principal,
        owner_id=document.get("owner_id"),
        center_ids=center_links.live_center_ids(document, clock.now()),
    )


def load_visible(principal: Principal, vehicle_id: str) -> dict[str, Any]:
    """The vehicle document (with ``id``), or 404 if absent or outside the caller's scope."""
    if not is_document_id(vehicle_id):
        raise NotFound("The vehicle does not exist.")
    snapshot = vehicle_ref(vehicle_id).get()
    vehicle = snapshot.to_dict() if snapshot.exists else None
    if vehicle is None or not in_scope(principal, vehicle):
        raise NotFound("The vehicle does not exist.")
    vehicle["id"] = snapshot.id
    return vehicle


def present(principal: Principal, vehicle: Mapping[str, Any]) -> dict[str, Any]:
    """The API view of a vehicle for this caller (viewers get no personal data)."""
    view: dict[str, Any] = {"id": vehicle["id"]}
    view.update({name: vehicle.get(name) for name in PUBLIC_FIELDS})
    view["center_ids"] = center_links.live_center_ids(vehicle, clock.now())
    # Viewers: no owner, no VIN/plate/nickname, no centers visited (shared.auth.scoping).
    return redact_for(principal, view)


class VinTaken(Exception):
    """The VIN is registered already (to ``vehicle_id``): vehicle.claims decides what next."""

    def __init__(self, vin: str, vehicle_id: str | None) -> None:
        super().__init__(f"VIN {vin} is registered")
        self.vin = vin
        self.vehicle_id = vehicle_id


def new_vehicle_document(owner_id: str, body: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A vehicle as registration stores it, from a VehicleCreate's fields (also kept on a
    VIN claim, and registered from there when an admin approves it)."""
    return {
        "owner_id": owner_id,
        "vin": body["vin"],
        "make": body["make"],
        "model": body["model"],
        "year": body["year"],
        "mileage_km": body["mileage_km"],
        "mileage_updated_at": now,
        # Where maintenance forecasts start when no service is recorded yet.
        "initial_mileage_km": body["mileage_km"],
        "plate": body.get("plate"),
        "nickname": body.get("nickname"),
        "fuel_type": body.get("fuel_type"),
        "created_at": now,
        "updated_at": now,
        **center_links.empty_fields(),
        # No alerts yet, as of no evaluation (shared.alerts; alert_store.publish keeps them).
        alerts.VEHICLE_ALERT_IDS: [],
        alerts.VEHICLE_ALERT_IDS_EVALUATED_AT: None,
        "maintenance_overrides": {},
        "odometer_km": None,
        "last_reading_at": None,
        "due_services": [],
        "last_services": {},
        "average_daily_km": None,
        "health_score": None,
        "health_evaluated_at": None,
    }


def vin_ref(vin: str) -> DocumentReference:
    return get_client().collection(VEHICLE_VINS).document(vin)


def new_vehicle_id() -> str:
    return uuid.uuid4().hex


def create_vehicle(owner_id: str, body: VehicleCreate) -> dict[str, Any]:
    """Create the vehicle and claim its VIN atomically; :class:`VinTaken` if it is registered."""
    vehicle_id = new_vehicle_id()
    now = clock.now()
    vehicle = new_vehicle_document(owner_id, body.model_dump(), now)
    guard = vin_ref(body.vin)
    ref = vehicle_ref(vehicle_id)

    def claim(transaction: Transaction) -> None:
        existing = guard.get(transaction=transaction)
        if existing.exists:
            raise VinTaken(body.vin, (existing.to_dict() or {}).get("vehicle_id"))
        transaction.create(guard, {"vehicle_id": vehicle_id, "created_at": now})
        transaction.create(ref, vehicle)

    try:
        run_transaction(claim, what="register vehicle", lock_keys=[guard.path])
    except google_exceptions.AlreadyExists:
        # The guard appeared between our read and the commit (a concurrent POST won).
        snapshot = guard.get()
        raise VinTaken(body.vin, (snapshot.to_dict() or {}).get("vehicle_id")) from None
    vehicle["id"] = vehicle_id
    return vehicle


def read_vehicle(vehicle_id: str) -> dict[str, Any] | None:
    """A vehicle document with its ``id`` (no scope check: for the service's own decisions)."""
    if not is_document_id(vehicle_id):
        return None
    snapshot = vehicle_ref(vehicle_id).get()
    if not snapshot.exists:
        return None
    return {**(snapshot.to_dict() or {}), "id": snapshot.id}


def scoped(
    query: CollectionReference | Query, principal: Principal
) -> CollectionReference | Query | None:
    """``query`` narrowed to the caller's scope, or None when nothing is in scope.

    Serves vehicles and alerts alike: an alert copies its vehicle's ``owner_id`` and
    ``center_ids``.
    """
    return scope_query(
        query,
        principal,
        owner_field="owner_id",
        center_field="center_ids",
        center_is_array=True,
    )


def list_vehicles(
    principal: Principal, query: VehicleListQuery
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the vehicles the caller may see, newest first."""
    collection = get_client().collection(VEHICLES)
    q = scoped(collection, principal)
    if q is None:
        return [], None
    if query.make is not None:
        q = q.where(filter=firestore.FieldFilter("make", "==", query.make))
    if query.fuel_type is not None:
        q = q.where(filter=firestore.FieldFilter("fuel_type", "==", query.fuel_type))
    q = q.order_by("created_at", direction=firestore.Query.DESCENDING).order_by(
        "__name__", direction=firestore.Query.DESCENDING
    )
    snapshots, cursor = page_of(collection, q, ["created_at"], query)
    items = []
    for snapshot in snapshots:
        vehicle = snapshot.to_dict() or {}
        vehicle["id"] = snapshot.id
        # The query narrows staff by center_ids; an access that expired without being
        # pruned yet is dropped here (the page may then be short; the cursor still holds).
        if in_scope(principal, vehicle):
            items.append(present(principal, vehicle))
    return items, cursor


def patch_vehicle(vehicle_id: str, body: VehiclePatch) -> dict[str, Any]:
    """Apply the allowed changes; mileage may only grow (checked in the transaction)."""
    ref = vehicle_ref(vehicle_id)
    changes: dict[str, Any] = {}
    for name in body.model_fields_set:
        if name == "maintenance_overrides":
            # Imported here: the body's own module, loaded already by its validation.
            from vehicle.models import overrides_as_data

            changes[name] = overrides_as_data(body.maintenance_overrides)
        else:
            changes[name] = getattr(body, name)

    def apply(transaction: Transaction) -> dict[str, Any]:
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            raise NotFound("The vehicle does not exist.")
        current = snapshot.to_dict() or {}
        new_mileage = changes.get("mileage_km")
        if new_mileage is not None and new_mileage < (current.get("mileage_km") or 0):
            raise ValidationFailed(
                "Mileage cannot go down.",
                details=[
                    {
                        "field": "mileage_km",
                        "location": "body",
                        "message": f"must be at least the current {current.get('mileage_km'):g} km",
                        "type": "mileage_decrease",
                    }
                ],
            )
        update = {**changes, "updated_at": clock.now()}
        if new_mileage is not None:
            update["mileage_updated_at"] = update["updated_at"]
        transaction.update(ref, update)
        current.update(update)
        return current

    vehicle = run_transaction(apply, what="change vehicle", lock_keys=[ref.path])
    vehicle["id"] = vehicle_id
    return vehicle


# A correction rewrites the records above the corrected mileage in its own transaction
# (Firestore: at most 500 writes per commit, besides the vehicle and the audit entry).
MAX_RECORDS_PER_CORRECTION = 400

register(
    QueryShape(
        SERVICE_RECORDS,
        order=(("mileage_km", "ASCENDING"),),
        description="a vehicle's service records above a corrected mileage",
    )
)


@dataclass(frozen=True)
class MileageCorrected:
    vehicle: dict[str, Any]
    from_km: float
    records_adjusted: list[str]


def correct_mileage(
    vehicle_id: str,
    mileage_km: float,
    *,
    reason: str,
    actor_id: str,
    ip: str | None,
) -> MileageCorrected:
    """Lower the vehicle's mileage to ``mileage_km``, with everything that follows from it,
    and the audit entry, in one transaction:

    * ``mileage_km`` (and ``initial_mileage_km`` if higher) set to the corrected figure;
    * every service record above it brought down to it, its figure kept as
      ``reported_mileage_km`` (the record said so; the owner says otherwise);
    * the ``last_services`` entries above it likewise, and the health marked unknown, so
      the next evaluation re-forecasts from the corrected figures;
    * an ``audit_log`` entry ``mileage_corrected`` with the old and new figures and the reason.

    422 when it is not a decrease (raise it with PATCH) or lies below the trusted odometer
    reading (telemetry says the car has driven that far).
    """
    ref = vehicle_ref(vehicle_id)
    records = service_records_of(vehicle_id)

    def refuse(*, code: str, message: str, detail: str) -> ValidationFailed:
        return ValidationFailed(
            message,
            code=code,
            details=[{"field": "mileage_km", "location": "body", "message": detail, "type": code}],
        )

    def apply(transaction: Transaction) -> tuple[MileageCorrected, dict[str, Any]]:
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            raise NotFound("The vehicle does not exist.")
        current = snapshot.to_dict() or {}
        declared = float(current.get("mileage_km") or 0)
        odometer = current.get("odometer_km")
        if mileage_km >= declared:
            raise refuse(
                code="not_a_decrease",
                message="A correction lowers the mileage; raise it with PATCH.",
                detail=f"must be below the current {declared:,.0f} km",
            )
        if isinstance(odometer, int | float) and mileage_km < float(odometer):
            raise refuse(
                code="below_odometer",
                message="The vehicle's own odometer has reported more than that.",
                detail=(
                    f"must be at least the last trusted odometer reading, {float(odometer):,.0f} km"
                ),
            )
        above = list(
            transaction.get(
                records.where(filter=firestore.FieldFilter("mileage_km", ">", mileage_km)).limit(
                    MAX_RECORDS_PER_CORRECTION + 1
                )
            )
        )
        if len(above) > MAX_RECORDS_PER_CORRECTION:
            raise Conflict(
                f"More than {MAX_RECORDS_PER_CORRECTION} service records lie above that mileage; "
                "ask an administrator.",
                code="too_many_records",
            )
        now = clock.now()
        last_services = {
            code: (
                {**entry, "mileage_km": mileage_km}
                if isinstance(entry, Mapping) and float(entry.get("mileage_km") or 0) > mileage_km
                else entry
            )
            for code, entry in (current.get("last_services") or {}).items()
        }
        update: dict[str, Any] = {
            "mileage_km": mileage_km,
            "mileage_updated_at": now,
            "initial_mileage_km": min(
                float(current.get("initial_mileage_km", declared) or 0), mileage_km
            ),
            "last_services": last_services,
            "health_score": None,
            "health_evaluated_at": None,
            "updated_at": now,
        }
        transaction.update(ref, update)
        for record in above:
            stored = record.to_dict() or {}
            transaction.update(
                record.reference,
                {
                    "mileage_km": mileage_km,
                    "reported_mileage_km": stored.get(
                        "reported_mileage_km", stored.get("mileage_km")
                    ),
                    "mileage_corrected_at": now,
                },
            )
        adjusted = sorted(record.id for record in above)
        entry = audit.stage(
            transaction,
            "mileage_corrected",
            actor_id=actor_id,
            subject_id=current.get("owner_id"),
            ip=ip,
            details={
                "vehicle_id": vehicle_id,
                "from_km": declared,
                "to_km": mileage_km,
                "reason": reason,
                "records_adjusted": adjusted,
            },
        )
        current.update(update)
        current["id"] = vehicle_id
        return MileageCorrected(current, declared, adjusted), entry

    outcome, entry = run_transaction(apply, what="correct mileage", lock_keys=[ref.path])
    audit.announce(entry)
    return outcome


def delete_vehicle(vehicle: Mapping[str, Any]) -> None:
    """Delete the vehicle and free its VIN atomically, then its telemetry, records, alerts."""
    ref = vehicle_ref(vehicle["id"])
    guard = vin_ref(vehicle["vin"])

    def remove(transaction: Transaction) -> None:
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            raise NotFound("The vehicle does not exist.")
        claimed = guard.get(transaction=transaction)
        transaction.delete(ref)
        # Only free the guard if it is this vehicle's (never another's after a race).
        if claimed.exists and (claimed.to_dict() or {}).get("vehicle_id") == vehicle["id"]:
            transaction.delete(guard)

    run_transaction(remove, what="delete vehicle", lock_keys=[ref.path, guard.path])
    purge_vehicle_data(vehicle["id"])


def purge_vehicle_data(vehicle_id: str) -> None:
    """Hard-delete what hangs off a vehicle document that is gone: telemetry days, service
    records, alerts. Nothing can reach them any more (every route loads the vehicle first);
    batched so a year of telemetry does not exceed a commit."""
    ref = vehicle_ref(vehicle_id)
    for name in (TELEMETRY_DAYS, SERVICE_RECORDS):
        _delete_all(ref.collection(name))
    _delete_all(alerts.of_vehicle(vehicle_id))


def _delete_all(query: Query) -> None:
    client = get_client()
    while True:
        snapshots = list(query.limit(DELETE_BATCH_SIZE).stream())
        if not snapshots:
            return
        batch = client.batch()
        for snapshot in snapshots:
            batch.delete(snapshot.reference)
        batch.commit()
