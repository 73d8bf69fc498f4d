"""firestore.indexes.json covers every query the functions run.

The emulator runs any query, production refuses one whose composite index is missing. Two
checks close that gap:

- every query shape the functions register (``shared.query_shapes``) that needs a
  composite index has one in firestore.indexes.json;
- tests/test_zz_index_usage.py, run last, asks the emulator which composite indexes the
  whole suite's queries actually used and checks those against the file too.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import function_app

from shared.functions import FUNCTION_NAMES
from shared.query_shapes import QueryShape, registered

ROOT = Path(__file__).resolve().parent.parent


def declared_indexes() -> list[dict[str, Any]]:
    indexes: list[dict[str, Any]] = json.loads((ROOT / "firestore.indexes.json").read_text())[
        "indexes"
    ]
    return indexes


def field_overrides() -> list[dict[str, Any]]:
    overrides: list[dict[str, Any]] = json.loads((ROOT / "firestore.indexes.json").read_text())[
        "fieldOverrides"
    ]
    return overrides


def index_fields(shape: QueryShape) -> list[dict[str, str]]:
    fields = [{"fieldPath": name, "order": "ASCENDING"} for name in shape.equality]
    if shape.array_contains:
        fields.append({"fieldPath": shape.array_contains, "arrayConfig": "CONTAINS"})
    fields += [{"fieldPath": name, "order": direction} for name, direction in shape.order]
    return fields


def covers(index: dict[str, Any], fields: list[dict[str, str]], scope: str) -> bool:
    """Equality fields may come in any order; the fields after them must match in order."""
    if index.get("queryScope", "COLLECTION") != scope or len(index["fields"]) != len(fields):
        return False
    # Equality and array-contains fields form the index's prefix, in any order.
    head = 0
    while head < len(fields) and (
        fields[head].get("order") == "ASCENDING" or "arrayConfig" in fields[head]
    ):
        head += 1
    if head == len(fields) and fields[-1].get("order") == "ASCENDING":
        head -= 1  # the last ascending field may be the order-by field; keep it in place
    sorted_key = sorted(json.dumps(f, sort_keys=True) for f in fields[:head])
    index_key = sorted(json.dumps(f, sort_keys=True) for f in index["fields"][:head])
    return sorted_key == index_key and index["fields"][head:] == fields[head:]


def all_shapes() -> list[QueryShape]:
    """Every registered shape: each module that registers some is imported here, since the
    functions load most of their stores on first use, not when ``main`` is imported (so this
    file gives the same answer alone as in the whole suite)."""
    for name in FUNCTION_NAMES:
        function_app(name)  # puts the function's packages on the import path
    for path in sorted([*ROOT.glob("functions/*/*/*.py"), *ROOT.glob("shared/**/*.py")]):
        text = path.read_text()
        if "query_shapes import" in text and "register(" in text:
            parts = path.relative_to(ROOT).with_suffix("").parts
            importlib.import_module(".".join(parts[2:] if parts[0] == "functions" else parts))
    return registered()


def test_every_function_registers_its_query_shapes() -> None:
    collections = {shape.collection for shape in all_shapes()}
    assert {"users", "vehicles", "alerts", "bookings", "centers"} <= collections


@pytest.mark.parametrize(
    "shape",
    [s for s in all_shapes() if s.needs_composite_index()],
    ids=lambda s: f"{s.collection}:{'+'.join(s.fields())}",
)
def test_query_shape_has_its_composite_index(shape: QueryShape) -> None:
    scope = "COLLECTION_GROUP" if shape.collection_group else "COLLECTION"
    wanted = index_fields(shape)
    assert any(
        index["collectionGroup"] == shape.collection and covers(index, wanted, scope)
        for index in declared_indexes()
    ), f"missing index for {shape}: {wanted}"


def test_every_declared_index_serves_a_registered_query() -> None:
    shapes = [s for s in all_shapes() if s.needs_composite_index()]
    unused = [
        index
        for index in declared_indexes()
        if not any(
            index["collectionGroup"] == s.collection
            and covers(index, index_fields(s), index.get("queryScope", "COLLECTION"))
            for s in shapes
        )
    ]
    assert unused == [], "indexes no query uses (they cost writes): " + json.dumps(unused)


@pytest.mark.parametrize(
    "collection",
    [
        "booking_idempotency",
        "rate_limits",
        "rate_limit_shards",
        "sessions",
        "login_failures",
        "login_known_networks",
        "outbox",
        "metric_buckets",
    ],
)
def test_expiring_records_have_a_ttl_policy(collection: str) -> None:
    assert {
        "collectionGroup": collection,
        "fieldPath": "expires_at",
        "ttl": True,
        "indexes": [],
    } in field_overrides()


def test_telemetry_readings_map_is_exempt_from_indexing() -> None:
    # A day document's map of readings would otherwise create an index entry per field.
    assert {"collectionGroup": "telemetry_days", "fieldPath": "readings", "indexes": []} in (
        field_overrides()
    )


def test_collection_group_queries_have_their_collection_group_index() -> None:
    # Firestore keeps no collection-group single-field index unless one is declared: a
    # collection-group query on one field needs a field override with that scope.
    for shape in all_shapes():
        if not shape.collection_group or shape.needs_composite_index():
            continue
        for name in shape.fields():
            override = next(
                (
                    o
                    for o in field_overrides()
                    if o["collectionGroup"] == shape.collection and o["fieldPath"] == name
                ),
                None,
            )
            assert override is not None, f"{shape.collection}.{name}: no field override"
            scopes = {i.get("queryScope") for i in override["indexes"]}
            assert "COLLECTION_GROUP" in scopes, override
            # An override replaces the automatic indexes: the collection scope must stay.
            assert "COLLECTION" in scopes, override


def test_metric_buckets_minutes_are_not_indexed() -> None:
    # An hour's map of minutes x routes x counters would otherwise cost thousands of index
    # entries per write.
    assert {"collectionGroup": "metric_buckets", "fieldPath": "minutes", "indexes": []} in (
        field_overrides()
    )
