"""Predictive health on synthetic daily series: each trend rule fires with the right date on
a degradation, stays silent on its healthy look-alikes, and resets after a service.

The series are per-day rollups (vehicle.rollups.DayRollup), the trend rules' only input;
tests/test_vehicles_rollups.py checks that real readings produce those rollups.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest

from vehicle.health_rules import VehicleSnapshot, after_services, evaluate_health
from vehicle.rollups import DayRollup
from vehicle.trend_rules import (
    HORIZON_DAYS,
    MIN_POINTS,
    OCV_REFERENCE_C,
    OCV_V_PER_C,
    TREND_RULES,
)
from vehicle.trends import CONFIDENCE, theil_sen, time_to_cross

NOW = datetime(2025, 6, 30, 23, 45, tzinfo=UTC)
TODAY = NOW.date()
RESTING = "trend.battery_resting_voltage"
CRANKING = "trend.battery_cranking_voltage"
CHARGING = "trend.charging_voltage"
COOLANT = "trend.coolant_peak"


def day_number(day: date) -> int:
    """0 for today, -1 for yesterday, ..."""
    return (day - TODAY).days


def series(
    days: int, make: Callable[[int], dict[str, object]], *, end: date = TODAY
) -> list[DayRollup]:
    """One rollup per day for ``days`` days up to ``end``; ``make(n)`` gives its fields for
    day number n (0 = today, negative before)."""
    first = end - timedelta(days=days - 1)
    rollups = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        rollups.append(DayRollup(day=day, readings=100, **make(day_number(day))))  # type: ignore[arg-type]
    return rollups


def resting(volts: float, temp: float | None = None) -> dict[str, object]:
    return {"resting_v": volts, "resting_n": 40, "soak_temp_c": temp}


def findings(days: list[DayRollup], rule_id: str, now: datetime = NOW) -> list[object]:
    report = evaluate_health(VehicleSnapshot([], now, days=days), TREND_RULES)
    return [f for f in report.findings if f.rule_id == rule_id]


def one(days: list[DayRollup], rule_id: str, now: datetime = NOW) -> object:
    (finding,) = findings(days, rule_id, now)
    return finding


def crossing_day(start_value: float, per_day: float, threshold: float, start_day: int) -> date:
    """The day a noise-free line crosses ``threshold`` (points sit at noon)."""
    days = (threshold - start_value) / per_day
    noon = datetime.combine(TODAY + timedelta(days=start_day), time(12), tzinfo=UTC)
    return (noon + timedelta(days=days)).date()


# --- Theil–Sen ------------------------------------------------------------------------------


def test_theil_sen_recovers_an_exact_line() -> None:
    xs = [float(x) for x in range(-20, 0)]
    fit = theil_sen(xs, [12.5 - 0.015 * x for x in xs])
    assert fit is not None
    assert fit.slope == pytest.approx(-0.015)
    assert fit.slope_low == pytest.approx(-0.015) and fit.slope_high == pytest.approx(-0.015)
    assert fit.level_now == pytest.approx(12.5)
    assert fit.scatter == pytest.approx(0.0, abs=1e-12)


def test_theil_sen_is_not_moved_by_a_wild_point_that_moves_least_squares() -> None:
    xs = [float(x) for x in range(12)]
    ys = [12.6 - 0.01 * x for x in xs]
    ys[5] = 9.0  # one absurd day
    fit = theil_sen(xs, ys)
    assert fit is not None and fit.slope == pytest.approx(-0.01, abs=1e-9)


def test_the_slope_interval_covers_the_true_slope_as_often_as_it_claims() -> None:
    rng = random.Random(3)
    xs = [float(x) for x in range(20)]
    covered = 0
    trials = 400
    for _ in range(trials):
        ys = [12.6 - 0.01 * x + rng.gauss(0, 0.05) for x in xs]
        fit = theil_sen(xs, ys)
        assert fit is not None
        covered += fit.slope_low <= -0.01 <= fit.slope_high
    assert CONFIDENCE - 0.05 <= covered / trials <= CONFIDENCE + 0.06


def test_time_to_cross_only_counts_lines_heading_for_the_threshold() -> None:
    assert time_to_cross(12.5, -0.01, 12.0) == pytest.approx(50.0)
    assert time_to_cross(12.5, 0.01, 12.0) is None
    assert time_to_cross(12.5, 0.0, 12.0) is None
    assert time_to_cross(98.0, 0.2, 107.0) == pytest.approx(45.0)


# --- battery resting voltage ----------------------------------------------------------------


def test_resting_trend_fires_with_the_right_date_on_a_linear_decay() -> None:
    # 12.65 V falling 0.015 V/day for 12 days: 12.0 V is 43 days after the first day.
    days = series(12, lambda n: resting(12.65 - 0.015 * (n + 11)))
    finding = one(days, RESTING)
    expected = crossing_day(12.65, -0.015, 12.0, -11)
    assert finding.predicted_date == expected  # type: ignore[attr-defined]
    assert finding.book_by == expected - timedelta(days=7)  # type: ignore[attr-defined]
    assert finding.severity.value == "high" and finding.service_code == "battery_check"  # type: ignore[attr-defined]
    evidence = finding.evidence  # type: ignore[attr-defined]
    assert evidence["slope_per_day"] == pytest.approx(-0.015)
    assert evidence["slope_interval_per_day"] == [pytest.approx(-0.015)] * 2
    assert evidence["predicted_failure_date"] == expected.isoformat()
    assert len(evidence["points"]) == 12 and evidence["points"][-1]["value"] == 12.485
    assert evidence["window"]["days_with_data"] == 12
    assert expected.isoformat() in finding.recommended_action  # type: ignore[attr-defined]


def test_resting_trend_needs_enough_days() -> None:
    days = series(MIN_POINTS - 1, lambda n: resting(12.65 - 0.015 * (n + 11)))
    assert findings(days, RESTING) == []


def test_resting_trend_beyond_the_horizon_is_not_raised() -> None:
    # 0.005 V/day from 12.6 V: 12.0 V is ~120 days away.
    days = series(30, lambda n: resting(12.6 - 0.005 * (n + 29)))
    assert findings(days, RESTING) == []
    assert HORIZON_DAYS < 120


def _zigzag_decline(amplitude: float) -> list[DayRollup]:
    """20 days falling 0.02 V/day towards 12.0 V, every other day +/- ``amplitude``: the
    slope and its interval stay exactly -0.02 V/day (same-parity pairs), only the scatter
    grows with the amplitude."""
    return series(
        20, lambda n: resting(12.55 - 0.02 * (n + 19) + (amplitude if n % 2 else -amplitude))
    )


@pytest.mark.parametrize("amplitude", [0.08, 0.3])
def test_a_decline_with_too_much_scatter_raises_nothing(amplitude: float) -> None:
    days = _zigzag_decline(amplitude)
    fit = theil_sen([float(day_number(d.day)) for d in days], [d.resting_v or 0.0 for d in days])
    # Everything but the scatter says "trend": a confident slope heading for 12.0 V soon.
    assert fit is not None and fit.slope_high < 0
    assert fit.scatter > 0.1  # the resting signal's max_scatter
    assert findings(days, RESTING) == []


def test_the_same_decline_with_little_scatter_is_a_trend() -> None:
    (finding,) = findings(_zigzag_decline(0.03), RESTING)
    assert finding.evidence["scatter"] == pytest.approx(0.0445, abs=1e-3)  # type: ignore[attr-defined]


def test_the_recommendation_gives_the_crossing_range_when_it_spans_days() -> None:
    # The same decline as a real battery gives it, a few hundredths of a volt off the line.
    noise = random.Random(2)
    offsets = [noise.uniform(-0.03, 0.03) for _ in range(20)]
    (finding,) = findings(
        series(20, lambda n: resting(12.55 - 0.02 * (n + 19) + offsets[n])), RESTING
    )
    evidence = finding.evidence  # type: ignore[attr-defined]
    earliest, latest = evidence["failure_date_range"]
    assert earliest != latest
    assert f"(between {earliest} and {latest})" in finding.recommended_action  # type: ignore[attr-defined]


def test_the_recommendation_names_one_day_when_the_range_is_one_day() -> None:
    # An exact line: the slope's interval is one value, so every bound is the same day.
    finding = one(series(12, lambda n: resting(12.65 - 0.015 * (n + 11))), RESTING)
    evidence = finding.evidence  # type: ignore[attr-defined]
    (day,) = set(evidence["failure_date_range"])
    assert finding.recommended_action.endswith(f"reaches 12 V on {day}.")  # type: ignore[attr-defined]


@pytest.mark.parametrize("seed", range(8))
def test_a_stable_battery_with_daily_noise_of_a_tenth_of_a_volt_raises_nothing(seed: int) -> None:
    rng = random.Random(seed)
    offsets = {n: rng.uniform(-0.1, 0.1) for n in range(-150, 1)}
    # Evaluated every day of 120, as the service does: never a trend.
    for evaluated in range(-110, 1):
        now = NOW + timedelta(days=evaluated)
        days = series(
            30, lambda n: resting(12.6 + offsets[n]), end=TODAY + timedelta(days=evaluated)
        )
        assert findings(days, RESTING, now) == [], (seed, evaluated)


def test_a_single_cold_snap_without_temperature_raises_nothing() -> None:
    # Four weeks stable, then five days 0.2 V lower (−30 °C), temperature unknown.
    days = series(33, lambda n: resting(12.4 if n > -5 else 12.6 + 0.01 * (n % 3)))
    assert findings(days, RESTING) == []


def test_cold_weather_is_compensated_when_the_temperature_is_known() -> None:
    # A healthy battery through a (steep) cold spell: 3 °C colder every day, 27 → −15 °C,
    # its resting voltage 4.3 mV lower per °C: 0.013 V/day down, 12.0 V "in five weeks".
    def cooling(n: int, known: bool) -> dict[str, object]:
        temp = -15.0 - 3.0 * n
        volts = 12.65 - OCV_V_PER_C * (OCV_REFERENCE_C - temp)
        return resting(volts, temp if known else None)

    assert findings(series(15, lambda n: cooling(n, True)), RESTING) == []
    blind = one(series(15, lambda n: cooling(n, False)), RESTING)
    assert blind.evidence["temperature_compensated_days"] == 0  # type: ignore[attr-defined]


def test_compensated_days_are_counted_in_the_evidence() -> None:
    days = series(12, lambda n: resting(12.6 - 0.015 * (n + 11) - OCV_V_PER_C * 16.7, 10.0))
    evidence = one(days, RESTING).evidence  # type: ignore[attr-defined]
    assert evidence["temperature_compensated_days"] == evidence["window"]["days_with_data"]
    assert evidence["points"][-1]["value"] == pytest.approx(12.6 - 0.015 * 11, abs=1e-3)


def test_a_battery_already_below_the_failure_line_is_left_to_the_threshold_rule() -> None:
    days = series(15, lambda n: resting(11.9 - 0.01 * (n + 14)))
    assert findings(days, RESTING) == []


def test_a_recharge_jump_restarts_the_trend() -> None:
    # Fell 0.02 V/day for 20 days, then charged (+0.4 V): the fall no longer counts.
    def recharged(n: int) -> dict[str, object]:
        return resting(12.65 - 0.02 * (n + 27) if n < -8 else 12.65)

    assert findings(series(20, lambda n: resting(12.65 - 0.02 * (n + 19))), RESTING)
    assert findings(series(28, recharged), RESTING) == []


def test_a_service_record_for_the_battery_resets_the_trend() -> None:
    decline = series(25, lambda n: resting(12.65 - 0.015 * (n + 24)))
    snapshot = VehicleSnapshot([], NOW, days=decline)
    report = evaluate_health(snapshot, TREND_RULES)
    assert [f.rule_id for f in report.findings] == [RESTING]
    # A battery_check five days ago: only the four days after it count — no trend.
    serviced = datetime.combine(TODAY - timedelta(days=5), time(10), tzinfo=UTC)
    after = after_services(report, snapshot, {"battery_check": serviced}, TREND_RULES)
    assert after.findings == []
    # A service of something else changes nothing.
    other = after_services(report, snapshot, {"oil_change": serviced}, TREND_RULES)
    assert [f.rule_id for f in other.findings] == [RESTING]


# --- cranking -------------------------------------------------------------------------------


def crank(volts: float) -> dict[str, object]:
    return {"crank_v": volts, "start_count": 2}


def test_cranking_trend_fires_with_the_right_date() -> None:
    days = series(14, lambda n: crank(10.5 - 0.03 * (n + 13)))
    finding = one(days, CRANKING)
    assert finding.predicted_date == crossing_day(10.5, -0.03, 9.6, -13)  # type: ignore[attr-defined]
    assert finding.service_code == "battery_check"  # type: ignore[attr-defined]


def test_noisy_stable_cranking_raises_nothing() -> None:
    rng = random.Random(5)
    days = series(30, lambda n: crank(10.3 + rng.uniform(-0.3, 0.3)))
    assert findings(days, CRANKING) == []


def test_cranking_trend_resets_after_a_battery_service() -> None:
    days = series(20, lambda n: crank(10.5 - 0.03 * (n + 19)))
    snapshot = VehicleSnapshot([], NOW, days=days)
    report = evaluate_health(snapshot, TREND_RULES)
    assert [f.rule_id for f in report.findings] == [CRANKING]
    serviced = datetime.combine(TODAY - timedelta(days=3), time(9), tzinfo=UTC)
    assert after_services(report, snapshot, {"battery_check": serviced}, TREND_RULES).findings == []


# --- charging -------------------------------------------------------------------------------


def charging(volts: float) -> dict[str, object]:
    return {"charging_v": volts, "charging_n": 30}


def test_a_slowly_failing_alternator_fires_with_the_right_date() -> None:
    days = series(15, lambda n: charging(14.2 - 0.012 * (n + 14)))
    finding = one(days, CHARGING)
    assert finding.predicted_date == crossing_day(14.2, -0.012, 13.7, -14)  # type: ignore[attr-defined]
    assert finding.evidence["direction"] == "falling"  # type: ignore[attr-defined]
    assert finding.service_code == "charging_system"  # type: ignore[attr-defined]


def test_a_regulator_drifting_high_fires_toward_the_upper_band() -> None:
    days = series(15, lambda n: charging(14.3 + 0.01 * (n + 14)))
    finding = one(days, CHARGING)
    assert finding.evidence["threshold"] == 14.7  # type: ignore[attr-defined]
    assert finding.predicted_date == crossing_day(14.3, 0.01, 14.7, -14)  # type: ignore[attr-defined]


def test_noisy_stable_charging_raises_nothing() -> None:
    rng = random.Random(9)
    days = series(30, lambda n: charging(14.2 + rng.uniform(-0.1, 0.1)))
    assert findings(days, CHARGING) == []


def test_charging_trend_resets_after_a_charging_system_service() -> None:
    days = series(20, lambda n: charging(14.2 - 0.012 * (n + 19)))
    snapshot = VehicleSnapshot([], NOW, days=days)
    report = evaluate_health(snapshot, TREND_RULES)
    serviced = datetime.combine(TODAY - timedelta(days=2), time(9), tzinfo=UTC)
    assert [f.rule_id for f in report.findings] == [CHARGING]
    assert (
        after_services(report, snapshot, {"charging_system": serviced}, TREND_RULES).findings == []
    )


# --- coolant --------------------------------------------------------------------------------


def peaks(road: float, town: float | None = None) -> dict[str, object]:
    bands = {"road": (road, 12)}
    if town is not None:
        bands["town"] = (town, 4)
    return {"coolant_peaks": bands}


def test_a_cooling_system_drifting_hotter_fires_with_the_right_date() -> None:
    days = series(20, lambda n: peaks(97 + 0.2 * (n + 19)))
    finding = one(days, COOLANT)
    assert finding.predicted_date == crossing_day(97, 0.2, 107, -19)  # type: ignore[attr-defined]
    assert finding.evidence["load_band"] == "road"  # type: ignore[attr-defined]
    assert finding.service_code == "cooling_system"  # type: ignore[attr-defined]


def test_peaks_are_compared_within_one_load_band() -> None:
    # Town peaks are hotter, but only a few days have them: mixing bands would make a
    # "rise" of the days driven in town; the road band alone is flat.
    def mixed(n: int) -> dict[str, object]:
        return peaks(97.0, town=104.0 if n > -4 else None)

    assert findings(series(25, mixed), COOLANT) == []


def test_a_hot_noisy_summer_raises_nothing() -> None:
    rng = random.Random(4)
    days = series(30, lambda n: peaks(97 + 3 * (n + 29) / 29 + rng.uniform(-2, 2)))
    assert findings(days, COOLANT) == []


def test_coolant_trend_resets_after_a_cooling_service() -> None:
    days = series(20, lambda n: peaks(97 + 0.2 * (n + 19)))
    snapshot = VehicleSnapshot([], NOW, days=days)
    report = evaluate_health(snapshot, TREND_RULES)
    serviced = datetime.combine(TODAY - timedelta(days=4), time(9), tzinfo=UTC)
    assert [f.rule_id for f in report.findings] == [COOLANT]
    assert (
        after_services(report, snapshot, {"cooling_system": serviced}, TREND_RULES).findings == []
    )


def test_every_trend_finding_is_json_and_firestore_friendly() -> None:
    """Alert evidence goes to Firestore, which stores no array directly inside an array."""
    days = series(
        15,
        lambda n: {
            **resting(12.65 - 0.015 * (n + 14)),
            **crank(10.5 - 0.03 * (n + 14)),
            **charging(14.2 - 0.012 * (n + 14)),
            **peaks(97 + 0.3 * (n + 14)),
        },
    )
    report = evaluate_health(VehicleSnapshot([], NOW, days=days), TREND_RULES)
    assert sorted(f.rule_id for f in report.findings) == sorted(
        [RESTING, CRANKING, CHARGING, COOLANT]
    )

    def no_nested_arrays(value: object, inside_array: bool = False) -> bool:
        if isinstance(value, list):
            return not inside_array and all(no_nested_arrays(v, True) for v in value)
        if isinstance(value, dict):
            return all(no_nested_arrays(v) for v in value.values())
        return True

    for finding in report.findings:
        assert no_nested_arrays(finding.as_json()), finding.rule_id
