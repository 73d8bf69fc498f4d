"""Telemetry intake as a new integrator meets it: unknown reading fields are still accepted
(firmware adds fields) but never silent, and a late batch is stored, not a 500.

Someone who writes ``fault_codes`` for ``dtc_codes`` used to get a 201 while the fault
never reached health; now the answer names the field and the one it probably meant.
"""

from __future__ import annotations

from typing import Any

from vehicles_testkit import (
    API,
    MINUTE,
    client_fixture,  # noqa: F401 - provides the "client" fixture
    owner_fixture,  # noqa: F401 - provides the "owner" fixture
    reading,
    recent,
    vehicle_fixture,  # noqa: F401 - provides the "vehicle" fixture
)

from vehicle.models import MAX_IGNORED_FIELDS_LISTED


def ingest(client: Any, owner: Any, vehicle: dict[str, Any], readings: list[Any]) -> Any:
    return client.post(
        f"{API}/{vehicle['id']}/telemetry", json={"readings": readings}, headers=owner.headers
    )


def test_a_misspelt_fault_code_field_is_named_with_the_field_it_meant(
    client: Any, owner: Any, vehicle: dict[str, Any]
) -> None:
    misspelt = {**reading(recent(30), 42000), "fault_codes": ["P0301"]}
    response = ingest(client, owner, vehicle, [misspelt])
    assert response.status_code == 201
    body = response.get_json()
    assert body["accepted"] == 1
    assert body["ignored_fields"] == [
        {
            "index": 0,
            "fields": ["fault_codes"],
            "did_you_mean": {"fault_codes": "dtc_codes"},
            "more": 0,
        }
    ]
    # It really was not taken as a fault code: nothing reached the stored reading.
    listed = client.get(f"{API}/{vehicle['id']}/telemetry", headers=owner.headers).get_json()
    assert listed["items"][0]["dtc_codes"] == []


def test_new_firmware_fields_are_accepted_and_listed_per_reading(
    client: Any, owner: Any, vehicle: dict[str, Any]
) -> None:
    first = {**reading(recent(40), 42000), "tyre_pressure_kpa": 230, "firmware": "2.1"}
    second = reading(recent(40) + MINUTE, 42001)
    response = ingest(client, owner, vehicle, [first, second])
    assert response.status_code == 201
    assert response.get_json()["ignored_fields"] == [
        {"index": 0, "fields": ["firmware", "tyre_pressure_kpa"], "did_you_mean": {}, "more": 0}
    ]


def test_a_clean_batch_says_nothing_was_ignored(
    client: Any, owner: Any, vehicle: dict[str, Any]
) -> None:
    response = ingest(client, owner, vehicle, [reading(recent(20), 42000)])
    assert response.get_json()["ignored_fields"] == []


def test_the_list_is_bounded_however_many_unknown_fields_a_reading_carries(
    client: Any, owner: Any, vehicle: dict[str, Any]
) -> None:
    stuffed = {**reading(recent(10), 42000), **{f"x{i:04d}" + "y" * 100: i for i in range(500)}}
    response = ingest(client, owner, vehicle, [stuffed])
    entry = response.get_json()["ignored_fields"][0]
    assert len(entry["fields"]) == MAX_IGNORED_FIELDS_LISTED
    assert entry["more"] == 500 - MAX_IGNORED_FIELDS_LISTED
    assert all(len(name) <= 64 for name in entry["fields"])


def test_a_late_batch_older_than_the_stored_readings_is_stored_not_a_500(
    client: Any, owner: Any, vehicle: dict[str, Any]
) -> None:
    """Regression (found by tests/test_faults.py retrying a batch after an outage): a batch
    whose readings all predate the latest stored one changes no baseline, and its empty
    vehicle update made the commit fail with a 500."""
    later = ingest(client, owner, vehicle, [reading(recent(10), 42010)])
    assert later.status_code == 201
    late = ingest(client, owner, vehicle, [reading(recent(60), 42000)])
    assert late.status_code == 201, late.get_data(as_text=True)
    assert late.get_json()["accepted"] == 1
    listed = client.get(f"{API}/{vehicle['id']}/telemetry", headers=owner.headers).get_json()
    assert [item["odometer_km"] for item in listed["items"]] == [42000, 42010]
