"""Every request has an id of its own; a client's X-Request-ID is kept beside it, never as it;
diagnostic headers stay out of production responses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from shared.config import get_settings, reset_settings


@pytest.fixture
def info_logs() -> Iterator[None]:
    original = get_settings()
    reset_settings(original.model_copy(update={"log_level": "INFO"}))
    yield
    reset_settings(original)


def test_a_reused_client_request_id_never_names_two_requests(
    call: Any, info_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    probe = call("probe")
    capsys.readouterr()
    first = probe.get("/api/probe/items/1", headers={"X-Request-ID": "copied-id-1234"})
    second = probe.get("/api/probe/items/2", headers={"X-Request-ID": "copied-id-1234"})
    ours = {first.headers["X-Request-ID"], second.headers["X-Request-ID"]}
    assert len(ours) == 2 and "copied-id-1234" not in ours
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert [line["client_request_id"] for line in lines] == ["copied-id-1234"] * 2
    assert {line["request_id"] for line in lines} == ours


def test_an_error_envelope_names_our_request_id(call: Any) -> None:
    response = call("probe").get("/api/probe/nothing-here", headers={"X-Request-ID": "mine-12345"})
    assert response.get_json()["error"]["request_id"] == response.headers["X-Request-ID"]
    assert response.headers["X-Request-ID"] != "mine-12345"


def _telemetry_response(call: Any, users: Any) -> Any:
    from datetime import UTC, datetime, timedelta

    from vehicles_testkit import create_vehicle, reading

    owner = users.create("customer")
    vehicle = create_vehicle(call("vehicles"), owner)
    return call("vehicles").post(
        f"/api/vehicles/{vehicle['id']}/telemetry",
        json={"readings": [reading(datetime.now(UTC) - timedelta(minutes=5))]},
        headers=owner.headers,
    )


def test_firestore_operation_counts_are_sent_outside_production(call: Any, users: Any) -> None:
    response = _telemetry_response(call, users)
    assert response.status_code in (200, 201, 207), response.get_json()
    assert "X-Firestore-Ops" in response.headers


def test_firestore_operation_counts_never_leave_production(call: Any, users: Any) -> None:
    original = get_settings()
    reset_settings(original.model_copy(update={"environment": "production"}))
    try:
        response = _telemetry_response(call, users)
    finally:
        reset_settings(original)
    assert response.status_code in (200, 201, 207), response.get_json()
    assert "X-Firestore-Ops" not in response.headers


def test_the_diagnostic_headers_setting_overrides_the_environment() -> None:
    from shared.config import Settings

    assert Settings(environment="production").sends_debug_headers is False
    assert Settings(environment="local").sends_debug_headers is True
    assert Settings(environment="production", debug_headers=True).sends_debug_headers is True
    assert Settings.from_environ({"PMI_DEBUG_HEADERS": "false"}).sends_debug_headers is False
