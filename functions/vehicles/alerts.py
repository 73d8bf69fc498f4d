"""Alerts: the high and critical health findings of a vehicle, opened and resolved over time.

``alerts/{vehicle_id}_{alert_key}`` (deterministic id, so re-evaluating updates rather than
duplicates). ``alert_key`` is the finding's rule id, qualified when one rule produces several
findings at once: the fault code for ``dtc.*`` (two different codes are two problems) and
the service code for ``maintenance.due``. ``rule_id`` keeps the plain rule id.

Lifecycle (see docs/vehicles.md):

* a high or critical finding opens the alert, or refreshes its evidence while it stays open;
* an open alert whose finding is gone, or has dropped below high, resolves with
  ``resolution = "evidence_cleared"``;
* a completed service whose codes include the alert's ``service_code`` resolves it with
  ``resolution = "service_completed"``; evidence gathered before that service no longer
  counts (vehicle_health re-checks the rule on later telemetry only);
* a resolved alert whose finding returns is reopened (new ``opened_at``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from google.cloud import firestore
from health_rules import Finding, Severity
from vehicle_models import AlertListQuery
from vehicle_store import ALERTS, scoped

from shared.auth.principal import Principal
from shared.auth.rbac import Role
from shared.firestore import get_client
from shared.pagination import page_of
from shared.query_shapes import QueryShape, register

ALERT_SEVERITIES = frozenset({Severity.CRITICAL, Severity.HIGH})
OPEN = "open"
RESOLVED = "resolved"

_ORDER = (("opened_at", "DESCENDING"),)
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
    QueryShape(ALERTS, equality=("vehicle_id",), description="alerts of one vehicle"),
    QueryShape(ALERTS, equality=("vehicle_id", "status"), description="open alerts of one vehicle"),
)


def alert_key(finding: Finding) -> str:
    qualifier: Any = None
    if finding.rule_id.startswith("dtc."):
        qualifier = finding.evidence.get("code")
    elif finding.rule_id == "maintenance.due":
        qualifier = finding.service_code
    return f"{finding.rule_id}.{qualifier}" if qualifier else finding.rule_id


def alert_id(vehicle_id: str, key: str) -> str:
    return f"{vehicle_id}_{key}"


def sync_alerts(
    vehicle: Mapping[str, Any], findings: Sequence[Finding], now: datetime
) -> tuple[int, int]:
    """Open/refresh/resolve the vehicle's alerts to match ``findings``; (reads, writes)."""
    client = get_client()
    collection = client.collection(ALERTS)
    existing = {
        snapshot.id: snapshot.to_dict() or {}
        for snapshot in collection.where(
            filter=firestore.FieldFilter("vehicle_id", "==", vehicle["id"])
        ).stream()
    }
    wanted = {
        alert_id(vehicle["id"], alert_key(f)): f for f in findings if f.severity in ALERT_SEVERITIES
    }
    batch = client.batch()
    writes = 0
    for doc_id, finding in wanted.items():
        current = existing.get(doc_id)
        fields = {
            "vehicle_id": vehicle["id"],
            "owner_id": vehicle.get("owner_id"),
            "center_ids": list(vehicle.get("center_ids") or []),
            "rule_id": finding.rule_id,
            "alert_key": doc_id.split("_", 1)[1],
            "severity": finding.severity.value,
            "title": finding.title,
            "evidence": finding.evidence,
            "recommended_action": finding.recommended_action,
            "service_code": finding.service_code,
            "status": OPEN,
            "resolution": None,
            "resolved_at": None,
        }
        if current is not None and current.get("status") == OPEN:
            if all(current.get(k) == v for k, v in fields.items()):
                continue  # nothing new: spare the write
            batch.update(collection.document(doc_id), {**fields, "updated_at": now})
        else:
            batch.set(collection.document(doc_id), {**fields, "opened_at": now, "updated_at": now})
        writes += 1
    for doc_id, current in existing.items():
        if current.get("status") == OPEN and doc_id not in wanted:
            batch.update(collection.document(doc_id), _resolution("evidence_cleared", now))
            writes += 1
    if writes:
        batch.commit()
    return len(existing), writes


def _resolution(reason: str, now: datetime) -> dict[str, Any]:
    return {"status": RESOLVED, "resolution": reason, "resolved_at": now, "updated_at": now}


def resolve_for_services(vehicle_id: str, codes: Iterable[str], now: datetime) -> int:
    """Resolve the vehicle's open alerts whose ``service_code`` is one of ``codes``."""
    wanted = set(codes)
    client = get_client()
    open_alerts = (
        client.collection(ALERTS)
        .where(filter=firestore.FieldFilter("vehicle_id", "==", vehicle_id))
        .where(filter=firestore.FieldFilter("status", "==", OPEN))
        .stream()
    )
    batch = client.batch()
    resolved = 0
    for snapshot in open_alerts:
        if (snapshot.to_dict() or {}).get("service_code") in wanted:
            batch.update(snapshot.reference, _resolution("service_completed", now))
            resolved += 1
    if resolved:
        batch.commit()
    return resolved


def present(principal: Principal, doc_id: str, alert: Mapping[str, Any]) -> dict[str, Any]:
    view = {"id": doc_id, **alert}
    if principal.role is Role.VIEWER:
        view.pop("owner_id", None)  # the viewer reports on the fleet, not on people
    return view


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
    return [present(principal, s.id, s.to_dict() or {}) for s in snapshots], cursor
