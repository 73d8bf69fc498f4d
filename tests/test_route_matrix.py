"""Every route of every function, called by each of the five roles and by an anonymous caller.

The expectations come from the route table itself (each route's declared access rule), so a
new route is covered the day it is added:

- anonymous on a route that needs sign-in → 401;
- a role the access rule refuses → 403;
- a role the rule admits → never 401/403 at the gate (unknown ids then answer 404, empty
  bodies 422: that is the handler's business, checked elsewhere);
- nobody ever gets a 5xx.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

from shared.auth.rbac import Role
from shared.functions import FUNCTION_NAMES
from shared.http import App, Route

FUNCTIONS = FUNCTION_NAMES
ROLES = tuple(Role)
# Ids that exist nowhere: scoping must answer 404, never leak or crash.
PLACEHOLDER_ID = "00000000000000000000000000000000"


def app_of(name: str) -> App:
    """The App behind the entry point functions-framework loaded for ``name``."""
    from conftest import function_app

    entry_point = inspect.unwrap(function_app(name).view_functions["run"])
    app = entry_point.__globals__["app"]
    assert isinstance(app, App) and app.name == name
    return app


def all_routes() -> list[tuple[str, Route]]:
    return [(name, route) for name in FUNCTIONS for route in app_of(name).routes]


def concrete_path(function: str, route: Route) -> str:
    path = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", PLACEHOLDER_ID, route.path)
    return f"/api/{function}" + ("" if path == "/" else path)


def send(client: Any, route: Route, path: str, headers: dict[str, str]) -> Any:
    kwargs: dict[str, Any] = {"headers": headers}
    if route.method in ("POST", "PATCH", "PUT"):
        kwargs["json"] = {}
    return client.open(path, method=route.method, **kwargs)


ROUTES = all_routes()


@pytest.mark.parametrize(
    ("function", "route"),
    ROUTES,
    ids=[f"{function}:{route.method}:{route.path}" for function, route in ROUTES],
)
def test_route_answers_each_role_as_its_access_rule_says(
    function: str, route: Route, call: Any, users: Any
) -> None:
    client = call(function)
    path = concrete_path(function, route)
    anonymous = send(client, route, path, {})
    assert anonymous.status_code < 500, anonymous.get_data(as_text=True)
    if route.access.public:
        assert anonymous.status_code != 401
    else:
        assert anonymous.status_code == 401, f"anonymous reached {path}"
    for role in ROLES:
        user = users.create(role.value, service_center_id="center-of-staff")
        response = send(client, route, path, user.headers)
        body = response.get_data(as_text=True)
        assert response.status_code < 500, (role, body)
        assert response.status_code != 401, (role, body)
        # The gate's own refusal names the role; a handler's 403 (say, a lifecycle rule on a
        # booking) is a different answer and is tested with that route.
        refused_at_gate = response.status_code == 403 and "may not do this" in body
        if route.access.allows(role):
            assert not refused_at_gate, (role, body)
        else:
            assert refused_at_gate, (role, response.status_code, body)


def test_every_function_declares_routes() -> None:
    counts = {name: len(app_of(name).routes) for name in FUNCTIONS}
    assert all(count >= 1 for count in counts.values()), counts
    assert sum(counts.values()) >= 40, counts


def test_routes_needing_sign_in_outnumber_public_ones() -> None:
    public = [f"{f}:{r.path}" for f, r in ROUTES if r.access.public]
    # Public by design: health probes and the account entry points.
    allowed_public = {
        "/health",
        "/health/live",
        "/health/ready",
        "/register",
        "/verify-email",
        "/login",
        "/refresh",
        "/logout",
    }
    assert {p.split(":", 1)[1] for p in public} <= allowed_public, public
