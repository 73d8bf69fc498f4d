"""Runs last: the composite indexes the emulator used for this session's queries are all
declared in firestore.indexes.json.

The emulator records, per composite index shape, how many queries needed it
(``GET /emulator/v1/projects/{p}:indexUsage``), across data resets. Whatever the suite
exercised — including queries nobody remembered to declare as a shape — is checked here.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from test_indexes import all_shapes, covers, declared_indexes


def used_indexes(emulator: Any) -> list[dict[str, Any]]:
    url = (
        f"{emulator.base_url}/emulator/v1/projects/{emulator.project_id}:indexUsage"
        f"?database=projects/{emulator.project_id}/databases/(default)"
    )
    with urllib.request.urlopen(url, timeout=10) as response:
        reports = json.loads(response.read()).get("reports", [])
    return [report["index"] for report in reports]


def needs_declaring(index: dict[str, Any]) -> list[dict[str, str]] | None:
    """The fields of a used index that needs a composite index, or None if it does not."""
    fields = [f for f in index["fields"] if f["fieldPath"] != "__name__"]
    if len(fields) <= 1:
        return None  # single-field indexes are automatic
    return fields


def unordered_queries() -> dict[tuple[str, frozenset[str]], Any]:
    """Registered queries without ordering, by collection and field set.

    The emulator reports them with its own field order, and equality-only ones need no
    composite index in production (single-field indexes are merged).
    """
    return {
        (shape.collection, frozenset(shape.fields())): shape
        for shape in all_shapes()
        if not shape.order
    }


def same_fields(index: dict[str, Any], fields: list[dict[str, str]]) -> bool:
    def key(items: list[dict[str, str]]) -> list[str]:
        return sorted(json.dumps(f, sort_keys=True) for f in items)

    return key(index["fields"]) == key(fields)


def test_every_composite_index_the_suite_used_is_declared(emulator: Any) -> None:
    declared = declared_indexes()
    unordered = unordered_queries()
    missing = []
    for index in used_indexes(emulator):
        fields = needs_declaring(index)
        if fields is None:
            continue
        collection = index["name"].split("/collectionGroups/")[1].split("/")[0]
        shape = unordered.get((collection, frozenset(f["fieldPath"] for f in fields)))
        if shape is not None and (
            not shape.needs_composite_index()
            or any(d["collectionGroup"] == collection and same_fields(d, fields) for d in declared)
        ):
            continue
        scope = index.get("queryScope", "COLLECTION")
        if not any(
            d["collectionGroup"] == collection and covers(d, fields, scope) for d in declared
        ):
            missing.append({"collectionGroup": collection, "queryScope": scope, "fields": fields})
    assert missing == [], "undeclared composite indexes: " + json.dumps(missing, indent=1)
