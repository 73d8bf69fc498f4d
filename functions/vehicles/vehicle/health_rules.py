"""Turn a vehicle's recent telemetry and maintenance forecasts into explainable findings.

Each rule is a small named function that looks at a :class:`VehicleSnapshot` and returns
zero or more :class:`Finding` objects; every finding carries the evidence (values, trend,
persistence) that triggered it, a recommended action, and the service code a booking should
use. Rules are registered in ``RULES``; :func:`evaluate_health` runs them all.

Health score: start at 100 and subtract a fixed penalty per finding by severity
(critical 40, high 20, medium 8, low 3), never below 0. Fixed penalties keep the score
explainable: any user can recompute it from the list of findings. One critical finding alone
drops a vehicle to 60, so "below 60" reliably means "something critical or several high".

Speed: derived facts (engine starts, ignition cycles, settled resting readings) are computed
once per snapshot in a single linear pass, so ~26,000 readings (90 days at one per 5
minutes) evaluate in a few tens of milliseconds.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property
from itertools import pairwise
from typing import TypeAlias

from shared import service_codes
from shared.maintenance import DueForecast, Urgency
from vehicle.telemetry_quality import Reading

JsonValue: TypeAlias = str | int | float | bool | list["JsonValue"] | dict[str, "JsonValue"] | None

DEFAULT_BOOKING_LEAD_DAYS = 7  # a typical workshop can offer a slot within a week

# Service codes a finding hands to bookings (shared.service_codes); maintenance findings use
# the interval's own code.
SERVICE_BATTERY = service_codes.BATTERY_CHECK
SERVICE_CHARGING = service_codes.CHARGING_SYSTEM
SERVICE_COOLING = service_codes.COOLING_SYSTEM
SERVICE_DIAGNOSTICS = service_codes.DIAGNOSTICS


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# Score penalties (see module docstring). Ratios roughly follow "how soon must this be fixed".
SEVERITY_PENALTY: dict[Severity, int] = {
    Severity.CRITICAL: 40,
    Severity.HIGH: 20,
    Severity.MEDIUM: 8,
    Severity.LOW: 3,
}
MAX_SCORE = 100
_SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(Severity)}

# --- battery at rest ---------------------------------------------------------------------
# Open-circuit voltage of a lead-acid battery: ~12.6 V full, 12.4 V ~75 %, 12.2 V ~50 %,
# 12.0 V nearly flat. Below 12.4 V a cold morning may already fail to start the engine.
RESTING_WEAK_V = 12.4
RESTING_HIGH_RISK_V = 12.2
RESTING_FAILING_V = 12.0
# Median of the last few resting readings, so one noisy sample cannot raise an alarm.
RESTING_SAMPLE_SIZE = 3
# After the engine stops, surface charge keeps the voltage artificially high for a while;
# readings this soon after running would hide a weak battery.
RESTING_SETTLE_TIME = timedelta(minutes=30)

# --- cranking -----------------------------------------------------------------------------
# A healthy 12 V battery holds above ~9.6 V while cranking (common load-test pass line);
# below it the starter and ECU start to brown out.
CRANK_MIN_HEALTHY_V = 9.6
# Readings this close to the first engine-running sample belong to the start itself.
CRANK_WINDOW = timedelta(seconds=60)
# A start window holding a single sample means the device was not sampling fast enough to
# see the dip; that sample would be a running voltage, not a cranking one.
MIN_SAMPLES_IN_CRANK_WINDOW = 2
# Fewer starts than this make a straight-line trend meaningless.
MIN_STARTS_FOR_TREND = 5
# Battery decline is not linear over months; the last 30 days describe its current state.
CRANK_TREND_WINDOW = timedelta(days=30)

# --- charging -----------------------------------------------------------------------------
# Conventional alternator regulation band for a 12 V system with the engine running.
CHARGING_MIN_V = 13.7
CHARGING_MAX_V = 14.7
# Median over the most recent running readings (robust to a momentary load spike) ...
CHARGING_SAMPLE_SIZE = 10
# ... and at least this many of them out of band on the same side, so it is persistent.
CHARGING_MIN_PERSISTENT = 3

# --- coolant ------------------------------------------------------------------------------
# Pressurised coolant runs ~90-105 °C; above 107 °C most engines are overheating.
COOLANT_HOT_C = 107.0
COOLANT_LOOKBACK = timedelta(days=7)  # an overheat a week ago still needs a look
COOLANT_MIN_HOT_READINGS = 2  # one hot sample can be a sensor glitch ...
OVERHEAT_DTC = "P0217"  # ... unless the ECU itself reports "engine overheat"

# --- fault codes --------------------------------------------------------------------------
# P0300 random misfire, P0301-P0312 misfire on cylinder 1-12: unburnt fuel can destroy the
# catalytic converter within minutes, hence critical.
MISFIRE_CYLINDERS = range(0, 13)


@dataclass(frozen=True)
class Finding:
    """One explainable problem; ``evidence`` is JSON-serialisable."""

    rule_id: str
    severity: Severity
    title: str
    evidence: dict[str, JsonValue]
    recommended_action: str
    service_code: str | None

    def as_json(self) -> dict[str, JsonValue]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "title": self.title,
            "evidence": self.evidence,
            "recommended_action": self.recommended_action,
            "service_code": self.service_code,
        }


@dataclass(frozen=True)
class HealthReport:
    score: int  # 0..100, see module docstring
    findings: list[Finding]  # most severe first

    def as_json(self) -> dict[str, JsonValue]:
        return {"score": self.score, "findings": [f.as_json() for f in self.findings]}


@dataclass(frozen=True)
class CrankEvent:
    """One engine start: the lowest voltage seen around the first engine-running sample."""

    at: datetime
    min_voltage: float
    samples: int


@dataclass(frozen=True)
class IgnitionCycle:
    """A run of consecutive engine-running readings and the codes reported during it."""

    started_at: datetime
    ended_at: datetime
    confirmed: frozenset[str]
    pending: frozenset[str]


@dataclass(frozen=True)
class VehicleSnapshot:
    """Everything the rules look at. ``readings`` may be unordered; rules see them sorted.

    Derived facts are cached_property values (cached_property writes straight to the instance
    dict, which a frozen dataclass allows), so all rules share one pass over the readings.
    """

    readings: Sequence[Reading]
    now: datetime
    forecasts: Sequence[DueForecast] = ()
    booking_lead_days: int = DEFAULT_BOOKING_LEAD_DAYS

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if self.booking_lead_days < 0:
            raise ValueError("booking_lead_days must not be negative")

    @cached_property
    def ordered(self) -> Sequence[Reading]:
        readings = self.readings
        if all(a.timestamp <= b.timestamp for a, b in pairwise(readings)):
            return readings
        return sorted(readings, key=lambda r: r.timestamp)

    @cached_property
    def _crank_windows(self) -> tuple[list[CrankEvent], frozenset[int]]:
        """Engine starts, and the indices of readings that fall inside a start window."""
        readings = self.ordered
        seconds = [r.timestamp.timestamp() for r in readings]
        window = CRANK_WINDOW.total_seconds()
        events: list[CrankEvent] = []
        in_window: set[int] = set()
        for i in range(1, len(readings)):
            if readings[i].engine_running and not readings[i - 1].engine_running:
                low = bisect.bisect_left(seconds, seconds[i] - window)
                high = bisect.bisect_right(seconds, seconds[i] + window)
                in_window.update(range(low, high))
                if high - low >= MIN_SAMPLES_IN_CRANK_WINDOW:
                    lowest = min(r.battery_voltage for r in readings[low:high])
                    events.append(CrankEvent(readings[i].timestamp, lowest, high - low))
        return events, frozenset(in_window)

    @property
    def crank_events(self) -> list[CrankEvent]:
        return self._crank_windows[0]

    @property
    def crank_window_indices(self) -> frozenset[int]:
        return self._crank_windows[1]

    @cached_property
    def settled_resting_readings(self) -> list[Reading]:
        """Engine-off readings taken long enough after running, and not during a start."""
        settled: list[Reading] = []
        last_running_at: datetime | None = None
        excluded = self.crank_window_indices
        for i, reading in enumerate(self.ordered):
            if reading.engine_running:
                last_running_at = reading.timestamp
            elif i not in excluded and (
                last_running_at is None
                or reading.timestamp - last_running_at >= RESTING_SETTLE_TIME
            ):
                settled.append(reading)
        return settled

    @cached_property
    def charging_readings(self) -> list[Reading]:
        """Engine-running readings outside start windows (the cranking dip is not charging)."""
        excluded = self.crank_window_indices
        return [r for i, r in enumerate(self.ordered) if r.engine_running and i not in excluded]

    @cached_property
    def ignition_cycles(self) -> list[IgnitionCycle]:
        cycles: list[IgnitionCycle] = []
        run: list[Reading] = []
        for reading in [*self.ordered, None]:
            if reading is not None and reading.engine_running:
                run.append(reading)
                continue
            if run:
                cycles.append(
                    IgnitionCycle(
                        started_at=run[0].timestamp,
                        ended_at=run[-1].timestamp,
                        confirmed=frozenset(c for r in run for c in r.dtc_codes),
                        pending=frozenset(c for r in run for c in r.dtc_pending),
                    )
                )
                run = []
        return cycles

    @property
    def active_confirmed_codes(self) -> frozenset[str]:
        """Confirmed codes of the latest ignition cycle; older ones count as cleared."""
        cycles = self.ignition_cycles
        return cycles[-1].confirmed if cycles else frozenset()


Rule: TypeAlias = Callable[[VehicleSnapshot], list[Finding]]


def _round(value: float) -> float:
    # Evidence is read by people; millivolt / 0.001-unit precision is plenty.
    return round(value, 3)


def battery_resting_voltage(snapshot: VehicleSnapshot) -> list[Finding]:
    """battery.resting_voltage: median of the latest settled engine-off voltages."""
    recent = snapshot.settled_resting_readings[-RESTING_SAMPLE_SIZE:]
    if len(recent) < RESTING_SAMPLE_SIZE:
        return []
    median = statistics.median(r.battery_voltage for r in recent)
    if median < RESTING_FAILING_V:
        severity, title = Severity.CRITICAL, "12 V battery is failing"
        action = "Replace the 12 V battery now; the vehicle may not start."
    elif median < RESTING_HIGH_RISK_V:
        severity, title = Severity.HIGH, "12 V battery is at high risk"
        action = "Book a battery test and likely replacement within the booking lead time."
    elif median < RESTING_WEAK_V:
        severity, title = Severity.MEDIUM, "12 V battery is weak"
        action = "Have the battery tested and charged at the next visit."
    else:
        return []
    return [
        Finding(
            rule_id="battery.resting_voltage",
            severity=severity,
            title=title,
            evidence={
                "median_resting_voltage_v": _round(median),
                "readings": [
                    {"at": r.timestamp.isoformat(), "voltage_v": r.battery_voltage} for r in recent
                ],
                "thresholds_v": {
                    "weak": RESTING_WEAK_V,
                    "high_risk": RESTING_HIGH_RISK_V,
                    "failing": RESTING_FAILING_V,
                },
                "settle_minutes": RESTING_SETTLE_TIME.total_seconds() / 60,
            },
            recommended_action=action,
            service_code=SERVICE_BATTERY,
        )
    ]


def _least_squares(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """(slope, intercept) of the best straight line, or None if all xs coincide."""
    mean_x = statistics.fmean(xs)
    mean_y = statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return slope, mean_y - slope * mean_x


def battery_cranking_trend(snapshot: VehicleSnapshot) -> list[Finding]:
    """battery.cranking_trend: will the per-start minimum voltage cross 9.6 V soon?"""
    since = snapshot.now - CRANK_TREND_WINDOW
    starts = [e for e in snapshot.crank_events if since <= e.at <= snapshot.now]
    if len(starts) < MIN_STARTS_FOR_TREND:
        return []
    seconds_per_day = 86_400
    # x = days relative to now, so the intercept is the trend's voltage today.
    xs = [(e.at - snapshot.now).total_seconds() / seconds_per_day for e in starts]
    fit = _least_squares(xs, [e.min_voltage for e in starts])
    if fit is None:
        return []
    slope, voltage_now = fit

    crossing: datetime | None = None
    if voltage_now < CRANK_MIN_HEALTHY_V:
        severity = Severity.CRITICAL
        title = "Cranking voltage is already below 9.6 V"
        action = "Replace the 12 V battery now; starts are at risk of failing."
    elif slope < 0:
        days_to_cross = (CRANK_MIN_HEALTHY_V - voltage_now) / slope
        crossing = snapshot.now + timedelta(days=days_to_cross)
        if days_to_cross > snapshot.booking_lead_days:
            return []
        severity = Severity.HIGH
        title = "Cranking voltage will drop below 9.6 V within the booking lead time"
        action = "Book a battery test and replacement before the projected date."
    else:
        return []
    return [
        Finding(
            rule_id="battery.cranking_trend",
            severity=severity,
            title=title,
            evidence={
                "slope_v_per_day": round(slope, 4),
                "trend_voltage_now_v": _round(voltage_now),
                "projected_crossing_date": crossing.date().isoformat() if crossing else None,
                "threshold_v": CRANK_MIN_HEALTHY_V,
                "starts": len(starts),
                "latest_start_min_voltage_v": starts[-1].min_voltage,
                "window_days": CRANK_TREND_WINDOW.days,
                "booking_lead_days": snapshot.booking_lead_days,
            },
            recommended_action=action,
            service_code=SERVICE_BATTERY,
        )
    ]


def charging_voltage(snapshot: VehicleSnapshot) -> list[Finding]:
    """battery.charging_voltage: persistent running voltage outside 13.7-14.7 V."""
    recent = snapshot.charging_readings[-CHARGING_SAMPLE_SIZE:]
    if len(recent) < CHARGING_MIN_PERSISTENT:
        return []
    voltages = [r.battery_voltage for r in recent]
    median = statistics.median(voltages)
    below = sum(v < CHARGING_MIN_V for v in voltages)
    above = sum(v > CHARGING_MAX_V for v in voltages)
    if median < CHARGING_MIN_V and below >= CHARGING_MIN_PERSISTENT:
        title = "Alternator is not charging the battery"
        action = "Have the alternator, drive belt and wiring checked; the battery will drain."
        out_of_band = below
    elif median > CHARGING_MAX_V and above >= CHARGING_MIN_PERSISTENT:
        title = "Charging system is overcharging the battery"
        action = "Have the voltage regulator checked; overcharging damages the battery."
        out_of_band = above
    else:
        return []
    return [
        Finding(
            rule_id="battery.charging_voltage",
            severity=Severity.HIGH,
            title=title,
            evidence={
                "median_running_voltage_v": _round(median),
                "readings_out_of_band": out_of_band,
                "readings_considered": len(recent),
                "band_v": [CHARGING_MIN_V, CHARGING_MAX_V],
                "from": recent[0].timestamp.isoformat(),
                "to": recent[-1].timestamp.isoformat(),
            },
            recommended_action=action,
            service_code=SERVICE_CHARGING,
        )
    ]


def coolant_temperature(snapshot: VehicleSnapshot) -> list[Finding]:
    """cooling.coolant_temperature: engine running above 107 °C in the last 7 days."""
    since = snapshot.now - COOLANT_LOOKBACK
    hot = [
        r
        for r in snapshot.ordered
        if r.engine_running
        and r.coolant_temp_c is not None
        and r.coolant_temp_c > COOLANT_HOT_C
        and r.timestamp >= since
    ]
    overheat_code = OVERHEAT_DTC in snapshot.active_confirmed_codes
    if overheat_code and hot:
        severity = Severity.CRITICAL
        title = "Engine is overheating (confirmed by fault code P0217)"
        action = "Stop driving and have the cooling system inspected before further use."
    elif len(hot) >= COOLANT_MIN_HOT_READINGS:
        severity = Severity.HIGH
        title = "Engine coolant is running too hot"
        action = "Have coolant level, thermostat, fan and radiator checked soon."
    else:
        return []
    temperatures = [r.coolant_temp_c for r in hot if r.coolant_temp_c is not None]
    return [
        Finding(
            rule_id="cooling.coolant_temperature",
            severity=severity,
            title=title,
            evidence={
                "max_coolant_temp_c": max(temperatures),
                "hot_readings": len(hot),
                "threshold_c": COOLANT_HOT_C,
                "first_hot_at": hot[0].timestamp.isoformat(),
                "last_hot_at": hot[-1].timestamp.isoformat(),
                "overheat_code_active": overheat_code,
                "lookback_days": COOLANT_LOOKBACK.days,
            },
            recommended_action=action,
            service_code=SERVICE_COOLING,
        )
    ]


def is_misfire_code(code: str) -> bool:
    """P0300-P0312: random or per-cylinder misfire."""
    suffix = code[3:]
    return code.startswith("P03") and suffix.isdigit() and int(suffix) in MISFIRE_CYLINDERS


def _code_tier(code: str, pending: bool) -> tuple[str, Severity, str]:
    """(rule id, severity, title) for one active fault code."""
    if not code.startswith("P"):
        # Body/chassis/network codes rarely affect drivability, pending or not.
        return "dtc.body_chassis_network", Severity.LOW, f"Body/chassis/network fault {code}"
    if pending:
        return "dtc.pending", Severity.MEDIUM, f"Pending engine fault {code}"
    if is_misfire_code(code):
        return "dtc.misfire", Severity.CRITICAL, f"Engine misfire {code}"
    return "dtc.powertrain", Severity.HIGH, f"Engine/powertrain fault {code}"


def fault_codes(snapshot: VehicleSnapshot) -> list[Finding]:
    """dtc.*: codes reported in the latest ignition cycle, with persistence over cycles."""
    cycles = snapshot.ignition_cycles
    if not cycles:
        return []
    latest = cycles[-1]
    active = [(code, False) for code in sorted(latest.confirmed)] + [
        (code, True) for code in sorted(latest.pending - latest.confirmed)
    ]
    findings = []
    for code, pending in active:
        reporting = [c for c in cycles if code in c.confirmed or code in c.pending]
        rule_id, severity, title = _code_tier(code, pending)
        # An overheat code is fixed by cooling-system work, not by a generic scan.
        service_code = SERVICE_COOLING if code == OVERHEAT_DTC else SERVICE_DIAGNOSTICS
        findings.append(
            Finding(
                rule_id=rule_id,
                severity=severity,
                title=title,
                evidence={
                    "code": code,
                    "status": "pending" if pending else "confirmed",
                    "ignition_cycles_reporting": len(reporting),
                    "ignition_cycles_total": len(cycles),
                    "first_reported_at": reporting[0].started_at.isoformat(),
                    "last_reported_at": reporting[-1].ended_at.isoformat(),
                },
                recommended_action=(
                    "Stop driving if the engine runs rough; book diagnostics immediately."
                    if severity is Severity.CRITICAL
                    else "Book a diagnostic scan to read and resolve the fault code."
                ),
                service_code=service_code,
            )
        )
    return findings


_MAINTENANCE_SEVERITY = {
    Urgency.OVERDUE: Severity.HIGH,
    Urgency.DUE_SOON: Severity.MEDIUM,
    Urgency.UPCOMING: Severity.LOW,
}
_MAINTENANCE_WORDING = {
    Urgency.OVERDUE: "is overdue",
    Urgency.DUE_SOON: "is due soon",
    Urgency.UPCOMING: "is coming up",
}


def maintenance_due(snapshot: VehicleSnapshot) -> list[Finding]:
    """maintenance.due: one finding per forecast that is not ``ok``."""
    findings = []
    for forecast in snapshot.forecasts:
        severity = _MAINTENANCE_SEVERITY.get(forecast.urgency)
        if severity is None:
            continue
        evidence: dict[str, JsonValue] = dict(forecast.as_json())
        findings.append(
            Finding(
                rule_id="maintenance.due",
                severity=severity,
                title=f"{forecast.name} {_MAINTENANCE_WORDING[forecast.urgency]}",
                evidence=evidence,
                recommended_action=f"Book {forecast.name.lower()}.",
                service_code=forecast.code,
            )
        )
    return findings


RULES: tuple[Rule, ...] = (
    battery_resting_voltage,
    battery_cranking_trend,
    charging_voltage,
    coolant_temperature,
    fault_codes,
    maintenance_due,
)


def score_for(findings: Sequence[Finding]) -> int:
    """100 minus the severity penalties, floored at 0."""
    return max(0, MAX_SCORE - sum(SEVERITY_PENALTY[f.severity] for f in findings))


def evaluate_health(snapshot: VehicleSnapshot, rules: Sequence[Rule] = RULES) -> HealthReport:
    """Run every rule and combine the findings into a scored report, most severe first."""
    findings = [finding for rule in rules for finding in rule(snapshot)]
    findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], f.rule_id, f.title))
    return HealthReport(score=score_for(findings), findings=findings)
