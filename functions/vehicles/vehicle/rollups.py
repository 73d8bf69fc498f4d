"""Per-day rollups: what the long-window health rules need from one day of telemetry.

Pure (no Firestore). A day document ``vehicles/{id}/telemetry_days/{YYYY-MM-DD}`` carries
``rollup`` beside its readings: one compact JSON string (:func:`encode`), recomputed from
all of the day's readings by :func:`summarize_day` and written **in the same transaction
and the same write** as the readings it summarises (vehicle.telemetry_store), so it is
never stale. The health evaluation then decodes raw readings only for the last days
(vehicle.health.RAW_DAYS) and reads older days as rollups alone (a projection query that
does not even transfer their readings).

What a rollup holds, per UTC day:

* the daily points of the trend rules (vehicle.trend_rules): the median settled resting
  voltage and the day's outside temperature (ambient, or coolant after a long soak), the
  median of the starts' lowest voltages, the median charging voltage, and the 90th
  percentile of warmed-up coolant per load band;
* what the threshold rules look further back for (vehicle.health_rules): the highest
  unflagged odometer, the day's engine starts (capped), its last resting and charging
  readings, its ignition cycles with the fault codes they reported, and its last cycle.

**Day boundaries.** A rollup sees its own day only. A reading shortly after midnight whose
engine ran before midnight cannot be judged "settled" and is left out (see
vehicle.signals, ``known_from``); a drive across midnight is an ignition cycle on both days,
so the persistence counts of old fault codes may count it twice. The last days, where the
rules look closely, are evaluated from raw readings, where neither happens.

**Why a JSON string.** The Firestore client decodes every protobuf value and deep-copies a
document's maps twice; one string per day is decoded by ``json.loads`` in C. A reader that
finds no rollup, or one of another ``ROLLUP_VERSION``, computes it from the readings.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from vehicle import signals
from vehicle.telemetry_quality import Reading

ROLLUP_VERSION = 1

# Bounds that keep a rollup a few kilobytes whatever a day holds.
MAX_STARTS_PER_DAY = 48  # a taxi's day; the daily median still uses every start
MAX_CODES_PER_DAY = 40  # distinct fault codes remembered per day (most persistent first)
LAST_RESTING_KEPT = 3  # battery.resting_voltage looks at the last 3 settled readings
LAST_CHARGING_KEPT = 10  # battery.charging_voltage looks at the last 10 running readings
# A daily point needs this many readings behind it, or one odd sample would be a "day".
MIN_RESTING_PER_DAY = 3
MIN_CHARGING_PER_DAY = 5
MIN_COOLANT_PER_BAND = 3
COOLANT_PERCENTILE = 0.9  # "peak" without letting one glitchy sample be the peak


@dataclass(frozen=True)
class CodeSeen:
    """One fault code over a day: cycles that reported it and when the first began."""

    cycles: int
    first_at: datetime


@dataclass(frozen=True)
class DayRollup:
    """One UTC day of one vehicle's telemetry, summarised (see the module docstring)."""

    day: date
    readings: int
    odometer_km: float | None = None  # highest unflagged odometer
    resting_v: float | None = None  # median settled resting voltage
    resting_n: int = 0
    soak_temp_c: float | None = None  # median outside-temperature sample
    crank_v: float | None = None  # median of the starts' lowest voltages
    starts: tuple[signals.CrankEvent, ...] = ()  # capped at MAX_STARTS_PER_DAY
    start_count: int = 0
    charging_v: float | None = None  # median charging voltage
    charging_n: int = 0
    coolant_peaks: Mapping[str, tuple[float, int]] = field(default_factory=dict)
    last_resting: tuple[tuple[datetime, float], ...] = ()
    last_charging: tuple[tuple[datetime, float], ...] = ()
    cycles: int = 0
    codes: Mapping[str, CodeSeen] = field(default_factory=dict)
    last_cycle: signals.IgnitionCycle | None = None


def _percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def summarize_day(day: date, readings: Sequence[Reading], flagged: Sequence[bool]) -> DayRollup:
    """The rollup of one day from all of its readings (``flagged[i]`` for ``readings[i]``)."""
    if len(readings) != len(flagged):
        raise ValueError("one flag per reading")
    order = sorted(range(len(readings)), key=lambda i: readings[i].timestamp)
    ordered = [readings[i] for i in order]
    midnight = datetime.combine(day, time(), tzinfo=UTC)
    good = [readings[i].odometer_km for i in order if not flagged[i]]

    events, in_window = signals.crank_windows(ordered)
    settled = signals.settled_resting(ordered, in_window, known_from=midnight)
    running = signals.charging(ordered, in_window)
    temperatures = signals.soak_temperatures(ordered, known_from=midnight)
    cycles = signals.ignition_cycles(ordered)
    coolant = signals.warm_coolant_by_load(ordered)

    seen: dict[str, list[Any]] = {}
    for cycle in cycles:
        for code in cycle.confirmed | cycle.pending:
            entry = seen.setdefault(code, [0, cycle.started_at])
            entry[0] += 1
    kept = sorted(seen, key=lambda c: (-seen[c][0], seen[c][1], c))[:MAX_CODES_PER_DAY]

    return DayRollup(
        day=day,
        readings=len(readings),
        odometer_km=max(good) if good else None,
        resting_v=(
            statistics.median(r.battery_voltage for r in settled)
            if len(settled) >= MIN_RESTING_PER_DAY
            else None
        ),
        resting_n=len(settled),
        soak_temp_c=statistics.median(temperatures) if temperatures else None,
        crank_v=statistics.median(e.min_voltage for e in events) if events else None,
        starts=tuple(events[:MAX_STARTS_PER_DAY]),
        start_count=len(events),
        charging_v=(
            statistics.median(r.battery_voltage for r in running)
            if len(running) >= MIN_CHARGING_PER_DAY
            else None
        ),
        charging_n=len(running),
        coolant_peaks={
            band: (_percentile(values, COOLANT_PERCENTILE), len(values))
            for band, values in coolant.items()
            if len(values) >= MIN_COOLANT_PER_BAND
        },
        last_resting=tuple((r.timestamp, r.battery_voltage) for r in settled[-LAST_RESTING_KEPT:]),
        last_charging=tuple(
            (r.timestamp, r.battery_voltage) for r in running[-LAST_CHARGING_KEPT:]
        ),
        cycles=len(cycles),
        codes={code: CodeSeen(seen[code][0], seen[code][1]) for code in sorted(kept)},
        last_cycle=cycles[-1] if cycles else None,
    )


# --- stored form ----------------------------------------------------------------------------
# Times are whole seconds after the day's midnight (UTC); voltages kept to the millivolt,
# temperatures to 0.1 °C: what the rules and the evidence use, and a compact string.


def _volts(value: float) -> float:
    return round(value, 3)


def _celsius(value: float) -> float:
    return round(value, 1)


def encode(rollup: DayRollup) -> str:
    """The ``rollup`` field of a day document."""
    midnight = datetime.combine(rollup.day, time(), tzinfo=UTC)

    def at(moment: datetime) -> int:
        return int((moment - midnight).total_seconds())

    data: dict[str, Any] = {"v": ROLLUP_VERSION, "n": rollup.readings, "odo": rollup.odometer_km}
    data["rest"] = [
        None if rollup.resting_v is None else _volts(rollup.resting_v),
        rollup.resting_n,
        None if rollup.soak_temp_c is None else _celsius(rollup.soak_temp_c),
    ]
    data["crank"] = [
        None if rollup.crank_v is None else _volts(rollup.crank_v),
        rollup.start_count,
        [[at(e.at), _volts(e.min_voltage), e.samples] for e in rollup.starts],
    ]
    data["chg"] = [
        None if rollup.charging_v is None else _volts(rollup.charging_v),
        rollup.charging_n,
    ]
    data["cool"] = {band: [_celsius(p), n] for band, (p, n) in rollup.coolant_peaks.items()}
    data["lrest"] = [[at(t), _volts(v)] for t, v in rollup.last_resting]
    data["lchg"] = [[at(t), _volts(v)] for t, v in rollup.last_charging]
    data["cyc"] = rollup.cycles
    data["codes"] = {code: [s.cycles, at(s.first_at)] for code, s in rollup.codes.items()}
    last = rollup.last_cycle
    data["last"] = (
        None
        if last is None
        else [at(last.started_at), at(last.ended_at), sorted(last.confirmed), sorted(last.pending)]
    )
    return json.dumps(data, separators=(",", ":"))


def decode(day: date, text: Any) -> DayRollup | None:
    """A stored rollup, or None when there is none, it is of another version or damaged
    (the caller then computes it from the day's readings)."""
    if not isinstance(text, str):
        return None
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != ROLLUP_VERSION:
            return None
        return _from_data(day, data)
    except (ValueError, TypeError, KeyError, IndexError):
        return None


def _from_data(day: date, data: dict[str, Any]) -> DayRollup:
    midnight = datetime.combine(day, time(), tzinfo=UTC)

    def at(seconds: Any) -> datetime:
        return midnight + timedelta(seconds=int(seconds))

    rest_v, rest_n, soak = data["rest"]
    crank_v, start_count, starts = data["crank"]
    charging_v, charging_n = data["chg"]
    last = data["last"]
    return DayRollup(
        day=day,
        readings=int(data["n"]),
        odometer_km=None if data["odo"] is None else float(data["odo"]),
        resting_v=None if rest_v is None else float(rest_v),
        resting_n=int(rest_n),
        soak_temp_c=None if soak is None else float(soak),
        crank_v=None if crank_v is None else float(crank_v),
        starts=tuple(signals.CrankEvent(at(s), float(v), int(n)) for s, v, n in starts),
        start_count=int(start_count),
        charging_v=None if charging_v is None else float(charging_v),
        charging_n=int(charging_n),
        coolant_peaks={str(b): (float(p), int(n)) for b, (p, n) in data["cool"].items()},
        last_resting=tuple((at(s), float(v)) for s, v in data["lrest"]),
        last_charging=tuple((at(s), float(v)) for s, v in data["lchg"]),
        cycles=int(data["cyc"]),
        codes={str(c): CodeSeen(int(n), at(s)) for c, (n, s) in data["codes"].items()},
        last_cycle=(
            None
            if last is None
            else signals.IgnitionCycle(
                at(last[0]), at(last[1]), frozenset(last[2]), frozenset(last[3])
            )
        ),
    )
