"""Two real function processes serve traffic; /stats/performance reports the sum of both.

Each process is a functions-framework server (gunicorn threads) with its own in-memory
recorder, flushing to the shared Firestore emulator from its background thread. The test
checks, against what the client sent and what the processes logged:

- the totals and the 4xx/5xx split are the sum of both instances, exactly;
- p50/p95/p99 agree with the percentiles of the raw latencies (each request's logged
  ``httpRequest.latency``, the same measurement the recorder counted) within one bucket;
- a process killed with SIGKILL loses at most what it had not flushed, and nothing is
  ever counted twice: its flushed figures stay, the survivor's keep adding up exactly.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from process_testkit import start_probe

from observability import service
from shared import histogram
from shared.metrics import FirestoreBuckets

ROOT = Path(__file__).resolve().parent.parent
FLUSH_SECONDS = 1.0
# Each process also served the start-up check's one GET / (a 404): it is a request too.
STARTUP = Counter({404: 1})


@dataclass
class Probe:
    process: subprocess.Popen[bytes]
    url: str
    log: Path


@pytest.fixture
def probes(emulator: Any, tmp_path: Path) -> Iterator[list[Probe]]:
    """Two probe-function processes recording into Firestore."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from emulator import stop_process_group
    from stack import free_port, wait_http

    settings = {
        "PMI_METRICS": "firestore",
        "PMI_METRICS_FLUSH_SECONDS": str(FLUSH_SECONDS),
        "PMI_LOG_LEVEL": "INFO",  # every request's line, with its latency
    }
    started: list[Probe] = []
    try:
        for number in range(2):
            port, log = free_port(), tmp_path / f"probe-{number}.log"
            process = start_probe(port, emulator, log, **settings)
            started.append(Probe(process, f"http://127.0.0.1:{port}", log))
        for probe in started:
            wait_http(probe.url + "/", 60, probe.process)
        yield started
    finally:
        for probe in started:
            stop_process_group(probe.process)
    service.clear_caches()


def traffic(rng: random.Random, count: int) -> list[str]:
    """A mix of fast, slow, failing and unknown requests (latencies spread over buckets)."""
    paths = []
    for index in range(count):
        roll = rng.random()
        if roll < 0.06:
            paths.append("/api/probe/crash")
        elif roll < 0.12:
            paths.append(f"/api/probe/nowhere/{index}")
        elif roll < 0.55:
            paths.append(f"/api/probe/slow?ms={int(rng.expovariate(1 / 25))}")
        else:
            paths.append(f"/api/probe/items/{index}")
    return paths


def send(base: str, paths: list[str]) -> Counter[int]:
    session = requests.Session()
    return Counter(session.get(base + path, timeout=30).status_code for path in paths)


def per_instance_requests() -> dict[str, int]:
    """Requests per probe instance, as flushed. Other processes on the session emulator (the
    session stack's functions) may flush their own minutes meanwhile: not the probes'."""
    now_minute = int(time.time() // 60)
    found = FirestoreBuckets().read(now_minute - 59, now_minute)
    totals: Counter[str] = Counter()
    for stored in found.cells:
        if stored.function == "probe":
            totals[stored.instance] += stored.cell.requests
    return dict(totals)


def wait_for(condition: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def logged_latencies_ms(logs: list[Path]) -> list[float]:
    """Every request's latency as its process logged it (httpRequest.latency)."""
    latencies = []
    for log in logs:
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            entry = json.loads(line)
            if "httpRequest" in entry:
                latencies.append(float(entry["httpRequest"]["latency"].rstrip("s")) * 1000)
    return latencies


def stats(call: Any, headers: dict[str, str]) -> dict[str, Any]:
    service.clear_caches()
    response = call("monitoring").get(
        "/api/monitoring/stats/performance?window=1h&function=probe", headers=headers
    )
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


@pytest.mark.slow
def test_two_processes_add_up_and_a_killed_one_loses_at_most_its_unflushed_requests(
    probes: list[Probe], call: Any, users: Any
) -> None:
    first, second = probes
    first_url, second_url = first.url, second.url
    rng = random.Random(11)
    batches = {first_url: traffic(rng, 140), second_url: traffic(rng, 90)}
    with ThreadPoolExecutor(max_workers=4) as pool:  # two clients per process, concurrently
        halves = [(url, paths[i::2]) for url, paths in batches.items() for i in range(2)]
        sent = list(pool.map(lambda job: send(*job), halves))
    statuses = sum(sent, STARTUP + STARTUP)
    assert set(statuses) <= {200, 404, 500}, statuses

    flushed = wait_for(lambda: sorted(per_instance_requests().values()) == [91, 141] or None)
    assert flushed, per_instance_requests()
    viewer = users.create("viewer").headers
    body = stats(call, viewer)
    probe = body["functions"]["probe"]
    assert body["instances"] == 2
    assert probe["requests"] == 232 == sum(statuses.values())
    assert probe["errors"]["5xx"] == statuses[500]
    assert probe["errors"]["4xx"] == statuses[404]
    assert probe["cold_starts"] == 2
    assert sum(probe["series"]["requests"]) == 232

    raw = sorted(logged_latencies_ms([first.log, second.log]))
    assert len(raw) == 232
    for name, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        true_value = raw[max(1, math.ceil(fraction * len(raw))) - 1]
        reported = probe["latency_ms"][name]
        assert abs(histogram.bucket_of(reported) - histogram.bucket_of(true_value)) <= 1, (
            name,
            reported,
            true_value,
        )

    # The second process serves 25 more requests and is killed before it can flush them all.
    counted = per_instance_requests()
    second_instance = next(i for i, n in counted.items() if n == 91)
    first_instance = next(i for i, n in counted.items() if n == 141)
    assert send(second_url, ["/api/probe/items/late"] * 25) == Counter({200: 25})
    os.killpg(second.process.pid, signal.SIGKILL)  # no exit handler, no final flush
    second.process.wait(timeout=10)
    assert send(first_url, ["/api/probe/items/after"] * 10) == Counter({200: 10})
    after = wait_for(lambda: per_instance_requests().get(first_instance) == 151 or None)
    assert after, per_instance_requests()
    time.sleep(2 * FLUSH_SECONDS)  # whatever the dead one could still have written, it has
    final = per_instance_requests()
    assert final[first_instance] == 151  # the survivor: exact, never counted twice
    assert 91 <= final[second_instance] <= 116  # flushed figures stay; at most the 25 lost
    body = stats(call, viewer)
    assert body["functions"]["probe"]["requests"] == 151 + final[second_instance]
