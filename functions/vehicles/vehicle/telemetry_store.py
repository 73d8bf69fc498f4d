"""Telemetry storage: one Firestore document per vehicle and UTC day, readings in a map.

``vehicles/{id}/telemetry_days/{YYYY-MM-DD}`` holds ``readings``: a map from the reading's
key to its packed string (both defined in :mod:`vehicle.codec`). Why this shape:

* **Cost does not grow with each reading.** A batch of 500 readings touches only the day
  documents it spans (usually 1–2): 1 write per day document + 1 write of the vehicle, in
  one atomic commit. What it reads:
  - **the fast path**, a batch newer than every stored reading (devices send in time
    order, so nearly every batch): the vehicle alone. Its ``telemetry_tail`` (the newest
    stored reading's key and that day's count, vehicle.telemetry_tail) says no stored
    reading can repeat one of the batch and how full its days are;
  - otherwise (a resend, a backlog out of order, a vehicle without a tail yet): the
    vehicle, then its day documents in one batched read (and, once per vehicle without a
    tail, its newest day document).
  Per 1,000 readings at one per 5 minutes (2 batches over ~3.5 days) that is about 2 reads
  and 7 writes on the fast path, against 1,000 writes for one document per reading.
* **One atomic commit, conditional on what was read** (optimistic concurrency): every
  write of the commit carries a precondition: the document's update time as read, or
  "does not exist" for a new day. On the fast path the day documents are not read; the
  vehicle's condition covers them, since every commit that adds readings rewrites the
  tail on that condition. A concurrent batch, health evaluation or deletion in between
  fails the whole commit (nothing is written) and the batch is read and judged again
  (``COMMIT_ATTEMPTS``, then 503 ``contention``), so no reading is lost or counted twice.
  The same guarantee as a read-write transaction, without its BeginTransaction round trip
  and server-side locks, which cost the emulator more than the batch's reads
  (docs/benchmarks.md, Vehicles); this instance's own requests still take turns per
  document (shared.locks), so only other instances race.
* **Bounded per request.** Before anything is read, vehicle.telemetry_quality.screen_batch
  refuses readings from the future or older than 30 days, readings with more than 20 fault
  codes, and readings beyond the batch's first 7 distinct days (each with a reason), so a
  batch costs at most 1 + 7 + 1 reads and 7 + 1 writes.
* **Per-day rollups** (vehicle.rollups). A day document may hold ``rollup``, the day's
  summary for the long-window health rules. :func:`evaluation_window` decodes the raw
  readings of the last days (summarising them on the way) and reads older days as rollups
  only (a projection query); an older day without a current rollup is summarised from its
  readings and written back (at most ``MAX_ROLLUP_REPAIRS`` per evaluation;
  migration 006 does every stored day, :func:`rollup_backfill`). So ingest never
  summarises: recomputing a day's rollup from all its readings for every batch that adds
  to it is work nothing reads while the day is recent. It stores ``rollup: null`` with the
  new readings instead, so no summary that misses them survives, and the first evaluation
  that reads the day as a rollup writes it, once.
* **Retries are idempotent.** A reading is identified by vehicle and timestamp: its map key.
  A re-sent reading finds its key already stored and is reported as a duplicate, not added.
* **Bounded documents.** Firestore's limit is 1 MiB per document; a stored reading is at
  most about 120 bytes (key included, every field and flag set), so ``MAX_READINGS_PER_DAY``
  (5,000, one per ~17 s all day) stays far below it. Readings beyond the cap are rejected
  with a per-reading reason (devices sampling faster should aggregate).
  ``firestore.indexes.json`` exempts ``readings`` from indexing: otherwise every map entry
  would count against the 40,000 index entries per document and slow every write.

The vehicle document carries the quality baseline: ``last_good_reading`` (the latest
unflagged stored reading, what new readings are compared with) and ``last_flagged_reading``
(a later flagged one awaiting confirmation), so a glitchy high odometer never becomes the
baseline that makes true readings look backwards.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as google_exceptions
from google.cloud import firestore

from shared import fast_reads, locks, logs
from shared.errors import NotFound
from shared.firestore import get_client
from shared.query_shapes import QueryShape, register
from shared.transactions import BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS, Contended
from shared.vehicle_documents import TELEMETRY_DAYS, vehicle_ref
from vehicle import day_writes, rollups, telemetry_tail
from vehicle.codec import (
    as_json,
    baseline,
    day_of,
    from_baseline,
    key_time,
    pack,
    reading_key,
    to_reading,
    unpack,
)
from vehicle.rollups import DayRollup
from vehicle.telemetry_quality import (
    BatchVerdict,
    Reading,
    ReadingStatus,
    ReadingVerdict,
    check_batch,
    screen_batch,
)

if TYPE_CHECKING:
    from google.cloud.firestore import WriteBatch

    from shared.firestore import Snapshot

# See the module docstring: ~0.6 MB at the cap, below the 1 MiB document limit.
MAX_READINGS_PER_DAY = 5000
# Days without a current rollup that one evaluation writes back (the others are summarised
# on the fly, and written by a later evaluation): bounds a GET's writes on old data.
MAX_ROLLUP_REPAIRS = 30
# A batch is read, judged and committed on the condition that what it read is unchanged;
# a lost race is read and judged again, this many times in all before answering 503
# ``contention`` (nothing written). This instance's own requests take turns per document
# (shared.locks), so only other instances race here.
COMMIT_ATTEMPTS = 8
# What a commit whose documents changed since they were read fails with: a document
# updated (update time precondition), created (it had to not exist) or deleted meanwhile.
CHANGED_MEANWHILE = (
    google_exceptions.FailedPrecondition,
    google_exceptions.Conflict,  # Aborted, AlreadyExists
    google_exceptions.NotFound,
)
# Fields an evaluation reads from a day it needs no raw readings of.
ROLLUP_FIELDS = ("day", "rollup")

DAY_RANGE_SHAPE, NEWEST_DAY_SHAPE = register(
    QueryShape(
        TELEMETRY_DAYS,
        order=(("day", "ASCENDING"),),
        description="telemetry day documents of one vehicle in a day range",
    ),
    QueryShape(
        TELEMETRY_DAYS,
        order=(("day", "DESCENDING"),),
        description="a vehicle's newest telemetry day document (its tail, once)",
    ),
)


@dataclass
class IngestResult:
    """What happened to a batch, and what it cost in Firestore operations."""

    verdicts: list[ReadingVerdict]
    reads: int = 0
    writes: int = 0
    days: list[str] = field(default_factory=list)
    accepted_readings: list[Reading] = field(default_factory=list)
    # The vehicle document as the batch read it (before this batch's changes).
    vehicle: dict[str, Any] = field(default_factory=dict)

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


def ingest(
    vehicle_id: str,
    readings: Sequence[Reading],
    now: datetime,
    *,
    visible: Callable[[Mapping[str, Any]], bool],
) -> IngestResult:
    """Judge and store one batch in one atomic commit (see the module docstring).

    ``visible(vehicle)`` is the caller's scope check, made on the vehicle as the batch
    reads it (so the request reads the vehicle once): False answers 404 like a missing one.
    """
    vehicle_doc = vehicle_ref(vehicle_id)
    days_ref = vehicle_doc.collection(TELEMETRY_DAYS)
    keys = [reading_key(r.timestamp) for r in readings]
    day_ids = [day_of(r.timestamp) for r in readings]
    admitted, refused = screen_batch(readings, now)
    days = sorted({day_ids[i] for i in admitted})
    day_refs = {day: days_ref.document(day) for day in days}
    client = get_client()
    lock_keys = [vehicle_doc.path, *(r.path for r in day_refs.values())]

    def store(vehicle_document: Any | None) -> tuple[IngestResult, WriteBatch | None]:
        """The verdicts, and the commit that stores them if what they were judged on is
        unchanged: the vehicle as read, and the day documents as read (or, on the fast
        path, as the vehicle's telemetry tail describes them)."""
        if vehicle_document is None:
            raise NotFound("The vehicle does not exist.")
        vehicle = fast_reads.decode(client, vehicle_document)
        if not visible(vehicle):
            raise NotFound("The vehicle does not exist.")
        tail = telemetry_tail.of_vehicle(vehicle)
        reads = 1
        stored: dict[str, set[str]] = {day: set() for day in days}
        # Update time per day document as read; None: it did not exist; UNREAD: not read.
        read_as: dict[str, Any] = dict.fromkeys(days, day_writes.UNREAD)
        known = telemetry_tail.counts_after(tail, (keys[i] for i in admitted), days)
        if known is not None:
            # The fast path: the whole batch is newer than everything stored, so no stored
            # reading can repeat one of it and the tail says how full its days are
            # (vehicle.telemetry_tail). The vehicle's condition covers the day documents:
            # every batch that stores readings rewrites the tail on that condition.
            counts = known
        else:
            counts = {}
            documents = _read(list(day_refs.values())) if day_refs else {}
            reads += len(day_refs)
            # Of a day document, only the keys of its readings are needed (duplicates are
            # found by key), its count and its update time: its stored values stay encoded.
            for day, ref in day_refs.items():
                document = documents.get(ref.path)
                if document is None:
                    counts[day], read_as[day] = 0, None
                    continue
                stored[day] = fast_reads.map_keys(document, "readings")
                count = document.fields.get("count")
                counts[day] = int(count.integer_value if count is not None else 0) or len(
                    stored[day]
                )
                read_as[day] = fast_reads.update_time_of(document)
            if tail is None and day_refs:
                tail = _newest_day_tail(days_ref)  # once per vehicle: see telemetry_tail
                reads += 1

        verdicts = _judge(readings, keys, day_ids, admitted, refused, stored, vehicle, now)
        result = IngestResult(verdicts=verdicts, reads=reads, vehicle=vehicle)

        # The day cap, in time order so the earliest readings of a full day are the ones kept.
        additions: dict[str, dict[str, Any]] = {}
        for index in sorted(
            (v.index for v in verdicts if v.accepted), key=lambda i: readings[i].timestamp
        ):
            day = day_ids[index]
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
        if not additions:
            return result, None
        # Readings to add mean days were admitted, and off the fast path the newest day
        # document then gave a vehicle without a tail its tail.
        assert tail is not None

        # Every write is conditional on its document being as read (optimistic
        # concurrency): a concurrent batch, health evaluation or deletion in between fails
        # the whole commit, and the batch is judged again on what is stored then.
        batch = client.batch()
        for day, entries in additions.items():
            # A merge of the new entries, ``rollup: null`` (summarised when first read as a
            # rollup, see the docstring), the count and ``updated_at``; built directly as
            # the protobuf the library would build, at a fraction of its CPU (day_writes).
            day_writes.add_to(
                batch,
                day_writes.merge_day(
                    day_refs[day], day, entries, counts[day], now, as_read=read_as[day]
                ),
            )
            result.writes += 1
            result.days.append(day)
        changes = _vehicle_changes(readings, verdicts, vehicle)
        # Always written, so the vehicle's write is never empty (even for a late batch, which
        # changes no baseline), and always on the condition that the vehicle is unchanged:
        # its baseline and its tail judged this batch.
        added = (key for entries in additions.values() for key in entries)
        changes[telemetry_tail.FIELD] = telemetry_tail.after_batch(tail, added, counts).as_field()
        batch.update(
            vehicle_doc,
            changes,
            option=client.write_option(
                last_update_time=fast_reads.update_time_of(vehicle_document)
            ),
        )
        result.writes += 1
        return result, batch

    for attempt in range(COMMIT_ATTEMPTS):
        with locks.holding(lock_keys):
            result, batch = store(_read([vehicle_doc]).get(vehicle_doc.path))
            if batch is None:
                return result
            try:
                batch.commit()
                return result
            except CHANGED_MEANWHILE:
                logs.warning("telemetry batch raced a write", attempt=attempt + 1)
        # Full jitter, outside the locks: spreads the retries of racing instances.
        time.sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))
    raise Contended()


def _read(refs: Sequence[Any]) -> dict[str, Any | None]:
    """Documents as they are now (one batched read), undecoded: the vehicle, then, off the
    fast path, the batch's day documents."""
    return fast_reads.read_raw(get_client(), refs)


def _newest_day_tail(days_ref: Any) -> telemetry_tail.Tail:
    """The tail of a vehicle that has none yet, from its newest day document."""
    newest = days_ref.order_by("day", direction=firestore.Query.DESCENDING).limit(1)
    for snapshot in newest.stream():
        data = snapshot.to_dict() or {}
        readings = data.get("readings") or {}
        count = data.get("count")
        return telemetry_tail.of_newest_day(readings, count if isinstance(count, int) else None)
    return telemetry_tail.NOTHING_STORED


def _summarize(day: str, stored: Mapping[str, Any]) -> DayRollup:
    """The rollup of one day document's readings (its map of packed strings)."""
    readings: list[Reading] = []
    flagged: list[bool] = []
    for key, value in stored.items():
        fields = unpack(value)
        readings.append(to_reading(key_time(key), fields))
        flagged.append(bool(fields.flags))
    return rollups.summarize_day(date.fromisoformat(day), readings, flagged)


def _judge(
    readings: Sequence[Reading],
    keys: Sequence[str],
    day_ids: Sequence[str],
    admitted: Sequence[int],
    refused: Mapping[int, ReadingVerdict],
    stored: Mapping[str, Collection[str]],
    vehicle: Mapping[str, Any],
    now: datetime,
) -> list[ReadingVerdict]:
    """Verdict per batch index: screened out, stored duplicates, then the quality checks."""
    verdicts: dict[int, ReadingVerdict] = dict(refused)
    fresh: list[int] = []
    for index in admitted:
        if keys[index] in stored[day_ids[index]]:
            verdicts[index] = ReadingVerdict(
                index, ReadingStatus.DUPLICATE, "a reading with this timestamp is already stored"
            )
        else:
            fresh.append(index)
    batch: BatchVerdict = check_batch(
        [readings[i] for i in fresh],
        from_baseline(vehicle.get("last_good_reading")),
        now,
        last_flagged=from_baseline(vehicle.get("last_flagged_reading")),
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
    vehicle: Mapping[str, Any],
) -> dict[str, Any]:
    """The vehicle document's new baseline, odometer and last reading time."""
    accepted = sorted(
        (v for v in verdicts if v.accepted), key=lambda v: readings[v.index].timestamp
    )
    good = from_baseline(vehicle.get("last_good_reading"))
    flagged = from_baseline(vehicle.get("last_flagged_reading"))
    # The latest of each kind wins; packed once, for the winner only.
    newest: dict[str, ReadingVerdict] = {}
    for verdict in accepted:
        reading = readings[verdict.index]
        if verdict.flags:
            if flagged is None or reading.timestamp > flagged.timestamp:
                flagged = reading
                newest["last_flagged_reading"] = verdict
        elif good is None or reading.timestamp > good.timestamp:
            good = reading
            newest["last_good_reading"] = verdict
    changes: dict[str, Any] = {
        name: baseline(readings[verdict.index], verdict.flags) for name, verdict in newest.items()
    }
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


def iter_days(vehicle_id: str, first_day: date, last_day: date) -> Iterator[Snapshot]:
    """Day document snapshots of one vehicle from ``first_day`` to ``last_day``, in order."""
    yield from _day_range(
        vehicle_ref(vehicle_id).collection(TELEMETRY_DAYS), first_day, last_day, None
    )


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


@dataclass
class EvaluationWindow:
    """What a health evaluation reads: raw readings of the last days, every day's rollup."""

    readings: list[Reading]  # from ``raw_from`` on, oldest first
    days: list[DayRollup]  # every day of the window that has readings, oldest first
    reads: int = 0
    writes: int = 0  # rollups written back (days stored before rollups existed)


def evaluation_window(
    vehicle_id: str, since: datetime, raw_from: datetime, now: datetime
) -> EvaluationWindow:
    """Rollups of the days from ``since`` and raw readings from ``raw_from`` (a UTC midnight).

    Two queries, run at the same time: the days before ``raw_from`` projected to their rollup
    (their readings are not transferred), the days from ``raw_from`` in full. Readings up to
    a day after ``now`` are included (devices' clocks may run a little ahead).
    """
    days_ref = vehicle_ref(vehicle_id).collection(TELEMETRY_DAYS)
    first_raw_day = raw_from.astimezone(UTC).date()
    last_day = now.astimezone(UTC).date() + timedelta(days=1)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="recent-days") as pool:
        recent = pool.submit(lambda: list(_day_range(days_ref, first_raw_day, last_day, None)))
        older = list(
            _day_range(
                days_ref,
                since.astimezone(UTC).date(),
                first_raw_day - timedelta(days=1),
                ROLLUP_FIELDS,
            )
        )
        recent_days = recent.result()
    window = EvaluationWindow(readings=[], days=[])
    missing: list[Snapshot] = []
    for snapshot in older:
        window.reads += 1
        data = snapshot.to_dict() or {}
        rollup = rollups.decode(_day_id(snapshot, data), data.get("rollup"))
        if rollup is None:
            missing.append(snapshot)
        else:
            window.days.append(rollup)
    if missing:
        repaired, reads, writes = _repair_rollups([s.reference for s in missing])
        window.days.extend(repaired)
        window.reads += reads
        window.writes += writes
        window.days.sort(key=lambda d: d.day)

    for snapshot in recent_days:
        window.reads += 1
        data = snapshot.to_dict() or {}
        day = _day_id(snapshot, data)
        stored: Mapping[str, Any] = data.get("readings") or {}
        decoded: list[Reading] = []
        flagged: list[bool] = []
        for key in sorted(stored, key=int):
            fields = unpack(stored[key])
            decoded.append(to_reading(key_time(key), fields))
            flagged.append(bool(fields.flags))
        window.readings.extend(r for r in decoded if r.timestamp >= raw_from)
        rollup = rollups.decode(day, data.get("rollup"))
        window.days.append(rollup or rollups.summarize_day(day, decoded, flagged))
    return window


def _day_id(snapshot: Snapshot, data: Mapping[str, Any]) -> date:
    return date.fromisoformat(str(data.get("day", snapshot.id)))


def _day_range(
    days_ref: Any, first_day: date, last_day: date, fields: Sequence[str] | None
) -> Iterator[Snapshot]:
    if last_day < first_day:
        return
    query = (
        days_ref.where(filter=firestore.FieldFilter("day", ">=", first_day.isoformat()))
        .where(filter=firestore.FieldFilter("day", "<=", last_day.isoformat()))
        .order_by("day")
    )
    if fields is not None:
        query = query.select(list(fields))
    try:
        yield from query.stream()
    except google_exceptions.NotFound:  # pragma: no cover - vehicle deleted meanwhile
        return


def _repair_rollups(
    refs: Sequence[Any], max_writes: int = MAX_ROLLUP_REPAIRS
) -> tuple[list[DayRollup], int, int]:
    """Summarise day documents that have no current rollup; write back up to
    ``max_writes`` of them. (rollups, reads, writes)

    Each write-back is conditional on the document being unchanged since it was read, so a
    concurrent ingest (which writes its own rollup) always wins; a lost race costs nothing
    but a later repair.
    """
    client = get_client()
    summaries: list[DayRollup] = []
    batch = client.batch()
    writes = 0
    reads = 0
    for snapshot in client.get_all(list(refs)):
        reads += 1
        if not snapshot.exists:
            continue
        data = snapshot.to_dict() or {}
        day = _day_id(snapshot, data)
        rollup = _summarize(day.isoformat(), data.get("readings") or {})
        summaries.append(rollup)
        if writes < max_writes:
            batch.update(
                snapshot.reference,
                {"rollup": rollups.encode(rollup)},
                option=client.write_option(last_update_time=snapshot.update_time),
            )
            writes += 1
    if writes:
        try:
            batch.commit()
        except (google_exceptions.FailedPrecondition, google_exceptions.NotFound):
            writes = 0  # a day changed meanwhile: its rollup is fresh; repair the rest later
    return summaries, reads, writes


def has_current_rollup(day_id: str, data: Mapping[str, Any]) -> bool:
    """Whether a stored day document (its ``day`` and ``rollup`` are enough) has a rollup of
    the current version."""
    day = date.fromisoformat(str(data.get("day", day_id)))
    return rollups.decode(day, data.get("rollup")) is not None


def rollup_backfill(day_id: str, data: Mapping[str, Any]) -> dict[str, str]:
    """The update that gives a stored day document (with its readings) a current rollup;
    ``{}`` when it has one. For the migration that backfills days stored before rollups
    (migrations/006_backfill_day_rollups.py), which writes it conditionally, as
    :func:`_repair_rollups` does."""
    if has_current_rollup(day_id, data):
        return {}
    day = str(data.get("day", day_id))
    return {"rollup": rollups.encode(_summarize(day, data.get("readings") or {}))}
