"""The stored form of a telemetry reading: one packed string, and its key.

Pure (no Firestore). A day document ``vehicles/{id}/telemetry_days/{YYYY-MM-DD}`` holds
``readings``: a map from the reading's key (:func:`reading_key`, microseconds since the Unix
epoch as digits) to :func:`pack`'s string; the vehicle document's quality baseline
(``last_good_reading``, ``last_flagged_reading``) holds one ``{key, reading}`` each
(:func:`baseline`).

**Why one string per reading.** The health evaluation reads ~26,000 readings (90 days at one
per 5 min), and the client library decodes every protobuf value, then deep-copies the result
twice (in the snapshot and in to_dict): a nested map per reading made the read ~6x slower
than one string per reading, and it is ~25 bytes instead of ~100.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from vehicle.telemetry_quality import QualityFlag, Reading

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)

# Fields joined by "|", lists inside a field joined by ",". Neither character can occur in a
# value: numbers are decimal, DTC codes match telemetry_quality.DTC_PATTERN and flags are
# QualityFlag values (lower case and "_").
PACKED_SEPARATOR = "|"
PACKED_LIST_SEPARATOR = ","
# odometer, volts, running, coolant, dtc, pending, flags. A reader ignores fields after
# these, so a later version may append one without breaking instances still running this.
PACKED_FIELD_COUNT = 7
# Appended since: the ambient temperature, only when the reading has one (an 8th field), so
# readings without it keep their 7-field form and older readers skip it.
AMBIENT_FIELD = 7
RUNNING, NOT_RUNNING = "1", "0"


def reading_key(timestamp: datetime) -> str:
    """The map key of a reading: whole microseconds since the epoch (exact, digits only)."""
    return str((timestamp - EPOCH) // ONE_MICROSECOND)


def key_time(key: str) -> datetime:
    """The instant a reading key stands for."""
    return EPOCH + timedelta(microseconds=int(key))


def day_of(timestamp: datetime) -> str:
    """The id of the day document a reading at ``timestamp`` belongs to (UTC day)."""
    return timestamp.astimezone(UTC).date().isoformat()


def _number(value: float) -> str:
    """Shortest decimal that reads back as exactly the same float; ``42000``, not ``42000.0``."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def pack(reading: Reading, flags: Sequence[QualityFlag] = ()) -> str:
    """One reading as one string (see the module docstring for why).

    ``odometer|volts|running|coolant|dtc|pending|flags[|ambient]``, e.g.
    ``"42012.5|14.1|1|90|||"`` or ``"42012.5|12.3|0||P0301,P0420|P0171|implausible_speed"``:
    numbers as their shortest exact decimal (``repr``), running ``1``/``0``, an empty field
    for no coolant value, lists comma-separated and empty when there is nothing; the ambient
    temperature is appended only when the reading has one.
    """
    # One f-string rather than a join over a tuple: this runs for every reading ingested.
    sep, items = PACKED_SEPARATOR, PACKED_LIST_SEPARATOR
    coolant = reading.coolant_temp_c
    packed = (
        f"{_number(reading.odometer_km)}{sep}{_number(reading.battery_voltage)}{sep}"
        f"{RUNNING if reading.engine_running else NOT_RUNNING}{sep}"
        f"{'' if coolant is None else _number(coolant)}{sep}"
        f"{items.join(reading.dtc_codes)}{sep}{items.join(reading.dtc_pending)}{sep}"
        f"{items.join(flags)}"
    )
    if reading.ambient_temp_c is None:
        return packed
    return packed + PACKED_SEPARATOR + _number(reading.ambient_temp_c)


class StoredFields(NamedTuple):
    """One stored reading's values.

    A named tuple because it is built once per stored reading (26,000 per health
    evaluation) and a tuple is several times cheaper to build than a frozen dataclass.
    """

    odometer_km: float
    battery_voltage: float
    engine_running: bool
    coolant_temp_c: float | None
    dtc_codes: list[str]
    dtc_pending: list[str]
    flags: list[str]
    ambient_temp_c: float | None = None


def unpack(value: str) -> StoredFields:
    """A packed reading's values; ValueError when it is not one."""
    parts = value.split(PACKED_SEPARATOR)
    if len(parts) < PACKED_FIELD_COUNT:
        raise ValueError(f"a packed reading has {PACKED_FIELD_COUNT} fields: {value!r}")
    odometer, volts, running, coolant, codes, pending, flags = parts[:PACKED_FIELD_COUNT]
    ambient = parts[AMBIENT_FIELD] if len(parts) > AMBIENT_FIELD else ""
    # Inline rather than a helper: this runs for every stored reading.
    return StoredFields(
        float(odometer),
        float(volts),
        running == RUNNING,
        float(coolant) if coolant else None,
        codes.split(PACKED_LIST_SEPARATOR) if codes else [],
        pending.split(PACKED_LIST_SEPARATOR) if pending else [],
        flags.split(PACKED_LIST_SEPARATOR) if flags else [],
        float(ambient) if ambient else None,
    )


def to_reading(timestamp: datetime, fields: StoredFields) -> Reading:
    """Stored values back as a :class:`Reading`, without validating them again.

    Every stored reading passed Reading on ingest, and validating 26,000 of them per health
    evaluation would cost more than reading them.
    """
    return Reading.trusted(
        timestamp,
        fields.odometer_km,
        fields.battery_voltage,
        fields.engine_running,
        fields.coolant_temp_c,
        fields.dtc_codes,
        fields.dtc_pending,
        fields.ambient_temp_c,
    )


def decode(key: str, value: str) -> Reading:
    """A stored reading (its key and packed string) back as a :class:`Reading`."""
    return to_reading(key_time(key), unpack(value))


def as_json(key: str, value: str) -> dict[str, Any]:
    """A stored reading as the API shows it."""
    fields = unpack(value)
    return {
        "timestamp": key_time(key).isoformat(),
        "odometer_km": fields.odometer_km,
        "battery_voltage": fields.battery_voltage,
        "engine_running": fields.engine_running,
        "coolant_temp_c": fields.coolant_temp_c,
        "dtc_codes": fields.dtc_codes,
        "dtc_pending": fields.dtc_pending,
        "ambient_temp_c": fields.ambient_temp_c,
        "flags": fields.flags,
    }


def baseline(reading: Reading, flags: Sequence[QualityFlag] = ()) -> dict[str, str]:
    """A reading as the vehicle document's quality baseline keeps it: ``{key, reading}``."""
    return {"key": reading_key(reading.timestamp), "reading": pack(reading, flags)}


def from_baseline(value: Any) -> Reading | None:
    """The baseline's reading, or None when there is none (or it is not one)."""
    if not isinstance(value, Mapping) or not isinstance(value.get("reading"), str):
        return None
    return decode(str(value["key"]), value["reading"])
