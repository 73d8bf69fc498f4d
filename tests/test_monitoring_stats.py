"""The monitoring routes in process: /stats/performance, /stats/database, /metrics and the
detailed health's thresholds, with their access rules and bad input, against the emulator.

Two recorders stand for two instances here (each with its own id, flushed on demand); the
same with real processes is tests/test_monitoring_instances.py.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from observability import database_stats, instance, service
from shared import metrics
from shared.config import get_settings, reset_settings
from shared.metrics import FirestoreBuckets, Recorder

NEW_ROUTES = (
    "/api/monitoring/metrics",
    "/api/monitoring/stats/database",
    "/api/monitoring/stats/performance",
    "/api/monitoring/health/detailed",
)


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    service.clear_caches()
    yield
    service.clear_caches()
    metrics.reset_recorder()


@pytest.fixture
def viewer(users: Any) -> dict[str, str]:
    headers: dict[str, str] = users.create("viewer").headers
    return headers


def serve_as_instance(call: Any, instance_id: str, paths: list[str]) -> list[int]:
    """Serve ``paths`` on the probe function as instance ``instance_id``, then flush."""
    recorder = Recorder(FirestoreBuckets(), instance_id=instance_id, background=False)
    metrics.set_recorder(recorder)
    probe = call("probe")
    # A client address of its own: the probe's rate-limited route starts with a full bucket.
    client = {"REMOTE_ADDR": f"10.{random.randrange(256)}.{random.randrange(256)}.7"}
    statuses = [probe.get(path, environ_base=client).status_code for path in paths]
    metrics.set_recorder(None)  # the monitoring calls below are not part of the figures
    recorder.flush()
    return statuses


def performance(call: Any, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    response = call("monitoring").get(f"/api/monitoring/stats/performance{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


# --- access -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", NEW_ROUTES)
def test_admins_and_viewers_may_read_monitoring_others_may_not(
    path: str, call: Any, users: Any
) -> None:
    monitoring = call("monitoring")
    assert monitoring.get(path).status_code == 401
    for role in ("customer", "mechanic", "service_center"):
        refused = monitoring.get(path, headers=users.create(role).headers)
        assert refused.status_code == 403, role
        assert refused.get_json()["error"]["code"] == "forbidden"
    for role in ("admin", "viewer"):
        assert monitoring.get(path, headers=users.create(role).headers).status_code == 200


# --- /stats/performance -------------------------------------------------------------------


def test_performance_adds_up_every_instance(call: Any, viewer: dict[str, str]) -> None:
    first = serve_as_instance(
        call, "instance-a", ["/api/probe/items/1"] * 6 + ["/api/probe/crash"] * 2
    )
    second = serve_as_instance(
        call,
        "instance-b",
        ["/api/probe/items/2"] * 3 + ["/api/probe/nope"] + ["/api/probe/limited"] * 7,
    )
    assert first.count(500) == 2 and second.count(429) == 2
    body = performance(call, viewer)
    probe = body["functions"]["probe"]
    assert body["instances"] == 2 and body["documents_read"] == 2
    assert probe["requests"] == 19 == body["totals"]["requests"]
    assert probe["errors"] == {"total": 5, "4xx": 3, "5xx": 2}
    assert probe["rate_limited"] == 2 and probe["cold_starts"] == 2
    assert probe["error_rate"] == pytest.approx(2 / 19, abs=1e-6)
    assert probe["routes"]["/items/<item_id>"]["requests"] == 9
    assert probe["routes"]["/crash"]["errors"]["5xx"] == 2
    assert probe["routes"]["(unmatched)"]["errors"]["4xx"] == 1
    latency = probe["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert sum(probe["series"]["requests"]) == 19


def test_the_series_has_one_point_per_minute_of_the_window(
    call: Any, viewer: dict[str, str]
) -> None:
    serve_as_instance(call, "instance-s", ["/api/probe/items/1"] * 4)
    for window, minutes in (("5m", 5), ("1h", 60), ("24h", 1440)):
        service.clear_caches()
        body = performance(call, viewer, f"?window={window}")
        series = body["series"]
        assert body["step_seconds"] == 60 and len(series["t"]) == minutes
        assert all(len(column) == minutes for column in series.values())
        assert series["t"] == sorted(series["t"]) and series["t"][-1] - series["t"][0] == (
            (minutes - 1) * 60
        )
        assert sum(series["requests"]) == 4 and series["p95_ms"].count(None) >= minutes - 2
        start = datetime.fromisoformat(body["start"].replace("Z", "+00:00"))
        assert start.timestamp() == series["t"][0]


def test_performance_filters_by_function_and_route(call: Any, viewer: dict[str, str]) -> None:
    serve_as_instance(call, "instance-f", ["/api/probe/items/1"] * 3 + ["/api/probe/crash"])
    only_crash = performance(call, viewer, "?route=/crash")
    assert only_crash["totals"]["requests"] == 1 and only_crash["route"] == "/crash"
    nothing = performance(call, viewer, "?function=auth")
    assert nothing["totals"]["requests"] == 0 and nothing["functions"] == {}
    assert nothing["totals"]["latency_ms"]["p95"] is None


def test_old_minutes_are_outside_the_window(
    call: Any, viewer: dict[str, str], pin_clock: Any
) -> None:
    long_ago = datetime.now(UTC) - timedelta(minutes=30)
    pin_clock(long_ago)
    serve_as_instance(call, "instance-old", ["/api/probe/items/1"] * 5)
    pin_clock(datetime.now(UTC))
    assert performance(call, viewer, "?window=5m")["totals"]["requests"] == 0
    service.clear_caches()
    assert performance(call, viewer, "?window=1h")["totals"]["requests"] == 5


def test_performance_answers_are_cached_per_instance(call: Any, viewer: dict[str, str]) -> None:
    serve_as_instance(call, "instance-c1", ["/api/probe/items/1"])
    first = performance(call, viewer)
    serve_as_instance(call, "instance-c2", ["/api/probe/items/1"])
    again = performance(call, viewer)
    assert (first["cached"], again["cached"]) == (False, True)
    assert again["totals"]["requests"] == 1 and again["read_at"] == first["read_at"]
    reset_settings(get_settings().model_copy(update={"stats_cache_seconds": 0.0}))
    try:
        fresh = performance(call, viewer)
    finally:
        reset_settings(None)
    assert not fresh["cached"] and fresh["totals"]["requests"] == 2


@pytest.mark.parametrize(
    "query",
    [
        "?window=2h",
        "?window=",
        "?function=Auth;DROP",
        "?function=" + "a" * 41,
        "?route=no-leading-slash",
        "?route=/" + "x" * 200,
        "?window=5m&window=1h",
        "?limit=10",
    ],
)
def test_performance_refuses_bad_query_parameters(
    query: str, call: Any, viewer: dict[str, str]
) -> None:
    response = call("monitoring").get(f"/api/monitoring/stats/performance{query}", headers=viewer)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and error["details"]


def test_the_rollout_check_reads_the_error_rate_from_the_real_route(call: Any, users: Any) -> None:
    """scripts/release/signals.py against the monitoring function over HTTP, end to end."""
    import sys

    from conftest import ROOT, function_app
    from werkzeug.serving import make_server

    sys.path.insert(0, str(ROOT / "scripts"))
    from release.signals import MonitoringSignal, Thresholds, UrllibHttp

    serve_as_instance(call, "instance-r", ["/api/probe/items/1"] * 57 + ["/api/probe/crash"] * 3)
    server = make_server("127.0.0.1", 0, function_app("monitoring"), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    viewer = users.create("viewer")
    try:
        watcher = MonitoringSignal(
            UrllibHttp(timeout_seconds=10),
            url,
            {"probe": "/health/ready"},
            Thresholds(max_error_rate=0.02, min_requests=50, probes=0),
            token=viewer.token,
        )
        reading = watcher.read({})
    finally:
        server.shutdown()
    assert reading.source == "stats/performance"
    assert reading.error_rate == pytest.approx(3 / 60)
    assert not reading.healthy
    assert reading.details == ("probe: 5.0% of requests failed (5xx) in the last 5 min",)


# --- /health/detailed ---------------------------------------------------------------------


def detailed(call: Any, headers: dict[str, str]) -> dict[str, Any]:
    response = call("monitoring").get("/api/monitoring/health/detailed", headers=headers)
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


def test_health_states_its_thresholds_and_is_ok_without_traffic(
    call: Any, viewer: dict[str, str]
) -> None:
    body = detailed(call, viewer)
    assert body["status"] == "ok" and body["reasons"] == []
    assert body["thresholds"] == {"max_error_rate": 0.05, "max_p95_ms": 1000.0, "min_requests": 20}
    assert body["performance"]["available"] and body["performance"]["requests"] == 0


def test_a_5xx_share_above_the_threshold_makes_health_degraded(
    call: Any, viewer: dict[str, str]
) -> None:
    serve_as_instance(call, "instance-h1", ["/api/probe/items/1"] * 18 + ["/api/probe/crash"] * 2)
    body = detailed(call, viewer)
    assert body["status"] == "degraded"
    assert body["performance"]["requests"] == 20
    assert body["performance"]["error_rate"] == pytest.approx(0.1)
    assert body["reasons"] == ["5xx share 10.0% over 5 minutes exceeds 5.0%"]


def test_too_few_requests_are_not_judged(call: Any, viewer: dict[str, str]) -> None:
    serve_as_instance(call, "instance-h2", ["/api/probe/crash"] * 5)
    assert detailed(call, viewer)["status"] == "ok"


def test_a_slow_p95_makes_health_degraded(call: Any, viewer: dict[str, str]) -> None:
    reset_settings(get_settings().model_copy(update={"health_max_p95_ms": 20.0}))
    try:
        serve_as_instance(call, "instance-h3", ["/api/probe/slow?ms=40"] * 20)
        body = detailed(call, viewer)
    finally:
        reset_settings(None)
    assert body["status"] == "degraded"
    assert body["performance"]["p95_ms"] > 20
    assert body["reasons"][0].startswith("p95 latency") and "exceeds 20 ms" in body["reasons"][0]


def test_public_health_stays_minimal(call: Any) -> None:
    body = call("monitoring").get("/api/monitoring/health").get_json()
    assert set(body) == {"status", "version"}


# --- /stats/database ----------------------------------------------------------------------


def seed_database(db: Any, now: datetime) -> None:
    from shared.auth.rbac import Role

    for index, role in enumerate(["customer"] * 3 + ["mechanic", "admin"]):
        created = now - timedelta(days=2 if index < 2 else 30)
        db.collection("users").document(f"u{index}").set({"role": role, "created_at": created})
    assert {r.value for r in Role} >= {"customer", "mechanic", "admin"}
    for index, state in enumerate(["requested", "requested", "completed", "cancelled"]):
        db.collection("bookings").document(f"b{index}").set({"status": state})
    alerts = [("open", "critical"), ("open", "high"), ("open", "high"), ("resolved", "high")]
    for index, (status, severity) in enumerate(alerts):
        db.collection("alerts").document(f"a{index}").set({"status": status, "severity": severity})
    today = now.date()
    yesterday = today - timedelta(days=1)
    for vehicle, (old, new) in {"v1": (100, 40), "v2": (60, 10)}.items():
        db.collection("vehicles").document(vehicle).set({"owner_id": "u0"})
        days = db.collection("vehicles").document(vehicle).collection("telemetry_days")
        days.document(yesterday.isoformat()).set({"day": yesterday.isoformat(), "count": old})
        days.document(today.isoformat()).set({"day": today.isoformat(), "count": new})
        older = (today - timedelta(days=2)).isoformat()
        days.document(older).set({"day": older, "count": 999})


def test_database_counts_come_from_aggregations(
    call: Any, db: Any, viewer: dict[str, str], pin_clock: Any
) -> None:
    six_am = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    pin_clock(six_am)
    seed_database(db, six_am)
    response = call("monitoring").get("/api/monitoring/stats/database", headers=viewer)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["collections"]["users"]["count"] == 6  # the viewer who asks is one
    assert body["collections"]["vehicles"]["count"] == 2
    assert body["collections"]["bookings"]["count"] == 4
    assert body["collections"]["alerts"]["count"] == 4
    assert {k: v["count"] for k, v in body["bookings_by_status"].items()} == {
        "requested": 2, "confirmed": 0, "in_progress": 0, "completed": 1, "cancelled": 1,
        "no_show": 0,
    }  # fmt: skip
    assert {k: v["count"] for k, v in body["open_alerts_by_severity"].items()} == {
        "critical": 1,
        "high": 2,
    }
    roles = {k: v["count"] for k, v in body["users_by_role"].items()}
    assert roles == {"customer": 3, "mechanic": 1, "admin": 1, "viewer": 1, "service_center": 0}
    assert body["new_users_last_7_days"]["count"] == 2  # the viewer has no created_at
    telemetry = body["telemetry_readings_last_24h"]
    assert telemetry["days"] == {"2026-11-26": 160, "2026-11-27": 50}
    assert telemetry["count"] == 50 + 120  # 18 of yesterday's 24 hours are in the window
    assert body["queries"] == database_stats.QUERY_COUNT == 21
    assert str(body["queries"]) in body["reads_note"]
    for figure in body["collections"].values():
        assert datetime.fromisoformat(figure["read_at"].replace("Z", "+00:00"))


def test_database_answers_are_cached_so_polling_does_not_multiply_reads(
    call: Any, db: Any, viewer: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = []
    real = database_stats.gather

    def counted(now: datetime, seconds: float) -> Any:
        runs.append(now)
        return real(now, seconds)

    monkeypatch.setattr(database_stats, "gather", counted)
    monitoring = call("monitoring")
    answers = [
        monitoring.get("/api/monitoring/stats/database", headers=viewer).get_json()
        for _ in range(5)
    ]
    assert len(runs) == 1
    assert [a["cached"] for a in answers] == [False, True, True, True, True]
    assert answers[0]["cache_seconds"] == get_settings().stats_cache_seconds


def test_the_database_vocabulary_matches_its_owners() -> None:
    from booking.centers import CENTERS
    from booking.lifecycle import BookingState
    from booking.store import BOOKINGS
    from vehicle.alert_store import ALERT_SEVERITIES

    assert database_stats.BOOKINGS == BOOKINGS and database_stats.CENTERS == CENTERS
    assert tuple(state.value for state in BookingState) == database_stats.BOOKING_STATES
    assert set(database_stats.ALERT_SEVERITIES) == {s.value for s in ALERT_SEVERITIES}


# --- /metrics -----------------------------------------------------------------------------


def test_metrics_describe_this_instance_and_its_configuration(
    call: Any, viewer: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADS", "6")
    monkeypatch.setenv("K_SERVICE", "monitoring")
    reset_settings(get_settings().model_copy(update={"region": "europe-west1"}))
    try:
        body = call("monitoring").get("/api/monitoring/metrics", headers=viewer).get_json()
    finally:
        reset_settings(None)
    process = body["process"]
    assert process["rss_bytes"] > 0 and process["threads"] >= 1 and process["uptime_seconds"] > 0
    assert process["cpu_seconds"] > 0 and process["open_connections"] is not None
    assert body["system"]["cpu_count"] >= 1 and body["system"]["disk_total_bytes"] > 0
    config = body["configuration"]
    assert config["function"] == "monitoring" and config["region"] == "europe-west1"
    assert config["concurrency"] == 6 and config["service"] == "monitoring"
    assert config["limits"]["max_body_bytes"] == get_settings().max_body_bytes
    assert body["recording"]["mode"] == "memory"


def test_container_limits_are_read_from_cgroup_v2_and_v1(tmp_path: Path) -> None:
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "memory.max").write_text("536870912\n")
    (v2 / "cpu.max").write_text("100000 100000\n")
    assert instance.memory_limit_bytes(v2) == 512 * 1024 * 1024
    assert instance.cpu_quota(v2) == 1.0
    (v2 / "memory.max").write_text("max\n")
    (v2 / "cpu.max").write_text("max 100000\n")
    assert instance.memory_limit_bytes(v2) is None and instance.cpu_quota(v2) is None
    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    (v1 / "cpu").mkdir()
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("200000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert instance.memory_limit_bytes(v1) is None  # "unlimited" in v1
    assert instance.cpu_quota(v1) == 2.0
    assert instance.memory_limit_bytes(tmp_path / "none") is None
