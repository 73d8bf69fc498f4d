"""004 — vehicles: center access with an end, rebuilt from the vehicle's bookings.

Staff of a center now see a vehicle only while a booking there is active or was completed
within 30 days (shared/center_links.py): the API and firestore.rules decide on
``center_access`` (``{center_id: until}``), which the bookings function keeps together with
``center_grants`` (``{booking_id: {center_id, until}}``). A vehicle written before that has
only ``center_ids``, a list that only ever grew; without this migration its centers' staff
would lose sight of it — even with a booking in progress — until the booking next changes.

For each vehicle without ``center_grants`` this derives the grants from its bookings, by
the same rule the booking transactions apply (``grant_until``): an active booking grants its
center until the slot's end + 30 days, a completed one until its completion + 30 days, a
cancelled or no-show one nothing; expired grants are dropped. ``center_ids`` is rewritten
from them too: the old list cannot be trusted as access (it never shrank), so this is the
one field a migration here replaces rather than backfills. Bookings are read once per page
(``vehicle_id in [...]``, 30 ids per query).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from migrations.base import DocumentMigration, Page
from shared import clock
from shared.center_links import GRANTS, grant_until, link_fields

BOOKINGS = "bookings"
ACTIVE = frozenset({"requested", "confirmed", "in_progress"})
COMPLETED = "completed"
# Firestore's limit on the values of one ``in`` filter.
IN_QUERY_LIMIT = 30


def _until(booking: dict[str, Any]) -> datetime | None:
    """What one stored booking grants its center (None: nothing)."""
    end = booking.get("end")
    if not isinstance(end, datetime):
        return None
    status = booking.get("status")
    if status in ACTIVE:
        return grant_until(slot_end=end)
    if status == COMPLETED:
        completion = booking.get("completion") or {}
        done = completion.get("completed_at") or booking.get("updated_at")
        return grant_until(slot_end=end, completed_at=done if isinstance(done, datetime) else end)
    return None


class CenterGrantsFromBookings(DocumentMigration):
    collection = "vehicles"
    description = "vehicles: center access with an end (center_grants/center_access) from bookings"

    def prepare(self, db: Any, page: Page) -> None:
        from google.cloud.firestore_v1.base_query import FieldFilter

        wanted = [s.id for s in page.snapshots if GRANTS not in (s.to_dict() or {})]
        grants: dict[str, dict[str, Any]] = defaultdict(dict)
        for start in range(0, len(wanted), IN_QUERY_LIMIT):
            chunk = wanted[start : start + IN_QUERY_LIMIT]
            query = db.collection(BOOKINGS).where(filter=FieldFilter("vehicle_id", "in", chunk))
            for booking in query.stream():
                data = booking.to_dict() or {}
                until = _until(data)
                if until is not None and data.get("center_id"):
                    grants[str(data["vehicle_id"])][booking.id] = {
                        "center_id": str(data["center_id"]),
                        "until": until,
                    }
        page.related = {vehicle_id: grants.get(vehicle_id, {}) for vehicle_id in wanted}

    def changes(self, snapshot: Any, page: Page) -> dict[str, Any]:
        if snapshot.id not in page.related:
            return {}  # written by the code already: the booking transactions keep it
        return link_fields(page.related[snapshot.id] or {}, clock.now())


MIGRATION = CenterGrantsFromBookings()
