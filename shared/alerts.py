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

from shared import locks, service_codes
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

# Open alerts of one vehicle a single request reads (an evaluation, to resolve those whose
# finding is gone; a completed service, to resolve those it covers). Far above what the
# rules can open at once (one per rule, per fault-code tier and service, per maintenance
# code: a few dozen); a vehicle with more — only older data, one alert per fault code, before
# they were grouped (migration 007) — is worked through this many at a time.
MAX_OPEN_ALERTS_READ: Final = 100
# Alerts of one vehicle, open or resolved, a booking change reads to copy the vehicle's
# center access onto them (shared.center_links), open ones first. Alert ids are reused
# (``{vehicle_id}_{alert_key}``), so a vehicle holds at most one alert per key: 8 health and
# trend rules, 4 fault-code groups, one per maintenance code it has had (6 by default, up to
# 30 overridden at a time) — about 50. Beyond this many (older per-code fault alerts, or an
# owner cycling through hundreds of custom maintenance codes) the resolved alerts past it
# keep the copy they had.
MAX_ALERTS_LINKED: Final = 200

OF_VEHICLE, OPEN_OF_VEHICLE, OF_VEHICLE_OPEN_FIRST = register(
    QueryShape(ALERTS, equality=("vehicle_id",), description="alerts of one vehicle"),
    QueryShape(ALERTS, equality=("vehicle_id", "status"), description="open alerts of one vehicle"),
    QueryShape(
        ALERTS,
        equality=("vehicle_id",),
        order=(("status", "ASCENDING"),),
        description="alerts of one vehicle, open ones first (center links)",
    ),
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


def alert_key_of(doc_id: str, alert: Mapping[str, Any]) -> str:
    """The alert's key among its vehicle's (its id is ``{vehicle_id}_{alert_key}``)."""
    key = alert.get("alert_key")
    if isinstance(key, str) and key:
        return key
    prefix = f"{alert.get('vehicle_id')}_"
    return doc_id[len(prefix) :] if doc_id.startswith(prefix) else doc_id.split("_", 1)[-1]


def is_per_code_fault_alert(doc_id: str, alert: Mapping[str, Any]) -> bool:
    """An alert about one fault code, as releases before grouping wrote them
    (``{vehicle_id}_dtc.<tier>.<CODE>``, e.g. ``dtc.misfire.P0301``).

    The rules now report fault codes per tier and service (``dtc.misfire.diagnostics``, see
    :func:`grouped_fault_alert_id`), so no evaluation wants such an alert again: one that
    is open is deleted by the next evaluation of its vehicle (vehicle.alert_store), the rest
    by migration 007, which keeps a vehicle's alerts within its bounded set of keys.
    """
    rule_id = alert.get("rule_id")
    if not isinstance(rule_id, str) or not rule_id.startswith("dtc."):
        return False
    return alert_key_of(doc_id, alert) != f"{rule_id}.{alert.get('service_code')}"


def grouped_fault_alert_id(alert: Mapping[str, Any]) -> str:
    """The id of the grouped alert that reports what a per-code fault alert reported (its
    tier's, for its service; fault codes are diagnosed unless the alert named a service)."""
    service_code = alert.get("service_code") or service_codes.DIAGNOSTICS
    return f"{alert.get('vehicle_id')}_{alert.get('rule_id')}.{service_code}"


def query_lock_keys() -> list[str]:
    """In-process lock keys for a transaction that queries alerts: the emulator's whole-
    collection query lock (:func:`shared.locks.query_keys`)."""
    return locks.query_keys(ALERTS)


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
    by query (:func:`linked_of_vehicle`: at most :data:`MAX_ALERTS_LINKED`, open first).
    Sound under concurrency because opening an alert writes the vehicle in the same
    transaction: a concurrent one is either listed (or the list distrusted) or not yet
    there."""
    listed = listed_alert_ids(vehicle) if vehicle is not None else None
    if listed is None:
        return list(transaction.get(linked_of_vehicle(vehicle_id)))
    if not listed:
        return []
    collection = get_client().collection(ALERTS)
    refs = [collection.document(alert_id) for alert_id in listed]
    return [snapshot for snapshot in transaction.get_all(refs) if snapshot.exists]


def open_of_vehicle(vehicle_id: str) -> Query:
    """The vehicle's open alerts (callers bound it with ``limit(MAX_OPEN_ALERTS_READ)``)."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    return of_vehicle(vehicle_id).where(filter=FieldFilter("status", "==", OPEN))


def linked_of_vehicle(vehicle_id: str) -> Query:
    """The vehicle's alerts a center link keeps a copy on: open ones first ("open" sorts
    before "resolved"), at most :data:`MAX_ALERTS_LINKED`."""
    return of_vehicle(vehicle_id).order_by("status").limit(MAX_ALERTS_LINKED)
