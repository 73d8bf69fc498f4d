"""Maintenance intervals, per-vehicle overrides, due forecasts and urgency bands."""

from datetime import date, timedelta

import pytest

from shared.maintenance import (
    DEFAULT_INTERVALS,
    DueBasis,
    ServiceInterval,
    Urgency,
    add_months,
    average_daily_km,
    forecast_all,
    forecast_due,
    intervals_for_vehicle,
)

TODAY = date(2025, 6, 1)
OIL = DEFAULT_INTERVALS["oil_change"]
BATTERY = DEFAULT_INTERVALS["battery_check"]
KM_ONLY = ServiceInterval("timing_belt", "Timing belt", every_km=100_000, every_months=None)
LONG_AGO = (date(2000, 1, 1), 0.0)  # first-seen placeholder when last_service is given


# --- intervals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "every_km", "every_months"),
    [
        ("oil_change", 15_000, 12),
        ("tyre_rotation", 10_000, 6),
        ("brake_inspection", 20_000, 12),
        ("battery_check", None, 24),
        ("coolant_flush", 60_000, 48),
        ("air_filter", 30_000, 24),
    ],
)
def test_default_intervals_match_schedule(
    code: str, every_km: int | None, every_months: int | None
) -> None:
    interval = DEFAULT_INTERVALS[code]
    assert (interval.every_km, interval.every_months) == (every_km, every_months)


def test_defaults_cannot_be_mutated() -> None:
    with pytest.raises(TypeError):
        DEFAULT_INTERVALS["oil_change"] = KM_ONLY  # type: ignore[index]


def test_override_changes_only_given_fields() -> None:
    merged = intervals_for_vehicle({"oil_change": {"every_km": 30_000}})
    assert merged["oil_change"].every_km == 30_000
    assert merged["oil_change"].every_months == 12
    assert merged["oil_change"].name == OIL.name
    assert merged["tyre_rotation"] == DEFAULT_INTERVALS["tyre_rotation"]


def test_override_can_drop_one_limit() -> None:
    merged = intervals_for_vehicle({"oil_change": {"every_months": None}})
    assert merged["oil_change"].every_months is None
    assert merged["oil_change"].every_km == 15_000


def test_override_none_removes_service() -> None:
    merged = intervals_for_vehicle({"oil_change": None})
    assert "oil_change" not in merged
    assert "air_filter" in merged


def test_override_adds_vehicle_specific_service() -> None:
    merged = intervals_for_vehicle({"timing_belt": {"every_km": 100_000, "name": "Timing belt"}})
    assert merged["timing_belt"] == KM_ONLY


def test_no_overrides_gives_defaults() -> None:
    assert intervals_for_vehicle(None) == dict(DEFAULT_INTERVALS)


@pytest.mark.parametrize(
    "overrides",
    [
        {"oil_change": {"every_km": None, "every_months": None}},
        {"oil_change": {"every_km": 0}},
        {"oil_change": {"every_km": -5}},
        {"oil_change": {"every_km": "15000"}},
        {"oil_change": {"every_km": 1.5}},
        {"oil_change": {"every_months": True}},
        {"oil_change": {"colour": "red"}},
        {"oil_change": {"name": ""}},
        {"new_thing": {"name": "No limits"}},
    ],
)
def test_invalid_overrides_are_refused(overrides: dict[str, dict[str, object]]) -> None:
    with pytest.raises(ValueError):
        intervals_for_vehicle(overrides)


def test_add_months_clamps_day_to_month_end() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 11, 15), 3) == date(2026, 2, 15)


# --- forecasts ----------------------------------------------------------------------------


def test_time_limit_due_when_car_is_barely_driven() -> None:
    last = (date(2025, 1, 10), 40_000.0)
    f = forecast_due(OIL, last, LONG_AGO, TODAY, current_km=41_000, avg_daily_km=7.0)
    assert f.due_date == date(2026, 1, 10)
    assert f.basis is DueBasis.TIME
    assert f.due_km == 55_000
    assert f.remaining_km == 14_000
    assert f.days_left == (date(2026, 1, 10) - TODAY).days
    assert f.urgency is Urgency.OK


def test_distance_limit_gives_earlier_date_for_heavy_driver() -> None:
    last = (date(2025, 3, 1), 40_000.0)
    # 3,000 km left at 100 km/day -> 30 days, well before the 12-month date
    f = forecast_due(OIL, last, LONG_AGO, TODAY, current_km=52_000, avg_daily_km=100.0)
    assert f.basis is DueBasis.DISTANCE
    assert f.due_date == TODAY + timedelta(days=30)
    assert f.days_left == 30
    assert f.urgency is Urgency.UPCOMING


def test_partial_day_rounds_up_to_tomorrow() -> None:
    last = (date(2025, 3, 1), 40_000.0)
    f = forecast_due(OIL, last, LONG_AGO, TODAY, current_km=54_990, avg_daily_km=40.0)
    assert f.due_date == TODAY + timedelta(days=1)


def test_first_seen_stands_in_when_never_serviced() -> None:
    first_seen = (date(2025, 5, 1), 20_000.0)
    f = forecast_due(OIL, None, first_seen, TODAY, current_km=20_500, avg_daily_km=None)
    assert f.due_km == 35_000
    assert f.due_date == date(2026, 5, 1)


def test_last_service_takes_precedence_over_first_seen() -> None:
    first_seen = (date(2024, 1, 1), 10_000.0)
    last = (date(2025, 5, 1), 20_000.0)
    f = forecast_due(OIL, last, first_seen, TODAY, current_km=20_500, avg_daily_km=None)
    assert f.due_km == 35_000


def test_passed_date_is_overdue_with_negative_days() -> None:
    last = (date(2024, 5, 1), 40_000.0)
    f = forecast_due(OIL, last, LONG_AGO, TODAY, current_km=41_000, avg_daily_km=3.0)
    assert f.urgency is Urgency.OVERDUE
    assert f.days_left == (date(2025, 5, 1) - TODAY).days
    assert f.days_left is not None and f.days_left < 0


def test_exceeded_distance_is_overdue_even_without_average() -> None:
    last = (date(2025, 5, 1), 40_000.0)
    f = forecast_due(OIL, last, LONG_AGO, TODAY, current_km=55_001, avg_daily_km=None)
    assert f.urgency is Urgency.OVERDUE
    assert f.remaining_km == -1


def test_exceeded_distance_with_average_dates_the_crossing_in_the_past() -> None:
    last = (date(2025, 1, 1), 40_000.0)
    f = forecast_due(OIL, last, LONG_AGO, TODAY, current_km=56_000, avg_daily_km=100.0)
    assert f.due_date == TODAY - timedelta(days=10)
    assert f.days_left == -10


def test_due_exactly_at_km_is_due_soon_not_overdue() -> None:
    last = (date(2025, 5, 1), 40_000.0)
    f = forecast_due(OIL, last, LONG_AGO, TODAY, current_km=55_000, avg_daily_km=None)
    assert f.urgency is Urgency.DUE_SOON


@pytest.mark.parametrize(
    ("remaining_km", "expected"),
    [
        (500.0, Urgency.DUE_SOON),
        (501.0, Urgency.UPCOMING),
        (1_500.0, Urgency.UPCOMING),
        (1_501.0, Urgency.OK),
    ],
)
def test_distance_urgency_band_boundaries(remaining_km: float, expected: Urgency) -> None:
    last = (TODAY, 40_000.0)  # time limit a year away; no average so only km counts
    f = forecast_due(OIL, last, LONG_AGO, TODAY, 55_000 - remaining_km, avg_daily_km=None)
    assert f.urgency is expected


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [(-1, Urgency.OVERDUE), (0, Urgency.DUE_SOON), (7, Urgency.DUE_SOON),
     (8, Urgency.UPCOMING), (30, Urgency.UPCOMING), (31, Urgency.OK)],
)  # fmt: skip
def test_time_urgency_band_boundaries(days_left: int, expected: Urgency) -> None:
    due = TODAY + timedelta(days=days_left)
    last = (add_months(due, -24), 0.0)
    f = forecast_due(BATTERY, last, LONG_AGO, TODAY, current_km=50_000, avg_daily_km=40.0)
    assert f.due_date == due
    assert f.urgency is expected


def test_km_only_interval_without_average_has_no_date() -> None:
    last = (date(2024, 1, 1), 0.0)
    f = forecast_due(KM_ONLY, last, LONG_AGO, TODAY, current_km=50_000, avg_daily_km=None)
    assert f.due_date is None
    assert f.days_left is None
    assert f.basis is DueBasis.UNKNOWN
    assert f.urgency is Urgency.OK


def test_time_only_interval_has_no_km_fields() -> None:
    f = forecast_due(BATTERY, (TODAY, 0.0), LONG_AGO, TODAY, 1_000, avg_daily_km=50.0)
    assert f.due_km is None
    assert f.remaining_km is None
    assert f.due_date == date(2027, 6, 1)


def test_forecast_as_json_uses_iso_dates_and_plain_strings() -> None:
    f = forecast_due(BATTERY, (TODAY, 0.0), LONG_AGO, TODAY, 1_000, avg_daily_km=50.0)
    payload = f.as_json()
    assert payload["due_date"] == "2027-06-01"
    assert payload["urgency"] == "ok"
    assert type(payload["urgency"]) is str


def test_forecast_all_uses_each_services_own_history() -> None:
    intervals = [OIL, BATTERY]
    history = {"oil_change": (date(2024, 1, 1), 0.0)}
    first_seen = (date(2025, 5, 1), 10_000.0)
    forecasts = forecast_all(intervals, history, first_seen, TODAY, 10_100, avg_daily_km=None)
    by_code = {f.code: f for f in forecasts}
    assert by_code["oil_change"].urgency is Urgency.OVERDUE
    assert by_code["battery_check"].due_date == date(2027, 5, 1)


# --- average daily distance ---------------------------------------------------------------


def test_average_daily_km_from_steady_history() -> None:
    points = [(TODAY + timedelta(days=d), 1_000.0 + 40 * d) for d in range(15)]
    assert average_daily_km(points) == pytest.approx(40.0)


def test_average_daily_km_accepts_unordered_points() -> None:
    points = [(TODAY + timedelta(days=d), 1_000.0 + 25 * d) for d in (10, 0, 5, 3)]
    assert average_daily_km(points) == pytest.approx(25.0)


def test_average_daily_km_resists_one_bad_endpoint() -> None:
    points = [(TODAY + timedelta(days=d), 1_000.0 + 40 * d) for d in range(30)]
    points[-1] = (points[-1][0], points[-1][1] + 600)  # glitchy last value
    naive = (points[-1][1] - points[0][1]) / 29
    estimate = average_daily_km(points)
    assert estimate is not None
    assert abs(estimate - 40) < abs(naive - 40)


def test_average_daily_km_needs_a_week_of_history() -> None:
    points = [(TODAY + timedelta(days=d), 1_000.0 + 40 * d) for d in range(7)]  # spans 6 days
    assert average_daily_km(points) is None
    points.append((TODAY + timedelta(days=7), 1_280.0))
    assert average_daily_km(points) == pytest.approx(40.0)


@pytest.mark.parametrize("points", [[], [(TODAY, 10.0)]])
def test_average_daily_km_without_enough_points_is_none(points: list[tuple[date, float]]) -> None:
    assert average_daily_km(points) is None


def test_average_daily_km_never_negative() -> None:
    points = [(TODAY, 1_000.0), (TODAY + timedelta(days=10), 900.0)]
    assert average_daily_km(points) == 0.0
