"""The telemetry tail: a batch newer than everything stored reads only the vehicle, and the
tail stays exact through late readings, resends, the day cap and vehicles stored without one."""

from __future__ import annotations

from datetime import timedelta
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

from vehicle import telemetry_store, telemetry_tail
from vehicle.codec import day_of, reading_key
from vehicle.telemetry_quality import Reading
from vehicle.telemetry_tail import Tail


def key_of(raw: dict[str, Any]) -> int:
    return int(reading_key(Reading.model_validate(raw).timestamp))


def stored_tail(db: Any, vehicle_id: str) -> Any:
    return (db.document(f"vehicles/{vehicle_id}").get().to_dict() or {}).get(telemetry_tail.FIELD)


def day_document(db: Any, vehicle_id: str, day: str) -> dict[str, Any]:
    snapshot = db.document(f"vehicles/{vehicle_id}/telemetry_days/{day}").get()
    return snapshot.to_dict() or {}


class ReadLog:
    """Which documents each batched read of the ingest asked for."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads: list[list[str]] = []
        real = telemetry_store._read

        def logged(refs: Any) -> Any:
            self.reads.append([ref.path for ref in refs])
            return real(refs)

        monkeypatch.setattr(telemetry_store, "_read", logged)

    def day_reads(self) -> int:
        return sum(any("/telemetry_days/" in path for path in paths) for paths in self.reads)


# --- through the API, on the emulator ---------------------------------------------------------


def test_a_batch_newer_than_everything_stored_reads_only_the_vehicle(
    client: Any, owner: Any, vehicle: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = recent(600).replace(hour=9, minute=0)
    readings = series(start, 20, MINUTE)
    assert post_telemetry(client, owner, vehicle["id"], readings[:10]).status_code == 201
    log = ReadLog(monkeypatch)
    response = post_telemetry(client, owner, vehicle["id"], readings[10:])
    assert response.status_code == 201
    assert response.get_json()["accepted"] == 10
    assert log.reads == [[f"vehicles/{vehicle['id']}"]]
    assert "reads=1;" in response.headers["X-Firestore-Ops"]
    stored = day_document(db, vehicle["id"], day_of(start))
    assert len(stored["readings"]) == 20 and stored["count"] == 20
    assert stored_tail(db, vehicle["id"]) == {"key": key_of(readings[-1]), "day_count": 20}


def test_a_resent_batch_reads_its_days_and_stores_nothing_twice(
    client: Any, owner: Any, vehicle: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    readings = series(recent(600).replace(hour=9, minute=0), 10, MINUTE)
    post_telemetry(client, owner, vehicle["id"], readings)
    log = ReadLog(monkeypatch)
    again = post_telemetry(client, owner, vehicle["id"], readings)
    assert again.status_code == 200
    assert len(again.get_json()["duplicates"]) == 10
    assert log.day_reads() == 1
    # The newest reading alone, resent: the same key as the tail is not "newer".
    assert post_telemetry(client, owner, vehicle["id"], readings[-1:]).status_code == 200
    assert log.day_reads() == 2
    assert stored_tail(db, vehicle["id"]) == {"key": key_of(readings[-1]), "day_count": 10}


def test_late_readings_on_the_tails_day_keep_its_count_exact(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    start = recent(600).replace(hour=9, minute=0)
    readings = series(start, 6, MINUTE)
    post_telemetry(client, owner, vehicle["id"], [readings[0], readings[4]])
    late = post_telemetry(
        client, owner, vehicle["id"], readings[1:4]
    )  # before the tail: reads the day
    assert late.get_json()["accepted"] == 3
    assert stored_tail(db, vehicle["id"]) == {"key": key_of(readings[4]), "day_count": 5}
    post_telemetry(
        client, owner, vehicle["id"], readings[5:]
    )  # after it: the fast path, count from it
    stored = day_document(db, vehicle["id"], day_of(start))
    assert len(stored["readings"]) == 6 and stored["count"] == 6
    assert stored_tail(db, vehicle["id"]) == {"key": key_of(readings[5]), "day_count": 6}


def test_a_batch_into_the_next_day_counts_the_new_day_from_zero(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    evening = recent(3 * 24 * 60).replace(hour=23, minute=50)
    readings = series(evening, 20, MINUTE)  # 23:50 to 00:09 the next day
    post_telemetry(client, owner, vehicle["id"], readings[:5])
    assert post_telemetry(client, owner, vehicle["id"], readings[5:]).get_json()["accepted"] == 15
    first, second = day_of(evening), day_of(evening + timedelta(days=1))
    assert day_document(db, vehicle["id"], first)["count"] == 10
    assert day_document(db, vehicle["id"], second)["count"] == 10
    assert stored_tail(db, vehicle["id"]) == {"key": key_of(readings[-1]), "day_count": 10}


def test_the_day_cap_holds_on_the_fast_path(
    client: Any, owner: Any, vehicle: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telemetry_store, "MAX_READINGS_PER_DAY", 4)
    start = recent(600).replace(hour=9, minute=0)
    readings = series(start, 6, MINUTE)
    post_telemetry(client, owner, vehicle["id"], readings[:3])
    log = ReadLog(monkeypatch)
    body = post_telemetry(client, owner, vehicle["id"], readings[3:]).get_json()
    assert log.day_reads() == 0
    assert body["accepted"] == 1
    assert [r["index"] for r in body["rejected"]] == [1, 2]
    assert "already holds 4 readings" in body["rejected"][0]["reason"]
    assert day_document(db, vehicle["id"], day_of(start))["count"] == 4


def test_a_vehicle_stored_without_a_tail_gets_one_from_its_newest_day(
    client: Any, owner: Any, vehicle: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Days written before the tail existed: the first batch reads its days and the newest
    day document, so the tail starts at the newest stored reading even when the batch is
    on an older day, and a later batch still finds the readings stored then."""
    start = recent(600).replace(hour=9, minute=0)
    readings = series(start, 8, MINUTE)
    day = day_of(start)
    days = db.collection("vehicles").document(vehicle["id"]).collection("telemetry_days")
    legacy = {str(key_of(r)): "42000|12.6|0||||" for r in readings[:4]}
    days.document(day).set({"day": day, "readings": legacy, "count": 4})
    assert stored_tail(db, vehicle["id"]) is None

    log = ReadLog(monkeypatch)
    earlier = series(start - timedelta(days=2), 2, MINUTE, odometer=41000)
    assert post_telemetry(client, owner, vehicle["id"], earlier).get_json()["accepted"] == 2
    assert log.day_reads() == 1
    assert stored_tail(db, vehicle["id"]) == {"key": key_of(readings[3]), "day_count": 4}

    body = post_telemetry(client, owner, vehicle["id"], readings[3:6]).get_json()
    assert [d["index"] for d in body["duplicates"]] == [0]  # readings[3] was stored
    assert body["accepted"] == 2
    assert log.day_reads() == 2  # it reached back to the tail: its day was read
    assert stored_tail(db, vehicle["id"]) == {"key": key_of(readings[5]), "day_count": 6}
    post_telemetry(client, owner, vehicle["id"], readings[6:])
    assert log.day_reads() == 2  # newer than the tail: no day read
    assert day_document(db, vehicle["id"], day)["count"] == 8


# --- the rules alone -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "12",
        {"key": 5},
        {"key": True, "day_count": 1},
        {"key": 5, "day_count": -1},
        {"key": -5, "day_count": 1},
        {"key": 5.0, "day_count": 1},
        {"key": 0, "day_count": 3},
    ],
)
def test_a_missing_or_malformed_tail_is_no_tail(stored: Any) -> None:
    assert telemetry_tail.of_vehicle({telemetry_tail.FIELD: stored}) is None


def test_a_stored_tail_reads_back() -> None:
    tail = Tail(1_764_000_000_000_000, 7)
    assert telemetry_tail.of_vehicle({telemetry_tail.FIELD: tail.as_field()}) == tail
    assert telemetry_tail.of_vehicle({telemetry_tail.FIELD: {"key": 0, "day_count": 0}}) == (
        telemetry_tail.NOTHING_STORED
    )


def test_only_keys_strictly_after_the_tail_skip_the_day_reads() -> None:
    tail = Tail(1_764_000_000_000_000, 7)
    day = tail.day
    assert day is not None
    assert telemetry_tail.counts_after(tail, [str(tail.key)], [day]) is None
    assert telemetry_tail.counts_after(tail, [str(tail.key + 1), str(tail.key - 1)], [day]) is None
    assert telemetry_tail.counts_after(tail, [str(tail.key + 1)], [day, "2099-01-01"]) == {
        day: 7,
        "2099-01-01": 0,
    }
    assert telemetry_tail.counts_after(None, [str(tail.key + 1)], [day]) is None
    assert telemetry_tail.counts_after(telemetry_tail.NOTHING_STORED, ["1"], ["1970-01-01"]) == {
        "1970-01-01": 0
    }


def test_the_tail_moves_to_the_newest_added_key_with_its_days_count() -> None:
    tail = Tail(1_764_000_000_000_000, 7)
    later = tail.key + 86_400_000_000  # a day later
    moved = telemetry_tail.after_batch(tail, [str(later)], {day_of_key(later): 1})
    assert moved == Tail(later, 1)
    # Late readings on the tail's day: the key stays, the count follows the day.
    assert telemetry_tail.after_batch(tail, [str(tail.key - 5)], {str(tail.day): 8}) == Tail(
        tail.key, 8
    )
    # Late readings on an earlier day leave it as it was.
    assert telemetry_tail.after_batch(tail, ["5"], {"1970-01-01": 1}) == tail


def test_the_newest_day_gives_its_greatest_key_and_count() -> None:
    assert telemetry_tail.of_newest_day({"5": "x", "17": "y", "9": "z"}, 3) == Tail(17, 3)
    assert telemetry_tail.of_newest_day({"5": "x", "17": "y"}, None) == Tail(17, 2)
    assert telemetry_tail.of_newest_day({}, None) == telemetry_tail.NOTHING_STORED


def day_of_key(key: int) -> str:
    from vehicle.codec import key_time

    return day_of(key_time(str(key)))
