"""005 — alerts: copy ``center_access`` (and ``center_ids``) from the alert's vehicle.

An alert carries its vehicle's ``center_access`` so that the API and firestore.rules can
decide a center's access on the alert alone (shared/center_links.py). Alerts written
before that field existed have none — no center's staff would see them — and their
``center_ids`` follow the vehicle's old, ever-growing list. This copies both from the
vehicle as 004 left it (one batched read per page). Alerts whose vehicle is gone are left
as they are and counted, as in 003.
"""

from __future__ import annotations

from typing import Any

from migrations.base import DocumentMigration, Page
from shared.center_links import ACCESS, CENTER_IDS

VEHICLES = "vehicles"
ORPHAN_NOTE = "alerts whose vehicle no longer exists (left unchanged)"


class AlertCenterAccess(DocumentMigration):
    collection = "alerts"
    description = "alerts: copy center_access and center_ids from the alert's vehicle"

    def prepare(self, db: Any, page: Page) -> None:
        vehicle_ids = {
            str(s.get("vehicle_id")) for s in page.snapshots if s.to_dict().get("vehicle_id")
        }
        refs = [db.collection(VEHICLES).document(vehicle_id) for vehicle_id in vehicle_ids]
        for vehicle in db.get_all(refs, field_paths=[ACCESS, CENTER_IDS]):
            page.related[vehicle.id] = vehicle.to_dict() if vehicle.exists else None

    def changes(self, snapshot: Any, page: Page) -> dict[str, Any]:
        alert = snapshot.to_dict() or {}
        vehicle = page.related.get(str(alert.get("vehicle_id")))
        if vehicle is None:
            page.notes[ORPHAN_NOTE] += 1
            return {}
        wanted = {
            ACCESS: dict(vehicle.get(ACCESS) or {}),
            CENTER_IDS: list(vehicle.get(CENTER_IDS) or []),
        }
        return {
            name: value
            for name, value in wanted.items()
            if name not in alert or alert[name] != value
        }


MIGRATION = AlertCenterAccess()
