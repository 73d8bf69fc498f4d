"""Request metrics in one instance: what the pipeline records, how it is flushed to Firestore
(idempotently, one document per instance and hour), and the histogram percentiles merge on.

The cross-instance figures, with real processes, are tests/test_monitoring_instances.py.
"""

from __future__ import annotations

import gc
import json
import math
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import histogram, metrics
from shared.metrics import (
    COLLECTION,
    UNMATCHED_ROUTE,
    BucketRead,
    FirestoreBuckets,
    MinutesPayload,
    Recorder,
)
from shared.periodic import PeriodicPass

NOON = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)


@pytest.fixture
def use_recorder() -> Iterator[Any]:
    """``use_recorder(recorder)``: the pipeline records into it until the test ends."""

    def install(recorder: Recorder) -> Recorder:
        metrics.set_recorder(recorder)
        return recorder

    yield install
    metrics.reset_recorder()


class FlakyStore(FirestoreBuckets):
    """The real Firestore store, failing the next ``failures`` writes."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.writes = 0

    def write(self, instance: str, minutes: MinutesPayload, now: float) -> int:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("firestore unreachable")
        self.writes += 1
        return super().write(instance, minutes, now)


def stored_totals(read: BucketRead) -> dict[tuple[str, str], metrics.Cell]:
    totals: dict[tuple[str, str], metrics.Cell] = {}
    for stored in read.cells:
        totals.setdefault((stored.function, stored.route), metrics.Cell()).merge(stored.cell)
    return totals


# --- what the pipeline records ----------------------------------------------------------------


def test_requests_are_counted_per_route_template_never_per_raw_path(
    call: Any, use_recorder: Any
) -> None:
    recorder = use_recorder(Recorder(None, instance_id="memory"))
    probe = call("probe")
    for item in ("1", "2", "three"):
        assert probe.get(f"/api/probe/items/{item}").status_code == 200
    for path in ("/api/probe/nowhere", "/api/probe/../../etc/passwd", "/random/x"):
        assert probe.get(path).status_code == 404
    cells = recorder._minutes[max(recorder._minutes)]
    assert cells[("probe", "/items/<item_id>")].requests == 3
    assert cells[("probe", UNMATCHED_ROUTE)].requests == 3
    assert set(cells) == {("probe", "/items/<item_id>"), ("probe", UNMATCHED_ROUTE)}


def test_statuses_are_split_into_4xx_5xx_and_429(call: Any, use_recorder: Any) -> None:
    recorder = use_recorder(Recorder(None, instance_id="statuses"))
    probe = call("probe")
    client = {"REMOTE_ADDR": "10.99.0.7"}  # its own bucket of the probe's tight limit
    statuses = [probe.get("/api/probe/limited", environ_base=client).status_code for _ in range(7)]
    assert statuses.count(429) == 2  # the route's burst is 5
    assert probe.get("/api/probe/crash").status_code == 500
    assert probe.post("/api/probe/items", json={"name": ""}).status_code == 422
    total = recorder.totals()
    assert (total.requests, total.client_errors, total.server_errors) == (9, 3, 1)
    assert total.rate_limited == 2
    assert sum(total.histogram) == 9


def test_the_first_request_of_a_function_on_an_instance_is_its_cold_start(
    call: Any, use_recorder: Any
) -> None:
    recorder = use_recorder(Recorder(None, instance_id="cold"))
    for _ in range(3):
        call("probe").get("/api/probe/items/1")
        call("monitoring").get("/api/monitoring/health/live")
    assert recorder.totals().cold_starts == 2  # one per function, not per request


def test_the_recorded_latency_is_the_logged_one(
    call: Any, use_recorder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from shared.config import get_settings, reset_settings

    recorder = use_recorder(Recorder(None, instance_id="timing"))
    reset_settings(get_settings().model_copy(update={"log_level": "INFO"}))
    try:
        call("probe").get("/api/probe/slow?ms=25")
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    finally:
        reset_settings(None)
    (line,) = [entry for entry in lines if "httpRequest" in entry]
    logged = float(line["httpRequest"]["latency"].rstrip("s")) * 1000
    assert line["latency_ms"] == pytest.approx(logged, abs=0.001)
    assert recorder.totals().latency_ms_sum == pytest.approx(logged, abs=0.001)
    assert recorder.totals().histogram[histogram.bucket_of(logged)] == 1


def test_a_broken_recorder_never_fails_a_request(call: Any, use_recorder: Any) -> None:
    class Broken(Recorder):
        def record(self, function: str, route: str, status: int, seconds: float) -> None:
            raise RuntimeError("bookkeeping bug")

    use_recorder(Broken(None))
    assert call("probe").get("/api/probe/items/1").status_code == 200


def test_metrics_off_records_nothing(call: Any) -> None:
    from shared.config import Settings

    assert metrics.build_recorder(Settings(metrics="off")) is None
    assert metrics.build_recorder(Settings(metrics="memory")).store is None  # type: ignore[union-attr]
    assert isinstance(metrics.build_recorder(Settings()).store, FirestoreBuckets)  # type: ignore[union-attr]


# --- flushing ---------------------------------------------------------------------------------


def test_a_flush_writes_one_document_per_instance_and_hour(db: Any, pin_clock: Any) -> None:
    pin_clock(NOON)
    recorder = Recorder(FirestoreBuckets(), instance_id="inst-a", background=False)
    for status in (200, 200, 404, 503):
        recorder.record("vehicles", "/<vehicle_id>", status, 0.012)
    assert recorder.flush() == 1
    (document,) = [s for s in db.collection(COLLECTION).stream()]
    hour = int(NOON.timestamp() // 3600)
    assert document.id == f"inst-a.{hour}"
    data = document.to_dict()
    assert data["instance"] == "inst-a" and data["hour"] == hour
    assert data["expires_at"].timestamp() == (hour + 1) * 3600 + metrics.RETENTION_SECONDS
    minute = str(int(NOON.timestamp() // 60))
    cell = data["minutes"][minute]["vehicles"]["/<vehicle_id>"]
    assert (cell["n"], cell["e4"], cell["e5"], cell["r429"]) == (4, 1, 1, 0)
    assert sum(cell["h"]) == 4 and cell["ms"] == pytest.approx(48.0)


def test_flushing_again_never_counts_a_request_twice(db: Any, pin_clock: Any) -> None:
    pin_clock(NOON)
    recorder = Recorder(FirestoreBuckets(), instance_id="inst-b", background=False)
    for _ in range(5):
        recorder.record("auth", "/login", 200, 0.05)
    recorder.flush()
    recorder._dirty.add(int(NOON.timestamp() // 60))  # the same minute written once more
    recorder.flush()
    for _ in range(3):
        recorder.record("auth", "/login", 401, 0.05)
    recorder.flush()
    first = int(NOON.timestamp() // 60)
    totals = stored_totals(FirestoreBuckets().read(first, first))
    assert totals[("auth", "/login")].requests == 8
    assert totals[("auth", "/login")].client_errors == 3


def test_a_failed_flush_goes_out_with_the_next_one(db: Any, pin_clock: Any) -> None:
    pin_clock(NOON)
    store = FlakyStore(failures=1)
    recorder = Recorder(store, instance_id="inst-c", background=False)
    recorder.record("bookings", "/", 200, 0.01)
    with pytest.raises(ConnectionError):
        recorder.flush()
    recorder.record("bookings", "/", 200, 0.01)
    recorder.flush()
    minute = int(NOON.timestamp() // 60)
    assert stored_totals(FirestoreBuckets().read(minute, minute))[("bookings", "/")].requests == 2
    assert recorder.pending_minutes() == 0


def test_minutes_of_two_hours_go_to_two_documents_and_only_changed_minutes_are_written(
    db: Any, pin_clock: Any
) -> None:
    before_the_hour = datetime(2026, 11, 27, 11, 59, 50, tzinfo=UTC)
    pin_clock(before_the_hour)
    recorder = Recorder(FirestoreBuckets(), instance_id="inst-d", background=False)
    recorder.record("auth", "/me", 200, 0.01)
    pin_clock(NOON)
    recorder.record("auth", "/me", 200, 0.01)
    assert recorder.flush() == 2
    pin_clock(NOON.replace(second=50))
    recorder.record("auth", "/me", 500, 0.01)
    assert recorder.flush() == 1  # only the current minute changed
    read = FirestoreBuckets().read(
        int(before_the_hour.timestamp() // 60), int(NOON.timestamp() // 60)
    )
    assert read.documents == 2
    assert stored_totals(read)[("auth", "/me")].requests == 3


def test_a_clock_stepping_back_never_reopens_a_flushed_minute(db: Any, pin_clock: Any) -> None:
    pin_clock(NOON)
    recorder = Recorder(FirestoreBuckets(), instance_id="inst-e", background=False)
    recorder.record("auth", "/me", 200, 0.01)
    pin_clock(NOON.replace(minute=5))
    recorder.record("auth", "/me", 200, 0.01)
    recorder.flush()
    pin_clock(NOON.replace(minute=6))
    recorder.record("auth", "/me", 200, 0.01)  # minute 0 leaves memory once flushed
    recorder.flush()
    pin_clock(NOON)  # NTP stepped the clock back
    recorder.record("auth", "/me", 200, 0.01)
    recorder.flush()
    read = FirestoreBuckets().read(int(NOON.timestamp() // 60), int(NOON.timestamp() // 60) + 10)
    assert stored_totals(read)[("auth", "/me")].requests == 4


def test_flushed_minutes_leave_memory(pin_clock: Any) -> None:
    recorder = Recorder(None, instance_id="memory-bound")
    for minute in range(30):
        pin_clock(NOON.replace(minute=minute))
        recorder.record("auth", "/me", 200, 0.01)
    assert len(recorder._minutes) <= metrics.KEEP_MINUTES


def test_the_flush_thread_writes_on_its_timer_not_per_request(db: Any) -> None:
    store = FlakyStore()
    recorder = Recorder(store, interval=0.2, instance_id="timer")
    started = time.monotonic()
    for _ in range(200):
        recorder.record("vehicles", "/", 200, 0.001)
    deadline = time.monotonic() + 10
    while recorder.pending_minutes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert recorder.pending_minutes() == 0  # flushed by the thread
    assert store.writes <= (time.monotonic() - started) / 0.2 + 2


# --- the background pass itself (shared with the rate limiter) -------------------------------


class Owner:
    def __init__(self, interval: float, fail: bool = False) -> None:
        self.runs = 0
        self.fail = fail
        self.worker = PeriodicPass("test-pass", "test job", interval, self.job)

    def job(self) -> None:
        self.runs += 1
        if self.fail:
            raise ConnectionError("down")


def test_a_pass_that_fails_is_logged_and_retried(capsys: pytest.CaptureFixture[str]) -> None:
    owner = Owner(0.05, fail=True)
    owner.worker.ensure_running()
    deadline = time.monotonic() + 5
    while owner.runs < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert owner.runs >= 2 and owner.worker.failures >= 2
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert any(
        line["message"] == "test job failed" and line["background"] == "test-pass" for line in lines
    )


def test_the_thread_ends_when_its_owner_is_gone() -> None:
    owner = Owner(0.05)
    owner.worker.ensure_running()
    thread = owner.worker._thread
    assert thread is not None and thread.is_alive()
    del owner
    gc.collect()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_wake_runs_a_pass_before_the_interval() -> None:
    owner = Owner(30.0)
    owner.worker.ensure_running()
    owner.worker.wake()
    deadline = time.monotonic() + 5
    while owner.runs == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert owner.runs == 1


# --- the histogram ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_percentiles_of_merged_histograms_lie_in_the_true_percentiles_bucket(seed: int) -> None:
    rng = random.Random(seed)
    instances = [[rng.lognormvariate(3, 1.2) for _ in range(rng.randint(1, 400))] for _ in "abc"]
    merged = histogram.empty()
    for latencies in instances:
        counts = histogram.empty()
        for value in latencies:
            counts[histogram.bucket_of(value)] += 1
        histogram.add_into(merged, histogram.trimmed(counts))  # as stored, then summed
    everything = sorted(v for latencies in instances for v in latencies)
    for fraction in (0.5, 0.95, 0.99):
        rank = max(1, math.ceil(fraction * len(everything)))  # nearest rank
        true_value = everything[rank - 1]
        estimate = histogram.percentile(merged, fraction)
        assert estimate is not None
        assert histogram.bucket_of(estimate) == histogram.bucket_of(true_value)


def test_a_histogram_without_requests_has_no_percentile() -> None:
    assert histogram.percentile(histogram.empty(), 0.95) is None
    overflow = histogram.empty()
    overflow[-1] = 3
    assert histogram.percentile(overflow, 0.5) == histogram.LATENCY_BOUNDS_MS[-1]


def test_recording_from_many_threads_loses_nothing() -> None:
    recorder = Recorder(None, instance_id="threads")

    def hammer() -> None:
        for _ in range(2000):
            recorder.record("vehicles", "/", 200, 0.002)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert recorder.totals().requests == 16_000
