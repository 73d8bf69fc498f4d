"""Every query the bookings function runs has the composite index production needs."""

from __future__ import annotations

import json
from pathlib import Path

import booking_store
import booking_suggestions
import centers

from shared.query_shapes import QueryShape

ROOT = Path(__file__).resolve().parent.parent
SHAPES: tuple[QueryShape, ...] = (
    *booking_store.LIST_SHAPES,
    booking_store.OPEN_ALERTS_FOR_SERVICE,
    booking_suggestions.OPEN_ALERTS_OF_OWNER,
    booking_suggestions.VEHICLES_OF_OWNER,
    centers.LIST_CENTERS_BY_NAME,
    centers.LIST_CENTERS_FOR_SCAN,
)


def _index_fields(shape: QueryShape) -> list[dict[str, str]]:
    fields = [{"fieldPath": name, "order": "ASCENDING"} for name in shape.equality]
    fields += [{"fieldPath": name, "order": direction} for name, direction in shape.order]
    return fields


def test_every_bookings_query_that_needs_a_composite_index_has_one() -> None:
    declared = json.loads((ROOT / "firestore.indexes.json").read_text())["indexes"]
    needing = [s for s in SHAPES if s.needs_composite_index()]
    assert needing, "the listing shapes need composite indexes"
    for shape in needing:
        wanted = {
            "collectionGroup": shape.collection,
            "queryScope": "COLLECTION",
            "fields": _index_fields(shape),
        }
        assert wanted in declared, shape


def test_idempotency_records_have_a_ttl_policy() -> None:
    overrides = json.loads((ROOT / "firestore.indexes.json").read_text())["fieldOverrides"]
    assert {
        "collectionGroup": "booking_idempotency",
        "fieldPath": "expires_at",
        "ttl": True,
        "indexes": [],
    } in overrides
