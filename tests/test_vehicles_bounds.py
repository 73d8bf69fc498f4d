"""Write amplification is bounded: a hostile batch costs a stated number of Firestore
operations, fans out into a bounded number of alerts, and answers a small /health."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from google.cloud.firestore import DELETE_FIELD
from google.cloud.firestore_v1.base_query import FieldFilter
from vehicles_testkit import (
    API,
    MINUTE,
    client_fixture,  # noqa: F401 - provides the "client" fixture
    link_to_center,
    owner_fixture,  # noqa: F401 - provides the "owner" fixture
    reading,
    recent,
    vehicle_fixture,  # noqa: F401 - provides the "vehicle" fixture
)

from shared.alerts import (
    MAX_ALERTS_LINKED,
    MAX_OPEN_ALERTS_READ,
    VEHICLE_ALERT_IDS,
    VEHICLE_ALERT_IDS_EVALUATED_AT,
)
from vehicle import limits
from vehicle.telemetry_quality import (
    MAX_DAYS_PER_BATCH,
    MAX_FAULT_CODES_PER_READING,
    MAX_READING_AGE,
)

DAY = timedelta(days=1)


def post(client: Any, user: Any, vehicle: dict[str, Any], readings: list[dict[str, Any]]) -> Any:
    return client.post(
        f"{API}/{vehicle['id']}/telemetry", json={"readings": readings}, headers=user.headers
    )


def ops(response: Any) -> tuple[int, int]:
    found = dict(re.findall(r"(reads|writes)=(\d+)", response.headers["X-Firestore-Ops"]))
    return int(found["reads"]), int(found["writes"])


def powertrain_codes(count: int, start: int = 0x1000) -> list[str]:
    """Distinct well-formed generic powertrain codes outside the misfire range."""
    return [f"P{n:04X}" for n in range(start, start + count)]


def alerts_of(db: Any, vehicle_id: str) -> list[dict[str, Any]]:
    return [
        s.to_dict()
        for s in db.collection("alerts")
        .where(filter=FieldFilter("vehicle_id", "==", vehicle_id))
        .stream()
    ]


def test_a_reading_with_600_fault_codes_is_refused_with_a_reason(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    flood = reading(recent(10), 42001, running=True, codes=powertrain_codes(600))
    assert len(json.dumps(flood)) > 4_000
    response = post(client, owner, vehicle, [reading(recent(20), 42000), flood])
    assert response.status_code == 207
    body = response.get_json()
    assert body["accepted"] == 1
    (refused,) = body["rejected"]
    assert refused["index"] == 1 and "600 fault codes" in refused["reason"]
    assert alerts_of(db, vehicle["id"]) == []
    _, writes = ops(response)
    assert writes <= limits.INGEST_WRITES + limits.EVALUATION_WRITES


def test_the_most_codes_a_reading_may_carry_are_accepted(
    client: Any, owner: Any, vehicle: Any
) -> None:
    full = reading(
        recent(10),
        42001,
        running=True,
        codes=powertrain_codes(15),
        pending=powertrain_codes(5, start=0x2000),
    )
    assert len(full["dtc_codes"]) + len(full["dtc_pending"]) == MAX_FAULT_CODES_PER_READING
    assert post(client, owner, vehicle, [full]).status_code == 201


def test_hundreds_of_codes_in_one_drive_open_one_alert_per_tier(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    start = recent(60)
    drive = [
        reading(
            start + i * MINUTE,
            42000 + i,
            running=True,
            volts=14.1,
            codes=powertrain_codes(20, start=0x1000 + 20 * i),
        )
        for i in range(30)
    ]
    assert post(client, owner, vehicle, drive).status_code == 201
    response = client.get(f"{API}/{vehicle['id']}/health", headers=owner.headers)
    assert response.status_code == 200
    assert len(response.data) < 10_000  # was 248 KB with one finding per code
    (finding,) = [f for f in response.get_json()["findings"] if f["rule_id"].startswith("dtc.")]
    assert finding["evidence"]["codes_total"] == 600
    assert len(finding["evidence"]["codes"]) == 20
    stored = alerts_of(db, vehicle["id"])
    assert [a["alert_key"] for a in stored] == ["dtc.powertrain.diagnostics"]
    _, writes = ops(response)
    assert writes <= limits.EVALUATION_WRITES


def test_readings_older_than_the_horizon_are_refused_with_a_reason(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    # 500 readings, one per day going back 500 days: one transaction of 593 reads and 502
    # writes before; now only the last 30 days are considered, and of those the first 7.
    newest = recent(60)
    readings = [reading(newest - i * DAY, 42000 + 500 - i) for i in range(500)]
    response = post(client, owner, vehicle, readings)
    assert response.status_code == 207
    body = response.get_json()
    reasons = {item["index"]: item["reason"] for item in body["rejected"]}
    too_old = [i for i, reason in reasons.items() if "days old" in reason]
    assert len(too_old) >= 500 - MAX_READING_AGE.days - 1
    assert all(i > MAX_READING_AGE.days - 2 for i in too_old)
    assert body["accepted"] == MAX_DAYS_PER_BATCH
    assert len(body["days"]) == MAX_DAYS_PER_BATCH
    reads, writes = ops(response)
    assert reads <= 1 + limits.INGEST_READS + 1 + limits.EVALUATION_READS
    assert writes <= limits.INGEST_WRITES + limits.EVALUATION_WRITES
    days = db.collection("vehicles").document(vehicle["id"]).collection("telemetry_days")
    assert len(list(days.stream())) == MAX_DAYS_PER_BATCH


def test_a_batch_spanning_more_than_seven_days_keeps_the_first_seven(
    client: Any, owner: Any, vehicle: Any
) -> None:
    first = recent(60) - 9 * DAY
    readings = [reading(first + i * DAY, 42000 + i) for i in range(10)]
    response = post(client, owner, vehicle, readings)
    assert response.status_code == 207
    body = response.get_json()
    assert body["accepted"] == MAX_DAYS_PER_BATCH
    refused = {item["index"] for item in body["rejected"]}
    assert refused == {7, 8, 9}
    assert all("more than 7 days" in item["reason"] for item in body["rejected"])
    # The rest is accepted in the next batch.
    assert post(client, owner, vehicle, readings[7:]).status_code == 201


def test_a_reading_years_in_the_future_costs_no_day_document(
    client: Any, owner: Any, vehicle: Any
) -> None:
    future = reading(recent(-60 * 24 * 365 * 3), 42001)
    response = post(client, owner, vehicle, [future])
    assert response.status_code == 207
    assert "future" in response.get_json()["rejected"][0]["reason"]
    reads, writes = ops(response)
    assert (reads, writes) == (1, 0)  # the vehicle, in the transaction that checks scope; no day


def test_an_ordinary_batch_costs_what_the_docs_say(client: Any, owner: Any, vehicle: Any) -> None:
    readings = [reading(recent(600) + 5 * i * MINUTE, 42000 + i) for i in range(100)]
    response = post(client, owner, vehicle, readings)
    assert response.status_code == 201
    reads, writes = ops(response)
    assert reads <= 1 + limits.INGEST_READS + 1 + limits.EVALUATION_READS
    assert writes <= limits.INGEST_WRITES + limits.EVALUATION_WRITES


def test_the_documented_bounds_are_the_enforced_ones() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "vehicles.md").read_text()
    row = next(line for line in doc.splitlines() if line.startswith("| `GET /{id}/health`"))
    reads, writes = (int(n) for n in re.findall(r"= \*\*(\d+)\*\*", row))
    assert reads == 1 + limits.EVALUATION_READS
    assert writes == limits.EVALUATION_WRITES
    assert (limits.INGEST_READS, limits.INGEST_WRITES) == (9, 8)
    row = next(
        line for line in doc.splitlines() if line.startswith("| `POST /{id}/service-records`")
    )
    reads, writes = (int(n) for n in re.findall(r"= \*\*(\d+)\*\*", row))
    assert (reads, writes) == (limits.COMPLETION_READS, limits.COMPLETION_WRITES)


def _open_alerts(db: Any, vehicle_id: str, count: int, **fields: Any) -> list[str]:
    """``count`` open alerts of the vehicle, as older data may hold them."""
    batch = db.batch()
    ids = []
    for index in range(count):
        key = fields.get("key_prefix", "maintenance.due.custom") + f"{index:03d}"
        doc_id = f"{vehicle_id}_{key}"
        batch.set(
            db.document(f"alerts/{doc_id}"),
            {
                "vehicle_id": vehicle_id,
                "owner_id": fields.get("owner_id"),
                "rule_id": fields.get("rule_id", "maintenance.due"),
                "alert_key": key,
                "service_code": fields.get("service_code", "oil_change"),
                "status": "open",
                "severity": "high",
                "center_ids": [],
                "center_access": {},
            },
        )
        ids.append(doc_id)
    batch.commit()
    return ids


def test_an_evaluation_replaces_open_per_code_fault_alerts_with_the_grouped_one(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    """Alerts of one fault code each (before grouping) are deleted by the evaluation that
    opens their grouped successor, in the same transaction (migration 007 does the rest)."""
    old = _open_alerts(
        db,
        vehicle["id"],
        3,
        key_prefix="dtc.powertrain.P0",
        rule_id="dtc.powertrain",
        service_code="diagnostics",
        owner_id=owner.id,
    )
    drive = [
        reading(recent(30) + i * MINUTE, 42000 + i, running=True, volts=14.1, codes=["P0420"])
        for i in range(3)
    ]
    assert post(client, owner, vehicle, drive).status_code == 201
    assert client.get(f"{API}/{vehicle['id']}/health", headers=owner.headers).status_code == 200
    assert not any(db.document(f"alerts/{doc_id}").get().exists for doc_id in old)
    stored = alerts_of(db, vehicle["id"])
    assert [(a["alert_key"], a["status"]) for a in stored] == [
        ("dtc.powertrain.diagnostics", "open")
    ]


def test_a_service_record_reads_a_bounded_number_of_open_alerts(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    """Older data may hold more open alerts than one request reads: the completion reads and
    resolves MAX_OPEN_ALERTS_READ of them (limits.COMPLETION_*); the evaluation after it
    resolves the rest of these on evidence, MAX_OPEN_ALERTS_READ at a time."""
    _open_alerts(db, vehicle["id"], MAX_OPEN_ALERTS_READ + 30, owner_id=owner.id)
    response = client.post(
        f"{API}/{vehicle['id']}/service-records",
        json={
            "service_codes": ["oil_change"],
            "work_done": "Oil and filter",
            "mileage_km": 42_000,
            "performed_at": recent(60).isoformat(),
        },
        headers=owner.headers,
    )
    assert response.status_code == 201, response.get_json()
    by_service = [
        a for a in alerts_of(db, vehicle["id"]) if a.get("resolution") == "service_completed"
    ]
    assert len(by_service) == MAX_OPEN_ALERTS_READ


def test_a_booking_change_copies_center_access_onto_a_bounded_number_of_alerts_open_first(
    vehicle: Any, db: Any
) -> None:
    """shared.center_links reads at most MAX_ALERTS_LINKED alerts, open ones first: with
    more (older per-code data), every open alert still follows the center's access."""
    # Older data: a vehicle from before alert lists (shared.alerts.listed_alert_ids), so its
    # alerts are found by query.
    db.document(f"vehicles/{vehicle['id']}").update(
        {VEHICLE_ALERT_IDS: DELETE_FIELD, VEHICLE_ALERT_IDS_EVALUATED_AT: DELETE_FIELD}
    )
    resolved = _open_alerts(db, vehicle["id"], MAX_ALERTS_LINKED, key_prefix="dtc.powertrain.A")
    batch = db.batch()
    for doc_id in resolved:
        batch.update(db.document(f"alerts/{doc_id}"), {"status": "resolved"})
    batch.commit()
    still_open = _open_alerts(db, vehicle["id"], 5, key_prefix="trend.z")

    link_to_center(vehicle["id"], "c-north")

    copied = {
        s.id
        for s in db.collection("alerts")
        .where(filter=FieldFilter("vehicle_id", "==", vehicle["id"]))
        .stream()
        if "c-north" in (s.to_dict() or {}).get("center_access", {})
    }
    assert set(still_open) <= copied
    assert len(copied) == MAX_ALERTS_LINKED
