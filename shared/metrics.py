"""Request metrics that hold across instances: per-minute buckets, flushed off the request path.

In serverless, one instance's memory is not the system. Every instance therefore records each
request it serves — in memory, a lock and a few additions, no I/O — into a bucket per
(minute, function, route template): requests, 4xx, 5xx, 429s, cold starts, the latency sum and
a latency histogram with fixed bounds (shared/histogram.py), so that a reader can add up any
set of instances and minutes and still read percentiles. Route *templates* (``/<vehicle_id>``),
never raw paths, keep the number of buckets bounded by the route table.

A daemon thread (shared/periodic.py, the one the local-first rate limiter uses) flushes the
buckets to Firestore every ``PMI_METRICS_FLUSH_SECONDS`` (5 s by default), or at the next
request once that much time has passed, and once more when the instance shuts down:

- **One document per (instance, hour)**, ``metric_buckets/{instance}.{hour}``, holding that
  instance's minutes of the hour in a map ``minutes.<epoch minute>.<function>.<route>``. Only
  its own instance writes it, at most once per flush interval: no document is hot.
- **Idempotent**: a flush *sets* each changed minute to the instance's cumulative counts for
  that minute (a merge write on the field path ``minutes.<minute>``), it never increments.
  Writing the same minute twice, or retrying a flush that failed half-way, cannot count a
  request twice. A reader adds different instances' documents, each request being in exactly
  one instance's memory.
- **What a dead instance loses** is what it recorded since its last successful flush (at most
  one flush interval of its requests, within at most two minutes' buckets); what it flushed
  stays.
- **Expiry**: each document carries ``expires_at`` (its hour's end plus two days), the field
  of the collection's TTL policy (firestore.indexes.json; docs/monitoring.md).

Cost: on the request path, no Firestore call; off it, one document write per flush interval
per instance while it serves traffic (two at an hour boundary), nothing while it is idle.
``PMI_METRICS=memory`` records without flushing (unit tests), ``off`` records nothing.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from shared import clock, histogram
from shared.config import Settings, get_settings
from shared.periodic import PeriodicPass
from shared.query_shapes import QueryShape, register

COLLECTION: Final = "metric_buckets"
(BUCKETS_OF_HOURS,) = register(
    QueryShape(
        COLLECTION,
        order=(("hour", "ASCENDING"),),
        description="every instance's metric documents of a range of hours (/stats/performance)",
    )
)
# The bucket of requests that matched no route (404s for unknown paths, CORS preflights):
# one bucket, whatever the path, so a scan of random URLs cannot create thousands.
UNMATCHED_ROUTE: Final = "(unmatched)"
# A document may be deleted this long after its hour ended (the widest window is 24 h).
RETENTION_SECONDS: Final = 2 * 86_400
# A flush must not hang on a slow Firestore; what it could not write goes out next time.
RPC_TIMEOUT_SECONDS: Final = 5.0
# Minutes kept in memory after they were flushed: the current and the previous one (a
# request that started in the previous minute may still finish into it).
KEEP_MINUTES: Final = 2
# While Firestore refuses every flush, unflushed minutes pile up; past this many the oldest
# are dropped (memory stays bounded; those requests are then lost, as a dead instance's are).
MAX_UNFLUSHED_MINUTES: Final = 60

# Field names inside a stored cell: short, because a busy hour holds thousands of them.
_REQUESTS, _4XX, _5XX, _429, _COLD, _LATENCY_SUM, _HISTOGRAM = (
    "n", "e4", "e5", "r429", "cold", "ms", "h",
)  # fmt: skip


@dataclass(slots=True)
class Cell:
    """What one instance saw of one route in one minute."""

    requests: int = 0
    client_errors: int = 0  # 4xx (429s included)
    server_errors: int = 0  # 5xx
    rate_limited: int = 0  # 429
    cold_starts: int = 0  # the instance's first request of this function
    latency_ms_sum: float = 0.0
    histogram: list[int] = field(default_factory=histogram.empty)

    def add(self, status: int, milliseconds: float, cold: bool) -> None:
        self.requests += 1
        if status >= 500:
            self.server_errors += 1
        elif status >= 400:
            self.client_errors += 1
            if status == 429:
                self.rate_limited += 1
        if cold:
            self.cold_starts += 1
        self.latency_ms_sum += milliseconds
        self.histogram[histogram.bucket_of(milliseconds)] += 1

    def merge(self, other: Cell) -> None:
        self.requests += other.requests
        self.client_errors += other.client_errors
        self.server_errors += other.server_errors
        self.rate_limited += other.rate_limited
        self.cold_starts += other.cold_starts
        self.latency_ms_sum += other.latency_ms_sum
        histogram.add_into(self.histogram, other.histogram)

    def to_document(self) -> dict[str, Any]:
        return {
            _REQUESTS: self.requests,
            _4XX: self.client_errors,
            _5XX: self.server_errors,
            _429: self.rate_limited,
            _COLD: self.cold_starts,
            _LATENCY_SUM: round(self.latency_ms_sum, 3),
            _HISTOGRAM: histogram.trimmed(self.histogram),
        }

    @classmethod
    def from_document(cls, data: Mapping[str, Any]) -> Cell:
        cell = cls(
            requests=int(data.get(_REQUESTS, 0)),
            client_errors=int(data.get(_4XX, 0)),
            server_errors=int(data.get(_5XX, 0)),
            rate_limited=int(data.get(_429, 0)),
            cold_starts=int(data.get(_COLD, 0)),
            latency_ms_sum=float(data.get(_LATENCY_SUM, 0.0)),
        )
        histogram.add_into(cell.histogram, list(data.get(_HISTOGRAM) or []))
        return cell


# minute -> function -> route -> stored cell
MinutesPayload = Mapping[int, Mapping[str, Mapping[str, Mapping[str, Any]]]]


@dataclass(frozen=True)
class StoredCell:
    """One cell as a reader finds it in Firestore."""

    instance: str
    minute: int  # minutes since the epoch (UTC)
    function: str
    route: str
    cell: Cell


@dataclass
class BucketRead:
    """What a read found: the cells, and how many documents it took (each a billed read)."""

    cells: list[StoredCell] = field(default_factory=list)
    documents: int = 0


class BucketStore(Protocol):
    """Where instances write their minutes and readers find them (Firestore in production)."""

    def write(self, instance: str, minutes: MinutesPayload, now: float) -> int:
        """Set each given minute of ``instance`` to its cells; returns documents written."""
        ...

    def read(self, first_minute: int, last_minute: int) -> BucketRead:
        """Every instance's cells of the minutes ``first_minute..last_minute``."""
        ...


class FirestoreBuckets:
    """Metric documents ``metric_buckets/{instance}.{hour}`` (see the module docstring)."""

    def write(self, instance: str, minutes: MinutesPayload, now: float) -> int:
        from shared.firestore import get_client

        client = get_client()  # first: it imports the library under its lock
        from google.cloud.firestore_v1.field_path import FieldPath

        by_hour: dict[int, dict[str, Any]] = {}
        for minute, cells in minutes.items():
            by_hour.setdefault(minute // 60, {})[str(minute)] = cells
        batch = client.batch()
        updated = datetime.fromtimestamp(now, tz=UTC)
        for hour, hour_minutes in by_hour.items():
            document = {
                "instance": instance,
                "hour": hour,
                "updated": updated,
                "expires_at": datetime.fromtimestamp((hour + 1) * 3600 + RETENTION_SECONDS, UTC),
                "minutes": hour_minutes,
            }
            # Only the minutes written now are replaced; the hour's other minutes stay.
            paths = ["instance", "hour", "updated", "expires_at"] + [
                FieldPath("minutes", key).to_api_repr() for key in hour_minutes
            ]
            reference = client.collection(COLLECTION).document(f"{instance}.{hour}")
            batch.set(reference, document, merge=paths)
        batch.commit(timeout=RPC_TIMEOUT_SECONDS)
        return len(by_hour)

    def read(self, first_minute: int, last_minute: int) -> BucketRead:
        """One query: the documents of the hours the minutes span (one per instance and hour)."""
        from shared.firestore import get_client

        collection = get_client().collection(COLLECTION)
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = collection.where(filter=FieldFilter("hour", ">=", first_minute // 60)).where(
            filter=FieldFilter("hour", "<=", last_minute // 60)
        )
        found = BucketRead()
        for snapshot in query.stream(retry=None, timeout=RPC_TIMEOUT_SECONDS):
            found.documents += 1
            data = snapshot.to_dict() or {}
            instance = str(data.get("instance", snapshot.id))
            for key, functions in (data.get("minutes") or {}).items():
                minute = int(key)
                if not first_minute <= minute <= last_minute or not isinstance(functions, dict):
                    continue
                for function, routes in functions.items():
                    for route, stored in (routes or {}).items():
                        cell = Cell.from_document(stored)
                        found.cells.append(StoredCell(instance, minute, function, route, cell))
        return found


class Recorder:
    """One instance's request metrics: recorded in memory, flushed by a background pass.

    ``store=None`` records without flushing (``PMI_METRICS=memory``). ``background=False``
    leaves flushing to the caller (:meth:`flush`), which tests use to control it.
    """

    def __init__(
        self,
        store: BucketStore | None,
        *,
        interval: float = 5.0,
        instance_id: str | None = None,
        background: bool = True,
        now: Callable[[], float] = clock.timestamp,
    ) -> None:
        self.store = store
        self.interval = interval
        self.instance_id = instance_id or uuid.uuid4().hex[:16]
        self.background = background and store is not None
        self._now = now
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # one flush at a time (thread, exit, tests)
        self._minutes: dict[int, dict[tuple[str, str], Cell]] = {}
        self._dirty: set[int] = set()
        self._latest_minute = 0
        self._started: set[str] = set()  # functions that served a request here
        self._last_flush = now()
        self.flushes = 0  # successful flushes that wrote something
        self.documents_written = 0
        self._worker = PeriodicPass(
            "pmi-metrics-flush",
            "metrics flush",
            interval,
            self.flush,
            final=self._flush_at_exit,
            after_fork=self._forget_parent_state,
        )

    # --- the request path -------------------------------------------------------------------

    def record(self, function: str, route: str, status: int, seconds: float) -> None:
        """Count one request: a lock and a few additions, no I/O."""
        if self.background:
            self._worker.ensure_running()
        now = self._now()
        minute = int(now // 60)
        milliseconds = seconds * 1000.0
        with self._lock:
            if minute > self._latest_minute:
                self._latest_minute = minute
                self._forget_old_minutes(minute)
            else:
                # The clock stepped back: never reopen a minute that may be flushed and gone
                # from memory (a fresh cell would overwrite its stored counts with fewer).
                minute = self._latest_minute
            cells = self._minutes.get(minute)
            if cells is None:
                cells = self._minutes[minute] = {}
            key = (function, route)
            cell = cells.get(key)
            if cell is None:
                cell = cells[key] = Cell()
            cold = function not in self._started
            if cold:
                self._started.add(function)
            cell.add(status, milliseconds, cold)
            self._dirty.add(minute)
            due = now - self._last_flush >= self.interval
        if due and self.background:
            # Overdue (CPU may be allocated only during requests): flush alongside this one.
            self._worker.wake()

    # --- flushing (off the request path) ------------------------------------------------------

    def flush(self) -> int:
        """Write every minute changed since the last flush; returns documents written.

        On failure the minutes stay marked as changed and go out with the next flush (their
        cumulative counts, so nothing is counted twice).
        """
        if self.store is None:
            return 0
        with self._flush_lock:
            with self._lock:
                self._last_flush = self._now()
                changed = sorted(self._dirty)
                self._dirty.clear()
                payload = {minute: _as_payload(self._minutes.get(minute, {})) for minute in changed}
            if not payload:
                return 0
            try:
                written = self.store.write(self.instance_id, payload, self._last_flush)
            except BaseException:
                with self._lock:
                    self._dirty.update(changed)
                raise
            self.flushes += 1
            self.documents_written += written
            return written

    def _flush_at_exit(self) -> None:
        if self.pending_minutes():
            self.flush()

    def _forget_old_minutes(self, current: int) -> None:
        """Drop minutes already flushed and no longer written to (lock held)."""
        for minute in [m for m in self._minutes if m <= current - KEEP_MINUTES]:
            if minute not in self._dirty or self.store is None:
                del self._minutes[minute]
                self._dirty.discard(minute)
        for minute in sorted(self._minutes)[:-MAX_UNFLUSHED_MINUTES]:
            del self._minutes[minute]
            self._dirty.discard(minute)

    def _forget_parent_state(self) -> None:
        """In a forked child: a new instance, whose first request is its cold start."""
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._minutes.clear()
        self._dirty.clear()
        self._started.clear()
        self.instance_id = uuid.uuid4().hex[:16]

    # --- inspection (tests, /metrics, the benchmark) -----------------------------------------

    def pending_minutes(self) -> int:
        """Minutes with requests not flushed yet."""
        with self._lock:
            return len(self._dirty)

    def totals(self) -> Cell:
        """Everything this instance holds in memory, merged (tests)."""
        total = Cell()
        with self._lock:
            for cells in self._minutes.values():
                for cell in cells.values():
                    total.merge(cell)
        return total

    def describe(self) -> dict[str, Any]:
        """How this instance records and flushes (GET /api/monitoring/metrics)."""
        return {
            "instance": self.instance_id,
            "mode": "memory" if self.store is None else "firestore",
            "flush_interval_seconds": self.interval,
            "flushes": self.flushes,
            "documents_written": self.documents_written,
            "flush_failures": self._worker.failures,
            "pending_minutes": self.pending_minutes(),
            "seconds_since_flush": round(max(0.0, self._now() - self._last_flush), 3),
        }


def _as_payload(cells: Mapping[tuple[str, str], Cell]) -> dict[str, dict[str, dict[str, Any]]]:
    payload: dict[str, dict[str, dict[str, Any]]] = {}
    for (function, route), cell in cells.items():
        payload.setdefault(function, {})[route] = cell.to_document()
    return payload


def merged(cells: Iterable[Cell]) -> Cell:
    total = Cell()
    for cell in cells:
        total.merge(cell)
    return total


# --- the instance's recorder ------------------------------------------------------------------

_recorder_lock = threading.Lock()
_recorder: Recorder | None = None
_recorder_built = False


def build_recorder(settings: Settings) -> Recorder | None:
    """The recorder ``PMI_METRICS`` asks for (None when metrics are off)."""
    if settings.metrics == "off":
        return None
    store = FirestoreBuckets() if settings.metrics == "firestore" else None
    return Recorder(store, interval=settings.metrics_flush_seconds)


def get_recorder() -> Recorder | None:
    """This instance's recorder, built on first use from the settings."""
    global _recorder, _recorder_built
    if not _recorder_built:
        with _recorder_lock:
            if not _recorder_built:
                _recorder = build_recorder(get_settings())
                _recorder_built = True
    return _recorder


def set_recorder(recorder: Recorder | None) -> None:
    """Replace this instance's recorder (tests and the benchmark)."""
    global _recorder, _recorder_built
    with _recorder_lock:
        _recorder = recorder
        _recorder_built = True


def reset_recorder() -> None:
    """Forget the recorder: the next request builds one from the settings again."""
    global _recorder, _recorder_built
    with _recorder_lock:
        _recorder = None
        _recorder_built = False
