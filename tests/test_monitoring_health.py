"""The monitoring function's health routes: liveness without I/O, readiness with a deadline,
a minimal public health answer, and the detailed report (each dependency's latency, this
instance) behind ``monitoring:read``."""

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
    assert response.get_json() == {"status": "ready"}


def test_ready_is_503_when_firestore_is_unreachable(call: Any, firestore_down: None) -> None:
    response = call("monitoring").get("/api/monitoring/health/ready")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "not_ready"
    assert error["details"][0]["dependency"] == "firestore"


def test_live_stays_200_when_firestore_is_unreachable(call: Any, firestore_down: None) -> None:
    assert call("monitoring").get("/api/monitoring/health/live").status_code == 200


def test_detailed_health_reports_version_uptime_and_dependency_latency(
    call: Any, users: Any
) -> None:
    admin = users.create("admin")
    body = call("monitoring").get("/api/monitoring/health/detailed", headers=admin.headers)
    body = body.get_json()
    assert body["status"] == "ok"
    assert body["version"]
    assert body["uptime_seconds"] >= 0
    firestore = body["dependencies"][0]
    assert firestore["name"] == "firestore" and firestore["ok"] is True
    assert firestore["latency_ms"] >= 0
    assert body["process"]["rss_bytes"] > 0


def test_detailed_health_is_degraded_not_500_when_firestore_is_down(
    call: Any, users: Any, firestore_down: None
) -> None:
    from shared.auth.principal import Principal
    from shared.auth.rbac import Role

    # The principal cannot be read from a Firestore that is down: serve it from memory.
    app = _monitoring_app()
    loader = app._principal_loader
    app._principal_loader = lambda claims: Principal(claims.user_id, Role.ADMIN, claims.session_id)
    try:
        response = call("monitoring").get(
            "/api/monitoring/health/detailed", headers=_admin_token_headers()
        )
    finally:
        app._principal_loader = loader
    assert response.status_code == 200
    assert response.get_json()["status"] == "degraded"
    assert response.get_json()["dependencies"][0]["ok"] is False


def _monitoring_app() -> Any:
    import inspect

    from conftest import function_app

    return inspect.unwrap(function_app("monitoring").view_functions["run"]).__globals__["app"]


def _admin_token_headers() -> dict[str, str]:
    from shared.auth import tokens

    issued = tokens.issue(
        tokens.TokenKind.ACCESS, user_id="admin0001", role="admin", session_id="session0001"
    )
    return {"Authorization": f"Bearer {issued.token}"}


def test_health_routes_refuse_other_methods(call: Any) -> None:
    response = call("monitoring").post("/api/monitoring/health/ready")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
