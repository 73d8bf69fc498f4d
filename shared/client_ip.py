"""The caller's IP address: from the hop a trusted proxy appended, never from what the client wrote.

Every proxy in front of a function *appends* the address it received the request from to
``X-Forwarded-For``; a client can write anything to the left of those entries. So the
client's address is found by counting ``PMI_TRUSTED_PROXY_HOPS`` entries from the right
(werkzeug's ``ProxyFix(x_for=N)`` semantics):

* 0 — no proxy is trusted: the peer address of the connection (the safe default);
* 1 — one proxy appended the peer it saw: Google's front end in front of a function's own
  URL (and the dev gateway locally);
* 2 — two proxies: Firebase Hosting's CDN, then Google's front end.

When the header has fewer entries than that, or the chosen entry is not an IP address, the
peer address is used: a misconfigured deployment degrades to "everyone behind the front end
shares one address" (safe, and visible), never to a value the client chose.

``PMI_TRUSTED_PROXY_NETWORKS`` (CIDRs, optional) trusts a proxy by its *address* rather than
by its position: while the chosen entry lies in one of those networks, the entry to its left
(the one that proxy appended) is taken instead. With one hop and Hosting's CDN egress ranges,
a request through Hosting resolves to the address the CDN saw, while a caller of the
function's own URL — whose address is not in those ranges — cannot pick its address by
writing the header. Which values to set for each deployment path, and why:
docs/operations.md ("Client IP").

Limits and brute-force counters key on :attr:`ClientIp.limit_key`: the IPv4 address, or the
IPv6 /64 network — one subscriber line usually owns a whole /64, so per-address IPv6 keys
would hand every attacker 2^64 fresh budgets.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from werkzeug.wrappers import Request


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# One IPv6 subscriber (a home line, a phone on a mobile network) is normally given a /64.
IPV6_LIMIT_PREFIX = 64
# What an unusable peer address (a unix socket, a broken server) is keyed as: one shared
# bucket, so it can never become a way around the limits.
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ClientIp:
    """The caller's address (for logs and audit) and the key its limits are counted under."""

    address: str
    limit_key: str
    # Where the address came from: "forwarded" (a trusted hop) or "peer".
    source: str


def parse_address(value: str) -> IPAddress | None:
    """An IP address from one header entry or peer address, or None.

    Tolerates what proxies really write: surrounding spaces, ``[v6]`` brackets, a ``:port``
    suffix on IPv4 and bracketed IPv6, and an IPv6 zone id. IPv4-mapped IPv6
    (``::ffff:192.0.2.1``) becomes the IPv4 address it carries, so one client has one key.
    """
    text = value.strip()
    if not text or len(text) > 64:
        return None
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port; bare IPv6 has two colons at least
        text = text.partition(":")[0]
    text = text.partition("%")[0]  # zone ids name a local interface, not a client
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forwarded_entries(header_values: Sequence[str]) -> list[str]:
    """The X-Forwarded-For entries, left to right, over every header line (RFC 9110 §5.3)."""
    return [entry.strip() for value in header_values for entry in value.split(",")]


def choose(
    peer: str | None,
    forwarded: Sequence[str],
    trusted_hops: int,
    trusted_networks: Sequence[IPNetwork] = (),
) -> ClientIp:
    """The client's address given the peer, the X-Forwarded-For entries and the trusted hops
    (and networks: see the module docstring)."""
    if trusted_hops > 0 and len(forwarded) >= trusted_hops:
        position = len(forwarded) - trusted_hops
        chosen = parse_address(forwarded[position])
        while chosen is not None and position > 0 and _within(chosen, trusted_networks):
            further = parse_address(forwarded[position - 1])
            if further is None:
                break  # the trusted proxy wrote nothing usable: keep the proxy's own address
            position, chosen = position - 1, further
        if chosen is not None:
            return _client(chosen, "forwarded")
    address = parse_address(peer or "")
    if address is None:
        return ClientIp(UNKNOWN, UNKNOWN, "peer")
    return _client(address, "peer")


def from_request(
    request: Request, trusted_hops: int, trusted_networks: Sequence[IPNetwork] = ()
) -> ClientIp:
    """The client's address for a werkzeug (Flask) request."""
    entries = forwarded_entries(request.headers.getlist("X-Forwarded-For"))
    return choose(request.remote_addr, entries, trusted_hops, trusted_networks)


def for_request(request: Request, trusted_hops: int, trusted_cidrs: tuple[str, ...]) -> ClientIp:
    """The client's address as the settings say to read it (PMI_TRUSTED_PROXY_HOPS and
    PMI_TRUSTED_PROXY_NETWORKS, parsed once per distinct value)."""
    return from_request(request, trusted_hops, _networks(trusted_cidrs))


@functools.lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return parse_networks(cidrs)


def parse_networks(value: str | Sequence[str]) -> tuple[IPNetwork, ...]:
    """CIDRs from a comma-separated setting (``ValueError`` names a bad one)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


def _within(address: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def limit_key(address: IPAddress) -> str:
    """What per-IP limits count under: the IPv4 address or the IPv6 /64."""
    if isinstance(address, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((address, IPV6_LIMIT_PREFIX), strict=False)
        return str(network)
    return str(address)


def _client(address: IPAddress, source: str) -> ClientIp:
    return ClientIp(str(address), limit_key(address), source)
