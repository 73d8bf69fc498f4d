"""shared.fast_writes stages exactly the Write the Firestore library would, and the
emulator stores the same document either way (creates, sets and updates)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, cast

import pytest
from google.cloud.firestore_v1 import DELETE_FIELD, SERVER_TIMESTAMP
from google.cloud.firestore_v1._helpers import (
    pbs_for_create,
    pbs_for_set_no_merge,
    pbs_for_update,
)
from google.cloud.firestore_v1.types import write

from shared import fast_writes

if TYPE_CHECKING:
    from google.cloud.firestore_v1.document import DocumentReference

NOW = datetime(2026, 11, 29, 11, 40, 12, 345678, tzinfo=UTC)
BERLIN_NOON = datetime(2026, 3, 29, 12, 0, tzinfo=timezone(timedelta(hours=2)))
PATH = "projects/demo-pmi/databases/(default)/documents/things/one"

DOCUMENTS: list[dict[str, Any]] = [
    {  # a booking as booking.store.create_booking writes it
        "customer_id": "c" * 32,
        "duration_minutes": 30,
        "start": BERLIN_NOON,
        "slot_keys": ["a_20261130T000000Z", "a_20261130T003000Z"],
        "mechanic_id": None,
        "completion": None,
        "history": [{"action": "create", "from_state": None, "at": NOW}],
        "created_at": NOW,
    },
    {"count": 0, "ratio": 0.5, "ok": True, "off": False, "big": 2**62, "neg": -3},
    {"empty_list": [], "empty_map": {}, "nested": {"a": {"b": [1, "two", {"c": None}]}}},
    {
        "dotted.key": "literal",
        "unicode": "Straße ✓",
        "before_epoch": datetime(1969, 7, 20, 20, 17, 40, 5, tzinfo=UTC),
    },
    {},
]


def staged(stage: Any, reference: Any, data: dict[str, Any]) -> list[Any]:
    class Recorder:
        def __init__(self) -> None:
            self.writes: list[Any] = []

        def _add_write_pbs(self, pbs: list[Any]) -> None:
            self.writes.extend(pbs)

        def create(self, ref: Any, document: dict[str, Any]) -> None:
            self.writes.extend(pbs_for_create(ref._document_path, document))

        def set(self, ref: Any, document: dict[str, Any]) -> None:
            self.writes.extend(pbs_for_set_no_merge(ref._document_path, document))

        def update(self, ref: Any, document: dict[str, Any]) -> None:
            self.writes.extend(pbs_for_update(ref._document_path, document, None))

    recorder = Recorder()
    stage(recorder, reference, data)
    return [write.Write.pb(w) for w in recorder.writes]


class Ref:
    _document_path = PATH


# What the code under test reads of a DocumentReference is its path.
REF = cast("DocumentReference", Ref())


@pytest.mark.parametrize("data", DOCUMENTS)
def test_create_stages_the_librarys_write(data: dict[str, Any]) -> None:
    expected = [write.Write.pb(w) for w in pbs_for_create(PATH, data)]
    assert staged(fast_writes.create, Ref(), data) == expected


@pytest.mark.parametrize("data", DOCUMENTS)
def test_set_stages_the_librarys_write(data: dict[str, Any]) -> None:
    expected = [write.Write.pb(w) for w in pbs_for_set_no_merge(PATH, data)]
    assert staged(fast_writes.set_document, Ref(), data) == expected


def test_what_it_does_not_encode_goes_through_the_library() -> None:
    data = {"at": SERVER_TIMESTAMP, "tuple": (1, 2), "naive": datetime(2026, 1, 1)}
    expected = [write.Write.pb(w) for w in pbs_for_set_no_merge(PATH, data)]
    assert staged(fast_writes.set_document, Ref(), data) == expected


def test_the_emulator_stores_what_the_library_would(db: Any) -> None:
    from google.cloud import firestore

    data = DOCUMENTS[0] | DOCUMENTS[2]
    fast, slow = db.collection("things").document("fast"), db.collection("things").document("slow")

    @firestore.transactional
    def work(transaction: Any) -> None:
        fast_writes.create(transaction, fast, data)
        transaction.create(slow, data)

    work(db.transaction())
    assert fast.get().to_dict() == slow.get().to_dict()

    @firestore.transactional
    def again(transaction: Any) -> None:
        fast_writes.create(transaction, fast, {"n": 1})

    with pytest.raises(Exception, match="exist"):
        again(db.transaction())  # create refuses an existing document, as the library's


UPDATES: list[dict[str, Any]] = [
    {  # a vehicle's center link as shared.center_links writes it
        "center_access": {"c1": NOW},
        "center_ids": ["c1"],
        "center_grants.b1": {"center_id": "c1", "until": NOW},
        "center_grants.b0": DELETE_FIELD,
    },
    {"plain": 1, "a.b.c": "deep", "a.b.d": None, "`odd.key`": [1, 2]},
    {"center_grants": {}, "tag": DELETE_FIELD},
]


@pytest.mark.parametrize("data", UPDATES)
def test_update_stages_the_librarys_write(data: dict[str, Any]) -> None:
    expected = [write.Write.pb(w) for w in pbs_for_update(PATH, data, None)]
    assert staged(fast_writes.update, Ref(), data) == expected


@pytest.mark.parametrize(
    "data", [{}, {"a": 1, "a.b": 2}, {"a": {"b": DELETE_FIELD}}, {"at": SERVER_TIMESTAMP}]
)
def test_updates_it_does_not_encode_go_through_the_library(data: dict[str, Any]) -> None:
    try:
        expected = [write.Write.pb(w) for w in pbs_for_update(PATH, data, None)]
    except (TypeError, ValueError) as refused:  # the library refuses; so does this
        with pytest.raises(type(refused)):
            staged(fast_writes.update, Ref(), data)
    else:
        assert staged(fast_writes.update, Ref(), data) == expected


def test_the_emulator_applies_an_update_as_the_librarys(db: Any) -> None:
    from google.cloud import firestore

    start = {"center_grants": {"b0": {"center_id": "c0"}}, "tag": "x", "keep": 1}
    fast, slow = db.collection("things").document("fast"), db.collection("things").document("slow")
    fast.set(start)
    slow.set(start)

    @firestore.transactional
    def work(transaction: Any) -> None:
        fast_writes.update(transaction, fast, dict(UPDATES[0]))
        transaction.update(slow, dict(UPDATES[0]))

    work(db.transaction())
    assert fast.get().to_dict() == slow.get().to_dict()


MERGES: list[dict[str, Any]] = [
    {"day": "2026-11-29", "readings": {"1764315012345678": "a|1|0", "999": "b"}, "count": 2},
    {"nested": {"a": {"b": [1, "two"]}, "z": None}, "dotted.key": NOW, "Straße": True},
]


@pytest.mark.parametrize("data", MERGES)
def test_merge_write_is_the_librarys_merge(data: dict[str, Any]) -> None:
    from google.cloud.firestore_v1._helpers import pbs_for_set_with_merge

    expected = [write.Write.pb(w) for w in pbs_for_set_with_merge(PATH, data, merge=True)]
    assert [write.Write.pb(fast_writes.merge_write(REF, data))] == expected


def test_merge_write_refuses_what_it_does_not_encode() -> None:
    data: dict[str, Any]
    for data in ({"at": SERVER_TIMESTAMP}, {"empty": {}}, {"naive": datetime(2026, 1, 1)}):
        with pytest.raises(ValueError):
            fast_writes.merge_write(REF, data)


def test_a_conditional_merge_fails_once_the_document_changed(db: Any) -> None:
    from google.api_core.exceptions import AlreadyExists, FailedPrecondition

    reference = db.document("things/merged")
    absent = db.batch()
    fast_writes.stage(absent, fast_writes.merge_write(reference, {"a": 1}, as_read=None))
    absent.commit()
    read = reference.get()
    reference.update({"b": 2})  # someone else writes between the read and the commit
    stale = db.batch()
    fast_writes.stage(stale, fast_writes.merge_write(reference, {"c": 3}, as_read=read.update_time))
    with pytest.raises(FailedPrecondition):
        stale.commit()
    again = db.batch()
    fast_writes.stage(again, fast_writes.merge_write(reference, {"c": 3}, as_read=None))
    with pytest.raises((AlreadyExists, FailedPrecondition)):
        again.commit()
    fresh = db.batch()
    current = reference.get()
    fast_writes.stage(
        fresh, fast_writes.merge_write(reference, {"c": 3}, as_read=current.update_time)
    )
    fresh.commit()
    assert reference.get().to_dict() == {"a": 1, "b": 2, "c": 3}
