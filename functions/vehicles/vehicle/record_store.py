"""Service records: reading ``vehicles/{id}/service_records`` for listings and forecasts.

A record says which services (``shared.service_codes``) were done, when and at what
mileage. Records are written by one rule only, shared.service_completion — for a record
added here (``POST /{id}/service-records``: random id, ``source`` ``owner`` or ``staff``)
and for a completed booking (``booking-{booking_id}``, ``source = "booking"``) alike — which
also resolves the matching alerts and re-forecasts the due services in the same transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from google.cloud import firestore

from shared.pagination import page_of
from shared.query_shapes import QueryShape, register
from shared.vehicle_documents import SERVICE_RECORDS, as_utc_datetime, service_records_of

if TYPE_CHECKING:
    from shared.request_models import PageQuery  # annotations only: pydantic stays unloaded

# Enough history for every interval (the longest default is 48 months) on any real vehicle.
MAX_RECORDS_FOR_FORECAST = 500

register(
    QueryShape(
        SERVICE_RECORDS,
        order=(("performed_at", "DESCENDING"),),
        description="service records of one vehicle, newest first",
    )
)


def list_records(vehicle_id: str, page: PageQuery) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the vehicle's records, newest first."""
    collection = service_records_of(vehicle_id)
    query = collection.order_by("performed_at", direction=firestore.Query.DESCENDING).order_by(
        "__name__", direction=firestore.Query.DESCENDING
    )
    snapshots, cursor = page_of(collection, query, ["performed_at"], page)
    return [{"id": s.id, **(s.to_dict() or {})} for s in snapshots], cursor


def all_records(vehicle_id: str) -> list[dict[str, Any]]:
    """The vehicle's records (newest first) for forecasts; bounded by MAX_RECORDS_FOR_FORECAST."""
    query = (
        service_records_of(vehicle_id)
        .order_by("performed_at", direction=firestore.Query.DESCENDING)
        .limit(MAX_RECORDS_FOR_FORECAST)
    )
    return [{"id": s.id, **(s.to_dict() or {})} for s in query.stream()]


def last_service_points(
    records: list[dict[str, Any]],
) -> dict[str, tuple[datetime, float]]:
    """Per service code: when it was last done and at what mileage."""
    points: dict[str, tuple[datetime, float]] = {}
    for record in records:
        performed = as_utc_datetime(record.get("performed_at"))
        if performed is None:
            continue
        for code in record.get("service_codes") or []:
            if code not in points or performed > points[code][0]:
                points[code] = (performed, float(record.get("mileage_km") or 0))
    return points


def as_dated_km(points: dict[str, tuple[datetime, float]]) -> dict[str, tuple[date, float]]:
    """The same points by calendar day, as forecasts take them."""
    return {code: (at.date(), km) for code, (at, km) in points.items()}
