"""Predictive health: trends over daily points that forecast when a slowly degrading signal
will cross its failure threshold, with a date to book by.

Pure (no Firestore). Each rule reads one daily point per day from the per-day rollups of
the evaluation window (vehicle.rollups, ``VehicleSnapshot.days``) and assesses it the same
way (:func:`assess`):

1. **Windows**: the last 30 days and the last 14 days (``WINDOWS``) are each assessed: the
   long one is steadier, the short one follows a decline that accelerates or began
   recently but, being noisier, may only speak of a near crossing (a shorter horizon);
   either may raise the finding, which names the earlier predicted date. Coolant peaks use
   the long window only: they vary by degrees from day to day with traffic and weather, and
   a hot fortnight is not a failing cooling system. A window
   holds fewer days when the series was reset: by a service for the finding's code
   (vehicle.health re-runs the rules on the days after it) or by a **recovery jump** (a day
   this much better than the median of the three before it: a battery charged or replaced,
   a part repaired), after which only the days from the jump on count.
2. **Enough days**: at least ``MIN_POINTS`` (10) daily points spanning ``MIN_SPAN_DAYS``.
3. **Robust line**: Theil–Sen over the points with its 90 % confidence interval
   (vehicle.trends); x is days relative to now, so the line's value at 0 is today's level.
4. **Confidence, not noise**: the residual scatter must be at most the signal's
   ``max_scatter``; the whole confidence interval must lie on the failing side of zero; and
   the decline must already show in the first two thirds of the window (a fit of those
   points must point the same way), so a single cold snap or a few bad last days cannot
   make a trend; and the last days must still follow it (the median residual of the last
   five points may not lie on the healthy side by more than the scatter), so a decline that
   stopped or reversed raises nothing.
5. **A crossing within the horizon**: today's level must still be on the healthy side, and
   even the *slowest* slope of the interval must reach the threshold within the window's
   horizon (60 days for the 30-day window, 45 for the 14-day one). The finding names the
   crossing predicted by the median slope (``predicted_failure_date``) with the range the
   interval gives, and a ``book_by`` date:
   the booking lead time before the predicted crossing, no later than its earliest plausible
   date, and not before today.

Signals (rule id → daily point, failure threshold):

* ``trend.battery_resting_voltage``: median settled resting voltage, compensated to
  26.7 °C (80 °F) with the day's outside temperature when known (reported ambient
  temperature, or coolant after three hours off): +4.3 mV per °C colder, the lead-acid
  open-circuit correction battery makers publish (0.024 V per 10 °F). Fails at 12.0 V.
* ``trend.battery_cranking_voltage``: median of the day's per-start lowest voltages; 9.6 V.
* ``trend.charging_voltage``: median charging voltage; 13.7 V falling or 14.7 V rising.
* ``trend.coolant_peak``: 90th percentile of warmed-up coolant temperature in one load
  band (average speed between readings: town, road, motorway — the band with most days),
  so peaks are compared under similar load; 107 °C.

All four are high severity (they open an alert, and bookings suggests slots before the
date). Each stays silent once its signal has crossed: the threshold rules speak then.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from vehicle.health_rules import (
    CHARGING_MAX_V,
    CHARGING_MIN_V,
    COOLANT_HOT_C,
    CRANK_MIN_HEALTHY_V,
    RESTING_FAILING_V,
    SERVICE_BATTERY,
    SERVICE_CHARGING,
    SERVICE_COOLING,
    Finding,
    JsonValue,
    Rule,
    Severity,
    VehicleSnapshot,
)
from vehicle.rollups import DayRollup
from vehicle.trends import CONFIDENCE, TrendFit, theil_sen, time_to_cross

# (window days, horizon days). Battery and cooling wear show over weeks; older days
# describe another state, and beyond two months a straight line is a guess. The short
# window catches an acceleration the long one would average away, but its slope is
# noisier: it may only forecast a near crossing.
WINDOWS: tuple[tuple[int, int], ...] = ((30, 60), (14, 45))
WINDOW_DAYS = max(days for days, _ in WINDOWS)
HORIZON_DAYS = max(horizon for _, horizon in WINDOWS)
MIN_POINTS = 10  # fewer daily points make a slope's interval too wide to act on
MIN_SPAN_DAYS = 9.0
RECOVERY_BASELINE_DAYS = 3  # a jump is judged against the median of this many days before
PERSISTENCE_FRACTION = 2 / 3  # the decline must show in this first part of the window
MIN_PERSISTENCE_POINTS = 5
RECENT_POINTS = 5  # the last days that must still follow the line

# Lead-acid open-circuit voltage falls ~4.3 mV per °C (0.024 V per 10 °F) below 26.7 °C.
OCV_V_PER_C = 0.0043
OCV_REFERENCE_C = 26.7


class Direction(StrEnum):
    FALLING = "falling"
    RISING = "rising"


@dataclass(frozen=True)
class Signal:
    """How one daily signal is judged."""

    rule_id: str
    name: str  # what the points are, for people
    unit: str
    threshold_falling: float | None  # fails when falling below this ...
    threshold_rising: float | None  # ... or rising above this
    max_scatter: float  # residual scatter above this is noise, not a trend
    recovery_jump: float  # a day this much better than the days before resets the window
    service_code: str
    title: str  # "{direction}" and "{threshold}" are filled in
    service_name: str  # what to book
    windows: tuple[tuple[int, int], ...] = ()  # (days, horizon days); () = WINDOWS

    def threshold(self, direction: Direction) -> float | None:
        return self.threshold_falling if direction is Direction.FALLING else self.threshold_rising


RESTING = Signal(
    rule_id="trend.battery_resting_voltage",
    name="daily median settled resting voltage",
    unit="V",
    threshold_falling=RESTING_FAILING_V,
    threshold_rising=None,
    max_scatter=0.1,
    recovery_jump=0.25,
    service_code=SERVICE_BATTERY,
    title="12 V battery resting voltage is {direction} toward {threshold} V",
    service_name="a battery test",
)
CRANKING = Signal(
    rule_id="trend.battery_cranking_voltage",
    name="daily median of the lowest voltage of each engine start",
    unit="V",
    threshold_falling=CRANK_MIN_HEALTHY_V,
    threshold_rising=None,
    max_scatter=0.35,
    recovery_jump=0.35,
    service_code=SERVICE_BATTERY,
    title="Cranking voltage is {direction} toward {threshold} V",
    service_name="a battery test",
)
CHARGING = Signal(
    rule_id="trend.charging_voltage",
    name="daily median charging voltage",
    unit="V",
    threshold_falling=CHARGING_MIN_V,
    threshold_rising=CHARGING_MAX_V,
    max_scatter=0.15,
    recovery_jump=0.3,
    service_code=SERVICE_CHARGING,
    title="Charging voltage is {direction} toward {threshold} V",
    service_name="a charging-system check",
)
COOLANT = Signal(
    rule_id="trend.coolant_peak",
    name="daily 90th percentile of warmed-up coolant temperature under similar load",
    unit="°C",
    threshold_falling=None,
    threshold_rising=COOLANT_HOT_C,
    max_scatter=3.0,
    recovery_jump=5.0,
    service_code=SERVICE_COOLING,
    title="Coolant peaks are {direction} toward {threshold} °C",
    service_name="a cooling-system check",
    windows=(WINDOWS[0],),
)


@dataclass(frozen=True)
class Point:
    day: date
    value: float


@dataclass(frozen=True)
class Assessment:
    """A trend that will cross its threshold within the horizon."""

    fit: TrendFit
    direction: Direction
    threshold: float
    points: list[Point]
    reset_by_recovery: bool
    days_to_cross: float
    earliest_days: float
    latest_days: float


def _x(day: date, now: datetime) -> float:
    """Days from ``now`` to the middle of ``day`` (negative in the past)."""
    middle = datetime.combine(day, time(12), tzinfo=UTC)
    return (middle - now).total_seconds() / 86_400


def _after_last_recovery(points: list[Point], signal: Signal, healthy_up: bool) -> list[Point]:
    start = 0
    for i in range(RECOVERY_BASELINE_DAYS, len(points)):
        before = statistics.median(p.value for p in points[i - RECOVERY_BASELINE_DAYS : i])
        gain = points[i].value - before if healthy_up else before - points[i].value
        if gain >= signal.recovery_jump:
            start = i
    return points[start:]


def assess(points: Sequence[Point], signal: Signal, now: datetime) -> Assessment | None:
    """Judge one signal's daily points (oldest first) over each window; see the module
    docstring. The assessment predicting the earliest crossing, if any raises."""
    found = [
        assessment
        for days, horizon in signal.windows or WINDOWS
        if (assessment := _assess_window(points, signal, now, days, horizon))
    ]
    return min(found, key=lambda a: a.days_to_cross) if found else None


def _assess_window(
    points: Sequence[Point], signal: Signal, now: datetime, window_days: int, horizon_days: int
) -> Assessment | None:
    first_day = (now - timedelta(days=window_days)).date()
    window = [p for p in points if first_day < p.day <= now.date()]
    # Which way is "better" decides what a recovery jump is: up for voltages that fail low,
    # down for temperatures; the charging band fails both ways, so judge its jumps both ways.
    healthy_up = signal.threshold_falling is not None
    recent = _after_last_recovery(window, signal, healthy_up)
    if signal.threshold_falling is not None and signal.threshold_rising is not None:
        recent = _after_last_recovery(recent, signal, not healthy_up)
    if len(recent) < MIN_POINTS:
        return None
    xs = [_x(p.day, now) for p in recent]
    fit = theil_sen(xs, [p.value for p in recent])
    if fit is None or fit.span < MIN_SPAN_DAYS or fit.scatter > signal.max_scatter:
        return None
    if fit.slope_high < 0:
        direction, nearest_zero, steepest = Direction.FALLING, fit.slope_high, fit.slope_low
    elif fit.slope_low > 0:
        direction, nearest_zero, steepest = Direction.RISING, fit.slope_low, fit.slope_high
    else:
        return None  # the interval holds zero: no trend to speak of
    threshold = signal.threshold(direction)
    if threshold is None:
        return None
    if (direction is Direction.FALLING) != (fit.level_now > threshold):
        return None  # already crossed: the threshold rules report that
    cut = min(xs) + PERSISTENCE_FRACTION * fit.span
    early = [(x, p.value) for x, p in zip(xs, recent, strict=True) if x <= cut]
    if len(early) < MIN_PERSISTENCE_POINTS:
        return None
    early_fit = theil_sen([x for x, _ in early], [v for _, v in early])
    if early_fit is None or (early_fit.slope < 0) != (direction is Direction.FALLING):
        return None  # the decline is carried by the last days alone
    towards_healthy = 1.0 if direction is Direction.FALLING else -1.0
    last_gains = [
        (p.value - fit.value_at(x)) * towards_healthy
        for x, p in list(zip(xs, recent, strict=True))[-RECENT_POINTS:]
    ]
    if statistics.median(last_gains) > fit.scatter:
        return None  # the last days no longer follow the decline: it stopped or reversed
    latest = time_to_cross(fit.level_now, nearest_zero, threshold)
    predicted = time_to_cross(fit.level_now, fit.slope, threshold)
    earliest = time_to_cross(fit.level_now, steepest, threshold)
    if latest is None or predicted is None or earliest is None or latest > horizon_days:
        return None
    return Assessment(
        fit=fit,
        direction=direction,
        threshold=threshold,
        points=recent,
        reset_by_recovery=len(recent) < len(window),
        days_to_cross=predicted,
        earliest_days=earliest,
        latest_days=latest,
    )


def _finding(
    snapshot: VehicleSnapshot, signal: Signal, assessment: Assessment, extra: dict[str, JsonValue]
) -> Finding:
    now = snapshot.now
    fit = assessment.fit
    today = now.date()
    predicted = (now + timedelta(days=assessment.days_to_cross)).date()
    earliest = (now + timedelta(days=assessment.earliest_days)).date()
    latest = (now + timedelta(days=assessment.latest_days)).date()
    lead = timedelta(days=snapshot.booking_lead_days)
    book_by = max(today, min(predicted - lead, earliest))
    threshold = assessment.threshold
    title = signal.title.format(direction=assessment.direction.value, threshold=f"{threshold:g}")
    digits = 3 if signal.unit == "V" else 1
    evidence: dict[str, JsonValue] = {
        "signal": signal.name,
        "unit": signal.unit,
        "method": "Theil-Sen slope over daily points, Sen's rank-based confidence interval",
        "direction": assessment.direction.value,
        "threshold": threshold,
        "slope_per_day": round(fit.slope, 5),
        "slope_interval_per_day": [round(fit.slope_low, 5), round(fit.slope_high, 5)],
        "confidence": CONFIDENCE,
        "level_now": round(fit.level_now, digits),
        "scatter": round(fit.scatter, digits + 1),
        "predicted_failure_date": predicted.isoformat(),
        "failure_date_range": [earliest.isoformat(), latest.isoformat()],
        "book_by": book_by.isoformat(),
        "window": {
            "from": assessment.points[0].day.isoformat(),
            "to": assessment.points[-1].day.isoformat(),
            "days_with_data": len(assessment.points),
            "reset_by_recovery": assessment.reset_by_recovery,
        },
        # Objects, not pairs: Firestore stores no array inside an array (alert evidence).
        "points": [
            {"day": p.day.isoformat(), "value": round(p.value, digits)} for p in assessment.points
        ],
        **extra,
    }
    return Finding(
        rule_id=signal.rule_id,
        severity=Severity.HIGH,
        title=title,
        evidence=evidence,
        recommended_action=(
            f"Book {signal.service_name} by {book_by.isoformat()}: the trend reaches "
            f"{threshold:g} {signal.unit} {_when(predicted, earliest, latest)}."
        ),
        service_code=signal.service_code,
        predicted_date=predicted,
        book_by=book_by,
    )


def _when(predicted: date, earliest: date, latest: date) -> str:
    """When the trend crosses, in words: the range only when it spans more than one day (a
    clean decline can make every bound the same day, and "between X and X" reads wrong)."""
    if earliest == latest:
        return f"on {predicted.isoformat()}"
    return (
        f"around {predicted.isoformat()} (between {earliest.isoformat()} and {latest.isoformat()})"
    )


def _series(days: Sequence[DayRollup], value: Callable[[DayRollup], float | None]) -> list[Point]:
    points = []
    for day in days:
        measured = value(day)
        if measured is not None:
            points.append(Point(day.day, measured))
    return points


def compensated_resting_voltage(day: DayRollup) -> float | None:
    """The day's resting voltage at 26.7 °C (as measured when the temperature is unknown)."""
    if day.resting_v is None:
        return None
    if day.soak_temp_c is None:
        return day.resting_v
    return day.resting_v + OCV_V_PER_C * (OCV_REFERENCE_C - day.soak_temp_c)


def resting_voltage_trend(snapshot: VehicleSnapshot) -> list[Finding]:
    """trend.battery_resting_voltage (see the module docstring)."""
    points = _series(snapshot.days, compensated_resting_voltage)
    assessment = assess(points, RESTING, snapshot.now)
    if assessment is None:
        return []
    used = {p.day for p in assessment.points}
    compensated = sum(1 for d in snapshot.days if d.day in used and d.soak_temp_c is not None)
    extra: dict[str, JsonValue] = {
        "temperature_compensated_days": compensated,
        "reference_temperature_c": OCV_REFERENCE_C,
        "compensation_v_per_c": OCV_V_PER_C,
    }
    return [_finding(snapshot, RESTING, assessment, extra)]


def cranking_voltage_trend(snapshot: VehicleSnapshot) -> list[Finding]:
    """trend.battery_cranking_voltage (see the module docstring)."""
    assessment = assess(_series(snapshot.days, lambda d: d.crank_v), CRANKING, snapshot.now)
    if assessment is None:
        return []
    return [_finding(snapshot, CRANKING, assessment, {})]


def charging_voltage_trend(snapshot: VehicleSnapshot) -> list[Finding]:
    """trend.charging_voltage (see the module docstring)."""
    assessment = assess(_series(snapshot.days, lambda d: d.charging_v), CHARGING, snapshot.now)
    if assessment is None:
        return []
    return [_finding(snapshot, CHARGING, assessment, {})]


def coolant_peak_trend(snapshot: VehicleSnapshot) -> list[Finding]:
    """trend.coolant_peak (see the module docstring): the load band with most days."""
    first_day = (snapshot.now - timedelta(days=WINDOW_DAYS)).date()
    counts: dict[str, int] = {}
    for day in snapshot.days:
        if day.day > first_day:
            for band in day.coolant_peaks:
                counts[band] = counts.get(band, 0) + 1
    if not counts:
        return []
    band = max(sorted(counts), key=lambda b: counts[b])

    def peak(day: DayRollup) -> float | None:
        entry = day.coolant_peaks.get(band)
        return None if entry is None else entry[0]

    assessment = assess(_series(snapshot.days, peak), COOLANT, snapshot.now)
    if assessment is None:
        return []
    return [_finding(snapshot, COOLANT, assessment, {"load_band": band})]


TREND_RULES: tuple[Rule, ...] = (
    resting_voltage_trend,
    cranking_voltage_trend,
    charging_voltage_trend,
    coolant_peak_trend,
)
