"""Local-first rate limiting: admission from memory, reconciliation through Firestore, and
the overshoot bound ``b + r·W + (N − 1)·(b + 2·r·T)`` — in a simulation on one clock, and
with two real function processes sharing the emulator."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from process_testkit import start_probe

from shared.config import Settings
from shared.errors import TooManyRequests
from shared.ratelimit import FirestoreBackend, RateLimiter, RateLimitRule
from shared.ratelimit_local import (
    SHARDS_COLLECTION,
    FirestoreShards,
    LocalFirstBackend,
    Shard,
)
from shared.ratelimit_setup import build_limiter

ROOT = Path(__file__).resolve().parent.parent
RULE = RateLimitRule("local", per_minute=600, burst=5)  # 10 per second


class CountingShards(FirestoreShards):
    """The real Firestore store, counting the documents written and the queries run."""

    def __init__(self) -> None:
        self.written = 0
        self.reads = 0
        self.fail_next_publish = False

    def publish(self, shards: Sequence[Shard], now: float) -> None:
        if self.fail_next_publish:
            self.fail_next_publish = False
            raise ConnectionError("firestore unreachable")
        super().publish(shards, now)
        self.written += len(shards)

    def read(self, buckets: Sequence[str], since: float) -> list[Shard]:
        self.reads += 1
        return super().read(buckets, since)


def instance(store: FirestoreShards | None = None, name: str = "a") -> LocalFirstBackend:
    return LocalFirstBackend(0.5, store or FirestoreShards(), instance_id=name, background=False)


def test_requests_are_admitted_from_memory_without_firestore_calls(db: Any) -> None:
    store = CountingShards()
    backend = instance(store)
    decisions = [backend.take("ip:1", RULE, now=100.0 + i / 1000) for i in range(8)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 3
    assert (store.written, store.reads) == (0, 0)
    assert backend.pending_admissions() == 5


def test_a_busy_client_costs_at_most_one_write_per_interval(db: Any) -> None:
    store = CountingShards()
    backend = instance(store)
    busy = RateLimitRule("busy", per_minute=100_000, burst=2_000)
    now = 500.0
    for index in range(1000):  # 1,000 requests over 5 s, a pass every 0.5 s
        now = 500.0 + index * 0.005
        assert backend.take("user:busy", busy, now).allowed
        if index % 100 == 99:
            backend.sync(now, full=True)
    assert store.written == 10  # one shard write per interval: 10 per 1,000 requests
    assert backend.pending_admissions() == 0
    (shard,) = [s.to_dict() for s in db.collection(SHARDS_COLLECTION).stream()]
    assert shard["admitted"] == 1000 and shard["instance"] == "a"


SLOW = RateLimitRule("slow", per_minute=60, burst=5)  # 1 per second


def test_admissions_on_one_instance_are_taken_from_the_others(db: Any) -> None:
    first, second = instance(name="first"), instance(name="second")
    assert second.take("ip:7", SLOW, now=10.0).allowed  # the client is known to both
    second.sync(10.0, full=True)
    for _ in range(4):
        assert first.take("ip:7", SLOW, now=10.1).allowed
    first.sync(10.1, full=True)  # publishes its 4 admissions
    second.sync(10.2, full=True)  # reads them
    decision = second.take("ip:7", SLOW, now=10.2)
    # 5 − 1 − 4 + 0.2 s × 1/s = 0.2 tokens: refused, where this instance alone had 4.2.
    assert not decision.allowed
    assert decision.retry_after_seconds == pytest.approx(0.8)


def test_a_new_instance_starts_from_the_level_its_peers_published(db: Any) -> None:
    first, late = instance(name="first"), instance(name="late")
    for _ in range(5):
        assert first.take("ip:8", RULE, now=20.0).allowed
    first.sync(20.0, full=True)
    # The late instance admits its first request before its priming pass has run ...
    assert late.take("ip:8", RULE, now=20.05).allowed
    late.sync(20.06, full=False)
    # ... then knows the bucket is empty (in debt by that one request) and refuses.
    refused = late.take("ip:8", RULE, now=20.07)
    assert not refused.allowed
    assert refused.retry_after_seconds == pytest.approx((1 + 1 - 0.7) / 10, abs=0.02)


def test_an_idle_bucket_is_forgotten_and_comes_back_at_its_published_level(db: Any) -> None:
    backend = instance()
    for _ in range(5):
        backend.take("ip:9", SLOW, now=30.0)
    backend.sync(30.0, full=True)
    backend.sync(31.1, full=True)  # idle for more than two intervals: forgotten
    assert backend.bucket_count() == 0
    assert backend.take("ip:9", SLOW, now=31.1).allowed  # before its priming pass
    backend.sync(31.1, full=False)
    # Published level 0 at 30.0, + 1.1 s × 1/s, − the request just admitted = 0.1: refused.
    # Without the shard the client would have a fresh burst of 5 after 1.1 s of silence.
    assert not backend.take("ip:9", SLOW, now=31.1).allowed


def test_memory_stays_bounded_under_a_flood_of_new_clients() -> None:
    backend = LocalFirstBackend(0.5, instance_id="flood", background=False, max_buckets=100)
    for index in range(1000):
        backend.take(f"ip:{index}", RULE, now=40.0)
    assert backend.bucket_count() == 100


def test_a_failed_publish_is_retried_on_the_next_pass(db: Any) -> None:
    store = CountingShards()
    backend = instance(store)
    backend.take("ip:3", RULE, now=50.0)
    store.fail_next_publish = True
    with pytest.raises(ConnectionError):
        backend.sync(50.0, full=True)
    assert backend.pending_admissions() == 1
    backend.sync(50.6, full=True)
    assert backend.pending_admissions() == 0 and store.written == 1


def test_refusal_carries_retry_after_and_ratelimit_headers(db: Any) -> None:
    limiter = RateLimiter(instance())
    for _ in range(5):
        limiter.check("user:h", RULE, now=60.0)
    with pytest.raises(TooManyRequests) as raised:
        limiter.check("user:h", RULE, now=60.0)
    headers = raised.value.headers
    assert headers["Retry-After"] == "1"
    assert headers["RateLimit-Limit"] == "5"
    assert headers["RateLimit-Remaining"] == "0"
    assert headers["RateLimit-Reset"] == "1"  # 5 tokens at 10 per second
    assert headers["RateLimit-Policy"] == "5;w=1"


def test_sensitive_rules_stay_exact_in_firestore(db: Any) -> None:
    limiter = build_limiter(Settings(rate_limit_backend="local-first"))
    assert limiter is not None and isinstance(limiter.exact_backend, FirestoreBackend)
    login = RateLimitRule("login-exact", per_minute=10, burst=2, fail_mode="closed")
    limiter.check("ip:5", login)
    limiter.check("ip:5", RULE)
    (exact,) = [d.to_dict() for d in db.collection("rate_limits").stream()]
    assert exact["rule"] == "login-exact"  # written during the request; the other rule's not


def test_the_backends_are_chosen_by_setting() -> None:
    assert build_limiter(Settings(rate_limit_backend="off")) is None
    strict = build_limiter(Settings(rate_limit_backend="firestore"))
    assert strict is not None and isinstance(strict.backend, FirestoreBackend)
    default = build_limiter(Settings())
    assert default is not None and isinstance(default.backend, LocalFirstBackend)
    assert default.backend.interval == Settings().rate_limit_sync_seconds


def test_the_reconcile_thread_publishes_on_its_timer(db: Any) -> None:
    store = CountingShards()
    backend = LocalFirstBackend(0.2, store, instance_id="timer")
    started = time.monotonic()
    for _ in range(50):
        backend.take("ip:t", RateLimitRule("timer", per_minute=6000, burst=100), time.time())
    deadline = time.monotonic() + 10
    while backend.pending_admissions() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert backend.pending_admissions() == 0  # published by the thread, not by a request
    elapsed = time.monotonic() - started
    assert store.written <= elapsed / 0.2 + 1  # at most one write per interval, not per request


def test_the_reconcile_thread_never_keeps_a_process_alive(db: Any, emulator: Any) -> None:
    script = (
        "import time\n"
        "from shared.ratelimit import RateLimitRule\n"
        "from shared.ratelimit_local import LocalFirstBackend\n"
        "backend = LocalFirstBackend(30.0, instance_id='leaving')\n"
        "backend.take('ip:x', RateLimitRule('exit', per_minute=60, burst=5), time.time())\n"
        "print('done', flush=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FIRESTORE_EMULATOR_HOST": emulator.address}
    finished = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 0, finished.stderr
    # The 30 s timer never fired; what the process admitted was published as it exited.
    (shard,) = [s.to_dict() for s in db.collection(SHARDS_COLLECTION).stream()]
    assert shard["instance"] == "leaving" and shard["admitted"] == 1


# --- the overshoot bound ------------------------------------------------------------------


def most_in_any_window(times: list[float], rate: float, allowance: float) -> float:
    """max over windows [t_i, t_j] of admitted − (allowance + rate·(t_j − t_i))."""
    ordered = sorted(times)
    worst = float("-inf")
    for i, start in enumerate(ordered):
        for j in range(i, len(ordered)):
            worst = max(worst, (j - i + 1) - (allowance + rate * (ordered[j] - start)))
    return worst


@pytest.mark.parametrize(("instances", "late_joiner"), [(2, False), (3, True)])
def test_overshoot_stays_within_the_stated_bound(
    db: Any, instances: int, late_joiner: bool
) -> None:
    interval, rule = 0.5, RateLimitRule("sim", per_minute=600, burst=8)
    rate, burst = rule.refill_per_second, rule.burst
    rng = random.Random(instances)
    backends = [instance(name=f"sim-{n}") for n in range(instances)]
    # Each instance runs its passes on its own phase, as real instances do.
    next_pass = [rng.uniform(0, interval) for _ in backends]
    admitted: list[float] = []
    start, step, duration = 1000.0, 0.01, 8.0
    now = start
    while now < start + duration:
        for number, backend in enumerate(backends):
            if late_joiner and number == len(backends) - 1 and now < start + 4.0:
                continue  # the last instance starts serving the client halfway through
            for _ in range(rng.randint(0, 2)):  # ~100 requests/s per instance, 10/s allowed
                if backend.take("user:sim", rule, now).allowed:
                    admitted.append(now)
            if now >= start + next_pass[number]:
                backend.sync(now, full=True)
                next_pass[number] += interval
            elif backend.needs_priming:
                backend.sync(now, full=False)  # the thread primes a new client at once
        now += step
    overshoot_allowed = (instances - 1) * (burst + 2 * rate * interval)
    excess = most_in_any_window(admitted, rate, burst + overshoot_allowed)
    assert excess <= 0, (excess, len(admitted))
    # Reconciliation works: far below what independent per-instance buckets would admit ...
    assert len(admitted) < instances * (burst + rate * duration) * 0.75
    # ... and the client still gets its rate (nothing is counted twice).
    assert len(admitted) >= rate * duration


# --- two real processes ---------------------------------------------------------------------


def _start_probe(
    port: int, emulator: Any, log: Path, interval: float = 0.25
) -> subprocess.Popen[bytes]:
    """The probe with the local-first limit (10 per second, burst 5), reconciling every
    ``interval`` seconds."""
    return start_probe(
        port,
        emulator,
        log,
        PMI_RATE_LIMIT_BACKEND="local-first",
        PMI_RATE_LIMIT_SYNC_SECONDS=str(interval),
        PMI_RATE_LIMIT_PER_MINUTE="600",
        PMI_RATE_LIMIT_BURST="5",
    )


TWO_PROCESS_INTERVAL = 0.25


@pytest.mark.slow
def test_a_function_process_publishes_its_admissions_when_it_shuts_down(
    db: Any, emulator: Any, tmp_path: Path
) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from emulator import stop_process_group
    from stack import free_port, wait_http

    port = free_port()
    # A 60 s interval: no pass is due while it runs, so only the exit can publish.
    process = _start_probe(port, emulator, tmp_path / "probe.log", interval=60.0)
    try:
        wait_http(f"http://127.0.0.1:{port}/", 60, process)
        for index in range(3):
            url = f"http://127.0.0.1:{port}/api/probe/items/{index}"
            assert requests.get(url, timeout=30).status_code == 200
        assert list(db.collection(SHARDS_COLLECTION).stream()) == []
    finally:
        stop_process_group(process)  # SIGTERM, as Cloud Run sends before it stops an instance
    (shard,) = [s.to_dict() for s in db.collection(SHARDS_COLLECTION).stream()]
    assert shard["admitted"] == 3


@pytest.mark.slow
def test_limit_holds_across_two_processes_within_the_bound(
    db: Any, emulator: Any, tmp_path: Path
) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from emulator import stop_process_group
    from stack import free_port, wait_http

    rate, burst, duration = 10.0, 5, 4.0
    ports = [free_port(), free_port()]
    processes = [
        _start_probe(p, emulator, tmp_path / f"probe-{p}.log", TWO_PROCESS_INTERVAL) for p in ports
    ]
    statuses: Counter[int] = Counter()
    refusals: list[requests.Response] = []
    lock = threading.Lock()
    try:
        for port, process in zip(ports, processes, strict=True):
            wait_http(f"http://127.0.0.1:{port}/", 60, process)
        sessions = [requests.Session() for _ in range(4)]
        started = time.monotonic()

        def hammer(worker: int) -> None:
            index = 0
            while time.monotonic() - started < duration:
                port = ports[(worker + index) % 2]
                response = sessions[worker].get(
                    f"http://127.0.0.1:{port}/api/probe/items/{index}",
                    headers={"X-Forwarded-For": "203.0.113.9"},  # one client, one bucket
                    timeout=30,
                )
                index += 1
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code == 429 and len(refusals) < 5:
                        refusals.append(response)

        with ThreadPoolExecutor(max_workers=4) as pool:  # far above 10/s, light on 2 cores
            list(pool.map(hammer, range(4)))
        elapsed = time.monotonic() - started
        time.sleep(3 * TWO_PROCESS_INTERVAL)  # both instances publish their last admissions
        published = [s.to_dict() for s in db.collection(SHARDS_COLLECTION).stream()]
    finally:
        for process in processes:
            stop_process_group(process)
    assert set(statuses) <= {200, 429}, statuses
    # N = 2; T plus what a pass itself takes on this busy machine (emulator round trips).
    delay = 2 * TWO_PROCESS_INTERVAL + 0.5
    bound = burst + rate * elapsed + (burst + rate * delay)
    assert rate * elapsed * 0.8 <= statuses[200] <= bound, (statuses, elapsed)
    assert statuses[200] < 2 * (burst + rate * elapsed) * 0.8  # not two independent buckets
    # Each instance published its own shard; together they account for every admission.
    assert len(published) == 2
    assert sum(shard["admitted"] for shard in published) == statuses[200]
    for response in refusals:
        assert response.headers["Retry-After"].isdigit()
        assert int(response.headers["Retry-After"]) >= 1
        assert response.headers["RateLimit-Limit"] == "5"
        assert response.headers["RateLimit-Remaining"] == "0"
        assert "RateLimit-Reset" in response.headers and "RateLimit-Policy" in response.headers
        assert response.json()["error"]["code"] == "rate_limited"
