"""Turn a vehicle's recent telemetry and maintenance forecasts into explainable findings.

Each rule is a small named function that looks at a :class:`VehicleSnapshot` and returns
zero or more :class:`Finding` objects; every finding carries the evidence (values, trend,
persistence) that triggered it, a recommended action, and the service code a booking should
use. Rules are registered in ``RULES``; :func:`evaluate_health` runs them all.

Health score: start at 100 and subtract a fixed penalty per finding by severity
(critical 40, high 20, medium 8, low 3), never below 0. Fixed penalties keep the score
explainable: any user can recompute it from the list of findings. One critical finding alone
drops a vehicle to 60, so "below 60" reliably means "something critical or several high".

Speed: derived facts (engine starts, ignition cycles, settled resting readings; defined
once in vehicle.signals) are computed once per snapshot in a single linear pass. In the
service the snapshot holds raw readings of the last days only (vehicle.health.RAW_DAYS)
plus the per-day rollups of the whole window (vehicle.rollups): a rule that looks further
back than the raw readings reach — the last settled resting or charging readings of a car
parked for weeks, the starts of the last 30 days, how long a fault code has persisted —
continues into the rollups of the older days (``VehicleSnapshot.history``). Built from
readings alone (``days`` empty), a snapshot behaves exactly as if the readings were all
there is.

Fault codes are grouped: one finding per tier (misfire, powertrain, pending,
body/chassis/network) and service code, its evidence listing the codes (at most
``MAX_CODES_IN_EVIDENCE``), so a reading full of codes cannot fan out into as many findings
and alerts.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from itertools import pairwise
from typing import TypeAlias

from shared import service_codes
from shared.maintenance import DueForecast, Urgency
from vehicle import signals
from vehicle.rollups import DayRollup
from vehicle.signals import (
    CRANK_WINDOW,
    MIN_SAMPLES_IN_CRANK_WINDOW,
    RESTING_SETTLE_TIME,
    CrankEvent,
    IgnitionCycle,
)
from vehicle.telemetry_quality import Reading

__all__ = [
    "CRANK_WINDOW",
    "MIN_SAMPLES_IN_CRANK_WINDOW",
    "RESTING_SETTLE_TIME",
    "CrankEvent",
    "IgnitionCycle",
]

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
# (What counts as settled, RESTING_SETTLE_TIME, is defined in vehicle.signals.)
RESTING_SAMPLE_SIZE = 3

# --- cranking -----------------------------------------------------------------------------
# A healthy 12 V battery holds above ~9.6 V while cranking (common load-test pass line);
# below it the starter and ECU start to brown out.
CRANK_MIN_HEALTHY_V = 9.6
# (A start's window, CRANK_WINDOW, and its minimum samples are defined in vehicle.signals.)
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
# One grouped finding lists at most this many codes (the rest are counted): bounds the size
# of /health and of an alert document whatever a vehicle reports.
MAX_CODES_IN_EVIDENCE = 20


@dataclass(frozen=True)
class Finding:
    """One explainable problem; ``evidence`` is JSON-serialisable."""

    rule_id: str
    severity: Severity
    title: str
    evidence: dict[str, JsonValue]
    recommended_action: str
    service_code: str | None
    # Forecasting rules only: the day the signal is predicted to cross its failure threshold
    # and the day to have the service booked by (both also in the evidence).
    predicted_date: date | None = None
    book_by: date | None = None

    def as_json(self) -> dict[str, JsonValue]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "title": self.title,
            "evidence": self.evidence,
            "recommended_action": self.recommended_action,
            "service_code": self.service_code,
            "predicted_failure_date": _iso(self.predicted_date),
            "book_by": _iso(self.book_by),
        }


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


@dataclass(frozen=True)
class HealthReport:
    score: int  # 0..100, see module docstring
    findings: list[Finding]  # most severe first

    def as_json(self) -> dict[str, JsonValue]:
        return {"score": self.score, "findings": [f.as_json() for f in self.findings]}


@dataclass(frozen=True)
class VehicleSnapshot:
    """Everything the rules look at. ``readings`` may be unordered; rules see them sorted.

    ``days`` are the per-day rollups of the whole evaluation window (oldest first), for the
    trend rules; ``raw_from`` is where the raw readings begin (a UTC midnight): the days
    before it are ``history``, which the threshold rules continue into when the raw
    readings do not reach far enough. Without ``raw_from`` the readings are all there is.

    Derived facts are cached_property values (cached_property writes straight to the instance
    dict, which a frozen dataclass allows), so all rules share one pass over the readings.
    """

    readings: Sequence[Reading]
    now: datetime
    forecasts: Sequence[DueForecast] = ()
    booking_lead_days: int = DEFAULT_BOOKING_LEAD_DAYS
    days: Sequence[DayRollup] = ()
    raw_from: datetime | None = None

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if self.booking_lead_days < 0:
            raise ValueError("booking_lead_days must not be negative")
        if self.raw_from is not None and self.raw_from.tzinfo is None:
            raise ValueError("raw_from must be timezone-aware")

    @cached_property
    def ordered(self) -> Sequence[Reading]:
        readings = self.readings
        if all(a.timestamp <= b.timestamp for a, b in pairwise(readings)):
            return readings
        return sorted(readings, key=lambda r: r.timestamp)

    @cached_property
    def history(self) -> Sequence[DayRollup]:
        """Rollups of the days before the raw readings, oldest first."""
        if self.raw_from is None:
            return ()
        first_raw_day = self.raw_from.date()
        return [d for d in self.days if d.day < first_raw_day]

    @cached_property
    def _crank_windows(self) -> tuple[list[CrankEvent], frozenset[int]]:
        return signals.crank_windows(self.ordered)

    @property
    def crank_events(self) -> list[CrankEvent]:
        return self._crank_windows[0]

    @property
    def crank_window_indices(self) -> frozenset[int]:
        return self._crank_windows[1]

    @cached_property
    def settled_resting_readings(self) -> list[Reading]:
        """Engine-off readings taken long enough after running, and not during a start."""
        return signals.settled_resting(self.ordered, self.crank_window_indices, self.raw_from)

    @cached_property
    def charging_readings(self) -> list[Reading]:
        """Engine-running readings outside start windows (the cranking dip is not charging)."""
        return signals.charging(self.ordered, self.crank_window_indices)

    @cached_property
    def ignition_cycles(self) -> list[IgnitionCycle]:
        return signals.ignition_cycles(self.ordered)

    @property
    def latest_cycle(self) -> IgnitionCycle | None:
        """The latest ignition cycle: in the raw readings, else the last one of history."""
        if self.ignition_cycles:
            return self.ignition_cycles[-1]
        for day in reversed(self.history):
            if day.last_cycle is not None:
                return day.last_cycle
        return None

    @property
    def active_confirmed_codes(self) -> frozenset[str]:
        """Confirmed codes of the latest ignition cycle; older ones count as cleared."""
        cycle = self.latest_cycle
        return cycle.confirmed if cycle else frozenset()

    def last_resting_points(self, count: int) -> list[tuple[datetime, float]]:
        """The latest ``count`` settled resting (time, volts), reaching into history."""
        points = [(r.timestamp, r.battery_voltage) for r in self.settled_resting_readings]
        return _reach_back(points, [d.last_resting for d in self.history], count)

    def last_charging_points(self, count: int) -> list[tuple[datetime, float]]:
        """The latest ``count`` charging (time, volts), reaching into history."""
        points = [(r.timestamp, r.battery_voltage) for r in self.charging_readings]
        return _reach_back(points, [d.last_charging for d in self.history], count)

    def starts_since(self, since: datetime) -> list[CrankEvent]:
        """Engine starts from ``since`` to now: history's (capped per day), then raw ones."""
        older = [e for d in self.history for e in d.starts if since <= e.at <= self.now]
        return older + [e for e in self.crank_events if since <= e.at <= self.now]


def _reach_back(
    recent: list[tuple[datetime, float]],
    older_days: Sequence[Sequence[tuple[datetime, float]]],
    count: int,
) -> list[tuple[datetime, float]]:
    points = list(recent)
    for day in reversed(older_days):
        if len(points) >= count:
            break
        points = list(day) + points
    return points[-count:]


Rule: TypeAlias = Callable[[VehicleSnapshot], list[Finding]]


def _round(value: float) -> float:
    # Evidence is read by people; millivolt / 0.001-unit precision is plenty.
    return round(value, 3)


def battery_resting_voltage(snapshot: VehicleSnapshot) -> list[Finding]:
    """battery.resting_voltage: median of the latest settled engine-off voltages."""
    recent = snapshot.last_resting_points(RESTING_SAMPLE_SIZE)
    if len(recent) < RESTING_SAMPLE_SIZE:
        return []
    median = statistics.median(volts for _, volts in recent)
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
                "readings": [{"at": at.isoformat(), "voltage_v": volts} for at, volts in recent],
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
    starts = snapshot.starts_since(snapshot.now - CRANK_TREND_WINDOW)
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
    book_by: date | None = None
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
        # The day before the projected crossing, or today when that is sooner.
        book_by = max(snapshot.now.date(), (crossing - timedelta(days=1)).date())
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
            predicted_date=crossing.date() if crossing else None,
            book_by=book_by,
        )
    ]


def charging_voltage(snapshot: VehicleSnapshot) -> list[Finding]:
    """battery.charging_voltage: persistent running voltage outside 13.7-14.7 V."""
    recent = snapshot.last_charging_points(CHARGING_SAMPLE_SIZE)
    if len(recent) < CHARGING_MIN_PERSISTENT:
        return []
    voltages = [volts for _, volts in recent]
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
                "from": recent[0][0].isoformat(),
                "to": recent[-1][0].isoformat(),
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


@dataclass(frozen=True)
class _CodeHistory:
    """How one active code persisted: cycles reporting it, first and last report."""

    reporting: int
    first_reported_at: datetime
    last_reported_at: datetime


def _code_history(snapshot: VehicleSnapshot, code: str) -> _CodeHistory:
    reporting = [c for c in snapshot.ignition_cycles if code in c.confirmed or code in c.pending]
    count, first, last = len(reporting), None, None
    if reporting:
        first, last = reporting[0].started_at, reporting[-1].ended_at
    for day in snapshot.history:
        seen = day.codes.get(code)
        if seen is not None:
            count += seen.cycles
            first = seen.first_at if first is None else min(first, seen.first_at)
    latest = snapshot.latest_cycle
    if last is None and latest is not None:
        last = latest.ended_at  # the code is active, so the latest cycle reported it
    assert first is not None and last is not None  # an active code was reported somewhere
    return _CodeHistory(max(count, 1), first, last)


def fault_codes(snapshot: VehicleSnapshot) -> list[Finding]:
    """dtc.*: codes reported in the latest ignition cycle, one finding per tier and service.

    Evidence lists each code (up to ``MAX_CODES_IN_EVIDENCE``, the most persistent first)
    with its status and persistence over ignition cycles.
    """
    latest = snapshot.latest_cycle
    if latest is None:
        return []
    total_cycles = len(snapshot.ignition_cycles) + sum(d.cycles for d in snapshot.history)
    active = [(code, False) for code in sorted(latest.confirmed)] + [
        (code, True) for code in sorted(latest.pending - latest.confirmed)
    ]
    groups: dict[tuple[str, str], list[tuple[str, bool, Severity, _CodeHistory]]] = {}
    for code, pending in active:
        rule_id, severity, _ = _code_tier(code, pending)
        # An overheat code is fixed by cooling-system work, not by a generic scan.
        service_code = SERVICE_COOLING if code == OVERHEAT_DTC else SERVICE_DIAGNOSTICS
        groups.setdefault((rule_id, service_code), []).append(
            (code, pending, severity, _code_history(snapshot, code))
        )
    findings = []
    for (rule_id, service_code), members in groups.items():
        members.sort(key=lambda m: (-m[3].reporting, m[0]))
        listed = members[:MAX_CODES_IN_EVIDENCE]
        severity = members[0][2]
        codes = [m[0] for m in listed]
        title = _code_tier(codes[0], members[0][1])[2]
        if len(members) > 1:
            title = f"{title.rsplit(' ', 1)[0]}s {', '.join(codes[:3])}" + (
                f" and {len(members) - 3} more" if len(members) > 3 else ""
            )
        findings.append(
            Finding(
                rule_id=rule_id,
                severity=severity,
                title=title,
                evidence={
                    "codes": [
                        {
                            "code": code,
                            "status": "pending" if pending else "confirmed",
                            "ignition_cycles_reporting": seen.reporting,
                            "first_reported_at": seen.first_reported_at.isoformat(),
                            "last_reported_at": seen.last_reported_at.isoformat(),
                        }
                        for code, pending, _, seen in listed
                    ],
                    "codes_total": len(members),
                    "codes_not_listed": len(members) - len(listed),
                    "ignition_cycles_total": max(total_cycles, 1),
                },
                recommended_action=(
                    "Stop driving if the engine runs rough; book diagnostics immediately."
                    if severity is Severity.CRITICAL
                    else "Book a diagnostic scan to read and resolve the fault codes."
                    if len(members) > 1
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


def _mid_sentence(name: str) -> str:
    """A service's name inside a sentence: "Oil and filter change" → "oil and filter change",
    but "12 V battery check" or an owner's "VW inspection" as written (lowering the whole
    name would make "12 v battery check")."""
    first_word = name.split(" ", 1)[0]
    return name[:1].lower() + name[1:] if first_word[1:].islower() else name


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
                recommended_action=f"Book {_mid_sentence(forecast.name)}.",
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


def later_evidence(snapshot: VehicleSnapshot, since: datetime) -> VehicleSnapshot:
    """The same snapshot restricted to telemetry after ``since`` (a service): raw readings
    after it, and rollups of the days after its day (its own day mixes before and after)."""
    raw_from = snapshot.raw_from
    return VehicleSnapshot(
        [r for r in snapshot.readings if r.timestamp > since],
        snapshot.now,
        (),
        snapshot.booking_lead_days,
        days=[d for d in snapshot.days if d.day > since.date()],
        raw_from=None if raw_from is None else max(raw_from, since),
    )


def after_services(
    report: HealthReport,
    snapshot: VehicleSnapshot,
    serviced_at: Mapping[str, datetime],
    rules: Sequence[Rule] = RULES,
) -> HealthReport:
    """Drop telemetry evidence older than the last service that addresses the finding.

    For each service code with a finding and a recorded service, the telemetry rules are
    re-run on the evidence after that service alone (:func:`later_evidence`), and only what
    they find for that code stays: a replaced battery resets its trend, a repaired cooling
    system its coolant history. Maintenance findings have their own reset (the interval).
    """
    telemetry_rules = [rule for rule in rules if rule is not maintenance_due]
    findings = list(report.findings)
    for code in {f.service_code for f in findings if f.rule_id != "maintenance.due"}:
        if code is None or code not in serviced_at:
            continue
        later = later_evidence(snapshot, serviced_at[code])
        rechecked = [
            f for f in evaluate_health(later, telemetry_rules).findings if f.service_code == code
        ]
        findings = [
            f for f in findings if f.service_code != code or f.rule_id == "maintenance.due"
        ] + rechecked
    if findings == report.findings:
        return report
    # Findings hold dicts (unhashable), so order by identity: keep the report's order.
    order = {id(f): i for i, f in enumerate(report.findings)}
    findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], order.get(id(f), len(order))))
    return HealthReport(score=score_for(findings), findings=findings)
