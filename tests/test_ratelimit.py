"""Token-bucket rate limiting: bucket arithmetic, the Firestore backend, failure modes, and
the limit holding across two real function processes that share one emulator."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from process_testkit import start_probe

from shared.errors import ServiceUnavailable, TooManyRequests
from shared.ratelimit import (
    Decision,
    FirestoreBackend,
    MemoryBackend,
    RateLimiter,
    RateLimitRule,
)

ROOT = Path(__file__).resolve().parent.parent
RULE = RateLimitRule("unit", per_minute=60, burst=3)


def test_burst_is_admitted_then_refused() -> None:
    backend = MemoryBackend()
    decisions = [backend.take("ip:1", RULE, now=1000.0) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].retry_after_seconds == pytest.approx(1.0)


def test_tokens_refill_at_the_configured_rate() -> None:
    backend = MemoryBackend()
    for _ in range(3):
        backend.take("ip:1", RULE, now=1000.0)
    assert not backend.take("ip:1", RULE, now=1000.5).allowed
    assert backend.take("ip:1", RULE, now=1001.6).allowed  # one token per second


def test_clients_have_separate_buckets() -> None:
    backend = MemoryBackend()
    for _ in range(3):
        backend.take("ip:1", RULE, now=1000.0)
    assert backend.take("ip:2", RULE, now=1000.0).allowed


def test_refusal_raises_429_with_retry_after_and_ratelimit_headers() -> None:
    limiter = RateLimiter(MemoryBackend())
    for _ in range(3):
        limiter.check("user:a", RULE, now=50.0)
    with pytest.raises(TooManyRequests) as raised:
        limiter.check("user:a", RULE, now=50.0)
    headers = raised.value.headers
    assert headers["Retry-After"] == "1"
    assert headers["RateLimit-Limit"] == "3"
    assert headers["RateLimit-Remaining"] == "0"


class CountingBackend(MemoryBackend):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def take(self, key: str, rule: RateLimitRule, now: float) -> Decision:
        self.calls += 1
        return super().take(key, rule, now)


def test_known_empty_bucket_is_refused_without_a_backend_call() -> None:
    backend = CountingBackend()
    limiter = RateLimiter(backend)
    for _ in range(3):
        limiter.check("user:a", RULE, now=10.0)
    for _ in range(5):
        with pytest.raises(TooManyRequests):
            limiter.check("user:a", RULE, now=10.2)
    assert backend.calls == 4  # three admitted, one refusal learnt, four served locally


class BrokenBackend:
    def take(self, key: str, rule: RateLimitRule, now: float) -> Decision:
        raise ConnectionError("firestore unreachable")


def test_backend_failure_fails_open_by_default_and_logs(capsys: pytest.CaptureFixture[str]) -> None:
    limiter = RateLimiter(BrokenBackend())
    assert limiter.check("ip:1", RULE).allowed
    assert "rate limit backend failed" in capsys.readouterr().out


def test_backend_failure_fails_closed_on_sensitive_rules() -> None:
    limiter = RateLimiter(BrokenBackend())
    sensitive = RateLimitRule("login", per_minute=10, burst=5, fail_mode="closed")
    with pytest.raises(ServiceUnavailable) as raised:
        limiter.check("ip:1", sensitive)
    assert raised.value.code == "rate_limit_unavailable"


def test_firestore_backend_keeps_the_bucket_in_a_document(db: Any) -> None:
    backend = FirestoreBackend()
    rule = RateLimitRule("fs-unit", per_minute=60, burst=2)
    results = [backend.take("ip:9", rule, now=2000.0).allowed for _ in range(3)]
    assert results == [True, True, False]
    documents = list(db.collection("rate_limits").stream())
    assert len(documents) == 1
    assert documents[0].to_dict()["tokens"] == pytest.approx(0.0)
    # A new backend object (a new instance) sees the same empty bucket.
    assert not FirestoreBackend().take("ip:9", rule, now=2000.1).allowed


def test_route_limit_answers_429_through_the_pipeline(call: Any) -> None:
    probe = call("probe")
    statuses = [probe.get("/api/probe/limited").status_code for _ in range(8)]
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429] * 3
    refused = probe.get("/api/probe/limited")
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1


# Exact Firestore buckets, refusing when Firestore cannot answer: 30/min, burst 10.
STRICT_LIMIT = {
    "PMI_RATE_LIMIT_BACKEND": "firestore",
    "PMI_RATE_LIMIT_FAIL_MODE": "closed",
    "PMI_RATE_LIMIT_PER_MINUTE": "30",
    "PMI_RATE_LIMIT_BURST": "10",
}


@pytest.mark.slow
def test_limit_holds_across_two_function_processes(db: Any, emulator: Any, tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from emulator import stop_process_group
    from stack import free_port, wait_http

    ports = [free_port(), free_port()]
    processes = [
        start_probe(p, emulator, tmp_path / f"probe-{p}.log", **STRICT_LIMIT) for p in ports
    ]
    try:
        for port, process in zip(ports, processes, strict=True):
            wait_http(f"http://127.0.0.1:{port}/", 60, process)
        statuses: Counter[int] = Counter()
        retry_after: list[str] = []
        lock = threading.Lock()
        session = requests.Session()
        # Same client IP on both instances: one bucket, default rule (30/min, burst 10).
        started = time.monotonic()

        def hit(index: int) -> None:
            url = f"http://127.0.0.1:{ports[index % 2]}/api/probe/items/{index}"
            response = session.get(url, headers={"X-Forwarded-For": "203.0.113.7"}, timeout=30)
            with lock:
                statuses[response.status_code] += 1
                if response.status_code == 429:
                    retry_after.append(response.headers.get("Retry-After", ""))

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(hit, range(60)))
        elapsed = time.monotonic() - started
    finally:
        for process in processes:
            stop_process_group(process)
    allowed_at_most = 10 + 30 * elapsed / 60 + 1  # burst + refill during the run
    assert set(statuses) <= {200, 429}, statuses
    assert 10 <= statuses[200] <= allowed_at_most, (statuses, elapsed)
    assert statuses[429] >= 60 - allowed_at_most
    assert retry_after and all(value.isdigit() and int(value) >= 1 for value in retry_after)


def test_an_instance_that_knows_the_bucket_skips_the_read(db: Any) -> None:
    backend = FirestoreBackend()
    rule = RateLimitRule("fs-remember", per_minute=60, burst=5)
    backend.take("ip:7", rule, now=3000.0)  # read (missing) + create
    reads: list[str] = []
    original = type(db.collection("x").document("y")).get

    def counting_get(self: Any, *args: Any, **kwargs: Any) -> Any:
        reads.append(self.id)
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(db.collection("x").document("y")), "get", counting_get)
        assert backend.take("ip:7", rule, now=3000.1).allowed
        assert reads == []  # one conditional write, no read
        # Another instance moves the bucket: this one's version is stale, so it re-reads.
        FirestoreBackend().take("ip:7", rule, now=3000.2)
        assert backend.take("ip:7", rule, now=3000.3).allowed
        assert len(reads) == 2  # the other instance's read and this one's fallback read
    stored = next(iter(db.collection("rate_limits").stream())).to_dict()
    assert stored["tokens"] == pytest.approx(1.3, abs=0.01)  # 5 - 4 takes + 0.3 s of refill
