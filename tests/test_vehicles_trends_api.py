"""Predictive health through the API: a battery losing voltage day after day opens a trend
alert with a predicted failure date and a date to book by; a battery service resets it;
a day is summarised once, by the first evaluation that reads it as a rollup; days stored
before rollups are summarised and repaired."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from vehicles_testkit import (
    API,
    client_fixture,  # noqa: F401 - provides the "client" fixture
    owner_fixture,  # noqa: F401 - provides the "owner" fixture
    reading,
    vehicle_fixture,  # noqa: F401 - provides the "vehicle" fixture
)

from vehicle import rollups
from vehicle.codec import pack, reading_key
from vehicle.telemetry_quality import Reading

START = datetime(2025, 3, 1, tzinfo=UTC)
TREND_ALERT = "trend.battery_resting_voltage"


def resting_day(day: int, volts: float) -> list[dict[str, Any]]:
    """A parked car's day: a resting reading every two hours."""
    midnight = START + timedelta(days=day)
    return [reading(midnight + timedelta(hours=h), 42000, volts=volts) for h in range(1, 24, 2)]


def live_days(
    client: Any, owner: Any, vehicle: dict[str, Any], pin_clock: Any, days: range, volts: Any
) -> dict[str, Any]:
    """Post each day's readings at 23:00 of that day; the last /health answer."""
    for day in days:
        pin_clock(START + timedelta(days=day, hours=23))
        response = client.post(
            f"{API}/{vehicle['id']}/telemetry",
            json={"readings": resting_day(day, volts(day))},
            headers=owner.headers,
        )
        assert response.status_code == 201, response.get_json()
    answer = client.get(f"{API}/{vehicle['id']}/health", headers=owner.headers)
    assert answer.status_code == 200, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def alert(db: Any, vehicle_id: str, key: str) -> dict[str, Any]:
    snapshot = db.collection("alerts").document(f"{vehicle_id}_{key}").get()
    assert snapshot.exists, key
    data: dict[str, Any] = snapshot.to_dict()
    return data


def decline(day: int) -> float:
    return round(12.65 - 0.015 * day, 3)


def test_a_falling_battery_opens_a_trend_alert_with_dates(
    client: Any, owner: Any, vehicle: dict[str, Any], db: Any, pin_clock: Any
) -> None:
    report = live_days(client, owner, vehicle, pin_clock, range(12), decline)
    (finding,) = [f for f in report["findings"] if f["rule_id"] == TREND_ALERT]
    # 12.65 V − 0.015 V/day reaches 12.0 V 43.3 days after the first day's noon.
    expected = (START + timedelta(days=43.33, hours=12)).date()
    assert finding["predicted_failure_date"] == expected.isoformat()
    assert finding["book_by"] == (expected - timedelta(days=7)).isoformat()
    assert finding["evidence"]["slope_per_day"] == -0.015
    stored = alert(db, vehicle["id"], TREND_ALERT)
    assert stored["status"] == "open" and stored["severity"] == "high"
    assert stored["predicted_failure_date"] == expected.isoformat()
    assert stored["book_by"] == finding["book_by"]
    assert stored["evidence"]["points"][0] == {"day": "2025-03-01", "value": 12.65}
    # The old threshold rule has nothing to say yet: 12.49 V is above the 12.4 V band.
    assert not [f for f in report["findings"] if f["rule_id"] == "battery.resting_voltage"]


def test_a_battery_service_resolves_the_trend_and_restarts_it(
    client: Any, owner: Any, vehicle: dict[str, Any], db: Any, pin_clock: Any
) -> None:
    live_days(client, owner, vehicle, pin_clock, range(12), decline)
    assert alert(db, vehicle["id"], TREND_ALERT)["status"] == "open"
    record = {
        "performed_at": (START + timedelta(days=11, hours=23, minutes=30)).isoformat(),
        "mileage_km": 42000,
        "service_codes": ["battery_check"],
        "work_done": "Battery replaced",
    }
    pin_clock(START + timedelta(days=11, hours=23, minutes=45))
    response = client.post(
        f"{API}/{vehicle['id']}/service-records", json=record, headers=owner.headers
    )
    assert response.status_code == 201
    stored = alert(db, vehicle["id"], TREND_ALERT)
    assert (stored["status"], stored["resolution"]) == ("resolved", "service_completed")
    # Two weeks of a healthy new battery: nothing reopens.
    report = live_days(client, owner, vehicle, pin_clock, range(12, 26), lambda day: 12.7)
    assert not [f for f in report["findings"] if f["rule_id"].startswith("trend.")]
    assert alert(db, vehicle["id"], TREND_ALERT)["status"] == "resolved"


def test_a_day_is_summarised_once_when_an_evaluation_first_reads_it_as_a_rollup(
    client: Any, owner: Any, vehicle: dict[str, Any], db: Any, pin_clock: Any
) -> None:
    pin_clock(START + timedelta(hours=23))
    day_readings = resting_day(0, 12.5)
    for half in (day_readings[:6], day_readings[6:]):  # two batches, one day document
        response = client.post(
            f"{API}/{vehicle['id']}/telemetry", json={"readings": half}, headers=owner.headers
        )
        assert response.status_code == 201
    days = db.collection("vehicles").document(vehicle["id"]).collection("telemetry_days")
    stored = days.document("2025-03-01").get().to_dict()
    # Ingest stores no summary (evaluations decode a recent day's readings anyway).
    assert stored["rollup"] is None and stored["count"] == len(day_readings)

    # Nine days on, the day is read as a rollup: summarised from all its readings, written.
    pin_clock(START + timedelta(days=9, hours=12))
    assert client.get(f"{API}/{vehicle['id']}/health", headers=owner.headers).status_code == 200
    stored = days.document("2025-03-01").get().to_dict()
    rollup = rollups.decode(date(2025, 3, 1), stored["rollup"])
    assert rollup is not None and rollup.readings == len(day_readings) == stored["count"]
    assert rollup.resting_v == 12.5 and rollup.resting_n == len(day_readings)

    # A late reading for that day drops the summary again: none that misses it survives.
    late = reading(START + timedelta(hours=23, minutes=30), 42000, volts=12.5)
    response = client.post(
        f"{API}/{vehicle['id']}/telemetry", json={"readings": [late]}, headers=owner.headers
    )
    assert response.status_code == 201
    assert days.document("2025-03-01").get().to_dict()["rollup"] is None


def test_days_stored_before_rollups_are_summarised_and_written_back(
    client: Any, owner: Any, vehicle: dict[str, Any], db: Any, pin_clock: Any
) -> None:
    days = db.collection("vehicles").document(vehicle["id"]).collection("telemetry_days")

    def store_old_style() -> None:
        """Twelve day documents as stored before rollups existed (no ``rollup`` field)."""
        for day in range(12):
            parsed = [Reading.model_validate(r) for r in resting_day(day, decline(day))]
            name = (START + timedelta(days=day)).date().isoformat()
            entries = {reading_key(r.timestamp): pack(r) for r in parsed}
            days.document(name).set({"day": name, "readings": entries, "count": len(entries)})

    store_old_style()
    # Day 19: the raw readings start on day 12, so every stored day is read as a rollup.
    pin_clock(START + timedelta(days=19, hours=12))
    response = client.get(f"{API}/{vehicle['id']}/health", headers=owner.headers)
    assert response.status_code == 200
    # Summarised on the fly, the old days feed the trend rule ...
    assert TREND_ALERT in {f["rule_id"] for f in response.get_json()["findings"]}
    # ... and were written back, so the next evaluation reads them as rollups.
    assert all(rollups.decode(date.fromisoformat(d.id), d.get("rollup")) for d in days.stream())
    assert "writes=" in response.headers["X-Firestore-Ops"]
    # Every stored day at once: migration 006 (tests/test_migrations.py).
