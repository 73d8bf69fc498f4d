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
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as google_exceptions
from google.cloud import firestore

from shared import alerts, clock
from shared.auth.principal import Principal
from shared.auth.rbac import Role
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
    vehicle_ref,
)
from vehicle.models import VehicleCreate, VehicleListQuery, VehiclePatch, overrides_as_data

if TYPE_CHECKING:
    from google.cloud.firestore import CollectionReference, Query, Transaction

VEHICLE_VINS = "vehicle_vins"

# Subcollection deletes go in batches: Firestore caps a write batch at 500 operations.
DELETE_BATCH_SIZE = 400

# Fields a viewer does not see beyond shared.auth.scoping.PERSONAL_FIELDS (vin, plate):
# a nickname is chosen by the owner and often names a person ("Anna's car").
VIEWER_HIDDEN_FIELDS = frozenset({"nickname"})

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


def in_scope(principal: Principal, vehicle: Mapping[str, Any]) -> bool:
    return can_see(
        principal, owner_id=vehicle.get("owner_id"), center_ids=vehicle.get("center_ids") or ()
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
    if principal.role is Role.VIEWER:
        view = {
            k: v for k, v in redact_for(principal, view).items() if k not in VIEWER_HIDDEN_FIELDS
        }
    return view


def create_vehicle(owner_id: str, body: VehicleCreate) -> dict[str, Any]:
    """Create the vehicle and claim its VIN atomically; 409 if the VIN is registered."""
    client = get_client()
    vehicle_id = uuid.uuid4().hex
    now = clock.now()
    vehicle: dict[str, Any] = {
        "owner_id": owner_id,
        "vin": body.vin,
        "make": body.make,
        "model": body.model,
        "year": body.year,
        "mileage_km": body.mileage_km,
        # Where maintenance forecasts start when no service is recorded yet.
        "initial_mileage_km": body.mileage_km,
        "plate": body.plate,
        "nickname": body.nickname,
        "fuel_type": body.fuel_type,
        "created_at": now,
        "updated_at": now,
        "center_ids": [],
        "maintenance_overrides": {},
        "odometer_km": None,
        "last_reading_at": None,
        "due_services": [],
        "last_services": {},
        "average_daily_km": None,
        "health_score": None,
        "health_evaluated_at": None,
    }
    vin_ref = client.collection(VEHICLE_VINS).document(body.vin)
    ref = vehicle_ref(vehicle_id)

    def claim(transaction: Transaction) -> None:
        if vin_ref.get(transaction=transaction).exists:
            raise Conflict("A vehicle with this VIN is already registered.", code="vin_taken")
        transaction.create(vin_ref, {"vehicle_id": vehicle_id, "created_at": now})
        transaction.create(ref, vehicle)

    try:
        run_transaction(claim, what="register vehicle", lock_keys=[vin_ref.path])
    except google_exceptions.AlreadyExists:
        # The guard appeared between our read and the commit (a concurrent POST won).
        raise Conflict("A vehicle with this VIN is already registered.", code="vin_taken") from None
    vehicle["id"] = vehicle_id
    return vehicle


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
        items.append(present(principal, vehicle))
    return items, cursor


def patch_vehicle(vehicle_id: str, body: VehiclePatch) -> dict[str, Any]:
    """Apply the allowed changes; mileage may only grow (checked in the transaction)."""
    ref = vehicle_ref(vehicle_id)
    changes: dict[str, Any] = {}
    for name in body.model_fields_set:
        if name == "maintenance_overrides":
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
        transaction.update(ref, update)
        current.update(update)
        return current

    vehicle = run_transaction(apply, what="change vehicle", lock_keys=[ref.path])
    vehicle["id"] = vehicle_id
    return vehicle


def delete_vehicle(vehicle: Mapping[str, Any]) -> None:
    """Delete the vehicle and free its VIN atomically, then its telemetry, records, alerts."""
    ref = vehicle_ref(vehicle["id"])
    vin_ref = get_client().collection(VEHICLE_VINS).document(vehicle["vin"])

    def remove(transaction: Transaction) -> None:
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            raise NotFound("The vehicle does not exist.")
        guard = vin_ref.get(transaction=transaction)
        transaction.delete(ref)
        # Only free the guard if it is this vehicle's (never another's after a race).
        if guard.exists and (guard.to_dict() or {}).get("vehicle_id") == vehicle["id"]:
            transaction.delete(vin_ref)

    run_transaction(remove, what="delete vehicle", lock_keys=[ref.path, vin_ref.path])
    # Hard delete of the vehicle's data: the owner asked for it to be gone, and nothing
    # can reach it any more. Batched so a year of telemetry does not exceed a commit.
    for name in (TELEMETRY_DAYS, SERVICE_RECORDS):
        _delete_all(ref.collection(name))
    _delete_all(alerts.of_vehicle(vehicle["id"]))


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
