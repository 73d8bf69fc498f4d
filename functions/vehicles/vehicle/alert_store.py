"""Alerts: the high and critical health findings of a vehicle, opened and resolved over time,
published together with the rest of an evaluation.

``alerts/{vehicle_id}_{alert_key}`` (deterministic id, so re-evaluating updates rather than
duplicates). ``alert_key`` is the finding's rule id, qualified by the service code when one
rule produces several findings at once: ``dtc.*`` (one finding per tier and service code,
listing its fault codes, so a vehicle has a bounded number of fault-code alerts however
many codes it reports) and ``maintenance.due``. ``rule_id`` keeps the plain rule id.
Forecasting findings also carry ``predicted_failure_date`` and ``book_by`` (ISO dates; null
on other alerts): bookings reads them to offer slots before that date.

Bounded work: :func:`publish` reads the alerts it may write by id and the vehicle's open
alerts (at most ``MAX_OPEN_ALERTS_READ``), never every alert the vehicle ever had.

Lifecycle (see docs/vehicles.md; the shared vocabulary is shared.alerts):

* a high or critical finding opens the alert, or refreshes its evidence while it stays open;
* an open alert whose finding is gone, or has dropped below high, resolves with
  ``resolution = "evidence_cleared"``;
* a completed service whose codes include the alert's ``service_code`` resolves it with
  ``resolution = "service_completed"`` (shared.service_completion, for service records and
  completed bookings alike); evidence gathered before that service no longer counts
  (vehicle.health re-checks the rule on later telemetry only);
* a resolved alert whose finding returns is reopened (new ``opened_at``);
* an open alert about a single fault code, as releases before grouping wrote them, is
  deleted rather than resolved (shared.alerts.is_per_code_fault_alert): its grouped
  successor reports the code now.

:func:`publish` writes an evaluation's alerts and the vehicle's health fields in one
transaction that reads the vehicle, so an alert always carries the vehicle's current
``owner_id``, ``center_ids`` and ``center_access`` (a center linked by a concurrent booking is
never lost; shared.center_links).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from google.cloud import firestore

from shared import clock
from shared.alerts import (
    ALERTS,
    HEALTH_EVALUATED_AT,
    MAX_LISTED_ALERTS,
    MAX_OPEN_ALERTS_READ,
    OPEN,
    VEHICLE_ALERT_IDS,
    VEHICLE_ALERT_IDS_EVALUATED_AT,
    Resolution,
    is_per_code_fault_alert,
    listed_alert_ids,
    of_vehicle,
    open_of_vehicle,
    query_lock_keys,
    resolved_fields,
)
from shared.auth.principal import Principal
from shared.auth.scoping import redact_for
from shared.center_links import live_center_ids
from shared.firestore import get_client
from shared.pagination import page_of
from shared.query_shapes import Direction, QueryShape, register
from shared.transactions import run_transaction
from shared.vehicle_documents import vehicle_ref
from vehicle.health_rules import Finding, Severity
from vehicle.models import AlertListQuery
from vehicle.store import in_scope, scoped

if TYPE_CHECKING:
    from google.cloud.firestore import Transaction

ALERT_SEVERITIES = frozenset({Severity.CRITICAL, Severity.HIGH})
# Open alerts one evaluation reads to resolve those whose finding is gone: MAX_OPEN_ALERTS_READ
# (shared.alerts, the same bound as a completed service's).
# Alerts one evaluation may open or refresh, the most severe first. The rules cannot want
# more (4 threshold and 4 trend rules, at most 6 fault-code groups, one per maintenance
# interval: 6 by default and at most 30 overridden); the cap makes that a guarantee.
MAX_ALERTS_PER_EVALUATION = 50

_ORDER: tuple[tuple[str, Direction], ...] = (("opened_at", "DESCENDING"),)
LIST_SHAPES = register(
    *(
        QueryShape(
            ALERTS,
            equality=eq,
            array_contains=contains,
            order=_ORDER,
            description="GET /api/vehicles/alerts, scoped by role",
        )
        for eq, contains in (
            (("owner_id", "status"), None),
            (("owner_id", "status", "severity"), None),
            (("status",), "center_ids"),
            (("status", "severity"), "center_ids"),
            (("status",), None),
            (("status", "severity"), None),
        )
    ),
)


def alert_key(finding: Finding) -> str:
    """The finding's key among the vehicle's alerts (see the module docstring)."""
    qualified = finding.rule_id.startswith("dtc.") or finding.rule_id == "maintenance.due"
    if qualified and finding.service_code:
        return f"{finding.rule_id}.{finding.service_code}"
    return finding.rule_id


def alert_id(vehicle_id: str, key: str) -> str:
    return f"{vehicle_id}_{key}"


def publish(
    vehicle_id: str,
    findings: Sequence[Finding],
    vehicle_fields: Mapping[str, Any],
    now: datetime,
) -> tuple[int, int]:
    """Open/refresh/resolve the vehicle's alerts to match ``findings`` and set
    ``vehicle_fields`` on the vehicle, in one transaction; (reads, writes).

    A vehicle deleted meanwhile gets nothing written (0 writes).
    """
    collection = get_client().collection(ALERTS)
    ref = vehicle_ref(vehicle_id)

    alerting = [f for f in findings if f.severity in ALERT_SEVERITIES]
    alerting.sort(key=lambda f: f.severity is not Severity.CRITICAL)  # stable: keeps order
    wanted = {alert_id(vehicle_id, alert_key(f)): f for f in alerting[:MAX_ALERTS_PER_EVALUATION]}
    open_alerts = open_of_vehicle(vehicle_id).limit(MAX_OPEN_ALERTS_READ)

    def work(transaction: Transaction) -> tuple[int, int]:
        snapshots = list(
            transaction.get_all([ref, *(collection.document(doc_id) for doc_id in wanted)])
        )
        existing = {s.id: s.to_dict() or {} for s in snapshots if s.exists and s.id in wanted}
        vehicle_snapshot = next((s for s in snapshots if s.reference.path == ref.path), None)
        open_snapshots = list(transaction.get(open_alerts))
        for open_snapshot in open_snapshots:
            existing.setdefault(open_snapshot.id, open_snapshot.to_dict() or {})
        reads = len(snapshots) + len(open_snapshots)
        if vehicle_snapshot is None or not vehicle_snapshot.exists:
            return reads, 0
        vehicle = vehicle_snapshot.to_dict() or {}
        listed = listed_alert_ids(vehicle)
        if listed is None:
            # No complete list yet (a vehicle from before lists, or one a previous release
            # evaluated): build it from every alert the vehicle has, once.
            everything = list(transaction.get(of_vehicle(vehicle_id).limit(MAX_LISTED_ALERTS)))
            reads += len(everything) or 1
            if len(everything) < MAX_LISTED_ALERTS:
                listed = [snapshot.id for snapshot in everything]
        writes = 0
        deleted: set[str] = set()
        for doc_id, finding in wanted.items():
            current = existing.get(doc_id)
            fields = {
                "vehicle_id": vehicle_id,
                "owner_id": vehicle.get("owner_id"),
                "center_ids": list(vehicle.get("center_ids") or []),
                "center_access": dict(vehicle.get("center_access") or {}),
                "rule_id": finding.rule_id,
                "alert_key": doc_id.split("_", 1)[1],
                "severity": finding.severity.value,
                "title": finding.title,
                "evidence": finding.evidence,
                "recommended_action": finding.recommended_action,
                "service_code": finding.service_code,
                "predicted_failure_date": _iso(finding.predicted_date),
                "book_by": _iso(finding.book_by),
                "status": OPEN,
                "resolution": None,
                "resolved_at": None,
                "service_record_id": None,
            }
            if current is not None and current.get("status") == OPEN:
                if all(current.get(k) == v for k, v in fields.items()):
                    continue  # nothing new: spare the write
                transaction.update(collection.document(doc_id), {**fields, "updated_at": now})
            else:
                transaction.set(
                    collection.document(doc_id), {**fields, "opened_at": now, "updated_at": now}
                )
            writes += 1
        for doc_id, current in existing.items():
            if current.get("status") == OPEN and doc_id not in wanted:
                if is_per_code_fault_alert(doc_id, current):
                    # Superseded by its grouped alert (written above when the code is still
                    # reported): deleted, so the vehicle keeps only the keys the rules know.
                    transaction.delete(collection.document(doc_id))
                    deleted.add(doc_id)
                else:
                    transaction.update(
                        collection.document(doc_id),
                        resolved_fields(Resolution.EVIDENCE_CLEARED, now),
                    )
                writes += 1
        vehicle_update = dict(vehicle_fields)
        # The vehicle lists its alerts, stamped with this evaluation (shared.alerts), so a
        # booking finds them by id; a vehicle with too many keeps being queried.
        stamp = vehicle_update.get(HEALTH_EVALUATED_AT)
        if listed is not None and stamp is not None:
            vehicle_update[VEHICLE_ALERT_IDS] = sorted({*listed, *wanted} - deleted)
            vehicle_update[VEHICLE_ALERT_IDS_EVALUATED_AT] = stamp
        transaction.update(ref, vehicle_update)
        return reads, writes + 1

    return run_transaction(work, what="publish health", lock_keys=[ref.path, *query_lock_keys()])


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def present(principal: Principal, doc_id: str, alert: Mapping[str, Any]) -> dict[str, Any]:
    """The API view of an alert: the centers that may see it now (shared.center_links), and
    for viewers no owner, no vehicle and no id (it embeds the vehicle's; shared.auth.scoping).
    """
    view = {"id": doc_id, **{k: v for k, v in alert.items() if k != "center_access"}}
    view["center_ids"] = live_center_ids(alert, clock.now())
    return redact_for(principal, view, id_is_a_link=True)


def list_alerts(
    principal: Principal, query: AlertListQuery
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the alerts the caller may see, newest first."""
    collection = get_client().collection(ALERTS)
    q = scoped(collection, principal)
    if q is None:
        return [], None
    q = q.where(filter=firestore.FieldFilter("status", "==", query.status))
    if query.severity is not None:
        q = q.where(filter=firestore.FieldFilter("severity", "==", query.severity))
    q = q.order_by("opened_at", direction=firestore.Query.DESCENDING).order_by(
        "__name__", direction=firestore.Query.DESCENDING
    )
    snapshots, cursor = page_of(collection, q, ["opened_at"], query)
    # As for vehicles: an expired center access never shows, pruned or not (short page).
    alerts = [(s.id, s.to_dict() or {}) for s in snapshots]
    return [present(principal, i, a) for i, a in alerts if in_scope(principal, a)], cursor
