"""Service records: ``vehicles/{id}/service_records``, written by owners, staff and bookings.

A record says which services (``shared.service_codes``) were done, when and at what
mileage. Records reset maintenance intervals and resolve matching alerts (vehicle_health).
The bookings function writes ``booking-{booking_id}`` records on completion with
``source = "booking"``; records added here get a random id and ``source`` ``owner`` (the
vehicle's owner) or ``staff`` (center staff or an admin adding work done outside a booking).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from google.cloud import firestore
from vehicle_models import ServiceRecordCreate
from vehicle_store import SERVICE_RECORDS, VEHICLES

from shared.auth.principal import Principal
from shared.auth.rbac import Role
from shared.firestore import get_client
from shared.pagination import PageQuery, page_of
from shared.query_shapes import QueryShape, register

# Enough history for every interval (the longest default is 48 months) on any real vehicle.
MAX_RECORDS_FOR_FORECAST = 500

register(
    QueryShape(
        SERVICE_RECORDS,
        order=(("performed_at", "DESCENDING"),),
        description="service records of one vehicle, newest first",
    )
)


def _collection(vehicle_id: str) -> Any:
    return get_client().collection(VEHICLES).document(vehicle_id).collection(SERVICE_RECORDS)


def as_datetime(value: Any) -> datetime | None:
    """performed_at as an aware datetime (bookings may store a date or an ISO string)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    if isinstance(value, str):
        try:
            return as_datetime(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def add_record(
    vehicle: Mapping[str, Any], principal: Principal, body: ServiceRecordCreate, now: datetime
) -> dict[str, Any]:
    """Store the record and raise the vehicle's mileage if the record shows more."""
    client = get_client()
    record_id = uuid.uuid4().hex
    is_owner = principal.role is Role.CUSTOMER or vehicle.get("owner_id") == principal.user_id
    record: dict[str, Any] = {
        "performed_at": body.performed_at,
        "mileage_km": body.mileage_km,
        "service_codes": body.service_codes,
        "work_done": body.work_done,
        "cost": body.cost,
        "source": "owner" if is_owner else "staff",
        "booking_id": None,
        "center_id": body.center_id or (None if is_owner else principal.service_center_id),
        "created_by": principal.user_id,
        "created_at": now,
    }
    vehicle_ref = client.collection(VEHICLES).document(vehicle["id"])
    batch = client.batch()
    batch.create(_collection(vehicle["id"]).document(record_id), record)
    if body.mileage_km > float(vehicle.get("mileage_km") or 0):
        batch.update(vehicle_ref, {"mileage_km": body.mileage_km})
    batch.commit()
    return {"id": record_id, **record}


def list_records(vehicle_id: str, page: PageQuery) -> tuple[list[dict[str, Any]], str | None]:
    collection = _collection(vehicle_id)
    query = collection.order_by("performed_at", direction=firestore.Query.DESCENDING).order_by(
        "__name__", direction=firestore.Query.DESCENDING
    )
    snapshots, cursor = page_of(collection, query, ["performed_at"], page)
    return [{"id": s.id, **(s.to_dict() or {})} for s in snapshots], cursor


def all_records(vehicle_id: str) -> list[dict[str, Any]]:
    """The vehicle's records (newest first) for forecasts; bounded by MAX_RECORDS_FOR_FORECAST."""
    query = (
        _collection(vehicle_id)
        .order_by("performed_at", direction=firestore.Query.DESCENDING)
        .limit(MAX_RECORDS_FOR_FORECAST)
    )
    return [{"id": s.id, **(s.to_dict() or {})} for s in query.stream()]


def last_service_points(
    records: list[dict[str, Any]],
) -> tuple[dict[str, tuple[date, float]], dict[str, datetime]]:
    """Per service code: its latest (day, km) for forecasts and its latest time."""
    points: dict[str, tuple[date, float]] = {}
    times: dict[str, datetime] = {}
    for record in records:
        performed = as_datetime(record.get("performed_at"))
        if performed is None:
            continue
        for code in record.get("service_codes") or []:
            if code not in times or performed > times[code]:
                times[code] = performed
                points[code] = (performed.date(), float(record.get("mileage_km") or 0))
    return points, times
