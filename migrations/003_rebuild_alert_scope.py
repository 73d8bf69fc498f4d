"""003 — alerts: rebuild ``owner_id`` and ``center_ids``, derived from the alert's vehicle.

An alert copies its vehicle's owner and centers (functions/vehicles/alerts.py) so that
the API's scoped queries and firestore.rules can decide on the alert alone. The copy is
refreshed only when the vehicle's health is evaluated again, so a booking at a new center
(which links the center to the vehicle) leaves the vehicle's open alerts invisible to that
center's staff until the next reading; alerts written before ``center_ids`` existed have
none at all. This rebuilds both from the vehicle (one batched read per page).

Alerts whose vehicle is gone (a vehicle delete interrupted before its alerts were) are
left as they are and counted; deleting data is not a migration's job.
"""

from __future__ import annotations

from typing import Any

from migrations.base import DocumentMigration, Page

VEHICLES = "vehicles"
ORPHAN_NOTE = "alerts whose vehicle no longer exists (left unchanged)"


class RebuildAlertScope(DocumentMigration):
    collection = "alerts"
    description = "alerts: rebuild owner_id and center_ids from the alert's vehicle"

    def prepare(self, db: Any, page: Page) -> None:
        vehicle_ids = {
            str(s.get("vehicle_id")) for s in page.snapshots if s.to_dict().get("vehicle_id")
        }
        refs = [db.collection(VEHICLES).document(vehicle_id) for vehicle_id in vehicle_ids]
        for vehicle in db.get_all(refs, field_paths=["owner_id", "center_ids"]):
            page.related[vehicle.id] = vehicle.to_dict() if vehicle.exists else None

    def changes(self, snapshot: Any, page: Page) -> dict[str, Any]:
        alert = snapshot.to_dict() or {}
        vehicle = page.related.get(str(alert.get("vehicle_id")))
        if vehicle is None:
            page.notes[ORPHAN_NOTE] += 1
            return {}
        wanted = {
            "owner_id": vehicle.get("owner_id"),
            "center_ids": list(vehicle.get("center_ids") or []),
        }
        return {
            name: value
            for name, value in wanted.items()
            if name not in alert or alert[name] != value
        }


MIGRATION = RebuildAlertScope()
