"""shared.fast_reads gives exactly what the library's snapshots give — ``to_dict``, the keys
of a map, the update time — in a transaction or outside one, and None for a missing
document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
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


def test_a_raw_read_decodes_to_what_the_library_reads(db: Any) -> None:
    things = db.collection("raw_things")
    stored: dict[str, dict[str, Any]] = {
        "day": {
            "count": 3,
            "readings": {"0001": "12.6|1", "0002": "12.5|2", "0003": "12.4|3"},
            "rollup": None,
        },
        "vehicle": {
            "owner_id": "u1",
            "grants": {"b1": {"until": datetime(2027, 1, 1, tzinfo=UTC)}},
        },
        "no_map": {"readings": "not a map"},
    }
    for doc_id, data in stored.items():
        things.document(doc_id).set(data)
    refs = [things.document(doc_id) for doc_id in [*stored, "missing"]]

    raw = fast_reads.read_raw(db, refs)
    library = {s.reference.path: s for s in db.get_all(refs)}

    assert set(raw) == {ref.path for ref in refs}
    assert raw["raw_things/missing"] is None and not library["raw_things/missing"].exists
    for doc_id in stored:
        path = f"raw_things/{doc_id}"
        snapshot, document = library[path], raw[path]
        assert fast_reads.decode(db, document) == snapshot.to_dict()
        assert fast_reads.update_time_of(document) == snapshot.update_time
    day = raw["raw_things/day"]
    assert fast_reads.map_keys(day, "readings") == set(stored["day"]["readings"])
    assert fast_reads.map_keys(day, "absent") == set()
    assert fast_reads.map_keys(raw["raw_things/no_map"], "readings") == set()


def test_a_raw_update_time_is_a_write_precondition(db: Any) -> None:
    from google.api_core import exceptions

    ref = db.collection("raw_things").document("guarded")
    ref.set({"n": 1})
    document = fast_reads.read_raw(db, [ref])[ref.path]
    as_read = db.write_option(last_update_time=fast_reads.update_time_of(document))
    ref.update({"n": 2}, option=as_read)  # unchanged since read: applies
    with pytest.raises(exceptions.FailedPrecondition):
        ref.update({"n": 3}, option=as_read)  # changed since (by the update above): refused
    assert ref.get().to_dict() == {"n": 2}


def test_no_references_read_raw_reads_nothing(db: Any) -> None:
    assert fast_reads.read_raw(db, []) == {}
