"""check_batch's baseline: a flagged (glitchy) odometer never makes true readings backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vehicle.telemetry_quality import Reading, ReadingStatus, check_batch

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def at(minutes: int, km: float) -> Reading:
    return Reading(
        timestamp=NOW - timedelta(minutes=600 - minutes),
        odometer_km=km,
        battery_voltage=12.6,
        engine_running=False,
    )


def test_glitch_inside_a_batch_is_flagged_and_later_true_readings_are_accepted() -> None:
    verdict = check_batch([at(0, 1000), at(5, 99_999), at(10, 1002)], None, NOW)
    assert [v.status for v in verdict.verdicts] == [ReadingStatus.ACCEPTED] * 3
    assert verdict.verdicts[1].flags and not verdict.verdicts[2].flags


def test_last_known_unflagged_reading_is_the_baseline_across_batches() -> None:
    verdict = check_batch([at(20, 1003)], at(10, 1002), NOW, last_flagged=at(15, 99_999))
    assert verdict.verdicts[0].status is ReadingStatus.ACCEPTED and not verdict.verdicts[0].flags


def test_a_reading_continuing_from_the_flagged_one_confirms_the_jump() -> None:
    verdict = check_batch([at(20, 6001)], at(0, 1000), NOW, last_flagged=at(10, 6000))
    assert verdict.verdicts[0].status is ReadingStatus.ACCEPTED and not verdict.verdicts[0].flags


def test_true_backwards_reading_is_still_rejected() -> None:
    verdict = check_batch([at(20, 999)], at(10, 1000), NOW, last_flagged=at(15, 99_999))
    assert verdict.verdicts[0].status is ReadingStatus.REJECTED
