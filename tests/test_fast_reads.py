"""shared.fast_reads gives, in a transaction, exactly what the library's snapshots'
``to_dict`` give, and None for a missing document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.cloud.firestore_v1 import GeoPoint

from shared import fast_reads


def test_reads_what_the_library_reads(db: Any) -> None:
    from google.cloud import firestore

    things = db.collection("things")
    stored = {
        "plain": {"n": 1, "x": 0.5, "s": "Straße", "ok": True, "none": None},
        "nested": {
            "at": datetime(2026, 11, 29, 11, 40, 12, 345678, tzinfo=UTC),
            "grants": {"b1": {"center_id": "c1", "until": datetime(2027, 1, 1, tzinfo=UTC)}},
            "ids": ["a", "b"],
            "empty": {},
            "none_yet": [],
        },
        "odd": {"ref": things.document("plain"), "where": GeoPoint(52.5, 13.4), "raw": b"\x00"},
    }
    for doc_id, data in stored.items():
        things.document(doc_id).set(data)
    refs = [things.document(doc_id) for doc_id in [*stored, "missing"]]
    seen: dict[str, Any] = {}

    @firestore.transactional
    def work(transaction: Any) -> None:
        seen["fast"] = fast_reads.read_in(transaction, refs)
        seen["library"] = {
            s.reference.path: s.to_dict() if s.exists else None for s in transaction.get_all(refs)
        }

    work(db.transaction())
    assert seen["fast"] == seen["library"]
    assert seen["fast"]["things/missing"] is None
    assert set(seen["fast"]) == {ref.path for ref in refs}


def test_no_references_reads_nothing(db: Any) -> None:
    from google.cloud import firestore

    @firestore.transactional
    def work(transaction: Any) -> dict[str, Any]:
        return fast_reads.read_in(transaction, [])

    assert work(db.transaction()) == {}
