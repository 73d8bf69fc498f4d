"""Per-day rollups (vehicle.rollups): what a day of readings summarises to, the stored form,
and that the threshold rules find the same on rollups of old days as on their raw readings."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from vehicle import rollups
from vehicle.health_rules import RULES, VehicleSnapshot, evaluate_health
from vehicle.rollups import DayRollup, summarize_day
from vehicle.telemetry_quality import Reading

DAY = date(2025, 6, 1)
MIDNIGHT = datetime.combine(DAY, time(), tzinfo=UTC)


def reading(
    when: datetime,
    volts: float,
    running: bool = False,
    *,
    km: float = 1000.0,
    coolant: float | None = None,
    ambient: float | None = None,
    codes: tuple[str, ...] = (),
    pending: tuple[str, ...] = (),
) -> Reading:
    return Reading(
        timestamp=when,
        odometer_km=km,
        battery_voltage=volts,
        engine_running=running,
        coolant_temp_c=coolant,
        ambient_temp_c=ambient,
        dtc_codes=list(codes),
        dtc_pending=list(pending),
    )


def commute_day(
    day: date,
    *,
    rest_v: float = 12.6,
    crank_v: float = 10.2,
    charge_v: float = 14.1,
    peak_c: float = 98.0,
    outside_c: float = 12.0,
    codes: tuple[str, ...] = (),
    km: float = 1000.0,
) -> tuple[list[Reading], float]:
    """Parked every 30 min, one 60-minute drive at 8:00 at 60 km/h with a sampled start."""
    midnight = datetime.combine(day, time(), tzinfo=UTC)
    start = midnight + timedelta(hours=8)
    readings = [reading(midnight + timedelta(minutes=30 * i), rest_v, km=km) for i in range(0, 16)]
    readings.append(reading(start - timedelta(seconds=2), crank_v, km=km))
    readings.append(reading(start, charge_v, True, km=km, coolant=outside_c, codes=codes))
    for step in range(1, 13):
        km += 5.0
        coolant = 90.0 if step < 6 else (peak_c if step % 2 else 92.0)
        readings.append(
            reading(
                start + timedelta(minutes=5 * step),
                charge_v,
                True,
                km=km,
                coolant=coolant,
                codes=codes,
            )
        )
    readings += [
        reading(midnight + timedelta(hours=10, minutes=30 * i), rest_v, km=km) for i in range(28)
    ]
    return readings, km


def test_a_commuting_day_summarises_to_its_daily_points() -> None:
    readings, km = commute_day(DAY, rest_v=12.55, crank_v=10.1, charge_v=14.05, peak_c=99.0)
    rollup = summarize_day(DAY, readings, [False] * len(readings))
    assert rollup.readings == len(readings)
    assert rollup.odometer_km == km
    assert rollup.resting_v == 12.55
    # Midnight's reading is not judged settled (the engine may have run just before
    # midnight); the crank sample is a start, not a resting reading.
    assert rollup.resting_n == 16 - 1 + 28
    assert rollup.crank_v == 10.1 and rollup.start_count == 1
    assert rollup.charging_v == 14.05
    assert rollup.soak_temp_c == 12.0  # coolant at the cold start after a night off
    assert set(rollup.coolant_peaks) == {"road"}
    assert rollup.coolant_peaks["road"][0] == 99.0
    assert rollup.cycles == 1 and rollup.last_cycle is not None
    assert [v for _, v in rollup.last_resting] == [12.55] * 3
    assert len(rollup.last_charging) == 10


def test_reported_ambient_temperature_wins_over_coolant() -> None:
    readings = [
        reading(MIDNIGHT + timedelta(hours=h), 12.5, ambient=-4.0, coolant=30.0) for h in range(5)
    ]
    assert summarize_day(DAY, readings, [False] * 5).soak_temp_c == -4.0


def test_flagged_odometers_do_not_set_the_days_odometer() -> None:
    readings = [reading(MIDNIGHT + timedelta(hours=h), 12.6, km=1000 + h) for h in range(3)]
    readings.append(reading(MIDNIGHT + timedelta(hours=4), 12.6, km=999_999))
    rollup = summarize_day(DAY, readings, [False, False, False, True])
    assert rollup.odometer_km == 1002


def test_fault_codes_of_a_day_are_counted_per_cycle_and_bounded() -> None:
    readings, _ = commute_day(DAY, codes=("P0301", "P0171"))
    rollup = summarize_day(DAY, readings, [False] * len(readings))
    assert {code: seen.cycles for code, seen in rollup.codes.items()} == {"P0171": 1, "P0301": 1}
    many = [
        reading(MIDNIGHT + timedelta(minutes=m), 14.0, True, codes=(f"P{m:04X}",))
        for m in range(rollups.MAX_CODES_PER_DAY + 15)
    ]
    assert len(summarize_day(DAY, many, [False] * len(many)).codes) == rollups.MAX_CODES_PER_DAY


def test_the_stored_form_reads_back_and_stays_small() -> None:
    readings, _ = commute_day(DAY, codes=("P0301",))
    rollup = summarize_day(DAY, readings, [False] * len(readings))
    stored = rollups.encode(rollup)
    assert isinstance(json.loads(stored), dict) and len(stored) < 2_000
    back = rollups.decode(DAY, stored)
    assert back is not None
    assert back == rollup  # times of whole seconds and millivolts survive exactly


@pytest.mark.parametrize(
    "stored", [None, 42, "", "not json", '{"v": 999}', '{"v": 1}', '{"v": 1, "n": "x"}']
)
def test_a_missing_foreign_or_damaged_rollup_reads_as_none(stored: object) -> None:
    assert rollups.decode(DAY, stored) is None


def test_old_days_as_rollups_give_the_threshold_rules_the_same_findings() -> None:
    """The service decodes raw readings of the last 8 days and reads older days as rollups:
    a car parked for 10 days after weeks of commuting with a weakening battery, a slowly
    declining crank voltage and a fault code that persisted must be judged exactly as from
    the raw readings (no drive crosses midnight here, so no boundary effect applies)."""
    now = datetime(2025, 6, 30, 23, 0, tzinfo=UTC)
    first = now.date() - timedelta(days=29)
    readings: list[Reading] = []
    days: list[DayRollup] = []
    km = 1000.0
    for offset in range(20):  # commuting, then parked for the last 10 days
        day = first + timedelta(days=offset)
        day_readings, km = commute_day(
            day,
            rest_v=12.25,
            crank_v=10.0 - 0.015 * offset,
            charge_v=13.5,
            codes=("P0171",) if offset % 2 else (),
            km=km,
        )
        readings += day_readings
        days.append(summarize_day(day, day_readings, [False] * len(day_readings)))
    for offset in range(20, 30):
        day = first + timedelta(days=offset)
        parked = [
            reading(datetime.combine(day, time(), tzinfo=UTC) + timedelta(hours=h), 12.25, km=km)
            for h in (6, 12, 18)
        ]
        readings += parked
        days.append(summarize_day(day, parked, [False] * len(parked)))

    raw_from = datetime.combine(now.date() - timedelta(days=7), time(), tzinfo=UTC)
    from_raw = evaluate_health(VehicleSnapshot(readings, now), RULES)
    from_rollups = evaluate_health(
        VehicleSnapshot(
            [r for r in readings if r.timestamp >= raw_from], now, days=days, raw_from=raw_from
        ),
        RULES,
    )
    rules_found = {f.rule_id for f in from_raw.findings}
    assert {"battery.resting_voltage", "battery.cranking_trend", "battery.charging_voltage"} <= (
        rules_found
    )
    assert "dtc.powertrain" in rules_found
    assert from_rollups.as_json() == from_raw.as_json()


def test_rollups_and_alert_evidence_are_exempt_from_indexing() -> None:
    """Nothing queries them; indexed, a rollup string and an evidence map (a trend's points,
    a fault-code group's codes) would cost index entries on every write."""
    path = Path(__file__).resolve().parent.parent / "firestore.indexes.json"
    overrides = json.loads(path.read_text())["fieldOverrides"]
    for group, field in (("telemetry_days", "rollup"), ("alerts", "evidence")):
        assert {"collectionGroup": group, "fieldPath": field, "indexes": []} in overrides
