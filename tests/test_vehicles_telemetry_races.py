"""Telemetry batches racing other writers: a batch commits only if what it read is unchanged,
and is otherwise judged again on what is stored then — nothing lost, nothing counted twice."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from vehicles_testkit import (
    MINUTE,
    client_fixture,  # noqa: F401 - provides the "client" fixture
    owner_fixture,  # noqa: F401 - provides the "owner" fixture
    post_telemetry,
    recent,
    series,
    vehicle_fixture,  # noqa: F401 - provides the "vehicle" fixture
)

from shared import locks
from vehicle import telemetry_store, telemetry_tail
from vehicle.codec import day_of, reading_key
from vehicle.telemetry_quality import Reading


def day_documents(db: Any, vehicle_id: str) -> dict[str, dict[str, Any]]:
    days = db.collection("vehicles").document(vehicle_id).collection("telemetry_days")
    return {snapshot.id: snapshot.to_dict() for snapshot in days.stream()}


def is_day_read(refs: Any) -> bool:
    return any("/telemetry_days/" in ref.path for ref in refs)


def test_a_reading_stored_between_read_and_commit_is_reported_as_a_duplicate(
    client: Any, owner: Any, vehicle: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One minute apart inside one UTC day (the test avoids straddling midnight).
    start = recent(120).replace(hour=10, minute=0)
    readings = series(start, 6, MINUTE)
    day = day_of(start)
    # Readings 0 and 5 stored: a batch of 1-4 reaches back before the newest stored reading,
    # so it reads its day document (no fast path).
    post_telemetry(client, owner, vehicle["id"], [readings[0], readings[5]])
    raced = Reading.model_validate(readings[3])
    real_read = telemetry_store._read
    day_reads = 0

    def read_then_race(refs: Any) -> Any:
        # Another instance stores reading 3 right after this batch read the day document.
        nonlocal day_reads
        snapshots = real_read(refs)
        if is_day_read(refs):
            day_reads += 1
            if day_reads == 1:
                db.document(f"vehicles/{vehicle['id']}/telemetry_days/{day}").update(
                    {f"readings.`{reading_key(raced.timestamp)}`": "42003|12.6|0||||", "count": 3}
                )
        return snapshots

    monkeypatch.setattr(telemetry_store, "_read", read_then_race)
    response = post_telemetry(client, owner, vehicle["id"], readings[1:5])
    assert response.status_code == 201
    body = response.get_json()
    assert day_reads == 2  # the first commit failed on the changed day and was judged again
    assert body["accepted"] == 3
    assert [d["index"] for d in body["duplicates"]] == [2]  # readings[3], index 2 of the batch
    stored = day_documents(db, vehicle["id"])[day]
    assert len(stored["readings"]) == 6 and stored["count"] == 6


def test_a_batch_stored_elsewhere_after_a_fast_path_read_is_judged_again_on_the_days(
    client: Any, owner: Any, vehicle: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path reads only the vehicle: its condition on the vehicle is what keeps a
    concurrent batch's readings (which moved the tail) from being overwritten or counted
    twice."""
    start = recent(120).replace(hour=11, minute=0)
    readings = series(start, 5, MINUTE)
    day = day_of(start)
    post_telemetry(client, owner, vehicle["id"], readings[:1])
    raced = Reading.model_validate(readings[3])
    real_read = telemetry_store._read
    reads: list[str] = []

    def read_then_race(refs: Any) -> Any:
        snapshots = real_read(refs)
        reads.append("days" if is_day_read(refs) else "vehicle")
        if len(reads) == 1:
            # Another instance's commit of reading 3: the reading, the day's count, and the
            # vehicle's tail, as every ingest commit writes them.
            key = reading_key(raced.timestamp)
            db.document(f"vehicles/{vehicle['id']}/telemetry_days/{day}").update(
                {f"readings.`{key}`": "42003|12.6|0||||", "count": 2}
            )
            db.document(f"vehicles/{vehicle['id']}").update(
                {telemetry_tail.FIELD: telemetry_tail.Tail(int(key), 2).as_field()}
            )
        return snapshots

    monkeypatch.setattr(telemetry_store, "_read", read_then_race)
    response = post_telemetry(client, owner, vehicle["id"], readings[1:])
    assert response.status_code == 201
    body = response.get_json()
    # Fast path first (the vehicle only); its commit failed on the changed vehicle; judged
    # again, the batch now reaches back before the tail, so its day is read.
    assert reads == ["vehicle", "vehicle", "days"]
    assert body["accepted"] == 3
    assert [d["index"] for d in body["duplicates"]] == [2]
    stored = day_documents(db, vehicle["id"])[day]
    assert len(stored["readings"]) == 5 and stored["count"] == 5
    tail = db.document(f"vehicles/{vehicle['id']}").get().get(telemetry_tail.FIELD)
    assert tail == {
        "key": int(reading_key(Reading.model_validate(readings[4]).timestamp)),
        "day_count": 5,
    }


def test_a_vehicle_deleted_between_read_and_commit_is_404_and_nothing_is_written(
    client: Any, owner: Any, vehicle: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_read = telemetry_store._read

    def read_then_delete(refs: Any) -> Any:
        snapshots = real_read(refs)
        db.document(f"vehicles/{vehicle['id']}").delete()
        return snapshots

    monkeypatch.setattr(telemetry_store, "_read", read_then_delete)
    response = post_telemetry(client, owner, vehicle["id"], series(recent(60), 3, MINUTE))
    assert response.status_code == 404
    assert day_documents(db, vehicle["id"]) == {}


@contextlib.contextmanager
def no_turns(keys: Any) -> Iterator[None]:
    yield


def send_at_once(
    call: Any, user: Any, vehicle_id: str, batches: list[list[dict[str, Any]]]
) -> list[Any]:
    """Each batch from its own client and thread, released together; the answers in order."""
    answers: list[Any] = [None] * len(batches)
    barrier = threading.Barrier(len(batches))

    def send(position: int) -> None:
        client = call("vehicles")
        barrier.wait()
        answers[position] = post_telemetry(client, user, vehicle_id, batches[position])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_batches_from_several_instances_at_once_lose_nothing_and_count_once(
    call: Any, owner: Any, vehicle: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without this instance's turn-taking, the requests race as if each came from its own
    # instance: only the commit's conditions keep them apart.
    monkeypatch.setattr(locks, "holding", no_turns)
    start = recent(600).replace(hour=8, minute=0)
    everything = series(start, 60, MINUTE)
    # Four overlapping batches: readings 0-29, 10-39, 20-49, 30-59.
    batches = [everything[offset : offset + 30] for offset in (0, 10, 20, 30)]
    answers = send_at_once(call, owner, vehicle["id"], batches)
    bodies = [answer.get_json() for answer in answers]
    # 201, or 200 for a batch whose readings all turned out stored already.
    assert {answer.status_code for answer in answers} <= {200, 201}, bodies
    assert sum(body["accepted"] for body in bodies) == 60
    assert sum(len(body["duplicates"]) for body in bodies) == 4 * 30 - 60
    stored = day_documents(db, vehicle["id"])[day_of(start)]
    assert set(stored["readings"]) == {
        reading_key(Reading.model_validate(r).timestamp) for r in everything
    }
    assert stored["count"] == 60


def test_newer_batches_from_several_instances_at_once_lose_nothing_and_count_once(
    call: Any, owner: Any, vehicle: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four batches, each newer than everything stored when they start: all four take the
    fast path (no day read, blind day writes); the vehicle's condition lets one commit per
    tail, the others are judged again."""
    monkeypatch.setattr(locks, "holding", no_turns)
    start = recent(600).replace(hour=8, minute=0)
    everything = series(start, 61, MINUTE)
    client = call("vehicles")
    assert post_telemetry(client, owner, vehicle["id"], everything[:1]).status_code == 201
    batches = [everything[offset : offset + 15] for offset in (1, 16, 31, 46)]
    answers = send_at_once(call, owner, vehicle["id"], batches)
    bodies = [answer.get_json() for answer in answers]
    assert {answer.status_code for answer in answers} == {201}, bodies
    # Odometer order can flag a reading judged against a later baseline, never drop it.
    assert sum(body["accepted"] for body in bodies) == 60
    stored = day_documents(db, vehicle["id"])[day_of(start)]
    assert set(stored["readings"]) == {
        reading_key(Reading.model_validate(r).timestamp) for r in everything
    }
    assert stored["count"] == 61
    newest = int(reading_key(Reading.model_validate(everything[-1]).timestamp))
    tail = db.document(f"vehicles/{vehicle['id']}").get().get(telemetry_tail.FIELD)
    assert tail == {"key": newest, "day_count": 61}
