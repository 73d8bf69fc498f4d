"""Telemetry batches racing other writers: a batch commits only if what it read is unchanged,
and is otherwise judged again on what is stored then — nothing lost, nothing counted twice."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from vehicles_testkit import (
    API,
    MINUTE,
    client_fixture,  # noqa: F401 - provides the "client" fixture
    owner_fixture,  # noqa: F401 - provides the "owner" fixture
    recent,
    series,
    vehicle_fixture,  # noqa: F401 - provides the "vehicle" fixture
)

from vehicle import telemetry_store
from vehicle.codec import day_of, reading_key
from vehicle.telemetry_quality import Reading


def post(client: Any, user: Any, vehicle_id: str, readings: list[dict[str, Any]]) -> Any:
    return client.post(
        f"{API}/{vehicle_id}/telemetry", json={"readings": readings}, headers=user.headers
    )


def day_documents(db: Any, vehicle_id: str) -> dict[str, dict[str, Any]]:
    days = db.collection("vehicles").document(vehicle_id).collection("telemetry_days")
    return {snapshot.id: snapshot.to_dict() for snapshot in days.stream()}


def test_a_reading_stored_between_read_and_commit_is_reported_as_a_duplicate(
    client: Any, owner: Any, vehicle: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One minute apart inside one UTC day (the test avoids straddling midnight).
    start = recent(120).replace(hour=10, minute=0)
    readings = series(start, 5, MINUTE)
    day = day_of(start)
    post(client, owner, vehicle["id"], readings[:1])  # the day document exists
    raced = Reading.model_validate(readings[3])
    real_read = telemetry_store._read
    reads = 0

    def read_then_race(refs: Any) -> Any:
        # Another instance stores reading 3 right after this batch read the documents.
        nonlocal reads
        reads += 1
        snapshots = real_read(refs)
        if reads == 1:
            db.document(f"vehicles/{vehicle['id']}/telemetry_days/{day}").update(
                {f"readings.`{reading_key(raced.timestamp)}`": "42003|12.6|0||||", "count": 2}
            )
        return snapshots

    monkeypatch.setattr(telemetry_store, "_read", read_then_race)
    response = post(client, owner, vehicle["id"], readings[1:])
    assert response.status_code == 201
    body = response.get_json()
    assert reads == 2  # the first commit failed on the changed day and was judged again
    assert body["accepted"] == 3
    assert [d["index"] for d in body["duplicates"]] == [2]  # readings[3], index 2 of the batch
    stored = day_documents(db, vehicle["id"])[day]
    assert len(stored["readings"]) == 5 and stored["count"] == 5


def test_a_vehicle_deleted_between_read_and_commit_is_404_and_nothing_is_written(
    client: Any, owner: Any, vehicle: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_read = telemetry_store._read

    def read_then_delete(refs: Any) -> Any:
        snapshots = real_read(refs)
        db.document(f"vehicles/{vehicle['id']}").delete()
        return snapshots

    monkeypatch.setattr(telemetry_store, "_read", read_then_delete)
    response = post(client, owner, vehicle["id"], series(recent(60), 3, MINUTE))
    assert response.status_code == 404
    assert day_documents(db, vehicle["id"]) == {}


@contextlib.contextmanager
def no_turns(keys: Any) -> Iterator[None]:
    yield


def test_batches_from_several_instances_at_once_lose_nothing_and_count_once(
    call: Any, owner: Any, vehicle: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without this instance's turn-taking, the requests race as if each came from its own
    # instance: only the commit's conditions keep them apart.
    monkeypatch.setattr(telemetry_store.locks, "holding", no_turns)
    start = recent(600).replace(hour=8, minute=0)
    everything = series(start, 60, MINUTE)
    # Four overlapping batches: readings 0-29, 10-39, 20-49, 30-59.
    batches = [everything[offset : offset + 30] for offset in (0, 10, 20, 30)]
    answers: list[Any] = [None] * len(batches)
    barrier = threading.Barrier(len(batches))

    def send(position: int) -> None:
        client = call("vehicles")
        barrier.wait()
        answers[position] = post(client, owner, vehicle["id"], batches[position])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

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
