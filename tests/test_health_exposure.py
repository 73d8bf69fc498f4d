"""Rate limiting reaches callers without a valid token, and public health routes say little.

The client's IP bucket is charged before a 401 is answered, so a flood of invalid tokens is
throttled like any anonymous flood. Public liveness and /health touch no backend and name no
internals; readiness reads Firestore and is limited per IP; the details (dependencies,
process facts) need ``monitoring:read``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_route_matrix import ROUTES

from shared.config import get_settings, reset_settings
from shared.functions import FUNCTION_NAMES


@pytest.fixture
def tight_default_limit() -> Iterator[None]:
    """The function default limit at a burst of 3 (per-route rules are unaffected)."""
    original = get_settings()
    reset_settings(original.model_copy(update={"rate_limit_per_minute": 6, "rate_limit_burst": 3}))
    yield
    reset_settings(original)


def _from(address: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_requests_with_invalid_tokens_are_rate_limited_by_ip(
    call: Any, tight_default_limit: None
) -> None:
    vehicles = call("vehicles")
    statuses = [
        vehicles.get(
            "/api/vehicles",
            headers={"Authorization": f"Bearer forged.token.{index}"},
            **_from("203.0.113.140"),
        ).status_code
        for index in range(6)
    ]
    assert statuses == [401, 401, 401, 429, 429, 429]
    # Another address still gets its own answer.
    other = vehicles.get(
        "/api/vehicles", headers={"Authorization": "Bearer x"}, **_from("203.0.113.141")
    )
    assert other.status_code == 401


def test_requests_without_a_token_are_rate_limited_by_ip(
    call: Any, tight_default_limit: None
) -> None:
    bookings = call("bookings")
    statuses = [
        bookings.get("/api/bookings", **_from("203.0.113.142")).status_code for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]


def test_a_valid_token_is_limited_by_user_not_by_the_shared_address(
    call: Any, users: Any, tight_default_limit: None
) -> None:
    """Colleagues behind one NAT each have their own bucket once signed in."""
    vehicles = call("vehicles")
    shared_address = _from("198.51.100.143")
    for _ in range(3):
        vehicles.get("/api/vehicles", headers={"Authorization": "Bearer bad"}, **shared_address)
    colleague = users.create("customer")
    assert (
        vehicles.get("/api/vehicles", headers=colleague.headers, **shared_address).status_code
        == 200
    )


def test_readiness_reads_firestore_so_it_is_rate_limited_per_ip(
    call: Any, tight_default_limit: None
) -> None:
    monitoring = call("monitoring")
    statuses = [
        monitoring.get("/api/monitoring/health/ready", **_from("203.0.113.144")).status_code
        for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]


def test_public_health_says_only_status_and_version(call: Any) -> None:
    body = call("monitoring").get("/api/monitoring/health").get_json()
    assert set(body) == {"status", "version"}
    for function in set(FUNCTION_NAMES) - {"monitoring"}:
        answer = call(function).get(f"/api/{function}/health").get_json()
        assert set(answer) <= {"status", "function"}, answer


def test_detailed_health_needs_monitoring_read(call: Any, users: Any) -> None:
    monitoring = call("monitoring")
    path = "/api/monitoring/health/detailed"
    assert monitoring.get(path).status_code == 401
    assert monitoring.get(path, headers=users.create("customer").headers).status_code == 403
    admin = monitoring.get(path, headers=users.create("admin").headers)
    assert admin.status_code == 200
    body = admin.get_json()
    assert body["process"]["pid"] > 0 and body["process"]["rss_bytes"] > 0
    assert body["dependencies"][0]["name"] == "firestore"
    assert body["client_ip"]["trusted_proxy_hops"] == 0


def test_only_io_free_liveness_routes_skip_the_rate_limiter() -> None:
    unlimited = {(f, r.path) for f, r in ROUTES if not r.rate_limited}
    liveness = {(function, "/health") for function in FUNCTION_NAMES}
    assert unlimited <= liveness | {("monitoring", "/health/live")}, unlimited
