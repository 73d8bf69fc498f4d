"""Registration reveals no accounts: one answer for every address, the owner is told instead.

A new address gets a confirmation code through the outbox and signs in by confirming it; an
address that already has an account gets a "someone tried to register" message. Until an
address is confirmed, signing in answers exactly like a wrong password, so "register, then
try to sign in" is no oracle either.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from auth_test_helpers import (
    GOOD_PASSWORD,
    OTHER_PASSWORD,
    confirm,
    confirmation_code,
    error_code,
    login,
    new_email,
    register,
    register_at_once,
    registered,
)
from google.cloud.firestore_v1.base_query import FieldFilter


def _without_request_id(response: Any) -> tuple[int, Any]:
    body = response.get_json()
    if "error" in body:
        body = {**body, "error": {k: v for k, v in body["error"].items() if k != "request_id"}}
    return response.status_code, body


def _outbox(db: Any, email: str) -> list[dict[str, Any]]:
    query = db.collection("outbox").where(filter=FieldFilter("to", "==", email))
    return sorted((s.to_dict() for s in query.stream()), key=lambda m: m["created_at"])


def test_registering_an_existing_address_answers_exactly_like_a_new_one(call: Any) -> None:
    client = call("auth")
    existing = registered(client)
    taken = register(client, existing["email"].upper(), OTHER_PASSWORD)
    fresh = register(client, new_email(), OTHER_PASSWORD)
    assert _without_request_id(taken) == _without_request_id(fresh)
    assert taken.status_code == 202
    assert "access_token" not in taken.get_json()


def test_the_owner_of_an_existing_address_is_told_through_the_outbox(call: Any, db: Any) -> None:
    client = call("auth")
    existing = registered(client)
    register(client, existing["email"], OTHER_PASSWORD)
    messages = _outbox(db, existing["email"])
    assert [m["kind"] for m in messages] == ["confirm_account", "account_exists"]
    note = messages[-1]
    assert note["to"] == existing["email"]
    assert note["message"]["subject"] and "already has one" in note["message"]["text"]
    assert "confirmation_code" not in note
    # Nothing about the account changed: the old password still works, the new one does not.
    assert login(client, existing["email"], OTHER_PASSWORD).status_code == 401
    assert login(client, existing["email"], GOOD_PASSWORD).status_code == 200


def test_register_then_sign_in_does_not_reveal_whether_the_address_had_an_account(
    call: Any,
) -> None:
    """The attacker registers with a password they choose and tries it at once."""
    client = call("auth")
    existing = registered(client)
    new = new_email()
    register(client, existing["email"], "attacker-chosen-pass-1")
    register(client, new, "attacker-chosen-pass-1")
    on_existing = login(client, existing["email"], "attacker-chosen-pass-1")
    on_new = login(client, new, "attacker-chosen-pass-1")
    assert _without_request_id(on_existing) == _without_request_id(on_new)
    assert error_code(on_new) == "invalid_credentials"


def test_confirming_the_code_activates_the_account_and_signs_in_once(call: Any, db: Any) -> None:
    client = call("auth")
    email = new_email()
    assert register(client, email).status_code == 202
    code = confirmation_code(email)
    signed_in = client.post("/api/auth/verify-email", json={"code": code})
    assert signed_in.status_code == 200
    body = signed_in.get_json()
    assert body["access_token"] and body["firebase_token"]
    assert body["user"]["email_verified"] is True
    stored = db.collection("users").document(body["user"]["id"]).get().to_dict()
    assert stored["pending_verification"] is False
    assert "verification_hash" not in stored
    again = client.post("/api/auth/verify-email", json={"code": code})
    assert again.status_code == 400 and error_code(again) == "invalid_confirmation"
    assert login(client, email).status_code == 200


def test_a_wrong_or_malformed_code_is_400(call: Any) -> None:
    client = call("auth")
    email = new_email()
    register(client, email)
    user_id = confirmation_code(email).split(".")[0]
    for code in (f"{user_id}.not-the-secret", "no-dot-at-all", "__x__.secret", "../x.y"):
        response = client.post("/api/auth/verify-email", json={"code": code})
        assert response.status_code == 400, (code, response.get_json())
        assert error_code(response) == "invalid_confirmation"


def test_an_expired_code_is_refused(call: Any, pin_clock: Any) -> None:
    client = call("auth")
    email = new_email()
    now = datetime.now(UTC)
    pin_clock(now)
    register(client, email)
    pin_clock(now + timedelta(hours=49))
    response = confirm(client, email)
    assert response.status_code == 400 and error_code(response) == "invalid_confirmation"


def test_nobody_can_squat_an_address_they_cannot_read_mail_for(call: Any) -> None:
    """An attacker registers the victim's address first; the victim registers later and
    confirms with the code sent to them; the attacker's password never works."""
    client = call("auth")
    victim = new_email()
    register(client, victim, "attacker-chosen-pass-1")
    attacker_code = confirmation_code(victim)
    register(client, victim, GOOD_PASSWORD)  # the real owner
    stale = client.post("/api/auth/verify-email", json={"code": attacker_code})
    assert stale.status_code == 400
    assert confirm(client, victim).status_code == 200
    assert login(client, victim, "attacker-chosen-pass-1").status_code == 401
    assert login(client, victim, GOOD_PASSWORD).status_code == 200


def test_concurrent_registrations_of_one_address_make_one_account_and_one_answer(
    call: Any, db: Any
) -> None:
    email = new_email("race")
    statuses = register_at_once(lambda: call("auth"), email, attempts=8)
    assert statuses == [202] * 8
    users = [s for s in db.collection("users").stream() if s.get("email") == email]
    assert len(users) == 1


def test_registration_is_audited_without_revealing_to_the_caller(call: Any, db: Any) -> None:
    client = call("auth")
    existing = registered(client)
    register(client, existing["email"])
    events = [s.get("event") for s in db.collection("audit_log").stream()]
    assert "registration_for_existing_account" in events
    assert "email_confirmed" in events
