"""Hostile input answers a clear 4xx, never a 500: deep JSON, and ids that cannot be ids.

Every id a caller can send passes the one rule of shared/ids.py before it reaches a document
path: path ids answer 404 on every route of the route table, ids inside cursors and bodies
422, an id inside a suggestion id 404, a token whose ``sub`` breaks the rule 401.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from test_route_matrix import ROUTES

from shared.auth import tokens

# Reserved by Firestore, path tricks, too long, outside the character set.
BAD_IDS = [
    "__x__",
    "__name__",
    "..",
    ".",
    "a" * 129,
    "a%2Fb",
    "%2E%2E",
    "a%20b",
    "%C3%BC",
    "a:b",
]
ROUTES_WITH_IDS = [(f, r) for f, r in ROUTES if "<" in r.path]


def _path(function: str, path: str, bad: str) -> str:
    return f"/api/{function}" + re.sub(r"<(?:[a-z]+:)?[a-z_]+>", bad, path)


@pytest.mark.parametrize(
    ("function", "route"),
    ROUTES_WITH_IDS,
    ids=[f"{f}:{r.method}:{r.path}" for f, r in ROUTES_WITH_IDS],
)
def test_malformed_or_reserved_path_ids_are_404_on_every_route(
    function: str, route: Any, call: Any, users: Any
) -> None:
    client = call(function)
    admin = users.create("admin")
    for bad in BAD_IDS:
        kwargs: dict[str, Any] = {"headers": admin.headers}
        if route.method in ("POST", "PATCH", "PUT"):
            kwargs["json"] = {}
        response = client.open(_path(function, route.path, bad), method=route.method, **kwargs)
        body = response.get_json()
        assert response.status_code == 404, (bad, response.status_code, body)
        assert body["error"]["code"] == "not_found", (bad, body)


def _cursor(values: list[Any], doc_id: str) -> str:
    raw = json.dumps([values, doc_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("bad", ["__x__", "a/b", "..", "a" * 200])
@pytest.mark.parametrize(
    ("function", "path"),
    [
        ("auth", "/api/auth/users"),
        ("vehicles", "/api/vehicles"),
        ("bookings", "/api/bookings/centers"),
    ],
)
def test_a_cursor_carrying_a_bad_id_is_422(
    function: str, path: str, bad: str, call: Any, users: Any
) -> None:
    admin = users.create("admin")
    cursor = _cursor([{"$dt": "2026-01-01T00:00:00+00:00"}], bad)
    if function == "bookings":
        cursor = _cursor(["Center"], bad)
    response = call(function).get(f"{path}?cursor={cursor}", headers=admin.headers)
    assert response.status_code == 422, response.get_json()


@pytest.mark.parametrize("bad", ["__x__", ".."])
def test_an_id_inside_a_suggestion_id_is_checked_like_any_id(
    bad: str, call: Any, users: Any
) -> None:
    customer = users.create("customer")
    start = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    raw = json.dumps([1, bad, "center0001", "oil_change", start], separators=(",", ":"))
    suggestion = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    response = call("bookings").post(
        f"/api/bookings/suggestions/{suggestion}/accept", headers=customer.headers
    )
    assert response.status_code == 404, response.get_json()


@pytest.mark.parametrize("bad", ["__x__", "a/b", "..", "a" * 129])
def test_a_body_id_that_cannot_be_an_id_is_422(bad: str, call: Any, users: Any) -> None:
    customer, admin = users.create("customer"), users.create("admin")
    start = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    booking = call("bookings").post(
        "/api/bookings",
        json={
            "vehicle_id": bad,
            "center_id": "center0001",
            "service_type": "oil_change",
            "start": start,
        },
        headers=customer.headers,
    )
    assert booking.status_code == 422, booking.get_json()
    target = users.create("mechanic", service_center_id="center0001")
    patch = call("auth").patch(
        f"/api/auth/users/{target.id}", json={"service_center_id": bad}, headers=admin.headers
    )
    assert patch.status_code == 422, patch.get_json()


@pytest.mark.parametrize("bad_sub", ["__x__", "a/b", ".."])
def test_a_signed_token_whose_subject_cannot_be_an_id_is_401(
    bad_sub: str, call: Any, db: Any
) -> None:
    issued = tokens.issue(
        tokens.TokenKind.ACCESS, user_id=bad_sub, role="admin", session_id="session0001"
    )
    response = call("auth").get("/api/auth/me", headers={"Authorization": f"Bearer {issued.token}"})
    assert response.status_code == 401, response.get_json()
    assert response.get_json()["error"]["code"] == "invalid_token"


def test_every_path_parameter_is_an_id_or_a_declared_opaque_token() -> None:
    """The router's converters enforce the rule; a new ``<string:x>`` would bypass it."""
    for function, route in ROUTES:
        for converter, name in re.findall(r"<(?:([a-z]+):)?([a-z_]+)>", route.path):
            assert converter in ("", "opaque"), (function, route.path)
            assert name.endswith("_id"), (function, route.path)


# --- deep JSON -----------------------------------------------------------------------------


def test_deeply_nested_json_is_400_without_a_stack_trace_in_the_log(
    call: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = call("probe").post(
        "/api/probe/items", data="[" * 200_000, content_type="application/json"
    )
    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    assert response.get_json()["error"]["code"] == "too_deep"
    logged = capsys.readouterr()
    assert "Traceback" not in logged.out + logged.err
    assert "RecursionError" not in logged.out + logged.err


def test_nesting_past_the_limit_is_refused_but_the_limit_itself_is_served(call: Any) -> None:
    from shared.json_depth import MAX_JSON_DEPTH

    def nested(depth: int) -> str:
        # {"name": ..., "quantity": 1} is depth 1; each list around the name adds one.
        return json.dumps({"name": "x", "quantity": 1, "extra": _lists(depth - 1)})

    probe = call("probe")
    too_deep = probe.post(
        "/api/probe/items", data=nested(MAX_JSON_DEPTH + 1), content_type="application/json"
    )
    assert too_deep.status_code == 400 and too_deep.get_json()["error"]["code"] == "too_deep"
    at_limit = probe.post(
        "/api/probe/items", data=nested(MAX_JSON_DEPTH), content_type="application/json"
    )
    # Parsed and validated: the model refuses the unknown field, as it should.
    assert at_limit.status_code == 422


def _lists(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [1, 2, 31, 32, 33, 200])
def test_nesting_depth_counts_every_object_and_array_level(depth: int) -> None:
    from shared.json_depth import MAX_JSON_DEPTH, nesting_exceeds

    only_lists = _lists(depth)
    object_at_the_bottom: Any = {"leaf": 1}
    for level in range(depth - 1):
        object_at_the_bottom = [object_at_the_bottom] if level % 2 else {"k": object_at_the_bottom}
    # Wide and shallow beside the deep branch: the deepest branch decides.
    beside_wide = {"wide": [{"a": 1, "b": [1, 2]}] * 500, "deep": only_lists}
    expected = depth > MAX_JSON_DEPTH
    assert nesting_exceeds(only_lists) is expected
    assert nesting_exceeds(object_at_the_bottom) is expected
    assert nesting_exceeds(beside_wide) is (depth + 1 > MAX_JSON_DEPTH)
    assert nesting_exceeds("scalar") is False and nesting_exceeds(7) is False
