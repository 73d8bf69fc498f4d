"""007 — alerts: remove the per-code fault alerts that grouped fault alerts replaced.

Releases before fault-code grouping opened one alert per fault code
(``{vehicle_id}_dtc.<tier>.<CODE>``, e.g. ``dtc.powertrain.P0420``): one reading with 600
codes made 600 alerts. The rules now report fault codes per tier and service
(``dtc.powertrain.diagnostics``, listing the codes), so a vehicle's alerts are bounded by a
small set of keys — which the booking transactions rely on when they copy a center's access
onto every alert of the vehicle (shared.alerts.MAX_ALERTS_LINKED).

What the code does with such an alert on its own (vehicle.alert_store.publish): the next
evaluation of the vehicle deletes an open one, in the transaction that opens or refreshes
its grouped successor when the code is still reported. Resolved ones it never reads again.
This migration does the same for what the code leaves behind:

* a **resolved** per-code alert is deleted — history of a superseded shape, nothing reads
  it any more (a booking's ``resolved_alert_ids`` may still name it);
* an **open** one is deleted when its grouped successor
  (``{vehicle_id}_dtc.<tier>.<service>``) exists, open or resolved: the grouping code has
  evaluated the vehicle since, and left this one only because an evaluation reads at most
  100 open alerts;
* an open one whose vehicle has not been evaluated since grouping is **left open**, and
  counted: it is still the latest word on that fault, and deleting it before its successor
  exists would hide a real fault until the next evaluation, which replaces it in one
  transaction.

The previous release (one alert per code) recreates what it wants if it is ever rolled back.
"""

from __future__ import annotations

from typing import Any

from migrations.base import DELETE, Deletion, DocumentMigration, Page
from shared.alerts import ALERTS, OPEN, grouped_fault_alert_id, is_per_code_fault_alert

AWAITING_NOTE = (
    "open per-code fault alerts of vehicles not evaluated since grouping (left open; their "
    "next evaluation replaces them)"
)


class RemovePerCodeFaultAlerts(DocumentMigration):
    collection = ALERTS
    description = "alerts: delete per-code fault alerts superseded by grouped fault alerts"

    def prepare(self, db: Any, page: Page) -> None:
        successors = {
            grouped_fault_alert_id(data)
            for s in page.snapshots
            if (data := s.to_dict() or {}).get("status") == OPEN
            and is_per_code_fault_alert(s.id, data)
        }
        refs = [db.collection(ALERTS).document(alert_id) for alert_id in sorted(successors)]
        for successor in db.get_all(refs, field_paths=["status"]) if refs else ():
            page.related[successor.id] = {} if successor.exists else None

    def changes(self, snapshot: Any, page: Page) -> dict[str, Any] | Deletion:
        alert = snapshot.to_dict() or {}
        if not is_per_code_fault_alert(snapshot.id, alert):
            return {}
        if alert.get("status") != OPEN:
            return DELETE
        if page.related.get(grouped_fault_alert_id(alert)) is not None:
            return DELETE
        page.notes[AWAITING_NOTE] += 1
        return {}


MIGRATION = RemovePerCodeFaultAlerts()
