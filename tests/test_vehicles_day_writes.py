"""The ingest's day-document write (vehicle.day_writes) is byte for byte the write the client
library builds for the same merge, and merges into a stored day without losing its readings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.cloud import firestore

from vehicle import day_writes

NOW = datetime(2026, 11, 28, 7, 30, 12, 345678, tzinfo=UTC)


def library_write(client: Any, ref: Any, day: str, entries: dict[str, str], count: int) -> Any:
    batch = client.batch()
    batch.set(
        ref,
        {"day": day, "readings": entries, "count": count, "rollup": None, "updated_at": NOW},
        merge=True,
    )
    return batch._write_pbs[0]


def test_merge_day_is_the_librarys_own_merge_write(db: Any) -> None:
    client = db
    ref = client.document("vehicles/v1/telemetry_days/2026-11-28")
    # Keys of different lengths too: the mask's order is the library's (part by part).
    entries = {
        "1764315012345678": "42012.5|14.1|1|90|||",
        "1764315312345678": "42013.5|12.3|0||P0301,P0420|P0171|implausible_speed|-4.5",
        "999999999": "1|2|0||||",
        "1764314712345678": "42011|14.2|1|88.5|||",
    }
    ours = day_writes.merge_day(ref, "2026-11-28", entries, 4711, NOW)
    theirs = library_write(client, ref, "2026-11-28", entries, 4711)
    assert ours._pb.SerializeToString(deterministic=True) == theirs._pb.SerializeToString(
        deterministic=True
    )
    assert list(ours.update_mask.field_paths) == list(theirs.update_mask.field_paths)


def test_merge_day_adds_readings_beside_the_stored_ones(db: Any) -> None:
    ref = db.document("vehicles/v2/telemetry_days/2026-11-28")
    ref.set({"day": "2026-11-28", "readings": {"1": "a|1|0||||"}, "count": 1, "keep": True})
    transaction = db.transaction()

    @firestore.transactional
    def write(transaction: Any) -> None:
        day_writes.add_to(
            transaction, day_writes.merge_day(ref, "2026-11-28", {"2": "b|2|1||||"}, 2, NOW)
        )

    write(transaction)
    stored = ref.get().to_dict()
    assert stored["readings"] == {"1": "a|1|0||||", "2": "b|2|1||||"}
    assert stored["count"] == 2
    assert stored["rollup"] is None
    assert stored["keep"] is True
    assert stored["updated_at"] == NOW
