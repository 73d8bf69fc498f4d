"""Every query the vehicles function runs has the composite index production needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import alerts
import service_records
import telemetry_store
import vehicle_store

from shared.query_shapes import QueryShape

ROOT = Path(__file__).resolve().parent.parent
MODULES = (vehicle_store, telemetry_store, alerts, service_records)


def index_fields(shape: QueryShape) -> list[dict[str, str]]:
    fields = [{"fieldPath": name, "order": "ASCENDING"} for name in shape.equality]
    if shape.array_contains:
        fields.append({"fieldPath": shape.array_contains, "arrayConfig": "CONTAINS"})
    fields += [{"fieldPath": name, "order": direction} for name, direction in shape.order]
    return fields


def declared() -> list[dict[str, Any]]:
    indexes: list[dict[str, Any]] = json.loads((ROOT / "firestore.indexes.json").read_text())[
        "indexes"
    ]
    return indexes


def vehicles_shapes() -> list[QueryShape]:
    shapes = [*vehicle_store.LIST_SHAPES, *alerts.LIST_SHAPES, telemetry_store.DAY_RANGE_SHAPE]
    assert all(module.__name__ for module in MODULES)
    return shapes


def test_every_vehicles_query_shape_has_its_composite_index() -> None:
    indexes = declared()
    missing = [
        shape
        for shape in vehicles_shapes()
        if shape.needs_composite_index()
        and not any(
            ix["collectionGroup"] == shape.collection and ix["fields"] == index_fields(shape)
            for ix in indexes
        )
    ]
    assert missing == []


def test_scoped_listings_need_composite_indexes() -> None:
    # Guards the test above against vacuous success: these shapes do need indexes.
    needing = [s for s in vehicles_shapes() if s.needs_composite_index()]
    assert len(needing) >= 10


def test_telemetry_readings_map_is_exempt_from_indexing() -> None:
    overrides = json.loads((ROOT / "firestore.indexes.json").read_text())["fieldOverrides"]
    assert {
        "collectionGroup": "telemetry_days",
        "fieldPath": "readings",
        "indexes": [],
    } in overrides
