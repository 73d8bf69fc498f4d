"""Completing a service: the one rule for what recorded work changes, used by both sides.

The vehicles function runs it for ``POST /api/vehicles/{id}/service-records`` and the
bookings function for ``POST /api/bookings/{id}/complete``; in both cases every change
below is staged in the caller's Firestore transaction, so it happens entirely or not at all:

0. the mileage is judged first (shared.mileage): work recorded by anyone but the owner —
   center staff, a mechanic completing a booking, an admin — may raise the vehicle's
   mileage only by a plausible jump, else the whole completion is refused (422
   ``implausible_mileage``) and nothing is written;
1. the service record ``vehicles/{id}/service_records/{record_id}`` is created (if it is
   already there the completion was applied before, and nothing else changes: retries are
   harmless);
2. the vehicle's ``mileage_km`` is raised to the record's mileage when that is higher (and
   ``mileage_updated_at`` set);
3. the vehicle's open alerts whose ``service_code`` was serviced resolve with
   ``resolution = "service_completed"`` and the record's id (shared.alerts);
4. the serviced codes' ``last_services`` entries move to this service when it is their
   latest, and their ``due_services`` entries are re-forecast (shared.maintenance) from the
   vehicle's stored inputs: a service that is no longer due disappears from the list at once,
   so suggestions built on it stop at once too;
5. ``health_score`` and ``health_evaluated_at`` are cleared: the score was computed before the
   work, so it is unknown until the next evaluation (the next telemetry batch, a health read,
   or — for a service record — the evaluation the vehicles function runs right after).

Phase one (:func:`read_completion`) only reads and phase two (:meth:`PendingCompletion.write`)
only writes, because a Firestore transaction must do every read before its first write:
a caller reads its own documents, then this rule's, then writes both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from shared.alerts import MAX_OPEN_ALERTS_READ, Resolution, open_of_vehicle, resolved_fields
from shared.errors import ValidationFailed
from shared.maintenance import forecast_due, intervals_for_vehicle
from shared.mileage import implausible_jump
from shared.vehicle_documents import (
    current_km,
    due_service_entries,
    first_seen,
    last_service_entries,
    service_records_of,
    stored_last_services,
    vehicle_ref,
)

if TYPE_CHECKING:
    from google.cloud.firestore import DocumentReference, Transaction

    from shared.firestore import Snapshot
    from shared.staged_writes import Writer


# The one source whose mileage is not held to the plausible-jump bound (shared.mileage).
OWNER_SOURCE = "owner"


@dataclass(frozen=True)
class CompletedService:
    """Work done on a vehicle, as one service record describes it."""

    vehicle_id: str
    record_id: str
    service_codes: Sequence[str]
    performed_at: datetime
    mileage_km: float
    work_done: str
    cost: Any
    source: str  # OWNER_SOURCE, "staff" or "booking"
    created_by: str
    center_id: str | None = None
    booking_id: str | None = None

    def record(self, now: datetime) -> dict[str, Any]:
        """The service record document."""
        return {
            "performed_at": self.performed_at,
            "mileage_km": self.mileage_km,
            "service_codes": list(self.service_codes),
            "work_done": self.work_done,
            "cost": self.cost,
            "source": self.source,
            "booking_id": self.booking_id,
            "center_id": self.center_id,
            "created_by": self.created_by,
            "created_at": now,
        }


@dataclass(frozen=True)
class CompletionOutcome:
    """What the completion changed (``applied`` is False when nothing was written)."""

    applied: bool
    record: dict[str, Any] | None = None
    resolved_alert_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PendingCompletion:
    """Everything a completion read in the transaction, ready to write."""

    service: CompletedService
    vehicle: dict[str, Any] | None
    record_exists: bool
    open_alerts: list[Snapshot]

    def write(self, transaction: Writer, now: datetime) -> CompletionOutcome:
        """Stage every write of the completion (see the module docstring) in ``transaction``
        (or in shared.staged_writes, to merge them with another rule's writes)."""
        service = self.service
        if self.vehicle is None or self.record_exists:
            return CompletionOutcome(applied=False)
        if service.source != OWNER_SOURCE:
            problem = implausible_jump(self.vehicle, service.mileage_km, now)
            if problem is not None:
                raise ValidationFailed(
                    "The mileage is not plausible for this vehicle.",
                    code="implausible_mileage",
                    details=[
                        {
                            "field": "mileage_km",
                            "location": "body",
                            "message": problem,
                            "type": "implausible_mileage",
                        }
                    ],
                )
        record = service.record(now)
        transaction.create(_record_ref(service), record)
        transaction.update(
            vehicle_ref(service.vehicle_id), _vehicle_changes(self.vehicle, service, now)
        )
        serviced = set(service.service_codes)
        resolved = [
            a for a in self.open_alerts if (a.to_dict() or {}).get("service_code") in serviced
        ]
        for alert in resolved:
            transaction.update(
                alert.reference,
                resolved_fields(
                    Resolution.SERVICE_COMPLETED, now, service_record_id=service.record_id
                ),
            )
        return CompletionOutcome(
            applied=True,
            record={"id": service.record_id, **record},
            resolved_alert_ids=sorted(alert.id for alert in resolved),
        )


def read_completion(transaction: Transaction, service: CompletedService) -> PendingCompletion:
    """Phase one: read the vehicle, the record and the vehicle's open alerts (at most
    ``MAX_OPEN_ALERTS_READ``; any beyond resolve at the next evaluation, which no longer
    counts evidence from before the service)."""
    vehicle_snapshot, record_snapshot = _read_two(
        transaction, vehicle_ref(service.vehicle_id), _record_ref(service)
    )
    open_alerts = list(
        transaction.get(open_of_vehicle(service.vehicle_id).limit(MAX_OPEN_ALERTS_READ))
    )
    return PendingCompletion(
        service=service,
        vehicle=(vehicle_snapshot.to_dict() or {}) if vehicle_snapshot.exists else None,
        record_exists=record_snapshot.exists,
        open_alerts=open_alerts,
    )


def _record_ref(service: CompletedService) -> DocumentReference:
    return service_records_of(service.vehicle_id).document(service.record_id)


def _read_two(
    transaction: Transaction, first: DocumentReference, second: DocumentReference
) -> tuple[Snapshot, Snapshot]:
    found = {snapshot.reference.path: snapshot for snapshot in transaction.get_all([first, second])}
    return found[first.path], found[second.path]


def _vehicle_changes(
    vehicle: Mapping[str, Any], service: CompletedService, now: datetime
) -> dict[str, Any]:
    """Mileage, last services, re-forecast due services, and the health marked unknown."""
    changes: dict[str, Any] = {
        "updated_at": now,
        "health_score": None,
        "health_evaluated_at": None,
    }
    if service.mileage_km > float(vehicle.get("mileage_km") or 0):
        changes["mileage_km"] = service.mileage_km
        changes["mileage_updated_at"] = now
    last = stored_last_services(vehicle)
    for code in service.service_codes:
        if code not in last or last[code][0] <= service.performed_at:
            last[code] = (service.performed_at, service.mileage_km)
    changes["last_services"] = last_service_entries(last)
    changes["due_services"] = _due_services_after(
        {**vehicle, **changes}, set(service.service_codes), last, now.date()
    )
    return changes


def _due_services_after(
    vehicle: Mapping[str, Any],
    serviced: set[str],
    last: Mapping[str, tuple[datetime, float]],
    today: date,
) -> list[dict[str, Any]]:
    """``due_services`` with each serviced code re-forecast; the others stay as evaluated."""
    try:
        intervals = intervals_for_vehicle(vehicle.get("maintenance_overrides") or {})
    except ValueError:  # stored overrides were validated on PATCH; never fail on them here
        intervals = intervals_for_vehicle()
    average = vehicle.get("average_daily_km")
    refreshed = due_service_entries(
        forecast_due(
            intervals[code],
            (last[code][0].date(), last[code][1]) if code in last else None,
            first_seen(vehicle, today),
            today,
            current_km(vehicle),
            float(average) if isinstance(average, int | float) else None,
        )
        for code in sorted(serviced)
        if code in intervals
    )
    kept = [
        entry for entry in vehicle.get("due_services") or [] if entry.get("code") not in serviced
    ]
    return kept + refreshed
