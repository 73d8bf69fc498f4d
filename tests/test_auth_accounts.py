"""Registration, login, profile and password change through the auth function."""

from __future__ import annotations

from typing import Any

import pytest
from auth_test_helpers import (
    GOOD_PASSWORD,
    OTHER_PASSWORD,
    bearer,
    confirm,
    error_code,
    login,
    new_email,
    register,
    register_at_once,
    registered,
)


def test_register_then_confirm_creates_a_customer_and_signs_in(call: Any, db: Any) -> None:
    client = call("auth")
    email = new_email()
    response = register(client, email.upper(), phone="+44 20 7946 0000")
    assert response.status_code == 202
    confirmed = confirm(client, email)
    assert confirmed.status_code == 200
    body = confirmed.get_json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1800
    assert body["access_token"] and body["refresh_token"]
    user = body["user"]
    assert user["email"] == email  # normalised to lower case
    assert user["role"] == "customer"
    assert user["phone"] == "+44 20 7946 0000"
    assert "password_hash" not in user and "session_ids" not in user
    stored = db.collection("users").document(user["id"]).get().to_dict()
    assert stored["password_hash"].startswith("$2b$")
    assert len(stored["session_ids"]) == 1
    me = client.get("/api/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.get_json()["id"] == user["id"]


def test_concurrent_registrations_of_one_email_create_exactly_one_account(
    call: Any, db: Any
) -> None:
    email = new_email("race")
    statuses = register_at_once(lambda: call("auth"), email, attempts=10)
    # One answer for all of them: nobody learns which request made the account.
    assert statuses == [202] * 10
    users = [s for s in db.collection("users").stream() if s.get("email") == email]
    assert len(users) == 1


def test_register_can_never_choose_a_role(call: Any) -> None:
    response = register(call("auth"), role="admin")
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short-pass1", "under 12 characters"),
        ("x" * 8 + "Yz!" * 41, "over 128 characters"),
        ("Password2024!", "common word plus digits"),
        ("p@ssw0rd12345", "leet common password"),
        ("aaaaaaaaaaaaaa", "repeated character"),
        ("123456789012", "digit sequence"),
        ("qwertyuiopasdf", "keyboard run"),
    ],
)
def test_register_refuses_weak_passwords(call: Any, password: str, why: str) -> None:
    response = register(call("auth"), password=password)
    assert response.status_code == 422, why
    assert error_code(response) == "weak_password"


def test_register_refuses_a_password_containing_the_email_name(call: Any) -> None:
    response = register(call("auth"), "margaret.hale@example.test", password="margaret.hale-1855!")
    assert response.status_code == 422
    assert error_code(response) == "weak_password"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", 400),
        (b"", 400),
        (b"[1, 2]", 422),
        (b'{"email": "a@example.test", "password": "violet-harbour-lantern-42"}', 422),
        (b'{"email": 5, "password": "violet-harbour-lantern-42", "full_name": "A"}', 422),
        (
            b'{"email": "not-an-email", "password": "violet-harbour-lantern-42", "full_name": "A"}',
            422,
        ),
        (
            b'{"email": "a@example.test", "password": "violet-harbour-lantern-42", '
            b'"full_name": "A", "is_admin": true}',
            422,
        ),
    ],
)
def test_register_bad_input_is_a_4xx_envelope(call: Any, body: bytes, expected: int) -> None:
    response = call("auth").post("/api/auth/register", data=body, content_type="application/json")
    assert response.status_code == expected
    assert error_code(response)


def test_register_requires_json_content_type(call: Any) -> None:
    response = call("auth").post("/api/auth/register", data="email=a", content_type="text/plain")
    assert response.status_code == 415


def test_login_returns_tokens_and_a_firebase_custom_token(call: Any, db: Any) -> None:
    import base64
    import json

    client = call("auth")
    account = registered(client)
    db.collection("users").document(account["user"]["id"]).update(
        {"role": "mechanic", "service_center_id": "center-7"}
    )
    response = login(client, account["email"].upper())
    assert response.status_code == 200
    body = response.get_json()
    assert {"access_token", "refresh_token", "token_type", "expires_in", "firebase_token"} <= set(
        body
    )
    assert body["user"]["role"] == "mechanic"
    header, payload, signature = body["firebase_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert json.loads(base64.urlsafe_b64decode(header + "==="))["alg"] == "none"
    assert signature == ""
    assert claims["uid"] == account["user"]["id"]
    minted_at = claims["claims"].pop("minted_at")  # dates it for the revocation cut-off
    assert abs(minted_at - claims["iat"]) <= 1
    assert claims["claims"] == {"role": "mechanic", "service_center_id": "center-7"}
    stored = db.collection("users").document(account["user"]["id"]).get().to_dict()
    assert stored["last_login"] is not None
    assert len(stored["session_ids"]) == 2  # register's session and this one


def test_login_missing_and_extra_fields_are_422(call: Any) -> None:
    client = call("auth")
    assert client.post("/api/auth/login", json={"email": "a@example.test"}).status_code == 422
    extra = {"email": "a@example.test", "password": "x", "remember": True}
    assert client.post("/api/auth/login", json=extra).status_code == 422
    assert client.post("/api/auth/login", json={"email": 1, "password": 2}).status_code == 422


def test_passwords_over_72_bytes_work_without_truncation(call: Any) -> None:
    client = call("auth")
    long_password = "é" * 40 + "-lantern-harbour"  # 96 bytes in UTF-8, 56 characters
    assert len(long_password.encode()) > 72
    account = registered(client, long_password)
    assert login(client, account["email"], long_password).status_code == 200
    # Same first 72 bytes, different ending: truncation would wrongly accept it.
    almost = long_password[:-1] + "X"
    assert login(client, account["email"], almost).status_code == 401


def test_a_73_byte_or_10_kb_password_at_login_is_401_not_500(call: Any) -> None:
    client = call("auth")
    account = registered(client)
    for password in ("a" * 73, "b" * 10_000):
        response = login(client, account["email"], password)
        assert response.status_code == 401
        assert error_code(response) == "invalid_credentials"


def test_deactivated_account_cannot_sign_in(call: Any, db: Any) -> None:
    client = call("auth")
    account = registered(client)
    db.collection("users").document(account["user"]["id"]).update({"is_active": False})
    response = login(client, account["email"])
    assert response.status_code == 401
    assert error_code(response) == "account_disabled"


def test_patch_me_changes_name_and_phone_only(call: Any) -> None:
    client = call("auth")
    account = registered(client)
    headers = bearer(account["access_token"])
    response = client.patch(
        "/api/auth/me", json={"full_name": "Ada L.", "phone": "+1 555 0100"}, headers=headers
    )
    assert response.status_code == 200
    assert response.get_json()["full_name"] == "Ada L."
    for forbidden in ({"role": "admin"}, {"email": "x@example.test"}, {"is_active": False}, {}):
        refused = client.patch("/api/auth/me", json=forbidden, headers=headers)
        assert refused.status_code == 422, forbidden
    assert client.get("/api/auth/me", headers=headers).get_json()["role"] == "customer"


def test_me_requires_a_token(call: Any) -> None:
    response = call("auth").get("/api/auth/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_password_change_revokes_every_other_session(call: Any, db: Any) -> None:
    client = call("auth")
    account = registered(client)
    other = login(client, account["email"]).get_json()
    response = client.post(
        "/api/auth/password",
        json={"current_password": GOOD_PASSWORD, "new_password": OTHER_PASSWORD},
        headers=bearer(account["access_token"]),
    )
    assert response.status_code == 204
    # This session lives on; the other one is gone (access and refresh alike).
    assert client.get("/api/auth/me", headers=bearer(account["access_token"])).status_code == 200
    stale = client.get("/api/auth/me", headers=bearer(other["access_token"]))
    assert stale.status_code == 401 and error_code(stale) == "session_revoked"
    refreshed = client.post("/api/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert refreshed.status_code == 401
    assert login(client, account["email"], GOOD_PASSWORD).status_code == 401
    assert login(client, account["email"], OTHER_PASSWORD).status_code == 200
    events = [s.get("event") for s in db.collection("audit_log").stream()]
    assert "password_changed" in events


def test_password_change_with_wrong_current_password_is_403(call: Any) -> None:
    client = call("auth")
    account = registered(client)
    response = client.post(
        "/api/auth/password",
        json={"current_password": "not-my-password-at-all", "new_password": OTHER_PASSWORD},
        headers=bearer(account["access_token"]),
    )
    assert response.status_code == 403
    assert error_code(response) == "wrong_password"


def test_password_change_applies_the_policy(call: Any) -> None:
    client = call("auth")
    account = registered(client)
    response = client.post(
        "/api/auth/password",
        json={"current_password": GOOD_PASSWORD, "new_password": "password123456"},
        headers=bearer(account["access_token"]),
    )
    assert response.status_code == 422
    assert error_code(response) == "weak_password"


def test_create_account_for_the_seeder_refuses_duplicates(db: Any) -> None:
    from identity import accounts

    user = accounts.create_account(
        email="Seed@Example.test",
        password=GOOD_PASSWORD,
        full_name="Seed",
        role="service_center",
        service_center_id="c1",
    )
    assert user["email"] == "seed@example.test"
    public = accounts.public_user(user)
    assert "password_hash" not in public and "session_ids" not in public
    with pytest.raises(accounts.EmailTaken):
        accounts.create_account(
            email="seed@example.test",
            password=GOOD_PASSWORD,
            full_name="Seed",
            role="customer",
        )
