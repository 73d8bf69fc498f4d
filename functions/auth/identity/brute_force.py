"""Sign-in protection: every password attempt is counted *before* the password is checked.

An attempt first reserves its place in three counters, in one Firestore transaction; only
an attempt every counter admits gets its password checked. So 24 concurrent guesses at one
account make at most :data:`PAIR_LIMIT` password checks, never 23, and a guess that loses
the race for the counters is refused (429, fail closed), never checked and never a 500.

The counters (``login_failures/{sha256(scope|key)}``, each a fixed window from its first
attempt) follow Auth0's and Okta's models (docs/auth.md, "Brute force", has the numbers and
the reasons):

* **pair** — one account from one client network (the IPv4 address or IPv6 /64,
  shared.client_ip): :data:`PAIR_LIMIT` attempts per :data:`PAIR_WINDOW_SECONDS`, then
  that network is refused *for that account only*. Guessing from one place blocks that
  place, not the owner signing in from elsewhere (Auth0's "count per identifier and IP").
* **network** — one client network across all accounts (credential stuffing, password
  spraying): :data:`NETWORK_LIMIT` per :data:`NETWORK_WINDOW_SECONDS`, high enough for a
  workshop or a mobile carrier's NAT (Auth0's "suspicious IP throttling").
* **account** — one account from everywhere: the first :data:`ACCOUNT_FREE_ATTEMPTS` per
  :data:`ACCOUNT_WINDOW_SECONDS` are free; after that each attempt must wait a delay that
  doubles, from :data:`ACCOUNT_BASE_DELAY_SECONDS` to :data:`ACCOUNT_MAX_DELAY_SECONDS`,
  since the previous one: a botnet with unlimited addresses gets a trickle, not a lock.
  Networks the account signed in from in the last :data:`KNOWN_NETWORK_DAYS` days
  (``login_known_networks``) are not slowed, as Okta spares known devices: an attack on an
  account does not slow its owner at home or at work.

The reserved attempt is a failure until proven otherwise: a successful sign-in takes it
back (the pair counter is cleared, the network and account counters lose the one attempt)
and remembers the network as known. Refused attempts are not counted, so a refusal never
lengthens a wait.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import clock, logs
from shared.errors import TooManyRequests
from shared.firestore import get_client
from shared.transactions import Contended, run_transaction

if TYPE_CHECKING:
    from google.cloud.firestore import DocumentReference, Transaction

COLLECTION = "login_failures"
KNOWN_NETWORKS = "login_known_networks"

# Auth0's brute-force protection default: 10 failures per identifier and IP. 15 minutes is
# OWASP's usual lockout period; it only ever applies to one network for one account.
PAIR_LIMIT = 10
PAIR_WINDOW_SECONDS = 15 * 60
# Auth0's suspicious-IP throttling allows 100 failed logins per IP per day; we allow 100
# per hour, because one public address may be a whole workshop or a carrier-grade NAT
# (docs/auth.md works the numbers). One attacking address: at most 2,400 guesses a day,
# spread over many accounts, each of which its pair counter still caps at 10 per 15 min.
NETWORK_LIMIT = 100
NETWORK_WINDOW_SECONDS = 60 * 60
# NIST SP 800-63B 5.2.2 asks for waits that grow as failures mount, rather than a lock.
# 20 free attempts a day cover any owner's typos; then 1, 2, 4 ... minutes up to an hour
# between attempts: about 50 guesses a day at one account, however many addresses try.
ACCOUNT_FREE_ATTEMPTS = 20
ACCOUNT_WINDOW_SECONDS = 24 * 60 * 60
ACCOUNT_BASE_DELAY_SECONDS = 60
ACCOUNT_MAX_DELAY_SECONDS = 60 * 60
KNOWN_NETWORK_DAYS = 90
# Counter documents linger a little past their window; a TTL policy on expires_at
# (docs/operations.md) deletes them.
EXPIRY_SLACK_SECONDS = 60
# Contention on a counter means a burst at one account or network: refuse quickly (the
# caller may retry in a second) rather than keep a thread spinning on retries.
TRANSACTION_ATTEMPTS = 5
OUTER_ATTEMPTS = 3
RETRY_AFTER_CONTENTION_SECONDS = 1


def _doc_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Attempt:
    """One reserved sign-in attempt: whose, from where, and the counts it brought about."""

    account: str
    network: str
    pair_count: int = 0
    network_count: int = 0
    account_count: int = 0
    known_network: bool = False

    @property
    def pair_id(self) -> str:
        return _doc_id("pair", self.account, self.network)

    @property
    def network_id(self) -> str:
        return _doc_id("ip", self.network)

    @property
    def account_id(self) -> str:
        return _doc_id("account", self.account)

    @property
    def known_id(self) -> str:
        return _doc_id(self.account, self.network)

    @property
    def filled(self) -> str | None:
        """Which limit this attempt reached, if any ("pair" or "network"): for the audit."""
        if self.pair_count == PAIR_LIMIT:
            return "pair"
        if self.network_count == NETWORK_LIMIT:
            return "network"
        return None


@dataclass(frozen=True)
class _Window:
    count: int
    started: float
    last: float


def _window(data: dict[str, Any] | None, length: float, now: float) -> _Window:
    """The counter as of ``now``: a window that has ended counts from zero again."""
    if not data or now >= float(data.get("window_start", 0.0)) + length:
        return _Window(0, now, 0.0)
    return _Window(
        max(0, int(data.get("count", 0))),
        float(data["window_start"]),
        float(data.get("last", 0.0)),
    )


def account_delay(count: int) -> float:
    """Seconds an attempt must wait after the previous one once ``count`` were made."""
    if count < ACCOUNT_FREE_ATTEMPTS:
        return 0.0
    steps = min(count - ACCOUNT_FREE_ATTEMPTS, 32)  # 2**32 is past any cap
    return float(min(ACCOUNT_BASE_DELAY_SECONDS * 2**steps, ACCOUNT_MAX_DELAY_SECONDS))


def too_many_attempts(wait_seconds: float, message: str | None = None) -> TooManyRequests:
    retry_after = max(1, math.ceil(wait_seconds))
    return TooManyRequests(
        message or "Too many sign-in attempts; try again later.",
        code="too_many_attempts",
        headers={"Retry-After": str(retry_after)},
    )


def _counter(scope: str, window: _Window, length: float, now: float) -> dict[str, Any]:
    return {
        "scope": scope,
        "count": window.count + 1,
        "window_start": window.started,
        "last": now,
        "expires_at": datetime.fromtimestamp(
            window.started + length + EXPIRY_SLACK_SECONDS, tz=UTC
        ),
    }


def begin(account: str, network: str, now: float | None = None) -> Attempt:
    """Reserve one attempt at ``account`` from ``network``, or raise 429 (Retry-After).

    ``account`` is the normalised email (unknown ones are counted too, so refusals reveal
    nothing); ``network`` is the client's limit key (shared.client_ip).
    """
    now = clock.timestamp() if now is None else now
    attempt = Attempt(account, network)
    client = get_client()
    failures = client.collection(COLLECTION)
    pair_ref = failures.document(attempt.pair_id)
    network_ref = failures.document(attempt.network_id)
    account_ref = failures.document(attempt.account_id)
    known_ref = client.collection(KNOWN_NETWORKS).document(attempt.known_id)

    def reserve(transaction: Transaction) -> Attempt:
        seen = _read(transaction, [pair_ref, network_ref, account_ref, known_ref])
        pair = _window(seen[pair_ref.path], PAIR_WINDOW_SECONDS, now)
        per_network = _window(seen[network_ref.path], NETWORK_WINDOW_SECONDS, now)
        per_account = _window(seen[account_ref.path], ACCOUNT_WINDOW_SECONDS, now)
        known = _is_known(seen[known_ref.path], now)
        if pair.count >= PAIR_LIMIT:
            raise too_many_attempts(pair.started + PAIR_WINDOW_SECONDS - now)
        if per_network.count >= NETWORK_LIMIT:
            raise too_many_attempts(per_network.started + NETWORK_WINDOW_SECONDS - now)
        if not known:
            wait = per_account.last + account_delay(per_account.count) - now
            if wait > 0:
                raise too_many_attempts(wait)
        transaction.set(pair_ref, _counter("pair", pair, PAIR_WINDOW_SECONDS, now))
        transaction.set(network_ref, _counter("network", per_network, NETWORK_WINDOW_SECONDS, now))
        transaction.set(account_ref, _counter("account", per_account, ACCOUNT_WINDOW_SECONDS, now))
        return Attempt(
            account,
            network,
            pair_count=pair.count + 1,
            network_count=per_network.count + 1,
            account_count=per_account.count + 1,
            known_network=known,
        )

    try:
        return run_transaction(
            reserve,
            what="reserve a sign-in attempt",
            lock_keys=[pair_ref.path, network_ref.path, account_ref.path],
            attempts=TRANSACTION_ATTEMPTS,
            outer_attempts=OUTER_ATTEMPTS,
        )
    except Contended:
        # Fail closed: an attempt that could not be counted is not checked either.
        logs.warning("sign-in attempt refused under contention", network=network)
        raise too_many_attempts(
            RETRY_AFTER_CONTENTION_SECONDS,
            "Too many sign-in attempts at once; try again in a moment.",
        ) from None


def _read(transaction: Transaction, refs: list[DocumentReference]) -> dict[str, Any]:
    """The documents' data by path (None when missing), read inside the transaction."""
    found: dict[str, Any] = {ref.path: None for ref in refs}
    for snapshot in transaction.get_all(refs):
        if snapshot.exists:
            found[snapshot.reference.path] = snapshot.to_dict()
    return found


def _is_known(data: dict[str, Any] | None, now: float) -> bool:
    if not data or "expires_at" not in data:
        return False
    expires_at = data["expires_at"]
    return bool(expires_at.timestamp() > now)


def succeeded(attempt: Attempt, now: float | None = None) -> None:
    """Take back a successful attempt and remember its network for the account."""
    from google.cloud import firestore

    now = clock.timestamp() if now is None else now
    client = get_client()
    failures = client.collection(COLLECTION)
    batch = client.batch()
    batch.delete(failures.document(attempt.pair_id))
    for doc_id in (attempt.network_id, attempt.account_id):
        # Increment commutes with concurrent attempts; the document exists (begin wrote it).
        batch.update(failures.document(doc_id), {"count": firestore.Increment(-1)})
    batch.set(
        client.collection(KNOWN_NETWORKS).document(attempt.known_id),
        {"expires_at": datetime.fromtimestamp(now + KNOWN_NETWORK_DAYS * 86400, tz=UTC)},
    )
    batch.commit()
