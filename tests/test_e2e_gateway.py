"""End to end: every function under functions-framework (gunicorn, as in the cloud) behind
the Hosting gateway that applies firebase.json, against the session's emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from shared.functions import FUNCTION_NAMES

pytestmark = pytest.mark.e2e


@pytest.fixture
def gateway(stack: Any, db: Any) -> str:
    return str(stack.gateway_url)


def test_readiness_through_the_gateway_is_200(gateway: str) -> None:
    response = requests.get(f"{gateway}/api/monitoring/health/ready", timeout=30)
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.headers["Cache-Control"] == "no-store"


def test_every_function_answers_its_health_route(gateway: str) -> None:
    for name in FUNCTION_NAMES:
        response = requests.get(f"{gateway}/api/{name}/health", timeout=30)
        assert response.status_code == 200, name
        body = response.json()
        # The monitoring function's public health names only status and version.
        assert body.get("function", name) == name and body["status"] == "ok", (name, body)
        assert name != "monitoring" or set(body) == {"status", "version"}


def test_unknown_api_route_is_an_envelope_404_not_the_dashboard(gateway: str) -> None:
    response = requests.get(f"{gateway}/api/vehicles/nope/nothing/here", timeout=30)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.headers["Cache-Control"] == "no-store"


def test_hosting_headers_apply_to_proxied_responses(gateway: str) -> None:
    response = requests.get(f"{gateway}/api/monitoring/health/live", timeout=30)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_function_answers_with_its_own_request_id_through_the_gateway(gateway: str) -> None:
    # The caller's id is logged beside ours (tests/test_request_identity.py), never reused.
    response = requests.get(
        f"{gateway}/api/monitoring/health/live",
        headers={"X-Request-ID": "e2e-trace-0001"},
        timeout=30,
    )
    assert len(response.headers["X-Request-ID"]) == 32
    assert response.headers["X-Request-ID"] != "e2e-trace-0001"


def test_dashboard_is_served_for_non_api_paths(gateway: str) -> None:
    response = requests.get(f"{gateway}/", timeout=30)
    assert response.status_code == 200
    assert "text/html" in response.headers["Content-Type"]


def test_malformed_json_through_the_gateway_is_400(gateway: str) -> None:
    response = requests.post(
        f"{gateway}/api/auth/login",
        data='{"email": ',
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_oversize_chunked_body_is_413_from_the_real_server(stack: Any, db: Any) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"email": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'", "password": "p"}'

    response = requests.post(
        f"{stack.function_url('auth')}/login",
        data=chunks(),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_oversize_body_with_length_is_413_through_the_gateway(gateway: str) -> None:
    body = json.dumps({"email": "a@b.c", "password": "x" * 2_000_000})
    response = requests.post(
        f"{gateway}/api/auth/login",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 413


def test_gzip_is_applied_by_the_function_server(gateway: str) -> None:
    response = requests.get(
        f"{gateway}/api/monitoring/health", headers={"Accept-Encoding": "gzip"}, timeout=30
    )
    assert response.status_code == 200
    # The health body is small: it must go out uncompressed.
    assert "Content-Encoding" not in response.headers


def test_cors_preflight_through_the_gateway(gateway: str) -> None:
    allowed = requests.options(
        f"{gateway}/api/vehicles/",
        headers={"Origin": "http://127.0.0.1:5000", "Access-Control-Request-Method": "GET"},
        timeout=30,
    )
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:5000"
    denied = requests.options(
        f"{gateway}/api/vehicles/",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        timeout=30,
    )
    assert denied.status_code == 403
    assert "Access-Control-Allow-Origin" not in denied.headers
