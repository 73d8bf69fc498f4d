"""Ending mobile-SDK sessions, against the real Auth emulator and firestore.rules.

The chain a mobile app goes through: firebase-admin mints a custom token, the Auth emulator
exchanges it for an ID token (its REST API, as the JS SDK calls it), and the Firestore
emulator enforces firestore.rules on reads made with that token. Revoking must end those
reads even though the ID token itself stays valid for an hour.

First shared/auth/sdk_revocation.py itself, then the auth function calling it: an admin's
deactivation, role or center change, a sign-out everywhere and a password change each end
the app's direct reads by themselves — also when Firebase cannot be reached (the rules'
cut-off is committed with the change; the Firebase revocation is completed by a retry).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from firebase_admin import auth

from shared.auth.sdk_revocation import (
    FIREBASE_APP_NAME,
    REVOCATIONS_COLLECTION,
    firebase_app,
    is_pending,
    revoke_sdk_sessions,
)

# The Auth emulator accepts any API key.
API_KEY = "demo-api-key"


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


class MobileClient:
    """What the Firebase SDK does over REST: sign in, refresh, read a document."""

    def __init__(self, auth_emulator: Any, emulator: Any, http: requests.Session) -> None:
        self.identity = f"{auth_emulator.base_url}/identitytoolkit.googleapis.com/v1"
        self.securetoken = f"{auth_emulator.base_url}/securetoken.googleapis.com/v1"
        self.documents = (
            f"{emulator.base_url}/v1/projects/{emulator.project_id}/databases/(default)/documents"
        )
        self.http = http

    def sign_in(self, uid: str, claims: dict[str, Any]) -> dict[str, str]:
        return self.exchange(auth.create_custom_token(uid, claims, app=firebase_app()).decode())

    def exchange(self, custom_token: str) -> dict[str, str]:
        """signInWithCustomToken: the ID and refresh tokens of a new Firebase sign-in."""
        response = self.http.post(
            f"{self.identity}/accounts:signInWithCustomToken",
            params={"key": API_KEY},
            json={"token": custom_token, "returnSecureToken": True},
        )
        assert response.status_code == 200, response.text
        session: dict[str, str] = response.json()
        return session

    def refresh(self, session: dict[str, str]) -> dict[str, str]:
        response = self.http.post(
            f"{self.securetoken}/token",
            params={"key": API_KEY},
            data={"grant_type": "refresh_token", "refresh_token": session["refreshToken"]},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        return {"idToken": body["id_token"], "refreshToken": body["refresh_token"]}

    def read(self, session: dict[str, str], path: str) -> int:
        return self.http.get(
            f"{self.documents}/{path}", headers={"Authorization": f"Bearer {session['idToken']}"}
        ).status_code


@pytest.fixture
def mobile(auth_emulator: Any, emulator: Any, db: Any, http: requests.Session) -> MobileClient:
    auth_emulator.reset()
    return MobileClient(auth_emulator, emulator, http)


def _own_vehicle(db: Any, uid: str) -> str:
    db.document(f"vehicles/v-{uid}").set({"owner_id": uid, "center_ids": []})
    return f"vehicles/v-{uid}"


def _next_second() -> None:
    """Sleep into the next whole second (revocation compares whole seconds)."""
    time.sleep(1.05 - time.time() % 1)


def test_revocation_ends_the_id_token_the_app_already_holds(mobile: MobileClient, db: Any) -> None:
    vehicle = _own_vehicle(db, "u-alice")
    session = mobile.sign_in("u-alice", {"role": "customer"})
    assert mobile.read(session, vehicle) == 200

    revocation = revoke_sdk_sessions(db, "u-alice", reason="deactivated")

    assert revocation.had_firebase_account
    assert mobile.read(session, vehicle) == 403
    assert mobile.read(session, "centers/any") == 403  # every path, not only owned data
    stored = db.document(f"{REVOCATIONS_COLLECTION}/u-alice").get().to_dict()
    assert stored["revoke_time"] == revocation.revoke_time
    assert stored["reason"] == "deactivated"


def test_firebase_records_the_revocation_and_refreshed_tokens_stay_refused(
    mobile: MobileClient, db: Any
) -> None:
    """Production Firebase also refuses the refresh; the emulator does not, the rules do."""
    vehicle = _own_vehicle(db, "u-alice")
    session = mobile.sign_in("u-alice", {"role": "customer"})
    revocation = revoke_sdk_sessions(db, "u-alice", reason="role_changed")

    valid_after_ms = auth.get_user("u-alice", app=firebase_app()).tokens_valid_after_timestamp
    assert valid_after_ms // 1000 <= revocation.revoke_time
    assert valid_after_ms >= (revocation.revoke_time - 1) * 1000
    refreshed = mobile.refresh(session)  # keeps the original sign-in's auth_time
    assert mobile.read(refreshed, vehicle) == 403


def test_signing_in_again_after_the_revocation_reads_again(mobile: MobileClient, db: Any) -> None:
    vehicle = _own_vehicle(db, "u-alice")
    mobile.sign_in("u-alice", {"role": "customer"})
    revoke_sdk_sessions(db, "u-alice", reason="role_changed")
    _next_second()
    assert mobile.read(mobile.sign_in("u-alice", {"role": "customer"}), vehicle) == 200


def test_other_users_sessions_are_untouched(mobile: MobileClient, db: Any) -> None:
    bob_vehicle = _own_vehicle(db, "u-bob")
    bob = mobile.sign_in("u-bob", {"role": "customer"})
    mobile.sign_in("u-alice", {"role": "customer"})
    revoke_sdk_sessions(db, "u-alice", reason="deactivated")
    assert mobile.read(bob, bob_vehicle) == 200


def test_a_user_who_never_signed_in_to_firebase_still_gets_a_cut_off(
    mobile: MobileClient, db: Any
) -> None:
    """A custom token minted at a login just before could still be exchanged."""
    before = int(time.time())
    revocation = revoke_sdk_sessions(db, "u-never", reason="deactivated")
    assert not revocation.had_firebase_account
    stored = db.document(f"{REVOCATIONS_COLLECTION}/u-never").get().to_dict()
    assert before <= stored["revoke_time"] <= int(time.time())


def test_the_cut_off_never_moves_back(mobile: MobileClient, db: Any) -> None:
    """Concurrent revocations, or an instance with a slow clock, cannot reopen a window."""
    later = int(time.time()) + 120
    db.document(f"{REVOCATIONS_COLLECTION}/u-alice").set({"revoke_time": later})
    revoke_sdk_sessions(db, "u-alice", reason="center_changed")
    stored = db.document(f"{REVOCATIONS_COLLECTION}/u-alice").get().to_dict()
    assert stored["revoke_time"] == later
    assert stored["reason"] == "center_changed"


# --------------------------------------------------------------------------- the auth function
#
# The admin's API call (or the user's own) alone must end the app's direct reads: no test
# calls revoke_sdk_sessions below. The app's session is the one it gets from the login
# route's firebase_token.

PASSWORD = "violet-harbour-lantern-42"
CENTER = "centers/c-north"


@pytest.fixture
def world(mobile: MobileClient, call: Any, users: Any, db: Any) -> dict[str, Any]:
    db.document(CENTER).set({"name": "North"})
    return {"api": call("auth"), "admin": users.create("admin")}


def _account(role: str = "customer", center: str | None = None) -> dict[str, Any]:
    from identity import accounts

    email = f"{role}-{time.time_ns()}@sdk.test"
    user = accounts.create_account(
        email=email, password=PASSWORD, full_name="App User", role=role, service_center_id=center
    )
    return {"id": user["id"], "email": email}


def _login(world: dict[str, Any], account: dict[str, Any]) -> dict[str, Any]:
    response = world["api"].post(
        "/api/auth/login", json={"email": account["email"], "password": PASSWORD}
    )
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def _app_session(world: dict[str, Any], mobile: MobileClient, account: dict[str, Any]) -> Any:
    """What the app does after login: sign in to Firebase with the login's custom token."""
    return mobile.exchange(_login(world, account)["firebase_token"])


@pytest.fixture
def signed_in(world: dict[str, Any], mobile: MobileClient) -> tuple[dict[str, Any], Any]:
    """A customer account and the app's Firebase session from its login."""
    account = _account("customer")
    return account, _app_session(world, mobile, account)


def _admin_patch(world: dict[str, Any], user_id: str, change: dict[str, Any]) -> None:
    response = world["api"].patch(
        f"/api/auth/users/{user_id}", json=change, headers=world["admin"].headers
    )
    assert response.status_code == 200, response.get_json()


def _stored_revocation(db: Any, user_id: str) -> dict[str, Any] | None:
    snapshot = db.document(f"{REVOCATIONS_COLLECTION}/{user_id}").get()
    return snapshot.to_dict() if snapshot.exists else None


def _firebase_valid_after(user_id: str) -> int:
    """Firebase Auth's own cut-off for the user's refresh tokens (epoch seconds; 0: none)."""
    record = auth.get_user(user_id, app=firebase_app())
    return int(record.tokens_valid_after_timestamp or 0) // 1000


@contextlib.contextmanager
def firebase_unreachable() -> Iterator[None]:
    """firebase-admin pointed at a port nobody listens on (the real library, a real refusal).

    firebase-admin fixes its endpoint when its app's auth client is made, so the app is
    dropped on the way in and out; the next caller makes a fresh one.
    """
    import firebase_admin
    from stack import free_port

    def forget() -> None:
        with contextlib.suppress(ValueError):
            firebase_admin.delete_app(firebase_admin.get_app(FIREBASE_APP_NAME))

    real_host = os.environ["FIREBASE_AUTH_EMULATOR_HOST"]
    forget()
    os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = f"127.0.0.1:{free_port()}"
    try:
        yield
    finally:
        forget()
        os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = real_host


@pytest.mark.parametrize(
    ("role", "change", "reason"),
    [
        ("customer", {"is_active": False}, "deactivated"),
        ("customer", {"role": "viewer"}, "role_changed"),
        ("service_center", {"service_center_id": "c-south"}, "center_changed"),
    ],
    ids=["deactivation", "role_change", "center_change"],
)
def test_the_admins_change_alone_ends_the_app_session(
    world: dict[str, Any],
    mobile: MobileClient,
    db: Any,
    role: str,
    change: dict[str, Any],
    reason: str,
) -> None:
    account = _account(role, "c-north" if role == "service_center" else None)
    session = _app_session(world, mobile, account)
    assert mobile.read(session, CENTER) == 200

    _admin_patch(world, account["id"], change)

    assert mobile.read(session, CENTER) == 403
    assert mobile.read(mobile.refresh(session), CENTER) == 403  # the old sign-in, refreshed
    stored = _stored_revocation(db, account["id"])
    assert stored is not None and stored["reason"] == reason and not is_pending(stored)
    # Firebase itself revoked the refresh tokens (production refuses the refresh above).
    assert _firebase_valid_after(account["id"]) >= stored["revoke_time"] - 1
    if change != {"is_active": False}:
        _next_second()
        assert mobile.read(_app_session(world, mobile, account), CENTER) == 200


def test_a_change_that_leaves_the_claims_true_ends_nothing(
    world: dict[str, Any], mobile: MobileClient, db: Any, signed_in: Any
) -> None:
    account, session = signed_in
    for unchanged in ({"role": "customer"}, {"is_active": True}, {"service_center_id": None}):
        _admin_patch(world, account["id"], unchanged)
    assert _stored_revocation(db, account["id"]) is None
    assert mobile.read(session, CENTER) == 200


def test_a_custom_token_from_a_login_before_the_change_cannot_start_a_session_after_it(
    world: dict[str, Any], mobile: MobileClient
) -> None:
    """A custom token lives an hour; its minted_at claim dates it, whatever auth_time says."""
    account = _account("customer")
    early_token = _login(world, account)["firebase_token"]
    _admin_patch(world, account["id"], {"role": "viewer"})
    _next_second()
    late_session = mobile.exchange(early_token)  # Firebase accepts it: a fresh auth_time ...
    assert mobile.read(late_session, CENTER) == 403  # ... but the rules see its minted_at
    assert mobile.read(_app_session(world, mobile, account), CENTER) == 200


def test_when_firebase_cannot_be_reached_the_cut_off_holds_and_a_retry_completes_it(
    world: dict[str, Any], mobile: MobileClient, db: Any, signed_in: Any
) -> None:
    account, session = signed_in
    valid_after_before = _firebase_valid_after(account["id"])

    with firebase_unreachable():
        _admin_patch(world, account["id"], {"is_active": False})

    # The user document and the rules' cut-off were one batch: the change holds and the app
    # reads nothing, though Firebase never heard of it.
    assert db.document(f"users/{account['id']}").get().get("is_active") is False
    assert mobile.read(session, CENTER) == 403
    assert mobile.read(mobile.refresh(session), CENTER) == 403
    stored = _stored_revocation(db, account["id"])
    assert stored is not None and is_pending(stored)
    assert _firebase_valid_after(account["id"]) == valid_after_before

    # The admin retries the same change: idempotent for the account, and it completes the
    # Firebase revocation.
    _admin_patch(world, account["id"], {"is_active": False})
    stored = _stored_revocation(db, account["id"])
    assert stored is not None and not is_pending(stored)
    assert _firebase_valid_after(account["id"]) >= stored["revoke_time"] - 1


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        ("/api/auth/logout-all", None, "logout_all"),
        (
            "/api/auth/password",
            {"current_password": PASSWORD, "new_password": "copper-meadow-sextant-77"},
            "password_changed",
        ),
    ],
    ids=["sign_out_everywhere", "password_change"],
)
def test_the_users_own_sign_out_everywhere_or_password_change_ends_every_app_session(
    world: dict[str, Any],
    mobile: MobileClient,
    db: Any,
    signed_in: Any,
    path: str,
    body: dict[str, str] | None,
    reason: str,
) -> None:
    """The app on another device too: a stolen phone keeps no direct reads once the owner
    reacts (Firebase ends sessions per user, not per device)."""
    account, other_device = signed_in
    access = _login(world, account)["access_token"]
    response = world["api"].post(path, json=body, headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 204, response.get_json()
    assert mobile.read(other_device, CENTER) == 403
    assert (_stored_revocation(db, account["id"]) or {}).get("reason") == reason
