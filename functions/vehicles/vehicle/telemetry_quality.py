"""Decide which incoming telemetry readings are trustworthy enough to store.

Three layers:

* :class:`Reading` validates one reading on its own (types, physical ranges, DTC code format).
* :func:`screen_batch` bounds what a batch may cost before anything is read: readings from
  the future or older than ``MAX_READING_AGE``, readings reporting more than
  ``MAX_FAULT_CODES_PER_READING`` fault codes, and readings beyond the first
  ``MAX_DAYS_PER_BATCH`` distinct days are refused, each with a reason (so one request
  touches at most ``MAX_DAYS_PER_BATCH`` day documents and opens at most a handful of
  alerts, whatever it carries).
* :func:`check_batch` judges a batch of readings against each other and against the last
  stored reading, returning a verdict per reading (by its index in the submitted batch).

Batch rules, applied in timestamp order (readings may arrive unordered):

* **Duplicate timestamps** - within the batch, the first reading submitted for a timestamp is
  kept and the others are reported as duplicates; a reading with the same timestamp as the
  last stored reading is a duplicate too (devices resend after a lost acknowledgement).
* **Future timestamps** - more than ``CLOCK_SKEW_ALLOWANCE`` (5 minutes) after ``now`` are
  rejected.
* **Odometer never goes backwards** - each reading is compared with the accepted reading just
  before it in time (the last stored reading counts); a lower odometer is rejected. A reading
  older than the last stored reading must also not exceed that stored odometer.
* **Implausible jumps are flagged, not rejected** - an implied average speed above
  ``MAX_PLAUSIBLE_SPEED_KMH`` (250 km/h) or a step above ``MAX_PLAUSIBLE_STEP_KM`` (2,000 km)
  between consecutive readings is accepted with a flag, because a long offline gap or a
  replaced instrument cluster can produce both legitimately; people review the flags.
* **A flagged reading is not a baseline until it is confirmed** - a glitchy too-high
  odometer accepted with a flag would otherwise make every true reading after it look
  "backwards". Later readings are compared with the last *unflagged* accepted reading; a
  reading that plausibly continues from the flagged one (not below it, no jump flag against
  it) confirms the jump (a real long gap or cluster swap) and becomes the new baseline.
  Across batches the caller passes the latest unflagged stored reading as ``last_known``
  and the latest flagged one after it, if any, as ``last_flagged``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

# The HTTP layer refuses bigger batches; exported so both sides agree on one number.
# 500 readings at one per 5 minutes is ~1.7 days of backlog per request.
MAX_BATCH = 500

# Device clocks drift and NTP may not have synced yet after power-up; 5 minutes tolerates
# that while still catching clocks set to the wrong day or year.
CLOCK_SKEW_ALLOWANCE = timedelta(minutes=5)

# A device that was offline for a month (parked at an airport, no coverage) still delivers
# its backlog. Older readings would rewrite history that alerts were already opened and
# resolved on, and would let one request reach day documents of any age.
MAX_READING_AGE = timedelta(days=30)

# The day documents one batch may touch: each is a read and a write in the ingest
# transaction. 500 readings at one per 5 minutes span ~2 days, at one per hour ~21 days:
# such a slow device sends its backlog in batches of a week.
MAX_DAYS_PER_BATCH = 7

# An ECU reports a handful of codes; a scan of every module (engine, gearbox, ABS, body) a
# dozen or so. Dozens of codes in one reading are a broken device or an attack: refused, so
# one reading cannot fan out into hundreds of findings.
MAX_FAULT_CODES_PER_READING = 20

# Faster than any road vehicle sustains on average between two readings; above it the
# odometer or the timestamp is probably wrong.
MAX_PLAUSIBLE_SPEED_KMH = 250.0

# More than a long day's drive in one step between consecutive readings suggests a glitch,
# a cluster swap or unit confusion (miles vs km).
MAX_PLAUSIBLE_STEP_KM = 2000.0

# Odometers report in whole or tenth kilometres; readings seconds apart can show a 1 km step
# that implies an absurd speed. This much distance is forgiven before computing speed.
ODOMETER_RESOLUTION_KM = 1.0

# Physical ranges for a 12 V or 24 V vehicle system and for engine coolant.
MIN_BATTERY_VOLTAGE = 0.0
MAX_BATTERY_VOLTAGE = 30.0  # 24 V trucks charge at ~28-29 V
MIN_COOLANT_TEMP_C = -60.0  # coldest inhabited climates at cold start
MAX_COOLANT_TEMP_C = 200.0  # beyond this the sensor, not the engine, has failed
MIN_AMBIENT_TEMP_C = -60.0  # as cold as inhabited places get
MAX_AMBIENT_TEMP_C = 60.0  # a car parked in desert sun; beyond it the sensor is wrong

# OBD-II (SAE J2012) diagnostic trouble code: system letter (Powertrain, Body, Chassis,
# network/U), a 0-3 code-type digit, then three hex characters.
DTC_PATTERN = re.compile(r"^[PBCU][0-3][0-9A-F]{3}$")


def is_valid_dtc(code: str) -> bool:
    """True when ``code`` (already upper-case) is a well-formed OBD-II trouble code."""
    return DTC_PATTERN.fullmatch(code) is not None


def _normalise_dtc_list(codes: list[str]) -> list[str]:
    """Upper-case, validate and de-duplicate codes, keeping the order they were reported in."""
    seen: dict[str, None] = {}
    for raw in codes:
        code = raw.strip().upper()
        if not is_valid_dtc(code):
            raise ValueError(
                f"{raw!r} is not a valid OBD-II fault code (expected e.g. P0301: "
                "a letter P/B/C/U, a digit 0-3, then three hex characters)"
            )
        seen[code] = None
    return list(seen)


Voltage = Annotated[float, Field(ge=MIN_BATTERY_VOLTAGE, le=MAX_BATTERY_VOLTAGE)]
CoolantTemp = Annotated[float, Field(ge=MIN_COOLANT_TEMP_C, le=MAX_COOLANT_TEMP_C)]
AmbientTemp = Annotated[float, Field(ge=MIN_AMBIENT_TEMP_C, le=MAX_AMBIENT_TEMP_C)]


class Reading(BaseModel):
    """One telemetry sample from a vehicle, validated on its own."""

    # Frozen so a reading cannot change after validation; NaN/inf are never physical values.
    # Unknown fields are ignored so newer device firmware can add fields without breaking;
    # the answer names them (vehicle.models.ignored_fields), so a misspelling is visible.
    model_config = ConfigDict(
        frozen=True,
        allow_inf_nan=False,
        extra="ignore",
        defer_build=True,
        json_schema_extra={
            "description": "One telemetry sample. Unknown fields are accepted and not "
            "stored; the answer lists them per reading in ignored_fields."
        },
    )

    timestamp: AwareDatetime = Field(
        description=(
            "When the sample was taken: ISO 8601 with an offset or Z. At most 5 minutes "
            "ahead of server time and 30 days old (older or later readings are refused)."
        ),
        examples=["2026-11-28T07:30:00Z"],
    )
    odometer_km: float = Field(
        ge=0,
        description=(
            "Odometer in kilometres (not miles), >= 0. Never lower than an earlier reading; "
            f"a jump above {MAX_PLAUSIBLE_STEP_KM:g} km or {MAX_PLAUSIBLE_SPEED_KMH:g} km/h "
            "is stored with a flag."
        ),
        examples=[42131.5],
    )
    battery_voltage: Voltage = Field(
        description=(
            f"12 V system voltage in volts, {MIN_BATTERY_VOLTAGE:g} to {MAX_BATTERY_VOLTAGE:g} "
            "(24 V trucks included)."
        ),
        examples=[12.55],
    )
    engine_running: bool = Field(
        description="Whether the engine (or an EV's drive system) was on: resting-voltage "
        "rules only use readings taken with it off.",
    )
    coolant_temp_c: CoolantTemp | None = Field(
        default=None,
        description=(
            f"Engine coolant in degrees Celsius, {MIN_COOLANT_TEMP_C:g} to "
            f"{MAX_COOLANT_TEMP_C:g}; null or absent when not reported."
        ),
        examples=[88.0],
    )
    dtc_codes: list[str] = Field(
        default_factory=list,
        description=(
            "Confirmed OBD-II diagnostic trouble codes (SAE J2012), e.g. P0301: a letter "
            "P/B/C/U, a digit 0-3, three hex characters; case-insensitive, duplicates "
            f"dropped. With dtc_pending at most {MAX_FAULT_CODES_PER_READING} per reading."
        ),
        examples=[["P0301"]],
    )
    dtc_pending: list[str] = Field(
        default_factory=list,
        description="Pending (not yet confirmed) OBD-II codes, same format as dtc_codes.",
        examples=[[]],
    )
    # Outside air, when the device or the car reports it: makes the battery trend
    # temperature-aware (cold lowers a battery's resting voltage).
    ambient_temp_c: AmbientTemp | None = Field(
        default=None,
        description=(
            f"Outside air in degrees Celsius, {MIN_AMBIENT_TEMP_C:g} to {MAX_AMBIENT_TEMP_C:g}; "
            "makes the battery trend temperature-aware. Null or absent when not reported."
        ),
        examples=[4.5],
    )

    @field_validator("timestamp")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        # One time zone everywhere makes ordering and storage unambiguous.
        return value.astimezone(UTC)

    @field_validator("dtc_codes", "dtc_pending")
    @classmethod
    def _check_codes(cls, value: list[str]) -> list[str]:
        return _normalise_dtc_list(value)

    @classmethod
    def trusted(
        cls,
        timestamp: datetime,
        odometer_km: float,
        battery_voltage: float,
        engine_running: bool,
        coolant_temp_c: float | None,
        dtc_codes: list[str],
        dtc_pending: list[str],
        ambient_temp_c: float | None = None,
    ) -> Reading:
        """A reading from values validated before (stored ones), without validating again.

        What ``model_construct`` does for this model, minus its generic per-field loop
        (aliases, defaults), which cost ~7 µs per reading: ~0.2 s of a health evaluation
        over 26,000 stored readings, against ~2 µs here. Every field must be given (the
        ambient temperature defaults to None) and already valid; tests/test_vehicles_codec.py
        checks the result equals a
        validated reading, so a pydantic upgrade that changes the model's internals fails
        there first.
        """
        reading = cls.__new__(cls)
        _set_attribute(
            reading,
            "__dict__",
            {
                "timestamp": timestamp,
                "odometer_km": odometer_km,
                "battery_voltage": battery_voltage,
                "engine_running": engine_running,
                "coolant_temp_c": coolant_temp_c,
                "dtc_codes": dtc_codes,
                "dtc_pending": dtc_pending,
                "ambient_temp_c": ambient_temp_c,
            },
        )
        _set_attribute(reading, "__pydantic_fields_set__", set(_READING_FIELDS))
        _set_attribute(reading, "__pydantic_extra__", None)  # extra="ignore": never any
        _set_attribute(reading, "__pydantic_private__", None)  # no private attributes
        return reading


# The model is frozen, so its own __setattr__ refuses; pydantic's model_construct sets the
# same four attributes with object.__setattr__ too.
_set_attribute = object.__setattr__
_READING_FIELDS = frozenset(Reading.model_fields)


class ReadingStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class QualityFlag(StrEnum):
    """Reasons an accepted reading deserves a second look."""

    IMPLAUSIBLE_SPEED = "implausible_speed"
    IMPLAUSIBLE_STEP = "implausible_odometer_step"


@dataclass(frozen=True)
class ReadingVerdict:
    """What happened to the reading at ``index`` in the submitted batch."""

    index: int
    status: ReadingStatus
    reason: str | None = None  # why it was rejected or is a duplicate; None when accepted
    flags: tuple[QualityFlag, ...] = ()
    flag_details: tuple[str, ...] = ()  # human-readable explanation per flag, same order

    @property
    def accepted(self) -> bool:
        return self.status is ReadingStatus.ACCEPTED


@dataclass(frozen=True)
class BatchVerdict:
    """Verdicts for a whole batch; ``verdicts[i]`` is about the batch's reading ``i``."""

    verdicts: tuple[ReadingVerdict, ...]
    # Accepted indices in timestamp order, which is the order to store them in.
    accepted_in_time_order: tuple[int, ...]

    @property
    def accepted_count(self) -> int:
        return len(self.accepted_in_time_order)

    @property
    def rejected(self) -> tuple[ReadingVerdict, ...]:
        return tuple(v for v in self.verdicts if v.status is ReadingStatus.REJECTED)

    @property
    def duplicates(self) -> tuple[ReadingVerdict, ...]:
        return tuple(v for v in self.verdicts if v.status is ReadingStatus.DUPLICATE)

    @property
    def flagged(self) -> tuple[ReadingVerdict, ...]:
        return tuple(v for v in self.verdicts if v.flags)


def _jump_flags(previous: Reading, current: Reading) -> tuple[list[QualityFlag], list[str]]:
    """Flag an implausible odometer increase from ``previous`` to ``current`` (later)."""
    flags: list[QualityFlag] = []
    details: list[str] = []
    step_km = current.odometer_km - previous.odometer_km
    if step_km > MAX_PLAUSIBLE_STEP_KM:
        flags.append(QualityFlag.IMPLAUSIBLE_STEP)
        details.append(
            f"odometer rose {step_km:.1f} km in one step (more than {MAX_PLAUSIBLE_STEP_KM:g} km)"
        )
    hours = (current.timestamp - previous.timestamp).total_seconds() / 3600
    countable_km = step_km - ODOMETER_RESOLUTION_KM
    if hours > 0 and countable_km > 0:
        speed_kmh = countable_km / hours
        if speed_kmh > MAX_PLAUSIBLE_SPEED_KMH:
            flags.append(QualityFlag.IMPLAUSIBLE_SPEED)
            details.append(
                f"odometer rose {step_km:.1f} km in {hours * 60:.1f} min, an average of "
                f"{speed_kmh:.0f} km/h (more than {MAX_PLAUSIBLE_SPEED_KMH:g} km/h)"
            )
    return flags, details


def fault_code_count(reading: Reading) -> int:
    """Distinct fault codes a reading reports, confirmed and pending together."""
    return len(set(reading.dtc_codes) | set(reading.dtc_pending))


def screen_batch(
    readings: Sequence[Reading], now: datetime
) -> tuple[list[int], dict[int, ReadingVerdict]]:
    """Bound a batch's cost before anything is read (see the module docstring).

    Returns the indices admitted to the quality checks (in batch order) and a rejection
    verdict for each refused index. The day cap keeps the earliest days: devices send their
    backlog oldest first, and a later batch carries on where this one stopped.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    latest_allowed = now + CLOCK_SKEW_ALLOWANCE
    oldest_allowed = now - MAX_READING_AGE
    refused: dict[int, ReadingVerdict] = {}
    candidates: list[int] = []
    for index, reading in enumerate(readings):
        reason: str | None = None
        if reading.timestamp > latest_allowed:
            reason = (
                f"timestamp {reading.timestamp.isoformat()} is in the future (more than "
                f"{CLOCK_SKEW_ALLOWANCE.total_seconds() / 60:g} min after server time)"
            )
        elif reading.timestamp < oldest_allowed:
            reason = (
                f"timestamp {reading.timestamp.isoformat()} is more than "
                f"{MAX_READING_AGE.days} days old; readings older than that are not accepted"
            )
        elif (codes := fault_code_count(reading)) > MAX_FAULT_CODES_PER_READING:
            reason = (
                f"the reading reports {codes} fault codes; at most "
                f"{MAX_FAULT_CODES_PER_READING} (confirmed and pending together) are accepted "
                "per reading"
            )
        if reason is None:
            candidates.append(index)
        else:
            refused[index] = ReadingVerdict(index, ReadingStatus.REJECTED, reason)
    days = sorted({readings[i].timestamp.astimezone(UTC).date() for i in candidates})
    if len(days) > MAX_DAYS_PER_BATCH:
        last_kept = days[MAX_DAYS_PER_BATCH - 1]
        for index in candidates:
            if readings[index].timestamp.astimezone(UTC).date() > last_kept:
                refused[index] = ReadingVerdict(
                    index,
                    ReadingStatus.REJECTED,
                    f"the batch spans more than {MAX_DAYS_PER_BATCH} days (UTC); readings "
                    f"after {last_kept.isoformat()} were not considered: send them in another "
                    "batch",
                )
    return [i for i in candidates if i not in refused], refused


def check_batch(
    readings: Sequence[Reading],
    last_known: Reading | None,
    now: datetime,
    last_flagged: Reading | None = None,
) -> BatchVerdict:
    """Judge each reading of a batch; see the module docstring for the rules.

    ``last_known`` is the latest trustworthy (unflagged) reading already stored for the
    vehicle (None for a new one); ``last_flagged`` is a flagged stored reading later than it
    whose jump is not yet confirmed. ``now`` must be timezone-aware.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    latest_allowed = now + CLOCK_SKEW_ALLOWANCE

    verdicts: dict[int, ReadingVerdict] = {}
    # Stable sort: among equal timestamps the first submitted stays first and is the one kept.
    time_order = sorted(range(len(readings)), key=lambda i: readings[i].timestamp)

    previous: Reading | None = None  # the accepted reading just before the current one in time
    # The latest flagged reading after ``previous``: a candidate baseline awaiting confirmation.
    suspect: Reading | None = None
    stored_anchor_used = last_known is None
    kept_timestamp: datetime | None = None
    kept_index: int | None = None
    accepted_order: list[int] = []

    for index in time_order:
        reading = readings[index]

        if kept_timestamp is not None and reading.timestamp == kept_timestamp:
            verdicts[index] = ReadingVerdict(
                index,
                ReadingStatus.DUPLICATE,
                f"same timestamp as reading {kept_index} in this batch; only the first "
                "reading submitted for a timestamp is considered",
            )
            continue
        kept_timestamp, kept_index = reading.timestamp, index

        if last_known is not None and reading.timestamp == last_known.timestamp:
            verdicts[index] = ReadingVerdict(
                index, ReadingStatus.DUPLICATE, "same timestamp as the last stored reading"
            )
            continue

        if reading.timestamp > latest_allowed:
            verdicts[index] = ReadingVerdict(
                index,
                ReadingStatus.REJECTED,
                f"timestamp {reading.timestamp.isoformat()} is in the future (more than "
                f"{CLOCK_SKEW_ALLOWANCE.total_seconds() / 60:g} min after server time)",
            )
            continue

        # The stored reading joins the timeline once we pass its timestamp.
        if not stored_anchor_used and last_known is not None:
            if reading.timestamp > last_known.timestamp:
                previous = last_known
                stored_anchor_used = True
                if last_flagged is not None and last_flagged.timestamp > last_known.timestamp:
                    suspect = last_flagged
            elif reading.odometer_km > last_known.odometer_km:
                verdicts[index] = ReadingVerdict(
                    index,
                    ReadingStatus.REJECTED,
                    f"odometer {reading.odometer_km:g} km is higher than the later stored "
                    f"reading's {last_known.odometer_km:g} km; odometers never go backwards",
                )
                continue

        if previous is not None and reading.odometer_km < previous.odometer_km:
            verdicts[index] = ReadingVerdict(
                index,
                ReadingStatus.REJECTED,
                f"odometer went backwards: {reading.odometer_km:g} km after "
                f"{previous.odometer_km:g} km at {previous.timestamp.isoformat()}",
            )
            continue

        flags: list[QualityFlag] = []
        details: list[str] = []
        if previous is not None:
            flags, details = _jump_flags(previous, reading)
        if (
            flags
            and suspect is not None
            and suspect.timestamp < reading.timestamp
            and reading.odometer_km >= suspect.odometer_km
            and not _jump_flags(suspect, reading)[0]
        ):
            # It continues plausibly from the flagged reading: that jump was real.
            flags, details = [], []
        verdicts[index] = ReadingVerdict(
            index, ReadingStatus.ACCEPTED, None, tuple(flags), tuple(details)
        )
        accepted_order.append(index)
        if flags:
            suspect = reading  # kept, but not trusted as the baseline yet
        else:
            previous, suspect = reading, None

    return BatchVerdict(
        verdicts=tuple(verdicts[i] for i in range(len(readings))),
        accepted_in_time_order=tuple(accepted_order),
    )
