"""Telemetry reading validation and batch quality checks."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from vehicle.telemetry_quality import (
    CLOCK_SKEW_ALLOWANCE,
    MAX_BATCH,
    QualityFlag,
    Reading,
    ReadingStatus,
    check_batch,
    is_valid_dtc,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def reading(minutes_before_now: float, odometer_km: float, **overrides: Any) -> Reading:
    fields: dict[str, Any] = {
        "timestamp": NOW - timedelta(minutes=minutes_before_now),
        "odometer_km": odometer_km,
        "battery_voltage": 12.6,
        "engine_running": False,
    }
    fields.update(overrides)
    return Reading(**fields)


# --- single reading -----------------------------------------------------------------------


def test_max_batch_is_500() -> None:
    assert MAX_BATCH == 500


def test_timestamp_is_converted_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    r = reading(0, 1.0, timestamp=datetime(2025, 6, 1, 14, 0, tzinfo=plus_two))
    assert r.timestamp == NOW
    assert r.timestamp.utcoffset() == timedelta(0)


def test_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValidationError):
        reading(0, 1.0, timestamp=datetime(2025, 6, 1, 12, 0))


def test_iso_string_timestamp_is_parsed() -> None:
    r = reading(0, 1.0, timestamp="2025-06-01T12:00:00Z")
    assert r.timestamp == NOW


def test_negative_odometer_is_refused() -> None:
    with pytest.raises(ValidationError):
        reading(0, -0.1)


@pytest.mark.parametrize("voltage", [-0.1, 30.1, float("nan"), float("inf")])
def test_battery_voltage_outside_physical_range_is_refused(voltage: float) -> None:
    with pytest.raises(ValidationError):
        reading(0, 1.0, battery_voltage=voltage)


@pytest.mark.parametrize("voltage", [0.0, 30.0])
def test_battery_voltage_range_bounds_are_inclusive(voltage: float) -> None:
    assert reading(0, 1.0, battery_voltage=voltage).battery_voltage == voltage


@pytest.mark.parametrize("temp", [-60.1, 200.1])
def test_coolant_outside_physical_range_is_refused(temp: float) -> None:
    with pytest.raises(ValidationError):
        reading(0, 1.0, coolant_temp_c=temp)


def test_coolant_is_optional() -> None:
    assert reading(0, 1.0).coolant_temp_c is None


def test_pending_codes_default_to_empty() -> None:
    assert reading(0, 1.0).dtc_pending == []


@pytest.mark.parametrize("code", ["P0300", "P0A0F", "B1234", "C0035", "U0100", "P3FFF"])
def test_well_formed_dtc_codes_are_valid(code: str) -> None:
    assert is_valid_dtc(code)


@pytest.mark.parametrize("code", ["P4000", "X0300", "P030", "P03000", "P0G00", "", "p0300"])
def test_malformed_dtc_codes_are_invalid(code: str) -> None:
    assert not is_valid_dtc(code)


def test_reading_normalises_and_deduplicates_codes() -> None:
    r = reading(0, 1.0, dtc_codes=[" p0301", "P0301", "u0100"])
    assert r.dtc_codes == ["P0301", "U0100"]


def test_reading_with_malformed_code_is_refused_naming_the_code() -> None:
    with pytest.raises(ValidationError, match="P9999"):
        reading(0, 1.0, dtc_pending=["P9999"])


def test_reading_cannot_be_modified() -> None:
    r = reading(0, 1.0)
    with pytest.raises(ValidationError):
        r.odometer_km = 2.0


# --- batch --------------------------------------------------------------------------------


def test_clean_batch_is_all_accepted_in_time_order() -> None:
    batch = [reading(10, 100.0), reading(5, 101.0), reading(0, 102.0)]
    verdict = check_batch(batch, None, NOW)
    assert [v.status for v in verdict.verdicts] == [ReadingStatus.ACCEPTED] * 3
    assert verdict.accepted_in_time_order == (0, 1, 2)
    assert verdict.flagged == ()


def test_unordered_batch_is_checked_in_time_order_but_reported_by_index() -> None:
    batch = [reading(0, 102.0), reading(10, 100.0), reading(5, 101.0)]
    verdict = check_batch(batch, None, NOW)
    assert all(v.accepted for v in verdict.verdicts)
    assert [v.index for v in verdict.verdicts] == [0, 1, 2]
    assert verdict.accepted_in_time_order == (1, 2, 0)


def test_timestamp_beyond_clock_skew_is_rejected() -> None:
    future = reading(0, 100.0, timestamp=NOW + CLOCK_SKEW_ALLOWANCE + timedelta(seconds=1))
    verdict = check_batch([future], None, NOW)
    assert verdict.verdicts[0].status is ReadingStatus.REJECTED
    assert "future" in (verdict.verdicts[0].reason or "")


def test_timestamp_within_clock_skew_is_accepted() -> None:
    slightly_ahead = reading(0, 100.0, timestamp=NOW + CLOCK_SKEW_ALLOWANCE)
    assert check_batch([slightly_ahead], None, NOW).verdicts[0].accepted


def test_odometer_going_backwards_within_batch_is_rejected() -> None:
    batch = [reading(10, 100.0), reading(5, 99.9), reading(0, 100.5)]
    verdict = check_batch(batch, None, NOW)
    assert verdict.verdicts[1].status is ReadingStatus.REJECTED
    assert "backwards" in (verdict.verdicts[1].reason or "")
    # the reading after the rejected one is compared with the last accepted one
    assert verdict.verdicts[2].accepted
    assert verdict.accepted_in_time_order == (0, 2)


def test_odometer_is_compared_with_latest_accepted_reading() -> None:
    batch = [reading(10, 100.0), reading(5, 105.0), reading(0, 103.0)]
    verdict = check_batch(batch, None, NOW)
    assert verdict.verdicts[2].status is ReadingStatus.REJECTED
    assert "105" in (verdict.verdicts[2].reason or "")


def test_equal_odometer_is_not_backwards() -> None:
    batch = [reading(10, 100.0), reading(5, 100.0)]
    assert all(v.accepted for v in check_batch(batch, None, NOW).verdicts)


def test_odometer_below_last_stored_reading_is_rejected() -> None:
    stored = reading(60, 500.0)
    verdict = check_batch([reading(0, 499.0)], stored, NOW)
    assert verdict.verdicts[0].status is ReadingStatus.REJECTED


def test_late_reading_older_than_stored_one_is_accepted_if_consistent() -> None:
    stored = reading(60, 500.0)
    verdict = check_batch([reading(120, 490.0), reading(0, 510.0)], stored, NOW)
    assert all(v.accepted for v in verdict.verdicts)


def test_late_reading_with_higher_odometer_than_later_stored_one_is_rejected() -> None:
    stored = reading(60, 500.0)
    verdict = check_batch([reading(120, 501.0)], stored, NOW)
    assert verdict.verdicts[0].status is ReadingStatus.REJECTED
    assert "stored" in (verdict.verdicts[0].reason or "")


def test_duplicate_timestamps_keep_first_submitted() -> None:
    same_time = NOW - timedelta(minutes=5)
    batch = [
        reading(0, 101.0, timestamp=same_time),
        reading(0, 105.0, timestamp=same_time),
        reading(0, 101.0, timestamp=same_time),
    ]
    verdict = check_batch(batch, None, NOW)
    assert verdict.verdicts[0].accepted
    assert [v.index for v in verdict.duplicates] == [1, 2]
    assert "reading 0" in (verdict.verdicts[1].reason or "")


def test_same_timestamp_as_stored_reading_is_duplicate() -> None:
    stored = reading(5, 100.0)
    verdict = check_batch([reading(5, 100.0)], stored, NOW)
    assert verdict.verdicts[0].status is ReadingStatus.DUPLICATE


def test_implied_speed_above_limit_is_flagged_but_accepted() -> None:
    # 26 km in 6 min: (26 - 1 km resolution) / 0.1 h = 250 km/h would pass; 27 km gives 260
    batch = [reading(6, 100.0), reading(0, 127.0)]
    verdict = check_batch(batch, None, NOW)
    assert verdict.verdicts[1].accepted
    assert verdict.verdicts[1].flags == (QualityFlag.IMPLAUSIBLE_SPEED,)
    assert "km/h" in verdict.verdicts[1].flag_details[0]


def test_implied_speed_at_limit_is_not_flagged() -> None:
    batch = [reading(6, 100.0), reading(0, 126.0)]
    assert check_batch(batch, None, NOW).verdicts[1].flags == ()


def test_one_km_odometer_tick_seconds_apart_is_not_flagged() -> None:
    batch = [reading(0.2, 100.0), reading(0, 101.0)]
    assert check_batch(batch, None, NOW).verdicts[1].flags == ()


def test_step_over_2000_km_is_flagged_even_when_speed_is_plausible() -> None:
    stored = reading(60 * 24 * 10, 1000.0)  # ten days ago
    verdict = check_batch([reading(0, 3001.0)], stored, NOW)
    assert verdict.verdicts[0].accepted
    assert verdict.verdicts[0].flags == (QualityFlag.IMPLAUSIBLE_STEP,)


def test_step_of_exactly_2000_km_is_not_flagged() -> None:
    stored = reading(60 * 24 * 10, 1000.0)
    assert check_batch([reading(0, 3000.0)], stored, NOW).verdicts[0].flags == ()


def test_jump_from_stored_reading_is_checked() -> None:
    stored = reading(6, 100.0)
    verdict = check_batch([reading(0, 200.0)], stored, NOW)
    assert QualityFlag.IMPLAUSIBLE_SPEED in verdict.verdicts[0].flags


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        check_batch([], None, datetime(2025, 6, 1))


def test_empty_batch_gives_empty_verdict() -> None:
    verdict = check_batch([], None, NOW)
    assert verdict.verdicts == ()
    assert verdict.accepted_count == 0
