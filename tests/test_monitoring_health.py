"""The monitoring function's health routes: liveness without I/O, readiness with a deadline,
and the health report with each dependency's latency."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from stack import free_port

from shared.firestore import reset_client


@pytest.fixture
def firestore_down(emulator: Any) -> Iterator[None]:
    """Point the Firestore client at a closed port for one test."""
    os.environ["FIRESTORE_EMULATOR_HOST"] = f"127.0.0.1:{free_port()}"
    reset_client()
    try:
        yield
    finally:
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.address
        reset_client()


def test_live_answers_ok_on_both_paths(call: Any) -> None:
    monitoring = call("monitoring")
    for path in ("/api/monitoring/health/live", "/health/live"):
        response = monitoring.get(path)
        assert response.status_code == 200
        assert response.get_json() == {"status": "ok"}
        assert response.headers["Cache-Control"] == "no-store"


def test_ready_is_200_when_firestore_answers(call: Any) -> None:
    response = call("monitoring").get("/api/monitoring/health/ready")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ready"
    assert response.get_json()["firestore_latency_ms"] >= 0


def test_ready_is_503_when_firestore_is_unreachable(call: Any, firestore_down: None) -> None:
    response = call("monitoring").get("/api/monitoring/health/ready")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "not_ready"
    assert error["details"][0]["dependency"] == "firestore"


def test_live_stays_200_when_firestore_is_unreachable(call: Any, firestore_down: None) -> None:
    assert call("monitoring").get("/api/monitoring/health/live").status_code == 200


def test_health_reports_version_uptime_and_dependency_latency(call: Any) -> None:
    body = call("monitoring").get("/api/monitoring/health").get_json()
    assert body["status"] == "ok"
    assert body["version"]
    assert body["uptime_seconds"] >= 0
    firestore = body["dependencies"][0]
    assert firestore["name"] == "firestore" and firestore["ok"] is True
    assert firestore["latency_ms"] >= 0
    assert body["process"]["rss_bytes"] > 0


def test_health_is_degraded_not_500_when_firestore_is_down(call: Any, firestore_down: None) -> None:
    response = call("monitoring").get("/api/monitoring/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "degraded"
    assert response.get_json()["dependencies"][0]["ok"] is False


def test_health_routes_refuse_other_methods(call: Any) -> None:
    response = call("monitoring").post("/api/monitoring/health/ready")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
