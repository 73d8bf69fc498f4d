"""What a run of readings says beyond its single values: engine starts, settled resting
readings, charging readings, ignition cycles, soak temperatures and load.

Pure (no Firestore). One definition of each fact, used twice: by the health rules on the
raw readings of the last days (vehicle.health_rules.VehicleSnapshot) and by the per-day
rollups written at ingest (vehicle.rollups). Every function takes readings **in time
order** and works in one linear pass (plus a binary search per engine start).

**History before the readings.** A reading's context can lie before the first reading
given: the engine may have run just before midnight, when the readings are one UTC day.
``known_from`` says from when the history is complete: a reading with no running reading
before it counts as settled only when it is at least the settle time after ``known_from``
(then the engine cannot have run within the settle time). ``None`` means "the readings are
all there is" (the whole stored history): no earlier running reading means settled.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from vehicle.telemetry_quality import Reading

# After the engine stops, surface charge keeps the voltage artificially high for a while;
# readings this soon after running would hide a weak battery.
RESTING_SETTLE_TIME = timedelta(minutes=30)
# Readings this close to the first engine-running sample belong to the start itself.
CRANK_WINDOW = timedelta(seconds=60)
# A start window holding a single sample means the device was not sampling fast enough to
# see the dip; that sample would be a running voltage, not a cranking one.
MIN_SAMPLES_IN_CRANK_WINDOW = 2
# After three hours off, coolant has cooled to (near) the air around the car: a coolant
# value then, or at the next cold start, is a usable outside temperature.
SOAK_TIME = timedelta(hours=3)
# Coolant needs about ten minutes of running to reach its regulated temperature; earlier
# values say how cold the engine was, not how well it is cooled.
WARM_UP_TIME = timedelta(minutes=10)
# Average speed between two running readings, as a proxy for engine load (no RPM or load
# values are reported): town, country road, motorway.
LOAD_BANDS: tuple[tuple[str, float], ...] = (("town", 0.0), ("road", 40.0), ("motorway", 90.0))


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


def crank_windows(ordered: Sequence[Reading]) -> tuple[list[CrankEvent], frozenset[int]]:
    """Engine starts, and the indices of readings that fall inside a start window."""
    seconds = [r.timestamp.timestamp() for r in ordered]
    window = CRANK_WINDOW.total_seconds()
    events: list[CrankEvent] = []
    in_window: set[int] = set()
    for i in range(1, len(ordered)):
        if ordered[i].engine_running and not ordered[i - 1].engine_running:
            low = bisect.bisect_left(seconds, seconds[i] - window)
            high = bisect.bisect_right(seconds, seconds[i] + window)
            in_window.update(range(low, high))
            if high - low >= MIN_SAMPLES_IN_CRANK_WINDOW:
                lowest = min(r.battery_voltage for r in ordered[low:high])
                events.append(CrankEvent(ordered[i].timestamp, lowest, high - low))
    return events, frozenset(in_window)


def settled_resting(
    ordered: Sequence[Reading],
    excluded: frozenset[int],
    known_from: datetime | None = None,
) -> list[Reading]:
    """Engine-off readings taken long enough after running, and not during a start."""
    settled: list[Reading] = []
    last_running_at: datetime | None = None
    for i, reading in enumerate(ordered):
        if reading.engine_running:
            last_running_at = reading.timestamp
        elif i in excluded:
            continue
        elif last_running_at is not None:
            if reading.timestamp - last_running_at >= RESTING_SETTLE_TIME:
                settled.append(reading)
        elif known_from is None or reading.timestamp - known_from >= RESTING_SETTLE_TIME:
            settled.append(reading)
    return settled


def charging(ordered: Sequence[Reading], excluded: frozenset[int]) -> list[Reading]:
    """Engine-running readings outside start windows (the cranking dip is not charging)."""
    return [r for i, r in enumerate(ordered) if r.engine_running and i not in excluded]


def ignition_cycles(ordered: Sequence[Reading]) -> list[IgnitionCycle]:
    """Runs of consecutive engine-running readings, with the codes each reported."""
    cycles: list[IgnitionCycle] = []
    run: list[Reading] = []
    for reading in [*ordered, None]:
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


def soak_temperatures(ordered: Sequence[Reading], known_from: datetime | None) -> list[float]:
    """Outside-temperature samples: reported ambient values when there are any; otherwise
    coolant values after ``SOAK_TIME`` engine-off (at rest, or at the next cold start)."""
    ambient = [r.ambient_temp_c for r in ordered if r.ambient_temp_c is not None]
    if ambient:
        return ambient
    samples: list[float] = []
    last_running_at: datetime | None = None
    previous_running = False
    for reading in ordered:
        if last_running_at is not None:
            soaked = reading.timestamp - last_running_at >= SOAK_TIME
        else:
            soaked = known_from is None or reading.timestamp - known_from >= SOAK_TIME
        # A running reading soaks only as the first of its cycle (a cold start).
        if soaked and not previous_running and reading.coolant_temp_c is not None:
            samples.append(reading.coolant_temp_c)
        if reading.engine_running:
            last_running_at = reading.timestamp
        previous_running = reading.engine_running
    return samples


def load_band(speed_kmh: float) -> str:
    """The load band (see ``LOAD_BANDS``) an average speed falls in."""
    name = LOAD_BANDS[0][0]
    for band, lowest in LOAD_BANDS:
        if speed_kmh >= lowest:
            name = band
    return name


def warm_coolant_by_load(ordered: Sequence[Reading]) -> dict[str, list[float]]:
    """Coolant values of warmed-up running readings, by load band.

    The band of a reading is the average speed since the previous running reading of the
    same cycle (odometer difference over time), so peaks are compared under similar load.
    """
    by_band: dict[str, list[float]] = {}
    cycle_start: datetime | None = None
    previous: Reading | None = None
    for reading in ordered:
        if not reading.engine_running:
            cycle_start, previous = None, None
            continue
        if cycle_start is None:
            cycle_start = reading.timestamp
        if (
            previous is not None
            and reading.coolant_temp_c is not None
            and reading.timestamp - cycle_start >= WARM_UP_TIME
        ):
            hours = (reading.timestamp - previous.timestamp).total_seconds() / 3600
            distance = reading.odometer_km - previous.odometer_km
            if hours > 0 and distance >= 0:
                by_band.setdefault(load_band(distance / hours), []).append(reading.coolant_temp_c)
        previous = reading
    return by_band
