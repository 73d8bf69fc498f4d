"""Bad input on every route that takes a body or a query string, derived from the route
tables: each answer is the right 4xx in the one envelope, never a 5xx.

Validation runs before a handler looks anything up, so placeholder ids are fine here;
the routes' own tests cover the field-by-field rules.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_route_matrix import ROUTES, concrete_path

from shared.http import Route

BODY_ROUTES = [(f, r) for f, r in ROUTES if r.body is not None]
QUERY_ROUTES = [(f, r) for f, r in ROUTES if r.query is not None]


def ids(routes: list[tuple[str, Route]]) -> list[str]:
    return [f"{function}:{route.method}:{route.path}" for function, route in routes]


def assert_error(response: Any, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "request_id", "details"}
    if code is not None:
        assert error["code"] == code


@pytest.fixture
def admin_headers(users: Any) -> dict[str, str]:
    headers: dict[str, str] = users.create("admin").headers
    return headers


@pytest.mark.parametrize(("function", "route"), BODY_ROUTES, ids=ids(BODY_ROUTES))
def test_body_route_refuses_malformed_wrongly_typed_and_unknown_input(
    function: str, route: Route, call: Any, admin_headers: dict[str, str]
) -> None:
    client = call(function)
    path = concrete_path(function, route)

    def send(**kwargs: Any) -> Any:
        return client.open(path, method=route.method, headers=admin_headers, **kwargs)

    assert_error(send(data='{"broken": ', content_type="application/json"), 400, "malformed_json")
    assert_error(send(data="a=1", content_type="text/plain"), 415, "unsupported_media_type")
    assert_error(send(json=[1, 2]), 422, "validation_failed")
    assert_error(send(json="text"), 422, "validation_failed")
    unknown = send(json={"surely_not_a_field": 1})
    assert_error(unknown, 422, "validation_failed")
    fields = [d["field"] for d in unknown.get_json()["error"]["details"]]
    assert "surely_not_a_field" in fields


@pytest.mark.parametrize(("function", "route"), QUERY_ROUTES, ids=ids(QUERY_ROUTES))
def test_query_route_refuses_unknown_parameters(
    function: str, route: Route, call: Any, admin_headers: dict[str, str]
) -> None:
    path = concrete_path(function, route) + "?surely_not_a_parameter=1"
    response = call(function).open(path, method=route.method, headers=admin_headers)
    assert_error(response, 422, "validation_failed")
    details = response.get_json()["error"]["details"]
    assert any(d["field"] == "surely_not_a_parameter" for d in details)


def test_the_sweep_covers_the_routes_that_take_input() -> None:
    assert len(BODY_ROUTES) >= 15 and len(QUERY_ROUTES) >= 8
