"""Access is declared where a route is declared: no route exists without a decision.

``App.route`` (and ``get``/``post``/...) takes the access rule as a required keyword; a
declaration without one, or with something that is not a rule, fails when the module that
declares it is imported — it never becomes a silently "signed in" route.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth import rbac
from shared.auth.rbac import PUBLIC, SIGNED_IN, AccessRule, Permission, Role, roles
from shared.http import App, RequestContext


def handler(ctx: RequestContext) -> dict[str, Any]:
    return {}


def test_a_route_without_an_access_rule_cannot_be_registered() -> None:
    app = App("declaration-test")
    for method in ("get", "post", "patch", "put", "delete"):
        with pytest.raises(TypeError, match="access"):
            getattr(app, method)("/x")(handler)
    with pytest.raises(TypeError, match="access"):
        app.route("GET", "/x")(handler)  # type: ignore[call-arg]
    assert app.routes == []


@pytest.mark.parametrize("access", [None, "admin", "users:read", handler, 1])
def test_anything_but_a_rule_is_refused_at_declaration(access: Any) -> None:
    app = App("declaration-test")
    with pytest.raises(TypeError, match="access must be"):
        app.get("/x", access=access)(handler)
    assert app.routes == []


def test_each_kind_of_rule_is_recorded_on_the_route() -> None:
    app = App("declaration-test")
    app.get("/public", access=PUBLIC)(handler)
    app.get("/signed-in", access=SIGNED_IN)(handler)
    app.get("/permission", access=Permission.USERS_READ)(handler)
    app.get("/role", access=Role.ADMIN)(handler)
    app.get("/roles", access=roles(Role.ADMIN, Role.VIEWER))(handler)
    described = {route.path: route.access.describe() for route in app.routes}
    assert described == {
        "/public": "public",
        "/signed-in": "signed in",
        "/permission": "permission: users:read",
        "/role": "roles: admin",
        "/roles": "roles: admin, viewer",
    }
    assert all(isinstance(route.access, AccessRule) for route in app.routes)


def test_roles_needs_at_least_one_role() -> None:
    with pytest.raises(ValueError):
        roles()


def test_the_stacked_access_decorators_are_gone() -> None:
    # A decorator placed above the route declaration used to register the route as merely
    # "signed in"; with none left, that mistake cannot be written.
    for name in ("public", "require_permission", "require_role", "access_rule_of"):
        assert not hasattr(rbac, name), name
