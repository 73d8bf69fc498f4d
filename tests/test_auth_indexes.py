"""Every query shape the auth function registers has its composite index declared."""

from __future__ import annotations

import json
from pathlib import Path

import accounts
import sessions

ROOT = Path(__file__).resolve().parent.parent


def _declared() -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    data = json.loads((ROOT / "firestore.indexes.json").read_text())
    return {
        (
            index["collectionGroup"],
            tuple((f["fieldPath"], f.get("order", "ASCENDING")) for f in index["fields"]),
        )
        for index in data["indexes"]
    }


def test_auth_query_shapes_have_composite_indexes() -> None:
    declared = _declared()
    shapes = [*accounts.USER_LIST_SHAPES, sessions.LIVE_SESSIONS_OF_USER]
    needing = [s for s in shapes if s.needs_composite_index()]
    assert len(needing) == 3  # role, is_active, role+is_active — each ordered by created_at
    for shape in needing:
        fields = tuple((name, "ASCENDING") for name in shape.equality) + shape.order
        assert (shape.collection, fields) in declared, shape
