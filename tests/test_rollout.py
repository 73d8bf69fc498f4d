"""The rollout's step logic: split, check, advance or roll back.

Cloud Run is the in-memory ``SimulatedCloudRun`` (the same interface gcloud sits behind);
health readings come from scripted signals, and ``MonitoringSignal`` is also read against
the real monitoring function served over HTTP on loopback (readiness through the real
Firestore emulator; /stats/performance refusing an invalid token, so the fallback).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from release import config as release_config  # noqa: E402
from release import plan as release_plan  # noqa: E402
from release.rollout import (  # noqa: E402
    CANDIDATE,
    PREVIOUS,
    ROLLED_BACK,
    STABLE,
    RolloutError,
    RolloutFailed,
    advance,
    prepare,
    roll_back_to_previous,
    smoke,
)
from release.signals import (  # noqa: E402
    HttpResult,
    MonitoringSignal,
    Reading,
    Thresholds,
    UrllibHttp,
    error_counts,
)
from release.traffic import (  # noqa: E402
    CommandFailed,
    GcloudCloudRun,
    SimulatedCloudRun,
)

CONFIG = release_config.load()
SPECS = CONFIG.functions
NAMES = [spec.name for spec in SPECS]
STAGING = CONFIG.environment("staging")
STEPS = (10, 50, 100)


def cloud(**kwargs: Any) -> SimulatedCloudRun:
    existing = kwargs.pop("existing", {name: f"{name}-00001" for name in NAMES})
    return SimulatedCloudRun(CONFIG, STAGING, "v2", existing=existing, **kwargs)


@dataclass
class ScriptedSignal:
    """Readings in order; records which candidates it was asked about."""

    healthy: list[bool]
    asked: list[Mapping[str, str]] = field(default_factory=list)

    def read(self, candidates: Mapping[str, str]) -> Reading:
        self.asked.append(dict(candidates))
        ok = self.healthy.pop(0)
        return Reading(ok, "test", 0.0 if ok else 0.3, () if ok else ("5xx burst",))


@dataclass
class FakeHttp:
    """Answers by URL substring; records every URL."""

    answers: dict[str, int] = field(default_factory=dict)
    default: int = 200
    body: bytes = b""
    seen: list[str] = field(default_factory=list)

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> HttpResult:
        self.seen.append(url)
        for part, status in self.answers.items():
            if part in url:
                return HttpResult(status, self.body)
        return HttpResult(self.default, self.body)


def serving(run: SimulatedCloudRun) -> dict[str, dict[str, int]]:
    return {name: run.services[name].serving() for name in NAMES}


def tags(run: SimulatedCloudRun, name: str) -> dict[str, str]:
    return {t.tag: t.revision for t in run.services[name].traffic if t.tag}


def test_new_revisions_are_deployed_with_no_traffic_and_tagged_candidate() -> None:
    run = cloud()
    prepare(run, SPECS, log=lambda m: None)
    for name in NAMES:
        assert run.services[name].serving() == {f"{name}-00001": 100}
        assert tags(run, name) == {STABLE: f"{name}-00001", CANDIDATE: f"{name}-00002"}


def test_healthy_checks_take_every_function_to_100_percent_in_steps() -> None:
    run = cloud()
    prepare(run, SPECS, log=lambda m: None)
    signal = ScriptedSignal([True, True, True])
    slept: list[float] = []
    split_seen: list[dict[str, int]] = []
    original = run.update_traffic

    def spy(name: str, **kwargs: Any) -> None:
        if name == "auth" and kwargs.get("to_revisions"):
            split_seen.append(dict(kwargs["to_revisions"]))
        original(name, **kwargs)

    run.update_traffic = spy  # type: ignore[method-assign]
    advance(run, SPECS, signal, STEPS, 60, slept.append, log=lambda m: None)
    assert split_seen == [
        {"auth-00002": 10, "auth-00001": 90},
        {"auth-00002": 50, "auth-00001": 50},
        {"auth-00002": 100},
    ]
    assert slept == [60, 60, 60]
    assert serving(run) == {name: {f"{name}-00002": 100} for name in NAMES}
    for name in NAMES:
        assert tags(run, name) == {STABLE: f"{name}-00002", PREVIOUS: f"{name}-00001"}
    assert set(signal.asked[0]) == set(NAMES)
    assert signal.asked[0]["auth"].startswith("https://candidate---auth-")


def test_a_failed_check_at_50_percent_rolls_every_function_back() -> None:
    run = cloud()
    prepare(run, SPECS, log=lambda m: None)
    signal = ScriptedSignal([True, False])
    with pytest.raises(RolloutFailed, match="check at 50 %: 5xx burst"):
        advance(run, SPECS, signal, STEPS, 0, lambda s: None, log=lambda m: None)
    assert serving(run) == {name: {f"{name}-00001": 100} for name in NAMES}
    for name in NAMES:
        assert tags(run, name) == {STABLE: f"{name}-00001", ROLLED_BACK: f"{name}-00002"}
    assert signal.healthy == []  # never asked past the failure


def test_a_failed_first_check_never_reaches_more_than_10_percent() -> None:
    run = cloud()
    prepare(run, SPECS, log=lambda m: None)
    before = len(run.commands)
    with pytest.raises(RolloutFailed):
        advance(run, SPECS, ScriptedSignal([False]), STEPS, 0, lambda s: None, lambda m: None)
    assigned = [arg for argv in run.commands[before:] for arg in argv if "=50" in arg]
    assert assigned == []
    assert serving(run)["bookings"] == {"bookings-00001": 100}


def test_after_a_rollback_the_next_release_starts_cleanly() -> None:
    run = cloud()
    prepare(run, SPECS, log=lambda m: None)
    with pytest.raises(RolloutFailed):
        advance(run, SPECS, ScriptedSignal([False]), STEPS, 0, lambda s: None, lambda m: None)
    prepare(run, SPECS, log=lambda m: None)
    advance(run, SPECS, ScriptedSignal([True] * 3), STEPS, 0, lambda s: None, lambda m: None)
    assert serving(run) == {name: {f"{name}-00003": 100} for name in NAMES}
    assert tags(run, "vehicles")[PREVIOUS] == "vehicles-00001"


def test_a_failed_smoke_test_moves_no_traffic() -> None:
    run = cloud()
    prepare(run, SPECS, log=lambda m: None)
    http = FakeHttp(answers={"candidate---vehicles-": 500})
    with pytest.raises(
        RolloutFailed, match="vehicles: vehicles-00002 answered \\[500, 500, 500\\]"
    ):
        smoke(run, SPECS, http, log=lambda m: None)
    assert serving(run) == {name: {f"{name}-00001": 100} for name in NAMES}
    assert all(CANDIDATE not in tags(run, name) for name in NAMES)
    assert any(url.endswith("/health/ready") and "monitoring" in url for url in http.seen)


def test_split_traffic_left_by_an_unfinished_rollout_is_refused_before_any_change() -> None:
    run = cloud()
    prepare(run, SPECS, log=lambda m: None)
    run.update_traffic("bookings", to_revisions={"bookings-00002": 10, "bookings-00001": 90})
    before = len(run.commands)
    with pytest.raises(RolloutError, match="bookings: traffic is split"):
        prepare(run, SPECS, log=lambda m: None)
    assert all("describe" in argv for argv in run.commands[before:])


def test_a_failed_deploy_leaves_traffic_where_it_was() -> None:
    run = cloud(fail_deploy={"bookings"})
    with pytest.raises(CommandFailed, match="Build failed"):
        prepare(run, SPECS, log=lambda m: None)
    assert serving(run) == {name: {f"{name}-00001": 100} for name in NAMES}


def test_a_first_deploy_takes_all_traffic_and_the_others_roll_out() -> None:
    existing = {name: f"{name}-00001" for name in NAMES if name != "monitoring"}
    run = cloud(existing=existing)
    prepare(run, SPECS, log=lambda m: None)
    assert run.services["monitoring"].serving() == {"monitoring-00001": 100}
    with pytest.raises(RolloutFailed):
        advance(run, SPECS, ScriptedSignal([False]), STEPS, 0, lambda s: None, lambda m: None)
    # the others went back; the new function has nothing to go back to and keeps serving
    assert serving(run)["auth"] == {"auth-00001": 100}
    assert serving(run)["monitoring"] == {"monitoring-00001": 100}


def test_manual_rollback_returns_every_function_to_previous_and_only_once() -> None:
    run = cloud()
    prepare(run, SPECS, log=lambda m: None)
    advance(run, SPECS, ScriptedSignal([True] * 3), STEPS, 0, lambda s: None, lambda m: None)
    roll_back_to_previous(run, SPECS, log=lambda m: None)
    assert serving(run) == {name: {f"{name}-00001": 100} for name in NAMES}
    assert tags(run, "auth") == {STABLE: "auth-00001", ROLLED_BACK: "auth-00002"}
    with pytest.raises(RolloutError, match="no revision tagged 'previous'"):
        roll_back_to_previous(run, SPECS, log=lambda m: None)


def test_failed_post_deploy_checks_roll_back_to_previous() -> None:
    run = cloud()
    prepare(run, SPECS, log=lambda m: None)
    advance(run, SPECS, ScriptedSignal([True] * 3), STEPS, 0, lambda s: None, lambda m: None)
    ctx = release_plan.Context(
        CONFIG,
        STAGING,
        "v2",
        runner=None,  # type: ignore[arg-type]  # nothing runs a command in this phase
        cloud=run,
        http=FakeHttp(answers={"/api/bookings/health": 502}),
        sleep=lambda s: None,
        log=lambda m: None,
    )
    with pytest.raises(release_plan.PostDeployFailed, match="/api/bookings/health answered 502"):
        release_plan.run_phase("post-deploy", ctx)
    assert serving(run) == {name: {f"{name}-00001": 100} for name in NAMES}


# ------------------------------------------------------------------ gcloud side


@dataclass
class CannedRunner:
    outputs: list[str | CommandFailed]
    argv: list[list[str]] = field(default_factory=list)

    def run(self, argv: list[str]) -> str:
        self.argv.append(argv)
        answer = self.outputs.pop(0)
        if isinstance(answer, CommandFailed):
            raise answer
        return answer


def test_gcloud_describe_reads_traffic_and_tags_from_the_knative_document() -> None:
    document = {
        "metadata": {"name": "auth"},
        "status": {
            "url": "https://auth-x7y-ew.a.run.app",
            "latestReadyRevisionName": "auth-00003-kid",
            "traffic": [
                {"revisionName": "auth-00002-pol", "percent": 90},
                {"revisionName": "auth-00003-kid", "percent": 10},
                {
                    "revisionName": "auth-00003-kid",
                    "tag": "candidate",
                    "url": "https://candidate---auth-x7y-ew.a.run.app",
                },
            ],
        },
    }
    runner = CannedRunner([json.dumps(document)])
    state = GcloudCloudRun(runner, CONFIG, STAGING, "v").describe("auth")
    assert state is not None
    assert state.serving() == {"auth-00002-pol": 90, "auth-00003-kid": 10}
    candidate = state.tagged("candidate")
    assert candidate is not None and candidate.url == "https://candidate---auth-x7y-ew.a.run.app"
    assert runner.argv[0][:5] == ["gcloud", "run", "services", "describe", "auth"]


def test_gcloud_describe_of_a_function_never_deployed_is_none() -> None:
    missing = CommandFailed(["gcloud"], 1, "ERROR: Cannot find service [auth]")
    assert GcloudCloudRun(CannedRunner([missing]), CONFIG, STAGING, "v").describe("auth") is None
    other = CommandFailed(["gcloud"], 1, "ERROR: PERMISSION_DENIED")
    with pytest.raises(CommandFailed):
        GcloudCloudRun(CannedRunner([other]), CONFIG, STAGING, "v").describe("auth")


# ------------------------------------------------------------------ health signal

THRESHOLDS = Thresholds(max_error_rate=0.02, min_requests=50, probes=2)
PATHS = {name: spec.health_path for name, spec in zip(NAMES, SPECS, strict=True)}
CANDIDATES = {name: f"https://candidate---{name}-h.a.run.app" for name in NAMES}


def stats(**per_function: tuple[int, int]) -> bytes:
    return json.dumps(
        {
            "window": "5m",
            "functions": {
                name: {"requests": r, "errors": {"4xx": 7, "5xx": e}}
                for name, (r, e) in per_function.items()
            },
        }
    ).encode()


def signal(http: FakeHttp, token: str | None = "rollout-token") -> MonitoringSignal:  # noqa: S107
    return MonitoringSignal(http, "https://site.example", PATHS, THRESHOLDS, token=token)


def test_error_rate_below_the_threshold_is_healthy() -> None:
    http = FakeHttp(body=stats(auth=(1000, 5), bookings=(400, 0)))
    reading = signal(http).read(CANDIDATES)
    assert reading.healthy and reading.source == "stats/performance"
    assert reading.error_rate == pytest.approx(0.005)


def test_error_rate_above_the_threshold_is_unhealthy() -> None:
    http = FakeHttp(body=stats(auth=(1000, 5), bookings=(400, 40)))
    reading = signal(http).read(CANDIDATES)
    assert not reading.healthy
    assert "bookings: 10.0% of requests failed (5xx)" in reading.details[0]


def test_too_few_requests_do_not_count_as_an_error_rate() -> None:
    reading = signal(FakeHttp(body=stats(auth=(10, 5)))).read(CANDIDATES)
    assert reading.healthy


def test_without_stats_performance_the_check_falls_back_to_readiness() -> None:
    http = FakeHttp(answers={"stats/performance": 404})
    watcher = signal(http)
    reading = watcher.read(CANDIDATES)
    assert reading.healthy and reading.source == "readiness"
    assert any("not deployed" in note for note in watcher.notes)
    http.answers["health/ready"] = 503  # readiness through Hosting now fails (and the probe)
    reading = watcher.read(CANDIDATES)
    assert not reading.healthy and reading.source == "readiness"


def test_without_a_token_the_error_rate_is_not_read() -> None:
    http = FakeHttp()
    reading = signal(http, token=None).read(CANDIDATES)
    assert reading.source == "readiness"
    assert not any("stats/performance" in url for url in http.seen)


def test_a_broken_stats_route_is_unhealthy_not_a_fallback() -> None:
    reading = signal(FakeHttp(answers={"stats/performance": 500})).read(CANDIDATES)
    assert not reading.healthy and reading.source == "stats/performance"
    assert reading.details == ("/stats/performance answered 500",)
    garbled = signal(FakeHttp(body=b"<html>")).read(CANDIDATES)
    assert not garbled.healthy and "unreadable answer" in garbled.details[0]


def test_a_failing_new_revision_is_unhealthy_even_when_the_site_is_fine() -> None:
    http = FakeHttp(answers={"candidate---auth-": 500}, body=stats(auth=(1000, 0)))
    reading = signal(http).read(CANDIDATES)
    assert not reading.healthy
    assert "auth: new revision answered 500" in reading.details


def test_error_counts_reads_the_list_shape_and_rejects_missing_counts() -> None:
    assert error_counts({"functions": [{"function": "auth", "count": 10, "5xx": 1}]}) == {
        "auth": (10, 1)
    }
    with pytest.raises(ValueError, match="auth: needs a request count"):
        error_counts({"functions": {"auth": {"p95_ms": 30}}})


@pytest.fixture
def monitoring_server(db: Any) -> Iterator[str]:
    """The real monitoring function over HTTP on loopback (functions-framework's app)."""
    from conftest import function_app
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, function_app("monitoring"), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def test_the_signal_reads_the_real_monitoring_function(monitoring_server: str) -> None:
    watcher = MonitoringSignal(
        UrllibHttp(timeout_seconds=10),
        monitoring_server,
        {"monitoring": "/health/ready"},
        THRESHOLDS,
        token="not-a-valid-token",
    )
    reading = watcher.read({"monitoring": monitoring_server})
    assert reading.healthy, reading
    # /stats/performance refuses this token (401): the check falls back to readiness and
    # says so (with a valid token it reads the error rate: tests/test_monitoring_stats.py).
    assert reading.source == "readiness"
    assert watcher.notes


def test_indexes_ready_waits_until_every_composite_index_is_built() -> None:
    building = json.dumps([{"name": "i1", "state": "READY"}, {"name": "i2", "state": "CREATING"}])
    runner = CannedRunner([building, building, json.dumps([{"name": "i2", "state": "READY"}])])
    slept: list[float] = []
    ctx = release_plan.Context(
        CONFIG,
        STAGING,
        "v",
        runner=runner,
        cloud=cloud(),
        http=FakeHttp(),
        sleep=slept.append,
        log=lambda m: None,
    )
    release_plan.run_phase("indexes-ready", ctx)
    assert slept == [release_plan.INDEX_POLL_SECONDS] * 2
    assert all(argv[1:5] == ["firestore", "indexes", "composite", "list"] for argv in runner.argv)


def test_the_subprocess_runner_returns_stdout_and_reports_stderr_on_failure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from release.traffic import SubprocessRunner

    echoed: list[str] = []
    runner = SubprocessRunner(echo=echoed.append)
    assert runner.run([sys.executable, "-c", "print('{}')", "--format=json"]) == "{}\n"
    assert echoed == [f"$ {sys.executable} -c 'print('\"'\"'{{}}'\"'\"')' --format=json"]
    assert capsys.readouterr().out == ""  # JSON answers are data, not log
    failing = [sys.executable, "-c", "import sys; print('deploying'); sys.exit('Build failed')"]
    with pytest.raises(CommandFailed, match="exited 1: Build failed"):
        runner.run(failing)
    streamed = capsys.readouterr()
    assert "deploying" in streamed.out and "Build failed" in streamed.err
