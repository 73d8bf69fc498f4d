"""The alerting definitions in deploy/monitoring/ match the log lines the code really writes.

Log-based metrics count structured log lines by filter; a filter naming a field the code does
not write (or a value it never takes) counts nothing, silently, and its alert never fires.
So each scenario below drives the real functions in process (requests through the pipeline,
a real sign-in lockout, a real refresh-token reuse, a failing background pass), captures the
JSON lines they print, and evaluates every metric's filter on them the way Cloud Logging
would read them (special fields such as ``httpRequest`` and ``severity`` leave
``jsonPayload``). The number of matches per scenario is what the scenario did, counted
independently of the filters. The alert policies must name existing metrics and labels, and
their thresholds are the ones /health/detailed states.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from auth_test_helpers import login, registered

from shared import histogram
from shared.config import Settings, get_settings, reset_settings

ROOT = Path(__file__).resolve().parent.parent
METRICS = {
    p.stem: json.loads(p.read_text()) for p in (ROOT / "deploy/monitoring/metrics").glob("*.json")
}
POLICIES = {
    p.stem: json.loads(p.read_text()) for p in (ROOT / "deploy/monitoring/policies").glob("*.json")
}
# Fields Cloud Logging lifts out of a structured line into the LogEntry itself.
SPECIAL_FIELDS = {
    "severity", "httpRequest", "time", "timestamp", "logging.googleapis.com/trace",
    "logging.googleapis.com/spanId", "logging.googleapis.com/labels",
    "logging.googleapis.com/trace_sampled", "logging.googleapis.com/insertId",
    "logging.googleapis.com/sourceLocation", "logging.googleapis.com/operation",
}  # fmt: skip
SEVERITIES = ["DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT"]
TERM = re.compile(
    r'^(?P<field>[A-Za-z_][\w.]*)\s*(?P<op>>=|<=|!=|=|>|<|:)\s*(?P<value>"[^"]*"|\S+)$'
)
MISSING = object()


# --- a small evaluator of the Logging query language (the subset the filters use) ----------


def field_value(line: dict[str, Any], path: str) -> Any:
    head, _, rest = path.partition(".")
    if head == "resource":
        return {"type": "cloud_run_revision"}.get(rest, MISSING)  # the platform's part
    if head == "severity":
        return line.get("severity", "DEFAULT")
    if head == "httpRequest":
        value: Any = line.get("httpRequest", MISSING)
    elif head == "jsonPayload":
        value = {k: v for k, v in line.items() if k not in SPECIAL_FIELDS}
    else:
        raise AssertionError(f"filter names an unknown LogEntry field: {path}")
    for part in rest.split(".") if rest else []:
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def literal(text: str) -> Any:
    if text.startswith('"'):
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text)
    except ValueError:
        return text  # a bare word (severity names)


def term_matches(line: dict[str, Any], term: str) -> bool:
    found = TERM.match(term.strip())
    assert found, f"unsupported filter term: {term!r}"
    actual = field_value(line, found["field"])
    op, expected = found["op"], literal(found["value"])
    if op == ":":
        assert expected == "*", "only the presence test ':*' is used"
        return actual is not MISSING and actual is not None
    if actual is MISSING:
        return False
    if found["field"] == "severity":
        actual, expected = SEVERITIES.index(actual), SEVERITIES.index(str(expected))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return op == "=" and actual is expected
    if isinstance(expected, float):
        if not isinstance(actual, int | float):
            return False
        actual = float(actual)
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        "<": lambda a, b: a < b,
    }
    return compare[op](actual, expected)


def matches(log_filter: str, line: dict[str, Any]) -> bool:
    assert " OR " not in log_filter and "(" not in log_filter, "keep filters a chain of ANDs"
    return all(term_matches(line, term) for term in log_filter.split(" AND "))


def extract(extractor: str, line: dict[str, Any]) -> Any:
    found = re.fullmatch(r"EXTRACT\(([\w.]+)\)", extractor)
    assert found, extractor
    return field_value(line, found[1])


# --- scenarios: what the code writes -------------------------------------------------------


@pytest.fixture
def info_logs() -> Iterator[None]:
    reset_settings(get_settings().model_copy(update={"log_level": "INFO"}))
    yield
    reset_settings(None)


def captured(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def _from(address: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": address}}


def scenario_ok(call: Any) -> int:
    call("probe").get("/api/probe/items/1")
    return 1


def scenario_server_error(call: Any) -> int:
    call("probe").get("/api/probe/crash")
    return 1


def scenario_rate_limited(call: Any) -> int:
    probe = call("probe")
    for _ in range(6):  # the route's burst is 5: the sixth is refused
        probe.get("/api/probe/limited", **_from("10.77.0.6"))
    return 6


def scenario_not_ready(call: Any, emulator: Any) -> int:
    import os

    from stack import free_port

    from shared.firestore import reset_client

    os.environ["FIRESTORE_EMULATOR_HOST"] = f"127.0.0.1:{free_port()}"
    reset_client()
    try:
        assert call("monitoring").get("/api/monitoring/health/ready").status_code == 503
    finally:
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.address
        reset_client()
    return 1


def scenario_lockout(call: Any) -> int:
    from identity import brute_force

    client = call("auth")
    account = registered(client)  # register + confirm: 2 requests
    for attempt in range(brute_force.PAIR_LIMIT):
        login(client, account["email"], f"wrong-{attempt}", **_from("203.0.113.77"))
    locked = login(client, account["email"], account["password"], **_from("203.0.113.77"))
    assert locked.status_code == 429
    return 2 + brute_force.PAIR_LIMIT + 1


def scenario_refresh_reuse(call: Any, monkeypatch: pytest.MonkeyPatch) -> int:
    from identity import sessions

    monkeypatch.setattr(sessions, "REUSE_GRACE_SECONDS", -1)
    client = call("auth")
    account = registered(client)
    for _ in range(2):  # the second presents the rotated token again
        client.post("/api/auth/refresh", json={"refresh_token": account["refresh_token"]})
    return 4


def scenario_background_failure(call: Any) -> int:
    from shared.periodic import PeriodicPass

    class Owner:
        def __init__(self) -> None:
            self.worker = PeriodicPass("pmi-metrics-flush", "metrics flush", 5.0, self.job)

        def job(self) -> None:
            raise ConnectionError("firestore unreachable")

    assert Owner().worker.run_once() is False
    return 0


SCENARIOS = (
    "ok", "server_error", "rate_limited", "not_ready", "lockout", "refresh_reuse",
    "background_failure",
)  # fmt: skip
# Matches each metric must find in each scenario's lines, from what the scenario did:
# "requests" is the number of requests it made.
EXPECTED: dict[str, Callable[[str, int], int]] = {
    "pmi_requests": lambda scenario, requests: requests,
    "pmi_request_latency": lambda scenario, requests: requests,
    "pmi_server_errors": lambda s, _: int(s in ("server_error", "not_ready")),
    "pmi_rate_limited": lambda s, _: int(s in ("rate_limited", "lockout")),
    "pmi_readiness_failures": lambda s, _: int(s == "not_ready"),
    "pmi_login_lockouts": lambda s, _: int(s == "lockout"),
    "pmi_refresh_token_reuse": lambda s, _: int(s == "refresh_reuse"),
    "pmi_background_failures": lambda s, _: int(s == "background_failure"),
}


def test_every_metric_has_its_expectation() -> None:
    assert set(METRICS) == set(EXPECTED)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_metric_filters_count_exactly_what_the_code_did(
    scenario: str,
    call: Any,
    emulator: Any,
    info_logs: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    capsys.readouterr()
    run = globals()[f"scenario_{scenario}"]
    arguments = {"call": call, "emulator": emulator, "monkeypatch": monkeypatch}
    names = run.__code__.co_varnames[: run.__code__.co_argcount]
    requests = run(**{name: arguments[name] for name in names})
    lines = captured(capsys)
    assert lines, "the scenario wrote no log line"
    for name, metric in METRICS.items():
        matched = [line for line in lines if matches(metric["filter"], line)]
        assert len(matched) == EXPECTED[name](scenario, requests), (name, metric["filter"])
        for line in matched:  # every label and value can be read off the line
            for label, extractor in metric.get("labelExtractors", {}).items():
                value = extract(extractor, line)
                assert value is not MISSING and value is not None, (name, label)
            if "valueExtractor" in metric:
                assert isinstance(extract(metric["valueExtractor"], line), float)


# --- the definitions themselves ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(METRICS))
def test_metric_definitions_are_complete(name: str) -> None:
    metric = METRICS[name]
    assert metric["name"] == name and metric["description"]
    assert metric["filter"].startswith('resource.type="cloud_run_revision"')
    assert len(metric["filter"]) < 20_000
    descriptor = metric["metricDescriptor"]
    assert descriptor["metricKind"] == "DELTA"
    labels = {label["key"] for label in descriptor.get("labels", [])}
    assert labels == set(metric.get("labelExtractors", {}))
    if descriptor["valueType"] == "DISTRIBUTION":
        assert metric["valueExtractor"] and descriptor["unit"] == "ms"
        # The same bounds as the histogram /stats/performance merges (shared/histogram.py).
        bounds = metric["bucketOptions"]["explicitBuckets"]["bounds"]
        assert bounds == [float(b) for b in histogram.LATENCY_BOUNDS_MS]
    else:
        assert descriptor["valueType"] == "INT64" and "valueExtractor" not in metric


def conditions() -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, condition["conditionThreshold"])
        for name, policy in POLICIES.items()
        for condition in policy["conditions"]
    ]


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_policies_are_complete(name: str) -> None:
    policy = POLICIES[name]
    assert policy["displayName"].startswith("PMI: ")
    assert policy["combiner"] in ("OR", "AND") and policy["conditions"]
    assert policy["severity"] in ("CRITICAL", "ERROR", "WARNING")
    assert policy["documentation"]["mimeType"] == "text/markdown"
    assert "First steps" in policy["documentation"]["content"]


@pytest.mark.parametrize(("policy", "condition"), conditions())
def test_policy_conditions_name_existing_metrics_and_labels(
    policy: str, condition: dict[str, Any]
) -> None:
    for key in ("filter", "denominatorFilter"):
        if key not in condition:
            continue
        found = re.fullmatch(
            r'metric\.type="logging\.googleapis\.com/user/(\w+)" AND '
            r'resource\.type="cloud_run_revision"',
            condition[key],
        )
        assert found and found[1] in METRICS, condition[key]
        labels = {label["key"] for label in METRICS[found[1]]["metricDescriptor"].get("labels", [])}
        aggregations = condition["aggregations" if key == "filter" else "denominatorAggregations"]
        for aggregation in aggregations:
            assert re.fullmatch(r"\d+s", aggregation["alignmentPeriod"])
            for field in aggregation.get("groupByFields", []):
                assert field.removeprefix("metric.label.") in labels, (policy, field)
    assert condition["comparison"] in ("COMPARISON_GT", "COMPARISON_LT")
    assert re.fullmatch(r"\d+s", condition["duration"])


def test_alert_thresholds_are_the_ones_health_detailed_states() -> None:
    defaults = Settings()
    error_rate = POLICIES["error-rate"]["conditions"]
    assert error_rate[0]["conditionThreshold"]["thresholdValue"] == defaults.health_max_error_rate
    assert error_rate[1]["conditionThreshold"]["thresholdValue"] == defaults.health_min_requests - 1
    p95 = POLICIES["p95-latency"]["conditions"][0]["conditionThreshold"]
    assert p95["thresholdValue"] == defaults.health_max_p95_ms
    assert p95["aggregations"][0]["crossSeriesReducer"] == "REDUCE_PERCENTILE_95"


def test_the_topics_docs_monitoring_promises_each_have_a_policy() -> None:
    wanted = {
        "error-rate", "p95-latency", "server-error-burst", "readiness-failures",
        "login-lockouts", "refresh-token-reuse", "rate-limit-refusals",
    }  # fmt: skip
    assert wanted <= set(POLICIES)
    doc = (ROOT / "docs" / "monitoring.md").read_text(encoding="utf-8")
    for name in POLICIES:
        assert f"policies/{name}.json" in doc, name
    for name in METRICS:
        assert f"`{name}`" in doc, name


# --- applying them (scripts/alerting.py) ----------------------------------------------------


class ListingRunner:
    """Answers gcloud's list commands with what "exists"; records every command."""

    def __init__(self, metrics: list[dict[str, str]], policies: list[dict[str, str]]) -> None:
        self.listings = {"metrics": json.dumps(metrics), "policies": json.dumps(policies)}
        self.argv: list[list[str]] = []

    def run(self, argv: list[str]) -> str:
        self.argv.append(argv)
        if "list" in argv:
            return self.listings["metrics" if "metrics" in argv else "policies"]
        return ""


def test_applying_creates_what_is_missing_and_updates_what_exists() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from release import alerting
    from release import config as release_config

    staging = release_config.load().environment("staging")
    existing_policy = POLICIES["error-rate"]["displayName"]
    runner = ListingRunner(
        metrics=[{"name": "projects/pmi-staging/metrics/pmi_requests"}],
        policies=[{"displayName": existing_policy, "name": "projects/pmi-staging/alertPolicies/9"}],
    )
    ran = alerting.apply(runner, staging, channels=["projects/pmi-staging/notificationChannels/1"])
    assert ran == runner.argv
    verbs = [(argv[1], argv[3]) for argv in ran if "list" not in argv]
    # Metrics first: a policy's condition names its metric.
    assert [v for v in verbs if v[0] == "logging"] == [
        ("logging", "update" if name == "pmi_requests" else "create") for name in sorted(METRICS)
    ]
    assert verbs.index(("logging", "create")) < verbs.index(("monitoring", "create"))
    updates = [argv for argv in ran if argv[1:4] == ["monitoring", "policies", "update"]]
    assert len(updates) == 1 and updates[0][4] == "projects/pmi-staging/alertPolicies/9"
    assert "--notification-channels" not in " ".join(updates[0])
    creates = [argv for argv in ran if argv[1:4] == ["monitoring", "policies", "create"]]
    assert len(creates) == len(POLICIES) - 1
    for argv in creates + updates:
        assert "--notification-channels=projects/pmi-staging/notificationChannels/1" in argv or (
            argv in updates
        )
        assert "--project=pmi-staging" in argv
        assert any(a.startswith("--policy-from-file=") and a.endswith(".json") for a in argv)


def test_the_dry_run_prints_every_command_and_calls_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    import alerting as alerting_cli

    assert alerting_cli.main(["--env", "production"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("# Alerting for production (project pmi-production)")
    commands = [line for line in out if line.startswith("$ gcloud ")]
    assert len(commands) == 2 + len(METRICS) + len(POLICIES)
