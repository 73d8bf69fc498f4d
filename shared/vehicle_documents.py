"""The vehicle document as both functions see it: collection names, references, and the
fields one function writes for the other.

The vehicles function owns ``vehicles`` and its subcollections; the bookings function reads
a vehicle (ownership, due services) and, through the cross-function rules beside this
module (shared.center_links, shared.service_completion), changes it in the same
transaction as a booking. Paths and the shared fields are spelled here once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any, Final

from shared.firestore import get_client
from shared.maintenance import DatedKm, DueForecast, Urgency

if TYPE_CHECKING:
    from google.cloud.firestore import CollectionReference, DocumentReference

VEHICLES: Final = "vehicles"
SERVICE_RECORDS: Final = "service_records"  # vehicles/{id}/service_records
TELEMETRY_DAYS: Final = "telemetry_days"  # vehicles/{id}/telemetry_days


def vehicle_ref(vehicle_id: str) -> DocumentReference:
    return get_client().collection(VEHICLES).document(vehicle_id)


def service_records_of(vehicle_id: str) -> CollectionReference:
    return get_client().collection(VEHICLES, vehicle_id, SERVICE_RECORDS)


def due_service_entries(forecasts: Iterable[DueForecast]) -> list[dict[str, Any]]:
    """``vehicles.due_services``: every forecast that is not ``ok``, in the stored shape."""
    return [
        {
            "code": f.code,
            "name": f.name,
            "due_date": f.due_date.isoformat() if f.due_date else None,
            "due_km": f.due_km,
            "urgency": f.urgency.value,
        }
        for f in forecasts
        if f.urgency is not Urgency.OK
    ]


def last_service_entries(points: Mapping[str, tuple[datetime, float]]) -> dict[str, Any]:
    """``vehicles.last_services``: per service code, when and at what mileage it was last done."""
    return {code: {"at": at, "mileage_km": km} for code, (at, km) in points.items()}


def stored_last_services(vehicle: Mapping[str, Any]) -> dict[str, tuple[datetime, float]]:
    """The vehicle's ``last_services`` back as ``{code: (instant, km)}`` (bad entries skipped)."""
    points: dict[str, tuple[datetime, float]] = {}
    for code, entry in (vehicle.get("last_services") or {}).items():
        at = as_utc_datetime(entry.get("at")) if isinstance(entry, Mapping) else None
        if at is not None:
            points[code] = (at, float(entry.get("mileage_km") or 0))
    return points


def first_seen(vehicle: Mapping[str, Any], today: date) -> DatedKm:
    """Where forecasts start when a service was never recorded: PMI's first sight of it."""
    created = vehicle.get("created_at")
    day = created.date() if isinstance(created, datetime) else today
    return day, float(vehicle.get("initial_mileage_km", vehicle.get("mileage_km")) or 0)


def current_km(vehicle: Mapping[str, Any]) -> float:
    """The higher of the declared mileage and the trusted odometer reading."""
    return max(float(vehicle.get("mileage_km") or 0), float(vehicle.get("odometer_km") or 0))


def as_utc_datetime(value: Any) -> datetime | None:
    """A stored instant as an aware UTC datetime (a date or ISO text is accepted too)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    if isinstance(value, str):
        try:
            return as_utc_datetime(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None
