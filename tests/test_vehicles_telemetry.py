"""Telemetry intake and listing: partial failures, retries, quality checks, pagination."""

from __future__ import annotations

from typing import Any

import pytest
from vehicles_testkit import (
    API,
    MINUTE,
    client_fixture,  # noqa: F401 - provides the "client" fixture
    link_to_center,
    owner_fixture,  # noqa: F401 - provides the "owner" fixture
    reading,
    recent,
    series,
    vehicle_fixture,  # noqa: F401 - provides the "vehicle" fixture
)

from vehicle.telemetry_store import MAX_READINGS_PER_DAY


def post(client: Any, user: Any, vehicle: dict[str, Any], readings: list[dict[str, Any]]) -> Any:
    return client.post(
        f"{API}/{vehicle['id']}/telemetry", json={"readings": readings}, headers=user.headers
    )


def stored_readings(db: Any, vehicle_id: str) -> dict[str, Any]:
    days = db.collection("vehicles").document(vehicle_id).collection("telemetry_days").stream()
    merged: dict[str, Any] = {}
    for day in days:
        merged.update(day.to_dict()["readings"])
    return merged


def test_good_batch_is_201_and_stored_in_day_documents(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    response = post(client, owner, vehicle, series(recent(60), 30, MINUTE))
    assert response.status_code == 201
    body = response.get_json()
    assert body["accepted"] == 30 and body["rejected"] == [] and body["duplicates"] == []
    assert len(stored_readings(db, vehicle["id"])) == 30
    assert 1 <= len(body["days"]) <= 2
    stored_vehicle = db.collection("vehicles").document(vehicle["id"]).get().to_dict()
    assert stored_vehicle["odometer_km"] == 42029 and stored_vehicle["mileage_km"] == 42029


def test_partial_failure_is_207_with_indices_and_reasons(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    start = recent(60)
    readings = series(start, 5, MINUTE, odometer=42100)
    readings[2]["odometer_km"] = 42000  # backwards
    readings.append(reading(recent(-60), 42200))  # an hour in the future
    readings.append(reading(start + 10 * MINUTE, 49000))  # a 7,000 km jump: kept, flagged
    response = post(client, owner, vehicle, readings)
    assert response.status_code == 207
    body = response.get_json()
    rejected = {item["index"]: item["reason"] for item in body["rejected"]}
    assert set(rejected) == {2, 5}
    assert "backwards" in rejected[2] and "future" in rejected[5]
    assert [item["index"] for item in body["flagged"]] == [6]
    assert body["accepted"] == 5
    assert len(stored_readings(db, vehicle["id"])) == 5  # the good ones and the flagged one


def test_future_timestamps_are_refused(client: Any, owner: Any, vehicle: Any, db: Any) -> None:
    response = post(client, owner, vehicle, [reading(recent(-30), 42001)])
    assert response.status_code == 207
    assert "future" in response.get_json()["rejected"][0]["reason"]
    assert stored_readings(db, vehicle["id"]) == {}


def test_same_batch_twice_stores_no_duplicates(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    batch = series(recent(120), 40, MINUTE)
    assert post(client, owner, vehicle, batch).status_code == 201
    again = post(client, owner, vehicle, batch)
    assert again.status_code == 200
    body = again.get_json()
    assert body["accepted"] == 0 and len(body["duplicates"]) == 40
    assert len(stored_readings(db, vehicle["id"])) == 40
    # A batch overlapping the stored one adds only the new readings.
    overlap = batch[30:] + series(recent(80), 10, MINUTE, odometer=42040)
    body = post(client, owner, vehicle, overlap).get_json()
    assert body["accepted"] == 10 and len(body["duplicates"]) == 10
    assert len(stored_readings(db, vehicle["id"])) == 50


def test_glitchy_high_odometer_does_not_become_the_baseline(
    client: Any, owner: Any, vehicle: Any
) -> None:
    start = recent(120)
    assert post(client, owner, vehicle, series(start, 3, MINUTE)).status_code == 201
    glitch = post(client, owner, vehicle, [reading(start + 5 * MINUTE, 999_999)])
    assert glitch.status_code == 201 and glitch.get_json()["flagged"][0]["index"] == 0
    # True readings after the glitch are accepted, not "backwards".
    after = post(client, owner, vehicle, series(start + 10 * MINUTE, 3, MINUTE, odometer=42005))
    assert after.status_code == 201, after.get_json()
    assert after.get_json()["accepted"] == 3 and after.get_json()["flagged"] == []


def test_a_real_jump_is_confirmed_by_the_readings_that_follow(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    start = recent(600)
    post(client, owner, vehicle, series(start, 2, MINUTE))
    # A cluster swap: the odometer now reads 5,000 km higher, and keeps counting from there.
    jump = post(client, owner, vehicle, [reading(start + 60 * MINUTE, 47000)]).get_json()
    assert jump["flagged"]
    follow = post(client, owner, vehicle, series(start + 70 * MINUTE, 2, MINUTE, odometer=47005))
    assert follow.status_code == 201 and follow.get_json()["flagged"] == []
    assert db.collection("vehicles").document(vehicle["id"]).get().to_dict()["odometer_km"] == 47006


@pytest.mark.parametrize(
    "payload",
    [
        {"readings": []},
        {},
        {"readings": "nope"},
        {"readings": [{"timestamp": "2024-01-01T00:00:00Z"}]},
        {
            "readings": [
                {
                    "timestamp": "2024-01-01T00:00:00",
                    "odometer_km": 1,
                    "battery_voltage": 12.6,
                    "engine_running": False,
                }
            ]
        },  # no offset
        {
            "readings": [
                {
                    "timestamp": "2024-01-01T00:00:00Z",
                    "odometer_km": 1,
                    "battery_voltage": 99,
                    "engine_running": False,
                }
            ]
        },
        {
            "readings": [
                {
                    "timestamp": "2024-01-01T00:00:00Z",
                    "odometer_km": 1,
                    "battery_voltage": 12.6,
                    "engine_running": False,
                    "dtc_codes": ["XYZ"],
                }
            ]
        },
        {"readings": [], "extra": 1},
    ],
)
def test_invalid_batch_is_422(
    client: Any, owner: Any, vehicle: Any, payload: dict[str, Any]
) -> None:
    response = client.post(f"{API}/{vehicle['id']}/telemetry", json=payload, headers=owner.headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]


def test_malformed_reading_is_reported_by_field(client: Any, owner: Any, vehicle: Any) -> None:
    readings = series(recent(30), 3, MINUTE)
    readings[1]["battery_voltage"] = "high"
    response = post(client, owner, vehicle, readings)
    assert response.status_code == 422
    fields = [d["field"] for d in response.get_json()["error"]["details"]]
    assert fields == ["readings.1.battery_voltage"]


def test_more_than_500_readings_is_422(client: Any, owner: Any, vehicle: Any, db: Any) -> None:
    response = post(client, owner, vehicle, series(recent(600), 501, MINUTE))
    assert response.status_code == 422
    assert stored_readings(db, vehicle["id"]) == {}


def test_a_full_day_refuses_more_readings_with_a_reason(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    day_doc = db.collection("vehicles").document(vehicle["id"]).collection("telemetry_days")
    first = recent(30)
    day_doc.document(first.date().isoformat()).set(
        {"day": first.date().isoformat(), "readings": {}, "count": MAX_READINGS_PER_DAY}
    )
    response = post(client, owner, vehicle, [reading(first, 42001)])
    assert response.status_code == 207
    assert "already holds" in response.get_json()["rejected"][0]["reason"]


def test_customer_cannot_send_telemetry_for_others_and_staff_cannot_send_at_all(
    client: Any, users: Any, vehicle: Any, db: Any
) -> None:
    link_to_center(vehicle["id"], "c1")
    staff = users.create("service_center", service_center_id="c1")
    assert post(client, staff, vehicle, series(recent(10), 1, MINUTE)).status_code == 403
    assert (
        post(client, users.create("customer"), vehicle, series(recent(10), 1, MINUTE)).status_code
        == 404
    )
    assert (
        post(client, users.create("admin"), vehicle, series(recent(10), 1, MINUTE)).status_code
        == 201
    )


# --- listing --------------------------------------------------------------------------------


def test_telemetry_listing_walks_the_range_once_in_order(
    client: Any, owner: Any, vehicle: Any
) -> None:
    start = recent(60 * 30)  # spans two UTC days
    post(client, owner, vehicle, series(start, 300, 5 * MINUTE))
    url = f"{API}/{vehicle['id']}/telemetry"
    window = {"from": (start + 10 * MINUTE).isoformat(), "to": (start + 1000 * MINUTE).isoformat()}
    seen: list[str] = []
    cursor = None
    while True:
        query = {**window, "limit": 64, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, query_string=query, headers=owner.headers)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        seen += [item["timestamp"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Readings at start+10 min … start+1000 min, every 5 minutes: 199 of them.
    assert len(seen) == len(set(seen)) == 199
    assert seen == sorted(seen)


@pytest.mark.parametrize(
    "query",
    [
        {"from": "yesterday"},
        {"from": "2024-01-01T00:00:00"},  # no offset
        {"from": "2024-01-02T00:00:00Z", "to": "2024-01-01T00:00:00Z"},
        {"limit": 501},
        {"cursor": "bad"},
        {"window": "1d"},
    ],
)
def test_bad_telemetry_query_is_422(
    client: Any, owner: Any, vehicle: Any, query: dict[str, Any]
) -> None:
    response = client.get(
        f"{API}/{vehicle['id']}/telemetry", query_string=query, headers=owner.headers
    )
    assert response.status_code == 422, query


def test_every_role_in_scope_may_read_telemetry(
    client: Any, users: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    post(client, owner, vehicle, series(recent(30), 3, MINUTE))
    link_to_center(vehicle["id"], "c1")
    readers = [
        owner,
        users.create("service_center", service_center_id="c1"),
        users.create("mechanic", service_center_id="c1"),
        users.create("admin"),
        users.create("viewer"),
    ]
    for user in readers:
        response = client.get(f"{API}/{vehicle['id']}/telemetry", headers=user.headers)
        assert response.status_code == 200 and len(response.get_json()["items"]) == 3, user.role
    outsider = users.create("mechanic", service_center_id="c2")
    assert (
        client.get(f"{API}/{vehicle['id']}/telemetry", headers=outsider.headers).status_code == 404
    )
