"""The client IP comes from the hop a trusted proxy appended, never from what the client wrote.

Unit tests pin the rule (shared/client_ip.py: ProxyFix semantics, counted from the right,
validated, peer fallback, IPv6 grouped by /64); the in-process tests prove that a forged
X-Forwarded-For neither lifts a per-IP limit nor locks a victim out; the end-to-end test
goes through the dev gateway, which appends the peer as Google's front end does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from auth_test_helpers import GOOD_PASSWORD, error_code, login, registered

from shared.client_ip import choose, forwarded_entries, limit_key, parse_address, parse_networks
from shared.config import Settings, get_settings, reset_settings

# --- the rule ------------------------------------------------------------------------------


def test_no_trusted_hop_means_the_peer_address_whatever_the_header_says() -> None:
    chosen = choose("192.0.2.10", ["203.0.113.1"], trusted_hops=0)
    assert (chosen.address, chosen.source) == ("192.0.2.10", "peer")


def test_one_trusted_hop_takes_the_rightmost_entry_not_the_client_written_first() -> None:
    # The client wrote "1.2.3.4"; Google's front end appended the address it saw.
    chosen = choose("169.254.1.1", ["1.2.3.4", "198.51.100.7"], trusted_hops=1)
    assert (chosen.address, chosen.source) == ("198.51.100.7", "forwarded")


def test_two_trusted_hops_skip_the_cdn_entry() -> None:
    # client-written, client (appended by Hosting's CDN), CDN egress (appended by Google).
    entries = ["6.6.6.6", "198.51.100.7", "151.101.1.195"]
    assert choose("169.254.1.1", entries, trusted_hops=2).address == "198.51.100.7"


def test_too_few_entries_fall_back_to_the_peer_never_to_a_client_value() -> None:
    # Misconfigured (two hops trusted, one appended): the lone entry may be client-written.
    chosen = choose("192.0.2.10", ["198.51.100.7"], trusted_hops=2)
    assert (chosen.address, chosen.source) == ("192.0.2.10", "peer")


@pytest.mark.parametrize("junk", ["", "unknown", "not-an-ip", "1.2.3.4.5", "x" * 100, "_hidden"])
def test_an_entry_that_is_not_an_ip_address_falls_back_to_the_peer(junk: str) -> None:
    assert choose("192.0.2.10", ["198.51.100.1", junk], trusted_hops=1).address == "192.0.2.10"


def test_an_unusable_peer_address_is_one_shared_key() -> None:
    chosen = choose(None, [], trusted_hops=0)
    assert chosen.address == chosen.limit_key == "unknown"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" 198.51.100.7 ", "198.51.100.7"),
        ("198.51.100.7:443", "198.51.100.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
    ],
)
def test_addresses_are_parsed_as_proxies_write_them(raw: str, expected: str) -> None:
    assert str(parse_address(raw)) == expected


def test_ipv6_addresses_are_limited_per_slash_64() -> None:
    one = parse_address("2001:db8:1:2::a")
    same_line = parse_address("2001:db8:1:2:ffff:ffff:ffff:ffff")
    next_line = parse_address("2001:db8:1:3::a")
    assert one is not None and same_line is not None and next_line is not None
    assert limit_key(one) == limit_key(same_line) == "2001:db8:1:2::/64"
    assert limit_key(next_line) != limit_key(one)
    ipv4 = parse_address("198.51.100.7")
    assert ipv4 is not None and limit_key(ipv4) == "198.51.100.7"


CDN = parse_networks("151.101.0.0/16, 2a04:4e42::/32")


def test_a_trusted_cdn_address_is_stepped_over_to_the_address_the_cdn_appended() -> None:
    # Through Hosting: client-written, the client (appended by the CDN), the CDN edge
    # (appended by Google's front end).
    entries = ["6.6.6.6", "198.51.100.7", "151.101.1.195"]
    assert choose("169.254.1.1", entries, 1, CDN).address == "198.51.100.7"


def test_a_direct_caller_cannot_pick_its_address_when_the_cdn_is_trusted_by_address() -> None:
    # The function's own URL: the caller wrote an address; Google appended the real one.
    entries = ["198.51.100.7", "203.0.113.66"]
    assert choose("169.254.1.1", entries, 1, CDN).address == "203.0.113.66"
    # Whereas counting two hops for every request would have believed the caller.
    assert choose("169.254.1.1", entries, 2).address == "198.51.100.7"


def test_a_cdn_entry_with_nothing_usable_to_its_left_stays_the_cdn_address() -> None:
    assert choose("169.254.1.1", ["151.101.1.195"], 1, CDN).address == "151.101.1.195"
    assert choose("169.254.1.1", ["junk", "151.101.1.195"], 1, CDN).address == "151.101.1.195"


def test_a_bad_trusted_network_stops_the_instance_with_the_variable_name() -> None:
    from shared.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="PMI_TRUSTED_PROXY_NETWORKS"):
        Settings.from_environ({"PMI_TRUSTED_PROXY_NETWORKS": "151.101.0.0/16, not-a-cidr"})
    parsed = Settings.from_environ({"PMI_TRUSTED_PROXY_NETWORKS": "151.101.0.0/16,::1/128"})
    assert parsed.trusted_proxy_networks == ("151.101.0.0/16", "::1/128")


def test_every_header_line_counts_as_entries() -> None:
    assert forwarded_entries(["1.1.1.1, 2.2.2.2", "3.3.3.3"]) == ["1.1.1.1", "2.2.2.2", "3.3.3.3"]


def test_production_without_a_trusted_hop_says_so_at_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from shared.startup import check_configuration

    original = get_settings()
    reset_settings(original.model_copy(update={"environment": "production"}))
    try:
        capsys.readouterr()
        check_configuration()
        warned = capsys.readouterr().out
    finally:
        reset_settings(original)
    assert "PMI_TRUSTED_PROXY_HOPS is 0" in warned


# --- in the pipeline ----------------------------------------------------------------------


@pytest.fixture
def hops() -> Iterator[Any]:
    """``hops(n)``: run the test with PMI_TRUSTED_PROXY_HOPS=n."""
    original = get_settings()

    def use(count: int) -> None:
        reset_settings(original.model_copy(update={"trusted_proxy_hops": count}))

    yield use
    reset_settings(original)


def _peer(address: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_a_random_forwarded_for_per_request_does_not_lift_the_per_ip_limit(
    call: Any, hops: Any
) -> None:
    """The probe's /limited route allows a burst of 5 per client IP."""
    hops(1)
    probe = call("probe")
    peer = f"198.51.100.{uuid.uuid4().int % 200 + 1}"
    statuses = []
    for index in range(12):
        forged = {"X-Forwarded-For": f"10.{index}.{index}.{index}"}
        # What reaches the function: the forged value, then the address Google appended.
        forged["X-Forwarded-For"] += f", {peer}"
        statuses.append(probe.get("/api/probe/limited", headers=forged).status_code)
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429] * 7


def test_failed_logins_sent_in_a_victims_name_do_not_lock_the_victim_out(
    call: Any, hops: Any
) -> None:
    """An attacker writes the victim's address into X-Forwarded-For; only theirs counts."""
    hops(1)
    client = call("auth")
    victim_ip, attacker_ip = "198.51.100.31", "203.0.113.99"
    account = registered(client)
    for attempt in range(12):
        login(
            client,
            account["email"],
            f"wrong-password-{attempt}",
            headers={"X-Forwarded-For": f"{victim_ip}, {attacker_ip}"},
        )
    from_victim = login(client, account["email"], headers={"X-Forwarded-For": victim_ip})
    assert from_victim.status_code == 200, from_victim.get_json()


def test_the_audit_log_records_the_address_the_trusted_proxy_appended(
    call: Any, db: Any, hops: Any
) -> None:
    hops(1)
    client = call("auth")
    account = registered(client)
    login(
        client,
        account["email"],
        "not-the-password-9",
        headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.44"},
    )
    failed = [s.to_dict() for s in db.collection("audit_log").stream()]
    ips = {entry["ip"] for entry in failed if entry["event"] == "login_failed"}
    assert ips == {"198.51.100.44"}


def test_by_default_no_proxy_is_trusted_and_the_peer_address_is_used(call: Any) -> None:
    assert Settings().trusted_proxy_hops == 0
    client = call("auth")
    account = registered(client)
    for attempt in range(10):
        login(
            client,
            account["email"],
            f"wrong-{attempt}",
            headers={"X-Forwarded-For": f"10.0.0.{attempt}"},
            **_peer("192.0.2.77"),
        )
    locked = login(client, account["email"], GOOD_PASSWORD, **_peer("192.0.2.77"))
    assert locked.status_code == 429 and error_code(locked) == "too_many_attempts"
    assert login(client, account["email"], **_peer("192.0.2.78")).status_code == 200


def test_the_log_line_carries_the_chosen_address(
    call: Any, hops: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    original = get_settings()
    hops(1)
    reset_settings(get_settings().model_copy(update={"log_level": "INFO"}))
    try:
        capsys.readouterr()
        call("probe").get(
            "/api/probe/items/7", headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.45"}
        )
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    finally:
        reset_settings(original)
    assert [line["httpRequest"]["remoteIp"] for line in lines] == ["198.51.100.45"]


# --- through the dev gateway, as behind Google's front end -------------------------------


@pytest.mark.e2e
def test_through_the_gateway_a_forged_forwarded_for_is_not_the_client_ip(
    stack: Any, db: Any
) -> None:
    """The gateway appends its peer (127.0.0.1); the functions trust exactly that one hop."""
    base = stack.gateway_url
    email = f"gateway-{uuid.uuid4().hex[:8]}@example.test"
    response = requests.post(
        f"{base}/api/auth/login",
        json={"email": email, "password": "not-the-password-1"},
        headers={"X-Forwarded-For": "203.0.113.250"},
        timeout=60,
    )
    assert response.status_code == 401
    entries = [
        s.to_dict() for s in db.collection("audit_log").stream() if s.get("event") == "login_failed"
    ]
    assert [entry["ip"] for entry in entries] == ["127.0.0.1"]
