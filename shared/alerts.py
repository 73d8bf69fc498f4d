"""The alert document's shared vocabulary: where alerts live, their states, and how one is
resolved.

The vehicles function opens and refreshes alerts from health findings; a completed
service (shared.service_completion, used by vehicles and bookings) resolves them; a
booking links a center to them (shared.center_links). Each writer uses these names, so a
resolved alert looks the same whoever resolved it.
"""

from __future__ import annotations

import os
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from shared.firestore import get_client
from shared.query_shapes import QueryShape, register

if TYPE_CHECKING:
    from google.cloud.firestore import Query

ALERTS: Final = "alerts"
OPEN: Final = "open"
RESOLVED: Final = "resolved"

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


def query_lock_keys() -> list[str]:
    """In-process lock keys for a transaction that queries alerts (shared.locks).

    Production Firestore locks the index range a query in a transaction scans (one
    vehicle's alerts). The emulator locks the whole collection, so concurrent transactions
    that query alerts for *different* vehicles wait at commit for one another until they
    time out: 16 vehicles ingesting at once stalled every request of bench/bench_load.py.
    Against the emulator, an instance's such transactions take turns instead; in
    production they need not.
    """
    return [ALERTS] if os.environ.get("FIRESTORE_EMULATOR_HOST") else []


def of_vehicle(vehicle_id: str) -> Query:
    """Every alert of one vehicle, open or resolved."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    return get_client().collection(ALERTS).where(filter=FieldFilter("vehicle_id", "==", vehicle_id))


def open_of_vehicle(vehicle_id: str) -> Query:
    """The vehicle's open alerts."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    return of_vehicle(vehicle_id).where(filter=FieldFilter("status", "==", OPEN))
