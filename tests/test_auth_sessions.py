"""Refresh rotation, reuse detection, logout and session limits."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from auth_test_helpers import bearer, error_code, login, registered


def _refresh(client: Any, token: str) -> Any:
    return client.post("/api/auth/refresh", json={"refresh_token": token})


def test_refresh_rotates_both_tokens(call: Any) -> None:
    client = call("auth")
    account = registered(client)
    response = _refresh(client, account["refresh_token"])
    assert response.status_code == 200
    body = response.get_json()
    assert body["refresh_token"] != account["refresh_token"]
    assert body["access_token"] != account["access_token"]
    assert client.get("/api/auth/me", headers=bearer(body["access_token"])).status_code == 200
    assert _refresh(client, body["refresh_token"]).status_code == 200


def test_refresh_token_reuse_revokes_the_session(call: Any, db: Any, monkeypatch: Any) -> None:
    from identity import sessions

    monkeypatch.setattr(sessions, "REUSE_GRACE_SECONDS", -1)  # no grace: any reuse is theft
    client = call("auth")
    account = registered(client)
    first = _refresh(client, account["refresh_token"]).get_json()
    # The attacker (or victim) replays the already-rotated token.
    replay = _refresh(client, account["refresh_token"])
    assert replay.status_code == 401
    assert error_code(replay) == "refresh_reused"
    # The whole session is gone: the legitimate newest tokens no longer work either.
    assert _refresh(client, first["refresh_token"]).status_code == 401
    me = client.get("/api/auth/me", headers=bearer(first["access_token"]))
    assert me.status_code == 401 and error_code(me) == "session_revoked"
    events = [s.get("event") for s in db.collection("audit_log").stream()]
    assert "refresh_reused" in events


def test_concurrent_retry_inside_the_grace_window_gets_the_same_current_token(
    call: Any,
) -> None:
    client = call("auth")
    account = registered(client)
    winner = _refresh(client, account["refresh_token"]).get_json()
    retry = _refresh(client, account["refresh_token"])
    assert retry.status_code == 200
    assert retry.get_json()["refresh_token"] == winner["refresh_token"]
    # No fork: the one current token still rotates normally.
    assert _refresh(client, winner["refresh_token"]).status_code == 200


def test_token_two_rotations_old_is_reuse_even_inside_the_grace_window(call: Any) -> None:
    client = call("auth")
    account = registered(client)
    second = _refresh(client, account["refresh_token"]).get_json()
    _refresh(client, second["refresh_token"])
    replay = _refresh(client, account["refresh_token"])
    assert replay.status_code == 401 and error_code(replay) == "refresh_reused"


def test_refresh_picks_up_the_current_role(call: Any, db: Any) -> None:
    client = call("auth")
    account = registered(client)
    db.collection("users").document(account["user"]["id"]).update({"role": "viewer"})
    body = _refresh(client, account["refresh_token"]).get_json()
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["role"] == "viewer"


def test_logout_ends_only_that_session(call: Any) -> None:
    client = call("auth")
    account = registered(client)
    other = login(client, account["email"]).get_json()
    response = client.post("/api/auth/logout", json={"refresh_token": account["refresh_token"]})
    assert response.status_code == 204
    assert client.get("/api/auth/me", headers=bearer(account["access_token"])).status_code == 401
    assert _refresh(client, account["refresh_token"]).status_code == 401
    assert client.get("/api/auth/me", headers=bearer(other["access_token"])).status_code == 200
    # Logging out twice is not an error.
    again = client.post("/api/auth/logout", json={"refresh_token": account["refresh_token"]})
    assert again.status_code == 204


def test_logout_with_an_access_token_or_garbage_is_401(call: Any) -> None:
    client = call("auth")
    account = registered(client)
    response = client.post("/api/auth/logout", json={"refresh_token": account["access_token"]})
    assert response.status_code == 401
    assert client.post("/api/auth/logout", json={"refresh_token": "x"}).status_code == 401
    assert client.post("/api/auth/logout", json={}).status_code == 422


def test_logout_all_ends_every_session(call: Any, db: Any) -> None:
    client = call("auth")
    account = registered(client)
    other = login(client, account["email"]).get_json()
    assert client.post("/api/auth/logout-all").status_code == 401
    response = client.post("/api/auth/logout-all", headers=bearer(other["access_token"]))
    assert response.status_code == 204
    for session in (account, other):
        assert (
            client.get("/api/auth/me", headers=bearer(session["access_token"])).status_code == 401
        )
        assert _refresh(client, session["refresh_token"]).status_code == 401
    live = [
        s
        for s in db.collection("sessions").stream()
        if s.get("user_id") == account["user"]["id"] and not s.get("revoked")
    ]
    assert live == []


def test_sessions_are_capped_and_the_oldest_is_evicted(call: Any, db: Any) -> None:
    from identity import sessions

    client = call("auth")
    account = registered(client)  # session 1
    for _ in range(sessions.MAX_SESSIONS_PER_USER):
        assert login(client, account["email"]).status_code == 200
    stored = db.collection("users").document(account["user"]["id"]).get().to_dict()
    assert len(stored["session_ids"]) == sessions.MAX_SESSIONS_PER_USER
    assert client.get("/api/auth/me", headers=bearer(account["access_token"])).status_code == 401


@pytest.mark.parametrize("body", [{"refresh_token": ""}, {"token": "x"}, {"refresh_token": 5}])
def test_refresh_bad_input_is_422(call: Any, body: dict[str, Any]) -> None:
    assert call("auth").post("/api/auth/refresh", json=body).status_code == 422
