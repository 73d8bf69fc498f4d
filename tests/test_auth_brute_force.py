"""Sign-in protection: attempts counted before the password is checked, per (account, network),
per network across accounts and per account from everywhere; enumeration resistance; audit.

Client networks are set the way the platform reads them with the default settings: the peer
address of the connection (``REMOTE_ADDR``), since no proxy is trusted by default.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from auth_test_helpers import (
    GOOD_PASSWORD,
    OTHER_PASSWORD,
    bearer,
    error_code,
    login,
    new_email,
    registered,
)

from identity import brute_force
from shared.auth import passwords
from shared.config import get_settings, reset_settings


def _from(address: str) -> dict[str, Any]:
    """Request options for a caller connecting from ``address``."""
    return {"environ_base": {"REMOTE_ADDR": address}}


@pytest.fixture
def password_checks(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts every password check (real and the unknown-email dummy) the auth function makes."""
    counted: Counter[str] = Counter()
    lock = threading.Lock()
    real_verify, real_burn = passwords.verify_password, passwords.burn_equal_time

    def verify(password: str, stored: str) -> bool:
        with lock:
            counted["checks"] += 1
        return real_verify(password, stored)

    def burn(password: str, cost: int) -> None:
        with lock:
            counted["checks"] += 1
        real_burn(password, cost)

    monkeypatch.setattr(passwords, "verify_password", verify)
    monkeypatch.setattr(passwords, "burn_equal_time", burn)
    return counted


@pytest.fixture
def clock_at(pin_clock: Any) -> Iterator[Any]:
    """``clock_at(seconds)``: the platform's clock at a fixed offset from the test's start."""
    start = datetime.now(UTC)
    yield lambda seconds: pin_clock(start + timedelta(seconds=seconds))


# --- racing: counted before the password is checked ----------------------------------------


def test_24_concurrent_wrong_passwords_make_at_most_the_limit_of_checks_and_no_500(
    call: Any, password_checks: Counter[str]
) -> None:
    account = registered(call("auth"))
    password_checks.clear()
    barrier = threading.Barrier(24)

    def guess(index: int) -> int:
        client = call("auth")
        barrier.wait()
        response = login(client, account["email"], f"guess-{index}", **_from("203.0.113.24"))
        return int(response.status_code)

    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = Counter(pool.map(guess, range(24)))
    assert set(statuses) <= {401, 429}, statuses
    assert password_checks["checks"] <= brute_force.PAIR_LIMIT, password_checks
    assert statuses[401] == password_checks["checks"]


def test_contention_on_the_counters_is_429_and_the_password_is_never_checked(
    call: Any, monkeypatch: pytest.MonkeyPatch, password_checks: Counter[str]
) -> None:
    account = registered(call("auth"))
    password_checks.clear()

    def always_contended(*args: Any, **kwargs: Any) -> Any:
        from shared.transactions import Contended

        raise Contended()

    monkeypatch.setattr(brute_force, "run_transaction", always_contended)
    response = login(call("auth"), account["email"], GOOD_PASSWORD)
    assert response.status_code == 429
    assert error_code(response) == "too_many_attempts"
    assert response.headers["Retry-After"] == "1"
    assert password_checks["checks"] == 0


# --- per (account, network): guessing from one place blocks that place only ---------------


def test_ten_failures_from_one_network_block_that_network_for_that_account(
    call: Any, db: Any
) -> None:
    client = call("auth")
    account = registered(client)
    attacker = _from("203.0.113.10")
    for attempt in range(brute_force.PAIR_LIMIT):
        assert login(client, account["email"], f"wrong-{attempt}", **attacker).status_code == 401
    locked = login(client, account["email"], GOOD_PASSWORD, **attacker)  # even the right one
    assert locked.status_code == 429 and error_code(locked) == "too_many_attempts"
    assert 0 < int(locked.headers["Retry-After"]) <= brute_force.PAIR_WINDOW_SECONDS
    events = Counter(s.get("event") for s in db.collection("audit_log").stream())
    assert events["login_failed"] == brute_force.PAIR_LIMIT
    assert events["lockout"] == 1


def test_the_owner_signing_in_from_another_network_is_not_locked_out(call: Any) -> None:
    client = call("auth")
    victim = registered(client)
    for attempt in range(brute_force.PAIR_LIMIT + 5):
        login(client, victim["email"], f"guess-{attempt}", **_from("203.0.113.66"))
    assert login(client, victim["email"], **_from("198.51.100.5")).status_code == 200


def test_an_admin_cannot_be_locked_out_from_elsewhere(call: Any, db: Any, clock_at: Any) -> None:
    """Three attacking addresses, ten guesses each: the office is unaffected, a new network
    waits one delay, nobody is locked out."""
    from auth_test_helpers import make_admin

    client = call("auth")
    clock_at(0)
    admin = registered(client)
    make_admin(db, admin["user"]["id"])
    office = _from("198.51.100.9")
    assert login(client, admin["email"], **office).status_code == 200
    for attacker in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        for attempt in range(brute_force.PAIR_LIMIT):
            login(client, admin["email"], f"guess-{attempt}", **_from(attacker))
    signed_in = login(client, admin["email"], **office)
    assert signed_in.status_code == 200 and signed_in.get_json()["user"]["role"] == "admin"
    travelling = _from("192.0.2.200")
    slowed = login(client, admin["email"], **travelling)
    assert slowed.status_code == 429
    wait = int(slowed.headers["Retry-After"])
    assert wait <= brute_force.ACCOUNT_BASE_DELAY_SECONDS
    clock_at(wait + 1)
    assert login(client, admin["email"], **travelling).status_code == 200


def test_a_success_takes_back_the_attempts_of_that_network(call: Any) -> None:
    client = call("auth")
    account = registered(client)
    home = _from("198.51.100.20")
    for attempt in range(brute_force.PAIR_LIMIT - 1):
        assert login(client, account["email"], f"typo-{attempt}", **home).status_code == 401
    assert login(client, account["email"], **home).status_code == 200
    for attempt in range(brute_force.PAIR_LIMIT - 1):
        assert login(client, account["email"], f"typo-again-{attempt}", **home).status_code == 401
    assert login(client, account["email"], **home).status_code == 200


def test_refused_attempts_are_not_counted(call: Any, clock_at: Any) -> None:
    client = call("auth")
    account = registered(client)
    attacker = _from("203.0.113.11")
    clock_at(0)
    for attempt in range(brute_force.PAIR_LIMIT):
        login(client, account["email"], f"wrong-{attempt}", **attacker)
    for _ in range(5):
        assert login(client, account["email"], "more", **attacker).status_code == 429
    clock_at(brute_force.PAIR_WINDOW_SECONDS + 1)  # the window ends; refusals did not extend it
    assert login(client, account["email"], **attacker).status_code == 200


def test_a_wrong_current_password_counts_like_a_failed_sign_in(call: Any) -> None:
    client = call("auth")
    account = registered(client)
    headers = bearer(account["access_token"])
    for attempt in range(brute_force.PAIR_LIMIT):
        response = client.post(
            "/api/auth/password",
            json={"current_password": f"wrong-{attempt}", "new_password": OTHER_PASSWORD},
            headers=headers,
        )
        assert response.status_code == 403
    refused = client.post(
        "/api/auth/password",
        json={"current_password": GOOD_PASSWORD, "new_password": OTHER_PASSWORD},
        headers=headers,
    )
    assert refused.status_code == 429


# --- per network across accounts: credential stuffing, and people behind one NAT ----------


def test_credential_stuffing_from_one_network_is_refused_across_accounts(
    call: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real threshold is 100 an hour (docs/auth.md); 12 keeps the test fast, same code path.
    monkeypatch.setattr(brute_force, "NETWORK_LIMIT", 12)
    client = call("auth")
    stuffer = _from("203.0.113.50")
    for _ in range(12):
        assert login(client, new_email(), "leaked-password-1", **stuffer).status_code == 401
    blocked = login(client, new_email(), "leaked-password-1", **stuffer)
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert (
        login(client, new_email(), "leaked-password-1", **_from("198.51.100.1")).status_code == 401
    )


def test_a_workshop_behind_one_address_is_not_blocked_by_its_own_typos(call: Any) -> None:
    """Thirty people behind one NAT each mistype once, then sign in."""
    client = call("auth")
    accounts = [registered(client) for _ in range(30)]
    workshop = _from("198.51.100.200")
    for account in accounts:
        assert login(client, account["email"], "mistyped-password", **workshop).status_code == 401
        assert login(client, account["email"], **workshop).status_code == 200


# --- per account from everywhere: a slowing ceiling, not a lock ----------------------------


def test_many_networks_at_one_account_are_slowed_down_not_locked_out(
    call: Any, monkeypatch: pytest.MonkeyPatch, clock_at: Any
) -> None:
    monkeypatch.setattr(brute_force, "ACCOUNT_FREE_ATTEMPTS", 3)
    client = call("auth")
    clock_at(0)
    account = registered(client)
    home = _from("198.51.100.77")
    assert login(client, account["email"], **home).status_code == 200  # a known network
    for index in range(3):  # a botnet: one guess from each address
        assert (
            login(client, account["email"], "guess", **_from(f"203.0.113.{index}")).status_code
            == 401
        )
    slowed = login(client, account["email"], "guess", **_from("203.0.113.100"))
    assert slowed.status_code == 429
    assert int(slowed.headers["Retry-After"]) == brute_force.ACCOUNT_BASE_DELAY_SECONDS
    # The owner at home is not slowed at all.
    assert login(client, account["email"], **home).status_code == 200
    # After the delay one more guess gets through, and the next delay doubles.
    clock_at(brute_force.ACCOUNT_BASE_DELAY_SECONDS + 1)
    assert login(client, account["email"], "guess", **_from("203.0.113.101")).status_code == 401
    again = login(client, account["email"], "guess", **_from("203.0.113.102"))
    assert again.status_code == 429
    assert int(again.headers["Retry-After"]) == 2 * brute_force.ACCOUNT_BASE_DELAY_SECONDS


def test_the_delay_doubles_up_to_its_ceiling() -> None:
    free = brute_force.ACCOUNT_FREE_ATTEMPTS
    assert brute_force.account_delay(free - 1) == 0
    assert brute_force.account_delay(free) == brute_force.ACCOUNT_BASE_DELAY_SECONDS
    assert brute_force.account_delay(free + 1) == 2 * brute_force.ACCOUNT_BASE_DELAY_SECONDS
    assert brute_force.account_delay(free + 500) == brute_force.ACCOUNT_MAX_DELAY_SECONDS


def test_counters_start_again_when_their_window_ends(call: Any, clock_at: Any) -> None:
    client = call("auth")
    account = registered(client)
    attacker = _from("203.0.113.12")
    clock_at(0)
    for attempt in range(brute_force.PAIR_LIMIT):
        login(client, account["email"], f"wrong-{attempt}", **attacker)
    assert login(client, account["email"], **attacker).status_code == 429
    clock_at(brute_force.PAIR_WINDOW_SECONDS + 1)
    assert login(client, account["email"], "wrong-again", **attacker).status_code == 401


# --- enumeration and audit ----------------------------------------------------------------


def test_unknown_email_and_wrong_password_look_the_same(call: Any, db: Any) -> None:
    """Same body; median timings within 20 %.

    bcrypt cost 11 makes the hash (~100-200 ms here) dominate the Firestore calls (the
    attempt counters' transaction, two reads, the audit write), whose jitter on a busy
    2-core machine would otherwise swamp a 20 % comparison.
    """
    settings = get_settings()
    reset_settings(settings.model_copy(update={"bcrypt_cost": 11}))
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


def test_successful_and_failed_logins_are_audited_with_both_request_ids(call: Any, db: Any) -> None:
    client = call("auth")
    account = registered(client)
    ok = login(client, account["email"], headers={"X-Request-ID": "req-ok-123456"})
    bad = login(
        client, account["email"], "nope-nope-nope", headers={"X-Request-ID": "req-bad-123456"}
    )
    entries = {s.get("client_request_id"): s.to_dict() for s in db.collection("audit_log").stream()}
    succeeded, failed = entries["req-ok-123456"], entries["req-bad-123456"]
    assert succeeded["event"] == "login_succeeded"
    assert succeeded["actor_id"] == account["user"]["id"]
    assert succeeded["request_id"] == ok.headers["X-Request-ID"]
    assert failed["event"] == "login_failed" and failed["subject_id"] == account["user"]["id"]
    assert failed["request_id"] == bad.headers["X-Request-ID"]
    assert failed["ip"] and "password" not in repr(failed["details"]).lower()
