"""User administration and auth-specific access rules (who may call which auth route)."""

from __future__ import annotations

from typing import Any

import pytest
from auth_test_helpers import bearer, error_code, make_admin, registered

ROLES = ("admin", "customer", "service_center", "mechanic", "viewer")


@pytest.mark.parametrize("role", [*ROLES, None])
def test_admin_routes_are_for_admins_only(call: Any, users: Any, role: str | None) -> None:
    client = call("auth")
    target = users.create("customer")
    headers = users.create(role, service_center_id="c1").headers if role else {}
    listing = client.get("/api/auth/users", headers=headers)
    single = client.get(f"/api/auth/users/{target.id}", headers=headers)
    patch = client.patch(f"/api/auth/users/{target.id}", json={"role": "viewer"}, headers=headers)
    expected = {"admin": 200, None: 401}.get(role, 403)
    assert (listing.status_code, single.status_code, patch.status_code) == (expected,) * 3


@pytest.mark.parametrize("role", [*ROLES, None])
def test_profile_routes_are_for_every_signed_in_role(
    call: Any, users: Any, role: str | None
) -> None:
    client = call("auth")
    headers = users.create(role, service_center_id="c1").headers if role else {}
    expected = 200 if role else 401
    assert client.get("/api/auth/me", headers=headers).status_code == expected
    patched = client.patch("/api/auth/me", json={"full_name": "New Name"}, headers=headers)
    assert patched.status_code == expected


def test_public_routes_need_no_token(call: Any) -> None:
    client = call("auth")
    assert client.get("/api/auth/health").status_code == 200
    assert (
        client.post("/api/auth/login", json={"email": "x@y.z", "password": "p"}).status_code == 401
    )


def test_list_users_paginates_and_filters(call: Any, users: Any, db: Any) -> None:
    client = call("auth")
    admin = users.create("admin")
    for _ in range(3):
        registered(client)
    mechanic = registered(client)
    db.collection("users").document(mechanic["user"]["id"]).update(
        {"role": "mechanic", "service_center_id": "c1", "is_active": False}
    )
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/auth/users", query_string=query, headers=admin.headers)
        assert page.status_code == 200
        body = page.get_json()
        assert all("password_hash" not in u and "session_ids" not in u for u in body["items"])
        seen += [u["id"] for u in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    # The 4 registered users, newest first (the fixture admin has no created_at).
    registered_ids = [
        s.id for s in db.collection("users").stream() if s.to_dict().get("created_at")
    ]
    assert sorted(seen) == sorted(registered_ids) and len(seen) == 4 and pages == 2
    assert seen[0] == mechanic["user"]["id"]
    by_role = client.get(
        "/api/auth/users", query_string={"role": "mechanic"}, headers=admin.headers
    ).get_json()
    assert [u["id"] for u in by_role["items"]] == [mechanic["user"]["id"]]
    active = client.get(
        "/api/auth/users",
        query_string={"active": "true", "role": "customer"},
        headers=admin.headers,
    ).get_json()
    assert len(active["items"]) == 3
    assert all(u["is_active"] and u["role"] == "customer" for u in active["items"])


@pytest.mark.parametrize(
    "query",
    [{"role": "pilot"}, {"limit": "0"}, {"limit": "1000"}, {"cursor": "%%%"}, {"sort": "email"}],
)
def test_list_users_bad_query_is_422(call: Any, users: Any, query: dict[str, str]) -> None:
    admin = users.create("admin")
    response = call("auth").get("/api/auth/users", query_string=query, headers=admin.headers)
    assert response.status_code == 422


def test_get_unknown_user_is_404(call: Any, users: Any) -> None:
    admin = users.create("admin")
    response = call("auth").get("/api/auth/users/nobody", headers=admin.headers)
    assert response.status_code == 404


def test_role_change_takes_effect_on_the_next_request(call: Any, users: Any, db: Any) -> None:
    client = call("auth")
    admin = users.create("admin")
    target = registered(client)
    make_admin(db, target["user"]["id"])
    # The token still says "customer", but the document says admin: admin routes open.
    assert client.get("/api/auth/users", headers=bearer(target["access_token"])).status_code == 200
    demoted = client.patch(
        f"/api/auth/users/{target['user']['id']}", json={"role": "viewer"}, headers=admin.headers
    )
    assert demoted.status_code == 200 and demoted.get_json()["role"] == "viewer"
    assert client.get("/api/auth/users", headers=bearer(target["access_token"])).status_code == 403
    entries = [s.to_dict() for s in db.collection("audit_log").stream()]
    change = next(e for e in entries if e["event"] == "role_changed")
    assert change["actor_id"] == admin.id and change["subject_id"] == target["user"]["id"]
    assert change["details"] == {"from": "admin", "to": "viewer"} and change["request_id"]


def test_deactivation_is_effective_at_once(call: Any, users: Any, db: Any) -> None:
    client = call("auth")
    admin = users.create("admin")
    target = registered(client)
    headers = bearer(target["access_token"])
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    response = client.patch(
        f"/api/auth/users/{target['user']['id']}",
        json={"is_active": False},
        headers=admin.headers,
    )
    assert response.status_code == 200 and response.get_json()["is_active"] is False
    me = client.get("/api/auth/me", headers=headers)
    assert me.status_code == 401
    assert (
        client.post(
            "/api/auth/refresh", json={"refresh_token": target["refresh_token"]}
        ).status_code
        == 401
    )
    events = [s.get("event") for s in db.collection("audit_log").stream()]
    assert "account_deactivated" in events
    # Reactivation does not revive the old session.
    client.patch(
        f"/api/auth/users/{target['user']['id']}", json={"is_active": True}, headers=admin.headers
    )
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_center_roles_need_a_service_center(call: Any, users: Any) -> None:
    client = call("auth")
    admin = users.create("admin")
    target = registered(client)
    url = f"/api/auth/users/{target['user']['id']}"
    refused = client.patch(url, json={"role": "mechanic"}, headers=admin.headers)
    assert refused.status_code == 422 and error_code(refused) == "service_center_required"
    ok = client.patch(
        url, json={"role": "mechanic", "service_center_id": "c9"}, headers=admin.headers
    )
    assert ok.status_code == 200 and ok.get_json()["service_center_id"] == "c9"


def test_admin_cannot_lock_themselves_out(call: Any, users: Any) -> None:
    admin = users.create("admin")
    client = call("auth")
    for change in ({"is_active": False}, {"role": "customer"}):
        response = client.patch(f"/api/auth/users/{admin.id}", json=change, headers=admin.headers)
        assert response.status_code == 422 and error_code(response) == "self_lockout"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"role": "superuser"},
        {"password_hash": "x"},
        {"is_active": "maybe"},
        {"role": None},
        {"email": "a@b.c"},
    ],
)
def test_admin_patch_bad_input_is_422(call: Any, users: Any, body: dict[str, Any]) -> None:
    admin = users.create("admin")
    target = users.create("customer")
    response = call("auth").patch(f"/api/auth/users/{target.id}", json=body, headers=admin.headers)
    assert response.status_code == 422
