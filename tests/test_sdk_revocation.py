"""shared/auth/sdk_revocation.py against the real Auth emulator and firestore.rules.

The chain a mobile app goes through: firebase-admin mints a custom token, the Auth emulator
exchanges it for an ID token (its REST API, as the JS SDK calls it), and the Firestore
emulator enforces firestore.rules on reads made with that token. Revoking must end those
reads even though the ID token itself stays valid for an hour.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from firebase_admin import auth

from shared.auth.sdk_revocation import (
    REVOCATIONS_COLLECTION,
    firebase_app,
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
        custom_token = auth.create_custom_token(uid, claims, app=firebase_app()).decode()
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
