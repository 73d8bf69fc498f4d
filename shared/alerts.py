"""The alert document's shared vocabulary: where alerts live, their states, and how one is
resolved.

The vehicles function opens and refreshes alerts from health findings; a completed
service (shared.service_completion, used by vehicles and bookings) resolves them; a
booking links a center to them (shared.center_links). Each writer uses these names, so a
resolved alert looks the same whoever resolved it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from shared.firestore import get_client
from shared.query_shapes import QueryShape, register

if TYPE_CHECKING:
    from google.cloud.firestore import Query, Transaction

    from shared.firestore import Snapshot

ALERTS: Final = "alerts"
OPEN: Final = "open"
RESOLVED: Final = "resolved"
# On the vehicle document, written by the vehicles function with each evaluation it
# publishes: the ids of all the vehicle's alert documents, open or resolved, and the
# ``health_evaluated_at`` of the evaluation that wrote them. A transaction that must touch
# every alert of a vehicle (shared.center_links) then reads them by id with the vehicle in
# hand: no query, and no read at all for a vehicle without alerts (see listed_alert_ids).
VEHICLE_ALERT_IDS: Final = "alert_ids"
VEHICLE_ALERT_IDS_EVALUATED_AT: Final = "alert_ids_evaluated_at"
# Every evaluation that opens an alert sets this vehicle field in the same transaction.
HEALTH_EVALUATED_AT: Final = "health_evaluated_at"
# Alerts a vehicle's list may hold. The rules open one alert per rule, per fault-code tier
# and service, per maintenance code (a few dozen at most, each id reused when it reopens);
# older data held one per fault code. A vehicle found with this many when its list is
# (re)built is found by query instead.
MAX_LISTED_ALERTS: Final = 200

OF_VEHICLE, OPEN_OF_VEHICLE = register(
    QueryShape(ALERTS, equality=("vehicle_id",), description="alerts of one vehicle"),
    QueryShape(ALERTS, equality=("vehicle_id", "status"), description="open alerts of one vehicle"),
)


class Resolution(StrEnum):
    """Why an alert stopped being open (``alerts.resolution``)."""

    # Its finding is gone, or dropped below high, at the latest evaluation.
    EVIDENCE_CLEARED = "evidence_cleared"
    # A recorded service (a service record or a completed booking) covered its service code.
    SERVICE_COMPLETED = "service_completed"


def resolved_fields(
    resolution: Resolution, now: datetime, *, service_record_id: str | None = None
) -> dict[str, Any]:
    """The fields that resolve an alert; ``service_record_id`` names the work that did it."""
    return {
        "status": RESOLVED,
        "resolution": resolution.value,
        "resolved_at": now,
        "updated_at": now,
        "service_record_id": service_record_id,
    }


def of_vehicle(vehicle_id: str) -> Query:
    """Every alert of one vehicle, open or resolved."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    return get_client().collection(ALERTS).where(filter=FieldFilter("vehicle_id", "==", vehicle_id))


def listed_alert_ids(vehicle: Mapping[str, Any]) -> list[str] | None:
    """The vehicle's alert ids if its list is known to be complete, else None.

    Complete means written by the evaluation that last set ``health_evaluated_at`` (or, both
    unset, by registration): code that does not keep the list — a previous release during a
    gradual rollout, or after a rollback — still sets ``health_evaluated_at`` with every
    alert it opens, so its alerts are never missed, only found by query until the next
    evaluation rebuilds the list. Service completion and mileage corrections clear
    ``health_evaluated_at`` and so also send the next reads to the query.
    """
    listed = vehicle.get(VEHICLE_ALERT_IDS)
    if not isinstance(listed, list) or VEHICLE_ALERT_IDS_EVALUATED_AT not in vehicle:
        return None
    if vehicle.get(VEHICLE_ALERT_IDS_EVALUATED_AT) != vehicle.get(HEALTH_EVALUATED_AT):
        return None
    return [str(alert_id) for alert_id in listed]


def all_of_vehicle_in(
    transaction: Transaction, vehicle_id: str, vehicle: Mapping[str, Any] | None
) -> list[Snapshot]:
    """Every alert of one vehicle, read in ``transaction``; ``vehicle`` is its document as
    read in the same transaction: by id when it lists them (:func:`listed_alert_ids`), else
    by query. Sound under concurrency because opening an alert writes the vehicle in the
    same transaction: a concurrent one is either listed (or the list distrusted) or not
    yet there."""
    listed = listed_alert_ids(vehicle) if vehicle is not None else None
    if listed is None:
        return list(transaction.get(of_vehicle(vehicle_id)))
    if not listed:
        return []
    collection = get_client().collection(ALERTS)
    refs = [collection.document(alert_id) for alert_id in listed]
    return [snapshot for snapshot in transaction.get_all(refs) if snapshot.exists]


def open_of_vehicle(vehicle_id: str) -> Query:
    """The vehicle's open alerts."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    return of_vehicle(vehicle_id).where(filter=FieldFilter("status", "==", OPEN))
