"""Who may call the sensitive routes, written out by hand.

tests/test_route_matrix.py derives its expectations from each route's declared rule, so a
rule weakened by mistake (``Permission.BOOKINGS_READ`` where ``BOOKINGS_MANAGE`` was meant)
would still pass there. This table is independent of the declarations and of
shared.auth.rbac's role table: it says, for user management, center management, the booking
actions and monitoring, which roles get past the gate. Everyone else gets 403 from the gate
(401 when anonymous), and a route that should be public answers anonymous callers.
"""

from __future__ import annotations

from typing import Any

import pytest

ADMIN, CUSTOMER, CENTER, MECHANIC, VIEWER = (
    "admin",
    "customer",
    "service_center",
    "mechanic",
    "viewer",
)
ROLES = (ADMIN, CUSTOMER, CENTER, MECHANIC, VIEWER)
EVERYONE = frozenset(ROLES)
PUBLIC = "public"
ID = "00000000000000000000000000000000"

# (function, method, path) → the roles admitted, or PUBLIC.
EXPECTED: dict[tuple[str, str, str], frozenset[str] | str] = {
    # user management
    ("auth", "GET", "/api/auth/users"): frozenset({ADMIN}),
    ("auth", "GET", f"/api/auth/users/{ID}"): frozenset({ADMIN}),
    ("auth", "PATCH", f"/api/auth/users/{ID}"): frozenset({ADMIN}),
    ("auth", "GET", "/api/auth/audit"): frozenset({ADMIN}),
    ("auth", "GET", "/api/auth/me"): EVERYONE,
    ("auth", "POST", "/api/auth/logout-all"): EVERYONE,
    ("auth", "POST", "/api/auth/login"): PUBLIC,
    # center management
    ("bookings", "POST", "/api/bookings/centers"): frozenset({ADMIN}),
    ("bookings", "PATCH", f"/api/bookings/centers/{ID}"): frozenset({ADMIN}),
    ("bookings", "GET", "/api/bookings/centers"): EVERYONE,
    # a center's team (names) and its suggestions: its people and admins, never customers
    ("bookings", "GET", f"/api/bookings/centers/{ID}/team"): frozenset({ADMIN, CENTER, MECHANIC}),
    ("bookings", "GET", f"/api/bookings/centers/{ID}/suggestions"): frozenset({ADMIN, CENTER}),
    # booking actions
    ("bookings", "POST", "/api/bookings"): frozenset({ADMIN, CUSTOMER}),
    ("bookings", "POST", f"/api/bookings/suggestions/{ID}/accept"): frozenset({ADMIN, CUSTOMER}),
    ("bookings", "POST", f"/api/bookings/{ID}/confirm"): frozenset({ADMIN, CENTER}),
    ("bookings", "POST", f"/api/bookings/{ID}/no-show"): frozenset({ADMIN, CENTER}),
    ("bookings", "POST", f"/api/bookings/{ID}/assign"): frozenset({ADMIN, CENTER}),
    ("bookings", "POST", f"/api/bookings/{ID}/start"): frozenset({ADMIN, CENTER, MECHANIC}),
    ("bookings", "POST", f"/api/bookings/{ID}/complete"): frozenset({ADMIN, CENTER, MECHANIC}),
    ("bookings", "POST", f"/api/bookings/{ID}/cancel"): frozenset({ADMIN, CUSTOMER, CENTER}),
    ("bookings", "POST", f"/api/bookings/{ID}/reschedule"): frozenset({ADMIN, CUSTOMER, CENTER}),
    # vehicles: changing one is the owner's (or an admin's) business
    ("vehicles", "POST", "/api/vehicles"): frozenset({ADMIN, CUSTOMER}),
    ("vehicles", "DELETE", f"/api/vehicles/{ID}"): frozenset({ADMIN, CUSTOMER}),
    ("vehicles", "POST", f"/api/vehicles/{ID}/service-records"): frozenset(
        {ADMIN, CUSTOMER, CENTER}
    ),
    ("vehicles", "POST", f"/api/vehicles/{ID}/mileage-correction"): frozenset({ADMIN, CUSTOMER}),
    ("vehicles", "GET", "/api/vehicles/vin-claims"): frozenset({ADMIN, CUSTOMER}),
    ("vehicles", "POST", f"/api/vehicles/vin-claims/{ID}/resolve"): frozenset({ADMIN}),
    # monitoring: probes and uptime checks call without credentials
    ("monitoring", "GET", "/api/monitoring/health"): PUBLIC,
    ("monitoring", "GET", "/api/monitoring/health/live"): PUBLIC,
    ("monitoring", "GET", "/api/monitoring/health/ready"): PUBLIC,
    # details of the instance and its dependencies: operators only
    ("monitoring", "GET", "/api/monitoring/health/detailed"): frozenset({ADMIN, VIEWER}),
}


def _send(client: Any, method: str, path: str, headers: dict[str, str]) -> Any:
    body: dict[str, Any] = {"json": {}} if method in ("POST", "PATCH", "PUT") else {}
    return client.open(path, method=method, headers=headers, **body)


def _refused_at_gate(response: Any) -> bool:
    return response.status_code == 403 and "may not do this" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("function", "method", "path"), list(EXPECTED), ids=[f"{m} {p}" for _, m, p in EXPECTED]
)
def test_sensitive_route_admits_exactly_the_expected_roles(
    function: str, method: str, path: str, call: Any, users: Any
) -> None:
    client = call(function)
    admitted = EXPECTED[(function, method, path)]
    anonymous = _send(client, method, path, {})
    if isinstance(admitted, str):  # PUBLIC, the only string in the table
        assert admitted == PUBLIC
        assert anonymous.status_code not in (401, 403), anonymous.get_data(as_text=True)
        return
    assert anonymous.status_code == 401
    outcome = {}
    for role in ROLES:
        user = users.create(role, service_center_id="center-of-staff")
        response = _send(client, method, path, user.headers)
        assert response.status_code < 500, (role, response.get_data(as_text=True))
        outcome[role] = not _refused_at_gate(response) and response.status_code != 401
    assert {role for role, passed in outcome.items() if passed} == admitted


def _shape(path: str) -> str:
    """A path with every parameter (declared ``<name>`` or the placeholder id) as ``<>``."""
    return "/".join(
        "<>" if part == ID or part.startswith("<") else part for part in path.split("/")
    )


def test_every_route_in_the_table_exists() -> None:
    from test_route_matrix import ROUTES

    declared = {(f, r.method, _shape(r.path)) for f, r in ROUTES}
    for function, method, path in EXPECTED:
        own_path = path.removeprefix(f"/api/{function}") or "/"
        assert (function, method, _shape(own_path)) in declared, (function, method, path)
