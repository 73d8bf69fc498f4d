"""The shared request pipeline, through a function built on it (tests/fixtures/probe_function).

Every failure must be a 4xx (or 503) in the one envelope, with no stack trace, and every
response must carry the request id and ``Cache-Control: no-store``.
"""

from __future__ import annotations

import gzip
import json
from typing import Any, cast

import pytest

from shared.auth import tokens
from shared.http import App

ENVELOPE_KEYS = {"code", "message", "request_id", "details"}


def assert_envelope(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == ENVELOPE_KEYS
    assert body["error"]["request_id"] == response.headers["X-Request-ID"]
    assert response.headers["Cache-Control"] == "no-store"
    if code is not None:
        assert body["error"]["code"] == code
    return dict(body["error"])


@pytest.fixture
def probe(call: Any) -> Any:
    return call("probe")


def test_valid_body_is_accepted_on_hosting_and_direct_paths(probe: Any) -> None:
    for path in ("/api/probe/items", "/items"):
        response = probe.post(path, json={"name": "filter", "quantity": 2})
        assert response.status_code == 201
        assert response.get_json() == {"name": "filter", "quantity": 2}


def test_path_parameters_match_on_both_path_forms(probe: Any) -> None:
    assert probe.get("/api/probe/items/abc").get_json() == {"id": "abc"}
    assert probe.get("/items/abc").get_json() == {"id": "abc"}


def test_malformed_json_is_400(probe: Any) -> None:
    response = probe.post(
        "/api/probe/items", data='{"name": "x", ', content_type="application/json"
    )
    assert_envelope(response, 400, "malformed_json")


def test_invalid_utf8_body_is_400(probe: Any) -> None:
    response = probe.post("/api/probe/items", data=b"\xff\xfe{", content_type="application/json")
    assert_envelope(response, 400, "malformed_json")


def test_empty_body_is_400(probe: Any) -> None:
    response = probe.post("/api/probe/items", data="", content_type="application/json")
    assert_envelope(response, 400, "empty_body")


def test_wrong_content_type_is_415(probe: Any) -> None:
    response = probe.post("/api/probe/items", data="name=x", content_type="text/plain")
    assert_envelope(response, 415, "unsupported_media_type")


def test_body_that_is_not_an_object_is_422(probe: Any) -> None:
    response = probe.post("/api/probe/items", json=[1, 2, 3])
    error = assert_envelope(response, 422, "validation_failed")
    assert error["details"][0]["field"] == "body"


def test_field_errors_are_listed_without_echoing_input(probe: Any) -> None:
    response = probe.post(
        "/api/probe/items", json={"name": "", "quantity": 1000, "password": "hunter2"}
    )
    error = assert_envelope(response, 422, "validation_failed")
    fields = {detail["field"] for detail in error["details"]}
    assert fields == {"name", "quantity", "password"}
    assert "hunter2" not in response.get_data(as_text=True)


def test_oversize_body_is_413(probe: Any) -> None:
    big = json.dumps({"name": "x" * 2_000_000, "quantity": 1})
    response = probe.post("/api/probe/items", data=big, content_type="application/json")
    assert_envelope(response, 413, "payload_too_large")


def test_unknown_route_is_404(probe: Any) -> None:
    assert_envelope(probe.get("/api/probe/nowhere"), 404, "not_found")


def test_wrong_method_is_405_with_allow(probe: Any) -> None:
    response = probe.delete("/api/probe/items")
    assert_envelope(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_bad_query_parameter_is_422(probe: Any) -> None:
    error = assert_envelope(probe.get("/api/probe/items?limit=abc"), 422, "validation_failed")
    assert error["details"][0]["field"] == "limit"
    assert error["details"][0]["location"] == "query"


def test_out_of_range_query_parameter_is_422(probe: Any) -> None:
    assert_envelope(probe.get("/api/probe/items?limit=1000"), 422, "validation_failed")


def test_unknown_query_parameter_is_422(probe: Any) -> None:
    error = assert_envelope(probe.get("/api/probe/items?limt=5"), 422, "validation_failed")
    assert error["details"][0]["field"] == "limt"


def test_repeated_scalar_query_parameter_is_422(probe: Any) -> None:
    assert_envelope(probe.get("/api/probe/items?limit=5&limit=6"), 422, "validation_failed")


def test_valid_query_parameters_are_parsed(probe: Any) -> None:
    assert probe.get("/api/probe/items?limit=5&kind=oil").get_json() == {
        "limit": 5,
        "kind": "oil",
    }


def test_handler_crash_is_500_envelope_without_stack_trace(
    probe: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    response = probe.get("/api/probe/crash")
    error = assert_envelope(response, 500, "internal")
    text = response.get_data(as_text=True)
    assert "secret internal detail" not in text and "Traceback" not in text
    logged = capsys.readouterr().out
    assert "secret internal detail" in logged and error["request_id"] in logged


def test_the_response_carries_our_own_request_id_not_the_clients(probe: Any) -> None:
    response = probe.get("/api/probe/items/1", headers={"X-Request-ID": "client-id-1234"})
    assert response.headers["X-Request-ID"] != "client-id-1234"
    assert len(response.headers["X-Request-ID"]) == 32


def test_unsafe_request_id_is_replaced(probe: Any) -> None:
    response = probe.get("/api/probe/items/1", headers={"X-Request-ID": 'x"} {"severity":"ok'})
    assert response.headers["X-Request-ID"] != 'x"} {"severity":"ok'
    assert len(response.headers["X-Request-ID"]) == 32


def test_one_structured_log_line_per_request_with_trace(
    probe: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.config import Settings, reset_settings

    reset_settings(Settings.from_environ({**dict(_env()), "PMI_LOG_LEVEL": "INFO"}))
    try:
        capsys.readouterr()
        trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        probe.get(
            "/api/probe/items/7?x=1",
            headers={
                "traceparent": f"00-{trace}-00f067aa0ba902b7-01",
                "X-Request-ID": "req-12345678",
            },
        )
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    finally:
        reset_settings(None)
    assert len(lines) == 1
    entry = lines[0]
    assert entry["severity"] == "INFO"
    assert entry["client_request_id"] == "req-12345678"
    assert len(entry["request_id"]) == 32 and entry["request_id"] != "req-12345678"
    assert entry["logging.googleapis.com/trace"] == f"projects/demo-pmi/traces/{trace}"
    assert entry["httpRequest"]["requestMethod"] == "GET"
    assert entry["httpRequest"]["status"] == 200
    assert entry["httpRequest"]["requestUrl"] == "/api/probe/items/7?x=1"
    assert entry["httpRequest"]["latency"].endswith("s")


def test_cloud_trace_header_is_read_when_no_traceparent() -> None:
    from shared.request_context import identify

    identity = identify({"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=1"})
    assert identity.trace_id == "105445aa7843bc8bf206b12000100000"
    assert identity.span_id == "1"


def test_allowed_origin_is_echoed(probe: Any) -> None:
    response = probe.get("/api/probe/items/1", headers={"Origin": "http://127.0.0.1:5000"})
    assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:5000"


def test_unknown_origin_is_never_echoed(probe: Any) -> None:
    response = probe.get("/api/probe/items/1", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "evil.example" not in str(response.headers)


def test_preflight_from_allowed_origin_is_answered(probe: Any) -> None:
    response = probe.options(
        "/api/probe/items",
        headers={
            "Origin": "http://localhost:5000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5000"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


def test_preflight_from_unknown_origin_is_refused(probe: Any) -> None:
    response = probe.options(
        "/api/probe/items",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert_envelope(response, 403, "cors_origin_denied")
    assert "Access-Control-Allow-Origin" not in response.headers


def test_large_json_is_gzipped_when_accepted(probe: Any) -> None:
    response = probe.get("/api/probe/large", headers={"Accept-Encoding": "gzip, deflate"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(json.loads(gzip.decompress(response.get_data()))["rows"]) == 200


def test_large_json_is_plain_without_accept_encoding(probe: Any) -> None:
    response = probe.get("/api/probe/large")
    assert "Content-Encoding" not in response.headers
    assert len(response.get_json()["rows"]) == 200


def test_gzip_refused_with_q_zero_is_not_used(probe: Any) -> None:
    response = probe.get("/api/probe/large", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in response.headers


def test_small_json_is_not_gzipped(probe: Any) -> None:
    response = probe.get("/api/probe/items/1", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in response.headers


def test_missing_token_is_401_with_bearer_challenge(probe: Any) -> None:
    response = probe.get("/api/probe/me")
    assert_envelope(response, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_non_bearer_authorization_is_401(probe: Any) -> None:
    response = probe.get("/api/probe/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_envelope(response, 401, "unauthenticated")


def test_signed_in_user_reaches_signed_in_route(probe: Any, users: Any) -> None:
    user = users.create("mechanic")
    response = probe.get("/api/probe/me", headers=user.headers)
    assert response.get_json() == {"user_id": user.id, "role": "mechanic"}


def test_role_outside_a_role_rule_is_403(probe: Any, users: Any) -> None:
    assert_envelope(
        probe.get("/api/probe/admin-only", headers=users.create("viewer").headers), 403, "forbidden"
    )
    assert (
        probe.get("/api/probe/admin-only", headers=users.create("admin").headers).status_code == 200
    )


def test_role_without_permission_is_403(probe: Any, users: Any) -> None:
    assert_envelope(
        probe.get("/api/probe/manage-users", headers=users.create("customer").headers), 403
    )
    response = probe.get("/api/probe/manage-users", headers=users.create("admin").headers)
    assert response.status_code == 200


def test_removed_session_is_401_on_next_request(probe: Any, users: Any, db: Any) -> None:
    user = users.create("customer")
    assert probe.get("/api/probe/me", headers=user.headers).status_code == 200
    db.collection("users").document(user.id).update({"session_ids": []})
    assert_envelope(probe.get("/api/probe/me", headers=user.headers), 401, "session_revoked")


def test_role_change_applies_on_next_request(probe: Any, users: Any, db: Any) -> None:
    user = users.create("customer")
    assert probe.get("/api/probe/admin-only", headers=user.headers).status_code == 403
    db.collection("users").document(user.id).update({"role": "admin"})
    assert probe.get("/api/probe/admin-only", headers=user.headers).status_code == 200


def test_deactivated_user_is_401_at_once(probe: Any, users: Any, db: Any) -> None:
    user = users.create("admin")
    db.collection("users").document(user.id).update({"is_active": False})
    assert_envelope(probe.get("/api/probe/me", headers=user.headers), 401, "account_disabled")


def test_token_for_missing_user_is_401(probe: Any) -> None:
    issued = tokens.issue(tokens.TokenKind.ACCESS, user_id="ghost", role="admin", session_id="s")
    response = probe.get("/api/probe/me", headers={"Authorization": f"Bearer {issued.token}"})
    assert_envelope(response, 401)


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k.startswith("PMI_")}


def test_optional_body_may_be_absent(probe: Any) -> None:
    response = probe.post("/api/probe/notes")
    assert response.status_code == 200
    assert response.get_json() == {"text": None}


def test_optional_body_when_present_is_validated(probe: Any) -> None:
    assert probe.post("/api/probe/notes", json={"text": "hi"}).get_json() == {"text": "hi"}
    assert_envelope(probe.post("/api/probe/notes", json={"text": "x" * 21}), 422)
    assert_envelope(probe.post("/api/probe/notes", json={"other": 1}), 422)
    assert_envelope(probe.post("/api/probe/notes", data="hi", content_type="text/plain"), 415)
    assert_envelope(probe.post("/api/probe/notes", data="{", content_type="application/json"), 400)


def test_a_path_functions_frameworks_router_refuses_still_gets_the_json_404(call: Any) -> None:
    """Regression (make fuzz): a newline in a path segment skipped functions-framework's
    catch-all route, and Flask answered its HTML 404 page."""
    for method, path in (
        ("POST", "/api/bookings/%0A/assign"),
        ("GET", "/api/bookings/a%0Ab"),
    ):
        response = call("bookings").open(path, method=method)
        assert response.status_code == 404, path
        assert response.content_type == "application/json", path
        assert response.get_json()["error"]["code"] == "not_found"


def test_an_app_made_outside_functions_framework_leaves_the_built_functions_alone(
    call: Any,
) -> None:
    """Regression: an App made after a function had served a request (a test's, a
    script's) registered its 404 handler on that function's Flask app, which Flask refuses
    once the app has handled a request (and which would have sent the function's own
    refused paths to the wrong App)."""
    import functions_framework

    call("bookings")  # functions-framework has built at least one function's app
    # The bound method's owner: the Flask app functions-framework built last.
    built_last = cast(Any, functions_framework.errorhandler).__self__
    built_last.test_client().get("/a%0Ab")  # ... and it has handled a request
    handlers = {status: dict(built_last.error_handler_spec[None][status]) for status in (404, 405)}
    App("made-outside")  # raised AssertionError from Flask's setup check before
    assert {s: dict(built_last.error_handler_spec[None][s]) for s in (404, 405)} == handlers
    response = call("bookings").get("/api/bookings/a%0Ab")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
