"""Brute-force lockout, account enumeration resistance, and the audit trail of sign-ins."""

from __future__ import annotations

import statistics
import time
from typing import Any

from auth_test_helpers import GOOD_PASSWORD, error_code, login, new_email, registered

from identity import brute_force
from shared.config import get_settings, reset_settings


def test_lockout_after_ten_failures_with_retry_after(call: Any, db: Any) -> None:
    client = call("auth")
    account = registered(client)
    for attempt in range(brute_force.MAX_FAILURES):
        response = login(client, account["email"], f"wrong-password-{attempt}")
        assert response.status_code == 401, attempt
    locked = login(client, account["email"], GOOD_PASSWORD)  # even the right password
    assert locked.status_code == 429
    assert error_code(locked) == "too_many_attempts"
    retry_after = int(locked.headers["Retry-After"])
    assert 0 < retry_after <= brute_force.WINDOW_SECONDS
    events = [s.get("event") for s in db.collection("audit_log").stream()]
    assert events.count("login_failed") == brute_force.MAX_FAILURES
    assert "lockout" in events


def test_a_success_resets_the_account_counter(call: Any) -> None:
    client = call("auth")
    account = registered(client)
    for attempt in range(brute_force.MAX_FAILURES - 1):
        assert login(client, account["email"], f"wrong-{attempt}").status_code == 401
    assert login(client, account["email"]).status_code == 200
    # From another address: this address's own counter (never reset by a success) is at 9.
    elsewhere = {"X-Forwarded-For": "198.51.100.20"}
    for attempt in range(brute_force.MAX_FAILURES - 1):
        response = login(client, account["email"], f"wrong-again-{attempt}", headers=elsewhere)
        assert response.status_code == 401
    assert login(client, account["email"], headers=elsewhere).status_code == 200


def test_failures_per_ip_lock_out_a_password_spray(call: Any) -> None:
    client = call("auth")
    headers = {"X-Forwarded-For": "203.0.113.9"}
    for _ in range(brute_force.MAX_FAILURES):
        assert login(client, new_email(), "spray-password-1", headers=headers).status_code == 401
    blocked = login(client, new_email(), "spray-password-1", headers=headers)
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    # Another address is unaffected.
    other = login(
        client, new_email(), "spray-password-1", headers={"X-Forwarded-For": "198.51.100.1"}
    )
    assert other.status_code == 401


def test_counters_expire_with_their_window(db: Any) -> None:
    target = brute_force.Subject("account", "window@example.test")
    start = time.time() - brute_force.WINDOW_SECONDS - 5
    for _ in range(brute_force.MAX_FAILURES):
        brute_force.record_failure(target, now=start)
    brute_force.ensure_not_locked(target)  # the window has passed: no exception
    assert brute_force.record_failure(target) == 1


def test_unknown_email_and_wrong_password_look_the_same(call: Any, db: Any) -> None:
    """Same body; median timings within 20 %.

    bcrypt cost 10 makes the hash (~50-100 ms here) dominate the Firestore calls, whose
    jitter on a busy 2-core machine would otherwise swamp a 20 % comparison.
    """
    settings = get_settings()
    reset_settings(settings.model_copy(update={"bcrypt_cost": 10}))
    try:
        client = call("auth")
        account = registered(client)
        unknown, wrong = [], []

        def timed(email: str) -> Any:
            db.recursive_delete(db.collection("login_failures"))  # keep lockout out of it
            started = time.perf_counter()
            response = login(client, email, "not-the-password-123")
            return time.perf_counter() - started, response

        login(client, new_email(), "warm-up-the-dummy-hash")
        bodies = set()
        for _ in range(21):
            elapsed, response = timed(new_email())
            unknown.append(elapsed)
            bodies.add((response.status_code, _without_request_id(response.get_json())))
            elapsed, response = timed(account["email"])
            wrong.append(elapsed)
            bodies.add((response.status_code, _without_request_id(response.get_json())))
        assert len(bodies) == 1 and next(iter(bodies))[0] == 401
        median_unknown, median_wrong = statistics.median(unknown), statistics.median(wrong)
        assert abs(median_unknown - median_wrong) / max(median_unknown, median_wrong) < 0.20, (
            median_unknown,
            median_wrong,
        )
    finally:
        reset_settings(settings)


def _without_request_id(body: dict[str, Any]) -> str:
    error = dict(body["error"])
    error.pop("request_id")
    return repr(sorted(error.items()))


def test_successful_and_failed_logins_are_audited_with_request_id(call: Any, db: Any) -> None:
    client = call("auth")
    account = registered(client)
    login(client, account["email"], headers={"X-Request-ID": "req-ok-123456"})
    login(client, account["email"], "nope-nope-nope", headers={"X-Request-ID": "req-bad-123456"})
    entries = {s.get("request_id"): s.to_dict() for s in db.collection("audit_log").stream()}
    ok, failed = entries["req-ok-123456"], entries["req-bad-123456"]
    assert ok["event"] == "login_succeeded" and ok["actor_id"] == account["user"]["id"]
    assert failed["event"] == "login_failed" and failed["subject_id"] == account["user"]["id"]
    assert failed["ip"] and "password" not in repr(failed["details"]).lower()
