"""Telemetry storage: one Firestore document per vehicle and UTC day, readings in a map.

``vehicles/{id}/telemetry_days/{YYYY-MM-DD}`` holds ``readings``: a map from the reading's
timestamp (microseconds since the Unix epoch, as a string of digits) to a compact reading.
Why this shape:

* **Cost does not grow with each reading.** A batch of 500 readings touches only the day
  documents it spans (usually 1–2): per batch, 1 read of the vehicle + 1 read per day
  document, and 1 write per day document + 1 write of the vehicle, in one transaction.
  Per 1,000 readings at one per 5 minutes (2 batches over ~3.5 days) that is about 7 reads
  and 7 writes, against 1,000 writes for one document per reading.
* **Retries are idempotent.** A reading is identified by vehicle and timestamp: its map key.
  A re-sent reading finds its key already stored and is reported as a duplicate, not added.
* **Bounded documents.** Firestore's limit is 1 MiB per document; a stored reading is at
  most about 150 bytes (key included, legacy map form), so ``MAX_READINGS_PER_DAY`` (5,000,
  one per ~17 s all day) stays below ~750 KB. Readings beyond the cap are rejected with a
  per-reading reason (devices sampling faster should aggregate). ``firestore.indexes.json``
  exempts ``readings`` from indexing: otherwise every map entry's fields would count against
  the 40,000 index entries per document and slow every write.
* **Packed values, cheap to read.** Each map value is one string,
  ``"odometer|volts|running|coolant|dtc|pending|flags"`` (see :func:`pack`), not a map of
  4–7 fields: the health evaluation reads ~26,000 readings (90 days at one per 5 min), and
  the client library decodes every protobuf value, then deep-copies the result twice (in
  the snapshot and in to_dict), so a nested map per reading made the read ~6x slower than
  one string per reading. Documents written
  before the packed form hold a map per reading (``{o, v, e, c?, d?, p?, f?}``); readers
  accept both (:func:`stored_fields`), even within one day document, so nothing is migrated.

The vehicle document carries the quality baseline: ``last_good_reading`` (the latest
unflagged stored reading, what new readings are compared with) and ``last_flagged_reading``
(a later flagged one awaiting confirmation), so a glitchy high odometer never becomes the
baseline that makes true readings look backwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from google.api_core import exceptions as google_exceptions
from google.cloud import firestore
from telemetry_quality import (
    BatchVerdict,
    QualityFlag,
    Reading,
    ReadingStatus,
    ReadingVerdict,
    check_batch,
)
from vehicle_store import TELEMETRY_DAYS, VEHICLES

from shared.errors import NotFound
from shared.firestore import get_client
from shared.query_shapes import QueryShape, register

# See the module docstring: ~750 KB at the cap, below the 1 MiB document limit.
MAX_READINGS_PER_DAY = 5000

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)

# The packed reading (see pack): fields joined by "|", lists inside a field joined by ",".
# Neither character can occur in a value: numbers are decimal, DTC codes match
# telemetry_quality.DTC_PATTERN and flags are QualityFlag values (lower case and "_").
PACKED_SEPARATOR = "|"
PACKED_LIST_SEPARATOR = ","
# odometer, volts, running, coolant, dtc, pending, flags. A reader ignores fields after
# these, so a later version may append one without breaking instances still running this.
PACKED_FIELD_COUNT = 7
RUNNING, NOT_RUNNING = "1", "0"

(DAY_RANGE_SHAPE,) = register(
    QueryShape(
        TELEMETRY_DAYS,
        order=(("day", "ASCENDING"),),
        description="telemetry day documents of one vehicle in a day range",
    )
)


def reading_key(timestamp: datetime) -> str:
    """The map key of a reading: whole microseconds since the epoch (exact, digits only)."""
    return str((timestamp - EPOCH) // ONE_MICROSECOND)


def key_time(key: str) -> datetime:
    return EPOCH + timedelta(microseconds=int(key))


def day_of(timestamp: datetime) -> str:
    return timestamp.astimezone(UTC).date().isoformat()


def encode(reading: Reading, flags: Sequence[QualityFlag] = ()) -> dict[str, Any]:
    """The map form: the vehicle's baseline readings, and day documents written before packing.

    Short names, because the names are repeated in every reading.
    """
    data: dict[str, Any] = {
        "o": reading.odometer_km,
        "v": reading.battery_voltage,
        "e": reading.engine_running,
    }
    if reading.coolant_temp_c is not None:
        data["c"] = reading.coolant_temp_c
    if reading.dtc_codes:
        data["d"] = list(reading.dtc_codes)
    if reading.dtc_pending:
        data["p"] = list(reading.dtc_pending)
    if flags:
        data["f"] = [str(flag) for flag in flags]
    return data


def _number(value: float) -> str:
    """Shortest decimal that reads back as exactly the same float; ``42000``, not ``42000.0``."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def pack(reading: Reading, flags: Sequence[QualityFlag] = ()) -> str:
    """The day documents' form of a reading: one string (see the module docstring for why).

    ``odometer|volts|running|coolant|dtc|pending|flags``, e.g. ``"42012.5|14.1|1|90|||"`` or
    ``"42012.5|12.3|0||P0301,P0420|P0171|implausible_speed"``: numbers as their shortest
    exact decimal (``repr``), running ``1``/``0``, an empty field for no coolant value, lists
    comma-separated and empty when there is nothing. About 25 bytes instead of ~100 as a map.
    """
    return PACKED_SEPARATOR.join(
        (
            _number(reading.odometer_km),
            _number(reading.battery_voltage),
            RUNNING if reading.engine_running else NOT_RUNNING,
            "" if reading.coolant_temp_c is None else _number(reading.coolant_temp_c),
            PACKED_LIST_SEPARATOR.join(reading.dtc_codes),
            PACKED_LIST_SEPARATOR.join(reading.dtc_pending),
            PACKED_LIST_SEPARATOR.join(str(flag) for flag in flags),
        )
    )


class StoredFields(NamedTuple):
    """One stored reading's values, whichever form it was stored in.

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


def stored_fields(value: str | Mapping[str, Any]) -> StoredFields:
    """Unpack a day-document value: the packed string, or the older map (both are stored)."""
    if isinstance(value, str):
        parts = value.split(PACKED_SEPARATOR)
        if len(parts) < PACKED_FIELD_COUNT:
            raise ValueError(f"a packed reading has {PACKED_FIELD_COUNT} fields: {value!r}")
        odometer, volts, running, coolant, codes, pending, flags = parts[:PACKED_FIELD_COUNT]
        # Inline rather than a helper: this runs for every stored reading.
        return StoredFields(
            float(odometer),
            float(volts),
            running == RUNNING,
            float(coolant) if coolant else None,
            codes.split(PACKED_LIST_SEPARATOR) if codes else [],
            pending.split(PACKED_LIST_SEPARATOR) if pending else [],
            flags.split(PACKED_LIST_SEPARATOR) if flags else [],
        )
    coolant_value = value.get("c")
    return StoredFields(
        float(value["o"]),
        float(value["v"]),
        bool(value["e"]),
        None if coolant_value is None else float(coolant_value),
        list(value.get("d") or ()),
        list(value.get("p") or ()),
        list(value.get("f") or ()),
    )


def decode(key: str, value: str | Mapping[str, Any]) -> Reading:
    """A stored reading back as a :class:`Reading` (validated on the way in, so trusted)."""
    return _reading(key_time(key), stored_fields(value))


def _reading(timestamp: datetime, fields: StoredFields) -> Reading:
    # No validation: every stored reading passed Reading on ingest, and validating 26,000
    # of them per health evaluation would cost more than reading them.
    return Reading.trusted(
        timestamp,
        fields.odometer_km,
        fields.battery_voltage,
        fields.engine_running,
        fields.coolant_temp_c,
        fields.dtc_codes,
        fields.dtc_pending,
    )


def as_json(key: str, value: str | Mapping[str, Any]) -> dict[str, Any]:
    fields = stored_fields(value)
    return {
        "timestamp": key_time(key).isoformat(),
        "odometer_km": fields.odometer_km,
        "battery_voltage": fields.battery_voltage,
        "engine_running": fields.engine_running,
        "coolant_temp_c": fields.coolant_temp_c,
        "dtc_codes": fields.dtc_codes,
        "dtc_pending": fields.dtc_pending,
        "flags": fields.flags,
    }


def _stored_reading(value: Any) -> Reading | None:
    if not isinstance(value, Mapping) or "key" not in value:
        return None
    return decode(str(value["key"]), value)


@dataclass
class IngestResult:
    """What happened to a batch, and what it cost in Firestore operations."""

    verdicts: list[ReadingVerdict]
    reads: int = 0
    writes: int = 0
    days: list[str] = field(default_factory=list)
    accepted_readings: list[Reading] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(v.status is ReadingStatus.ACCEPTED for v in self.verdicts)

    @property
    def rejected(self) -> list[ReadingVerdict]:
        return [v for v in self.verdicts if v.status is ReadingStatus.REJECTED]

    @property
    def http_status(self) -> int:
        """207 if any reading was refused, 201 if some were stored, 200 if all were known."""
        if self.rejected:
            return 207
        return 201 if self.accepted else 200

    def as_json(self) -> dict[str, Any]:
        return {
            "received": len(self.verdicts),
            "accepted": self.accepted,
            "flagged": [
                {
                    "index": v.index,
                    "flags": [str(f) for f in v.flags],
                    "details": list(v.flag_details),
                }
                for v in self.verdicts
                if v.accepted and v.flags
            ],
            "rejected": [{"index": v.index, "reason": v.reason} for v in self.rejected],
            "duplicates": [
                {"index": v.index, "reason": v.reason}
                for v in self.verdicts
                if v.status is ReadingStatus.DUPLICATE
            ],
            "days": self.days,
        }


def ingest(vehicle_id: str, readings: Sequence[Reading], now: datetime) -> IngestResult:
    """Judge and store one batch in one transaction (see the module docstring)."""
    client = get_client()
    vehicle_ref = client.collection(VEHICLES).document(vehicle_id)
    days_ref = vehicle_ref.collection(TELEMETRY_DAYS)
    keys = [reading_key(r.timestamp) for r in readings]
    days = sorted({day_of(r.timestamp) for r in readings})
    day_refs = {day: days_ref.document(day) for day in days}

    @firestore.transactional
    def store(transaction: Any) -> IngestResult:
        snapshots = list(client.get_all([vehicle_ref, *day_refs.values()], transaction=transaction))
        by_path = {s.reference.path: s for s in snapshots}
        vehicle_snapshot = by_path.get(vehicle_ref.path)
        if vehicle_snapshot is None or not vehicle_snapshot.exists:
            raise NotFound("The vehicle does not exist.")
        vehicle = vehicle_snapshot.to_dict() or {}
        stored: dict[str, Mapping[str, Any]] = {}
        counts: dict[str, int] = {}
        for day, ref in day_refs.items():
            snapshot = by_path.get(ref.path)
            data = (snapshot.to_dict() or {}) if snapshot is not None and snapshot.exists else {}
            stored[day] = data.get("readings") or {}
            counts[day] = int(data.get("count") or len(stored[day]))

        verdicts = _judge(readings, keys, stored, vehicle, now)
        result = IngestResult(verdicts=verdicts, reads=len(snapshots))

        # The day cap, in time order so the earliest readings of a full day are the ones kept.
        additions: dict[str, dict[str, Any]] = {}
        for index in sorted(
            (v.index for v in verdicts if v.accepted), key=lambda i: readings[i].timestamp
        ):
            day = day_of(readings[index].timestamp)
            if counts[day] >= MAX_READINGS_PER_DAY:
                verdicts[index] = ReadingVerdict(
                    index,
                    ReadingStatus.REJECTED,
                    f"the day {day} already holds {MAX_READINGS_PER_DAY} readings, the most "
                    "stored per vehicle and day; aggregate readings on the device",
                )
                continue
            counts[day] += 1
            additions.setdefault(day, {})[keys[index]] = pack(
                readings[index], verdicts[index].flags
            )
            result.accepted_readings.append(readings[index])

        for day, entries in additions.items():
            transaction.set(
                day_refs[day],
                {"day": day, "readings": entries, "count": counts[day], "updated_at": now},
                merge=True,
            )
            result.writes += 1
            result.days.append(day)
        if additions:
            transaction.update(vehicle_ref, _vehicle_changes(readings, verdicts, keys, vehicle))
            result.writes += 1
        return result

    return store(client.transaction())


def _judge(
    readings: Sequence[Reading],
    keys: Sequence[str],
    stored: Mapping[str, Mapping[str, Any]],
    vehicle: Mapping[str, Any],
    now: datetime,
) -> list[ReadingVerdict]:
    """Verdict per batch index: stored duplicates first, then the quality checks."""
    verdicts: dict[int, ReadingVerdict] = {}
    fresh: list[int] = []
    for index, reading in enumerate(readings):
        if keys[index] in stored[day_of(reading.timestamp)]:
            verdicts[index] = ReadingVerdict(
                index, ReadingStatus.DUPLICATE, "a reading with this timestamp is already stored"
            )
        else:
            fresh.append(index)
    batch: BatchVerdict = check_batch(
        [readings[i] for i in fresh],
        _stored_reading(vehicle.get("last_good_reading")),
        now,
        last_flagged=_stored_reading(vehicle.get("last_flagged_reading")),
    )
    for position, verdict in enumerate(batch.verdicts):
        index = fresh[position]
        verdicts[index] = ReadingVerdict(
            index, verdict.status, verdict.reason, verdict.flags, verdict.flag_details
        )
    return [verdicts[i] for i in range(len(readings))]


def _vehicle_changes(
    readings: Sequence[Reading],
    verdicts: Sequence[ReadingVerdict],
    keys: Sequence[str],
    vehicle: Mapping[str, Any],
) -> dict[str, Any]:
    """The vehicle document's new baseline, odometer and last reading time."""
    accepted = sorted(
        (v for v in verdicts if v.accepted), key=lambda v: readings[v.index].timestamp
    )
    good = _stored_reading(vehicle.get("last_good_reading"))
    flagged = _stored_reading(vehicle.get("last_flagged_reading"))
    changes: dict[str, Any] = {}
    for verdict in accepted:
        reading = readings[verdict.index]
        stored_form = {"key": keys[verdict.index], **encode(reading, verdict.flags)}
        if verdict.flags:
            if flagged is None or reading.timestamp > flagged.timestamp:
                flagged = reading
                changes["last_flagged_reading"] = stored_form
        elif good is None or reading.timestamp > good.timestamp:
            good = reading
            changes["last_good_reading"] = stored_form
    if flagged is not None and good is not None and flagged.timestamp <= good.timestamp:
        changes["last_flagged_reading"] = None  # superseded by a trusted later reading
    if "last_good_reading" in changes and good is not None:
        changes["odometer_km"] = good.odometer_km
        if good.odometer_km > float(vehicle.get("mileage_km") or 0):
            changes["mileage_km"] = good.odometer_km
    latest = readings[accepted[-1].index].timestamp if accepted else None
    previous_latest = vehicle.get("last_reading_at")
    if latest is not None and (previous_latest is None or latest > previous_latest):
        changes["last_reading_at"] = latest
    return changes


def iter_days(vehicle_id: str, first_day: date, last_day: date) -> Iterator[Any]:
    """Day document snapshots of one vehicle from ``first_day`` to ``last_day``, in order."""
    days_ref = get_client().collection(VEHICLES).document(vehicle_id).collection(TELEMETRY_DAYS)
    query = (
        days_ref.where(filter=firestore.FieldFilter("day", ">=", first_day.isoformat()))
        .where(filter=firestore.FieldFilter("day", "<=", last_day.isoformat()))
        .order_by("day")
    )
    try:
        yield from query.stream()
    except google_exceptions.NotFound:  # pragma: no cover - vehicle deleted meanwhile
        return


def readings_between(
    vehicle_id: str, start: datetime, end: datetime, after_key: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None, int]:
    """Up to ``limit`` readings in [start, end] after ``after_key``, the next key, docs read."""
    first_day = start.date() if after_key is None else max(start.date(), key_time(after_key).date())
    low = reading_key(start)
    high = reading_key(end)
    items: list[dict[str, Any]] = []
    docs = 0
    for snapshot in iter_days(vehicle_id, first_day, end.astimezone(UTC).date()):
        docs += 1
        stored: Mapping[str, Any] = (snapshot.to_dict() or {}).get("readings") or {}
        for key in sorted(stored, key=int):
            if int(key) < int(low) or int(key) > int(high):
                continue
            if after_key is not None and int(key) <= int(after_key):
                continue
            if len(items) == limit:
                return items, items[-1]["_key"], docs
            items.append({"_key": key, **as_json(key, stored[key])})
    return items, None, docs


def recent_readings(
    vehicle_id: str, since: datetime
) -> tuple[list[Reading], list[tuple[date, float]], int]:
    """Readings since ``since`` (oldest first), per-day odometer points, and docs read.

    The odometer points (day, highest unflagged odometer) feed the average daily distance.
    """
    readings: list[Reading] = []
    points: list[tuple[date, float]] = []
    docs = 0
    today = datetime.now(UTC).date()
    for snapshot in iter_days(vehicle_id, since.astimezone(UTC).date(), today + timedelta(days=1)):
        docs += 1
        data = snapshot.to_dict() or {}
        stored: Mapping[str, Any] = data.get("readings") or {}
        best: float | None = None
        for key in sorted(stored, key=int):
            fields = stored_fields(stored[key])
            timestamp = key_time(key)
            if timestamp >= since:
                readings.append(_reading(timestamp, fields))
            if not fields.flags:
                best = fields.odometer_km if best is None else max(best, fields.odometer_km)
        if best is not None:
            points.append((date.fromisoformat(str(data.get("day", snapshot.id))), best))
    return readings, points, docs
