"""Synthetic vehicles with a known failure day, and healthy look-alikes, for bench_lead_time.

Each scenario is a day-by-day model of one car: when it is parked and driven, its battery's
open-circuit voltage at 26.7 °C, how cold it is outside, its charging voltage and its
coolant temperature under load. :func:`day_readings` turns one day of the model into the
readings a telematics device would send: every 30 minutes while parked, every 5 minutes
while driving, and three samples around each engine start (the cranking dip).

The physics is deliberately simple and stated here, so the figures can be judged:

* resting voltage = the battery's open-circuit voltage at 26.7 °C, minus 6 mV per °C
  colder (the evaluation compensates with 4.3 mV/°C: the model is not the evaluation's own
  assumption), plus per-reading noise (uniform ±0.03 V) and, for the noisy look-alike, a
  per-day offset (uniform ±0.1 V);
* the lowest voltage of a start = 10.4 V − (12.65 V − open-circuit voltage at 26.7 °C)
  − 15 mV per °C below 10 °C, plus noise (uniform ±0.1 V): it reaches 9.6 V after the
  resting voltage has failed, so the battery scenarios' failure day is the resting one;
* coolant: the outside temperature at a cold start, then regulated at 90 °C, with load
  peaks on the road that the scenario sets (healthy ~97 °C), plus noise (uniform ±1.5 °C);
* a car driven twice a day (45 min at 8:00, 90 min at 17:00, ~60 km/h), parked otherwise.

A failure day is the first day the model's true value (noise-free, at 26.7 °C) crosses the
failure threshold the platform uses: 12.0 V resting, 13.7 V charging, 107 °C coolant.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

HEALTHY_OCV_V = 12.65
HEALTHY_CHARGING_V = 14.2
HEALTHY_ROAD_PEAK_C = 97.0
REGULATED_COOLANT_C = 90.0
MODEL_OCV_V_PER_C = 0.006  # the cold effect in the model (the evaluation assumes 0.0043)
DRIVES = ((time(8, 0), 45), (time(17, 0), 90))  # start, minutes
SPEED_KMH = 60.0
PARKED_STEP = timedelta(minutes=30)
DRIVING_STEP = timedelta(minutes=5)


def constant(value: float) -> Callable[[int], float]:
    return lambda day: value


HEALTHY_BATTERY = constant(HEALTHY_OCV_V)
MILD_WEATHER = constant(15.0)
HEALTHY_ALTERNATOR = constant(HEALTHY_CHARGING_V)
HEALTHY_COOLING = constant(HEALTHY_ROAD_PEAK_C)


@dataclass(frozen=True)
class Scenario:
    """One car over ``days`` days; each model function takes the day number (0 = first)."""

    name: str
    kind: str  # "degradation" or "look-alike"
    service_code: str  # the service a warning should name
    signal_rule: str  # the trend rule of the failing signal (its predicted date is checked)
    description: str
    days: int
    ocv_at_ref: Callable[[int], float] = HEALTHY_BATTERY
    outside_c: Callable[[int], float] = MILD_WEATHER
    charging_v: Callable[[int], float] = HEALTHY_ALTERNATOR
    road_peak_c: Callable[[int], float] = HEALTHY_COOLING
    day_offset_v: float = 0.0  # ± per-day offset of the resting voltage (noisy battery)
    day_offset_charging_v: float = 0.0
    day_offset_coolant_c: float = 0.0
    report_ambient: bool = False  # the device reports ambient_temp_c
    report_coolant_at_start: bool = True  # cold-start coolant known (outside temperature)
    failure_check: Callable[[int], bool] | None = None  # True from the failure day on
    weak_check: Callable[[int], bool] | None = None  # battery: below the 12.4 V band
    service_day: int | None = None  # a service record (the scenario's code) at noon
    seed: int = 1
    notes: list[str] = field(default_factory=list)

    def failure_day(self) -> int | None:
        return _first_day(self.failure_check, self.days)

    def weak_day(self) -> int | None:
        return _first_day(self.weak_check, self.days)


def _first_day(check: Callable[[int], bool] | None, days: int) -> int | None:
    if check is None:
        return None
    return next((d for d in range(days) if check(d)), None)


def day_readings(
    scenario: Scenario, day: int, start: datetime, odometer_km: float, rng: random.Random
) -> tuple[list[dict[str, Any]], float]:
    """One day's readings (oldest first) and the odometer at its end."""
    midnight = datetime.combine((start + timedelta(days=day)).date(), time(), tzinfo=UTC)
    outside = scenario.outside_c(day)
    ocv = scenario.ocv_at_ref(day) - MODEL_OCV_V_PER_C * max(0.0, 26.7 - outside)
    ocv += rng.uniform(-scenario.day_offset_v, scenario.day_offset_v)
    charging = scenario.charging_v(day) + rng.uniform(
        -scenario.day_offset_charging_v, scenario.day_offset_charging_v
    )
    peak = scenario.road_peak_c(day) + rng.uniform(
        -scenario.day_offset_coolant_c, scenario.day_offset_coolant_c
    )
    crank = 10.4 - (HEALTHY_OCV_V - scenario.ocv_at_ref(day)) - 0.015 * max(0.0, 10.0 - outside)
    ambient = outside if scenario.report_ambient else None

    readings: list[dict[str, Any]] = []

    def add(when: datetime, volts: float, running: bool, coolant: float | None) -> None:
        readings.append(
            {
                "timestamp": when.isoformat(),
                "odometer_km": round(odometer_km, 1),
                "battery_voltage": round(volts, 3),
                "engine_running": running,
                "coolant_temp_c": None if coolant is None else round(coolant, 1),
                "dtc_codes": [],
                **({} if ambient is None else {"ambient_temp_c": round(ambient, 1)}),
            }
        )

    moment = midnight
    for drive_start, minutes in DRIVES:
        start_at = datetime.combine(midnight.date(), drive_start, tzinfo=UTC)
        while moment < start_at - timedelta(minutes=1):
            add(moment, ocv + rng.uniform(-0.03, 0.03), False, None)
            moment += PARKED_STEP
        # The start: the dip two seconds before the engine runs, then running samples.
        add(start_at - timedelta(seconds=2), crank + rng.uniform(-0.1, 0.1), False, None)
        cold = outside if scenario.report_coolant_at_start else None
        add(start_at, charging, True, cold)
        add(start_at + timedelta(seconds=30), charging, True, cold)
        for step in range(1, minutes // 5 + 1):
            when = start_at + step * DRIVING_STEP
            odometer_km += SPEED_KMH * DRIVING_STEP.total_seconds() / 3600
            warm = min(1.0, step * 5 / 10)
            coolant = outside + (REGULATED_COOLANT_C - outside) * warm
            if warm >= 1.0:
                # Load peaks: most samples regulated, some at the road peak.
                coolant = peak if step % 3 == 0 else REGULATED_COOLANT_C + (peak - 90) * 0.5
            add(
                when,
                charging + rng.uniform(-0.03, 0.03),
                True,
                coolant + rng.uniform(-1.5, 1.5),
            )
        moment = start_at + timedelta(minutes=minutes + 30)
    end = midnight + timedelta(days=1)
    while moment < end:
        add(moment, ocv + rng.uniform(-0.03, 0.03), False, None)
        moment += PARKED_STEP
    return readings, odometer_km


def _linear(start: float, per_day: float, from_day: int = 0) -> Callable[[int], float]:
    return lambda day: start + per_day * max(0, day - from_day)


def _accelerating(start: float, fail: float, onset: int, fail_day: int) -> Callable[[int], float]:
    k = (start - fail) / (fail_day - onset) ** 2
    return lambda day: start - k * max(0, day - onset) ** 2


def _recovering(per_day: float, until: int) -> Callable[[int], float]:
    return lambda day: HEALTHY_OCV_V + per_day * day if day < until else HEALTHY_OCV_V


def _seasonal(warm: float, cold: float, days: int) -> Callable[[int], float]:
    # Autumn into winter: a cosine from warm to cold over the scenario.
    return lambda day: cold + (warm - cold) * (1 + math.cos(math.pi * day / days)) / 2


def _cold_snap(base: float, low: float, first: int, length: int) -> Callable[[int], float]:
    return lambda day: low if first <= day < first + length else base


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="battery, linear decay 0.015 V/day",
        kind="degradation",
        service_code="battery_check",
        signal_rule="trend.battery_resting_voltage",
        description="12.65 V falling 0.015 V/day (the issue's example)",
        days=70,
        ocv_at_ref=_linear(HEALTHY_OCV_V, -0.015),
        failure_check=lambda d: _linear(HEALTHY_OCV_V, -0.015)(d) < 12.0,
        weak_check=lambda d: _linear(HEALTHY_OCV_V, -0.015)(d) < 12.4,
        seed=11,
    ),
    Scenario(
        name="battery, linear decay, winter, ambient reported",
        kind="degradation",
        service_code="battery_check",
        signal_rule="trend.battery_resting_voltage",
        description="0.012 V/day while it gets colder (15 → 0 °C); device reports ambient",
        days=80,
        ocv_at_ref=_linear(HEALTHY_OCV_V, -0.012),
        outside_c=_seasonal(15.0, 0.0, 80),
        report_ambient=True,
        failure_check=lambda d: _linear(HEALTHY_OCV_V, -0.012)(d) < 12.0,
        weak_check=lambda d: _linear(HEALTHY_OCV_V, -0.012)(d) < 12.4,
        seed=12,
    ),
    Scenario(
        name="battery, accelerating decay",
        kind="degradation",
        service_code="battery_check",
        signal_rule="trend.battery_resting_voltage",
        description="healthy 20 days, then a quadratic fall reaching 12.0 V on day 75",
        days=90,
        ocv_at_ref=_accelerating(HEALTHY_OCV_V, 12.0, 20, 75),
        failure_check=lambda d: _accelerating(HEALTHY_OCV_V, 12.0, 20, 75)(d) < 12.0,
        weak_check=lambda d: _accelerating(HEALTHY_OCV_V, 12.0, 20, 75)(d) < 12.4,
        seed=13,
    ),
    Scenario(
        name="charging, slowly failing alternator",
        kind="degradation",
        service_code="charging_system",
        signal_rule="trend.charging_voltage",
        description="14.2 V falling 0.012 V/day from day 10",
        days=70,
        charging_v=_linear(HEALTHY_CHARGING_V, -0.012, from_day=10),
        failure_check=lambda d: _linear(HEALTHY_CHARGING_V, -0.012, 10)(d) < 13.7,
        seed=14,
    ),
    Scenario(
        name="cooling, drifting hotter",
        kind="degradation",
        service_code="cooling_system",
        signal_rule="trend.coolant_peak",
        description="road peaks 97 °C rising 0.2 °C/day from day 10",
        days=80,
        road_peak_c=_linear(HEALTHY_ROAD_PEAK_C, 0.2, from_day=10),
        failure_check=lambda d: _linear(HEALTHY_ROAD_PEAK_C, 0.2, 10)(d) > 107.0,
        seed=15,
    ),
    Scenario(
        name="battery, stable but noisy (±0.1 V a day)",
        kind="look-alike",
        service_code="battery_check",
        signal_rule="trend.battery_resting_voltage",
        description="12.6 V with a per-day offset uniform in ±0.1 V",
        days=90,
        ocv_at_ref=constant(12.6),
        day_offset_v=0.1,
        seed=21,
    ),
    Scenario(
        name="battery, seasonal cooling (temperature from cold starts)",
        kind="look-alike",
        service_code="battery_check",
        signal_rule="trend.battery_resting_voltage",
        description="healthy battery, 20 → −10 °C over 90 days (−0.18 V at the cold end)",
        days=90,
        outside_c=_seasonal(20.0, -10.0, 90),
        seed=22,
    ),
    Scenario(
        name="battery, cold snap, no temperature known",
        kind="look-alike",
        service_code="battery_check",
        signal_rule="trend.battery_resting_voltage",
        description="healthy battery, 6 days at −15 °C from day 40, no temperature reported",
        days=70,
        outside_c=_cold_snap(12.0, -15.0, 40, 6),
        report_coolant_at_start=False,
        seed=23,
    ),
    Scenario(
        name="battery, recovered (service record on day 25)",
        kind="look-alike",
        service_code="battery_check",
        signal_rule="trend.battery_resting_voltage",
        description="falls 0.02 V/day, charged at a workshop on day 25, healthy after",
        days=80,
        ocv_at_ref=_recovering(-0.02, 25),
        service_day=25,
        seed=24,
        notes=["false alarms counted after the service day only"],
    ),
    Scenario(
        name="battery, recharged at home (no record)",
        kind="look-alike",
        service_code="battery_check",
        signal_rule="trend.battery_resting_voltage",
        description="falls 0.02 V/day, charged by the owner on day 20, healthy after",
        days=70,
        ocv_at_ref=_recovering(-0.02, 20),
        seed=25,
        notes=["false alarms counted from 3 days after the recharge"],
    ),
    Scenario(
        name="charging, stable but noisy",
        kind="look-alike",
        service_code="charging_system",
        signal_rule="trend.charging_voltage",
        description="14.2 V with a per-day offset uniform in ±0.1 V",
        days=70,
        day_offset_charging_v=0.1,
        seed=26,
    ),
    Scenario(
        name="cooling, summer heat and noise",
        kind="look-alike",
        service_code="cooling_system",
        signal_rule="trend.coolant_peak",
        description="road peaks 97 °C +3 °C over 40 days (a summer), per-day ±2 °C",
        days=70,
        road_peak_c=lambda d: HEALTHY_ROAD_PEAK_C + 3.0 * min(1.0, d / 40),
        outside_c=lambda d: 18.0 + 12.0 * min(1.0, d / 40),
        day_offset_coolant_c=2.0,
        seed=27,
    ),
)


def counted_from(scenario: Scenario) -> int:
    """The first day whose alerts count as false alarms for a look-alike."""
    if scenario.service_day is not None:
        return scenario.service_day
    if scenario.name.startswith("battery, recharged"):
        return 23
    return 0
