"""006 — telemetry days: the per-day rollup, on days stored before rollups existed.

A health evaluation reads the days before its last 8 as rollups only (a projection query;
docs/vehicles.md, "Per-day rollups"). A day stored before rollups has none: the evaluation
then reads it again whole, summarises it and writes back at most 30 per evaluation, so a
vehicle with months of old telemetry pays for that over several evaluations, each far
above the usual ~100 reads. This writes every such day's rollup once.

The rollup is computed by the vehicles function's own code (``vehicle.telemetry_store
.rollup_backfill``, the summary an ingest writes), so there is one way to make it. Pages are
read with ``day`` and ``rollup`` only; the days that lack a current rollup are then read
whole (one ``get_all`` per page). A day written meanwhile by an ingest (which writes its own
rollup) fails the runner's update-time check and is planned again, finding it current.
Day documents can be large (up to ~0.6 MB at 5,000 readings), hence small pages.
"""

from __future__ import annotations

from typing import Any

from migrations.base import DocumentMigration, Page
from vehicle import telemetry_store

TELEMETRY_DAYS = "telemetry_days"


class BackfillDayRollups(DocumentMigration):
    collection = TELEMETRY_DAYS
    collection_group = True
    description = "telemetry days: write the per-day rollup where a day has none (or an old one)"
    fields = telemetry_store.ROLLUP_FIELDS
    # 50 days of at most ~0.6 MB each are read whole at worst: about 30 MB per page.
    max_page_size = 50

    def prepare(self, db: Any, page: Page) -> None:
        stale = [
            s.reference
            for s in page.snapshots
            if not telemetry_store.has_current_rollup(s.id, s.to_dict() or {})
        ]
        for day in db.get_all(stale) if stale else ():
            page.related[day.reference.path] = day.to_dict() if day.exists else None

    def changes(self, snapshot: Any, page: Page) -> dict[str, Any]:
        whole = page.related.get(snapshot.reference.path)
        if whole is None:
            return {}  # current already (or gone since the page was read)
        # (The vehicles function's package is outside mypy's path here: typed by hand.)
        update: dict[str, Any] = telemetry_store.rollup_backfill(snapshot.id, whole)
        return update


MIGRATION = BackfillDayRollups()
