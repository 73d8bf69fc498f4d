"""Token-bucket rate limiting that holds across instances, behind one backend interface.

A function scales to many instances, so a per-process counter would multiply the limit by
the instance count. Bucket state therefore lives behind :class:`RateLimitBackend`
(``take(key, rule, now) -> Decision``), which a Memorystore/Redis backend could implement
as well; :func:`shared.ratelimit_setup.build_limiter` picks one from the settings:

- ``local-first`` (the default): :class:`shared.ratelimit_local.LocalFirstBackend` admits
  from instance memory and reconciles through Firestore off the request path, within a
  stated overshoot bound; rules that fail closed (the sensitive auth routes: sign-in,
  registration, refresh, password) stay exact on the Firestore backend below.
- ``firestore``: :class:`FirestoreBackend` for every rule, one document per (rule, client)
  updated by optimistic compare-and-set on every request — exact, one write per request.
- ``memory``: :class:`MemoryBackend`, per process, for unit tests only; ``off``: none.

Each instance also remembers, per bucket, until when it is known to be empty. Tokens only
come back at the refill rate, so a request inside that window can be refused without a
Firestore round trip — which keeps an abusive client from costing two Firestore calls per request.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from shared import logs
from shared.errors import ServiceUnavailable, TooManyRequests

if TYPE_CHECKING:
    pass

COLLECTION = "rate_limits"
# A bucket idle this long is full again; Firestore's TTL policy on ``expires_at`` can
# delete it (see docs/operations.md) so the collection does not grow without bound.
IDLE_EXPIRY_SECONDS = 3600


@dataclass(frozen=True)
class RateLimitRule:
    """A named limit: ``per_minute`` sustained, ``burst`` at once."""

    name: str
    per_minute: int
    burst: int
    fail_mode: Literal["open", "closed"] | None = None  # None: the configured default

    @property
    def refill_per_second(self) -> float:
        return self.per_minute / 60.0

    @property
    def exact(self) -> bool:
        """A rule that fails closed guards something sensitive: it is also never approximate."""
        return self.fail_mode == "closed"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after_seconds: float  # until one token is back (0 when allowed)
    reset_seconds: float  # until the bucket is full again


class RateLimitBackend(Protocol):
    """Where buckets live. A backend that answers from instance memory also sets a class
    attribute ``answers_locally = True`` (RateLimiter then skips its empty-bucket cache)."""

    def take(self, key: str, rule: RateLimitRule, now: float) -> Decision:
        """Take one token from the bucket ``key`` if there is one."""
        ...


def _refill(tokens: float, updated: float, rule: RateLimitRule, now: float) -> float:
    elapsed = max(0.0, now - updated)
    return min(float(rule.burst), tokens + elapsed * rule.refill_per_second)


def _decide(tokens: float, rule: RateLimitRule) -> tuple[Decision, float]:
    """Spend one token if possible; return the decision and the tokens left."""
    rate = rule.refill_per_second
    if tokens >= 1.0:
        left = tokens - 1.0
        reset = (rule.burst - left) / rate
        return Decision(True, int(left), 0.0, reset), left
    wait = (1.0 - tokens) / rate
    reset = (rule.burst - tokens) / rate
    return Decision(False, 0, wait, reset), tokens


class MemoryBackend:
    """Per-process buckets: for unit tests, never for deployed functions."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, rule: RateLimitRule, now: float) -> Decision:
        with self._lock:
            tokens, updated = self._buckets.get(key, (float(rule.burst), now))
            decision, left = _decide(_refill(tokens, updated, rule, now), rule)
            self._buckets[key] = (left, max(now, updated))
            return decision


class FirestoreBackend:
    """Buckets as Firestore documents, updated by optimistic compare-and-set.

    A take computes the refill and spend from the bucket's state and writes it back only
    if the document is unchanged since that state was seen (an ``update_time``
    precondition; ``create`` for a new bucket). A lost race re-reads and tries again.

    No locks are held between calls. Firestore's read-write transactions lock the document
    for the whole round trip, and on the emulator two of them on one hot bucket stall each
    other for seconds (measured: 40 takes with 2 threads took 63 s; by compare-and-set, 2 s).

    Each instance remembers the last state it wrote per bucket with its ``update_time``, so
    a client served by the same instance again costs one conditional write instead of a read
    and a write; when another instance moved the bucket meanwhile, the precondition fails
    and the take falls back to a fresh read.
    """

    # A hot bucket (one client hammering from many instances) loses races; 25 attempts
    # with jittered back-off covered 16 concurrent writers on the emulator without a miss.
    MAX_ATTEMPTS = 25
    BACKOFF_SECONDS = 0.004
    # Remembered bucket versions per instance; cleared when full (a cache, not state).
    MAX_REMEMBERED = 10_000

    def __init__(self) -> None:
        self._versions: dict[str, tuple[dict[str, Any], Any]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, rule: RateLimitRule, now: float) -> Decision:
        from google.api_core import exceptions as google_exceptions

        from shared.firestore import get_client

        client = get_client()
        doc_id = hashlib.sha256(f"{rule.name}|{key}".encode()).hexdigest()
        ref = client.collection(COLLECTION).document(doc_id)
        lost_race = (google_exceptions.FailedPrecondition, google_exceptions.Conflict)
        with self._lock:
            remembered = self._versions.get(doc_id)
        for attempt in range(self.MAX_ATTEMPTS):
            data: dict[str, Any] | None
            if remembered is not None:
                data, version = remembered
            else:
                snapshot = ref.get()
                data = snapshot.to_dict() if snapshot.exists else None
                version = snapshot.update_time if snapshot.exists else None
            decision, state = _spend(data, rule, now)
            try:
                if version is not None:
                    precondition = client.write_option(last_update_time=version)
                    result = ref.update(state, option=precondition)
                else:
                    result = ref.create(state)
            except lost_race:
                with self._lock:
                    self._versions.pop(doc_id, None)
                if remembered is None:  # a fresh read lost too: back off before retrying
                    time.sleep(random.uniform(0, self.BACKOFF_SECONDS * (attempt + 1)))
                remembered = None
                continue
            with self._lock:
                if len(self._versions) >= self.MAX_REMEMBERED:
                    self._versions.clear()
                self._versions[doc_id] = (state, result.update_time)
            return decision
        raise RuntimeError(f"rate-limit bucket stayed contended after {self.MAX_ATTEMPTS} tries")


def _spend(
    data: dict[str, Any] | None, rule: RateLimitRule, now: float
) -> tuple[Decision, dict[str, Any]]:
    """The decision for one request and the bucket state to store after it."""
    # Instances' requests interleave, so "now" may be older than the stored time; the
    # bucket's clock must never move backwards or refill would count twice.
    updated = max(now, float(data["updated"])) if data else now
    if data:
        tokens = _refill(float(data["tokens"]), float(data["updated"]), rule, now)
    else:
        tokens = float(rule.burst)
    decision, left = _decide(tokens, rule)
    state = {"tokens": left, "updated": updated, "rule": rule.name, "expires_at": _expiry(updated)}
    return decision, state


def _expiry(now: float) -> object:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(now + IDLE_EXPIRY_SECONDS, tz=UTC)


class RateLimiter:
    """Applies rules through a backend, with the local empty-bucket shortcut.

    ``exact_backend``, when given, serves the rules that must not be approximate
    (:attr:`RateLimitRule.exact`); ``backend`` serves the others.
    """

    def __init__(
        self,
        backend: RateLimitBackend,
        default_fail_mode: str = "open",
        *,
        exact_backend: RateLimitBackend | None = None,
    ) -> None:
        self.backend = backend
        self.exact_backend = exact_backend
        self.default_fail_mode = default_fail_mode
        self._empty_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, key: str, rule: RateLimitRule, now: float | None = None) -> Decision:
        """Admit or refuse one request; raise 429 (or 503 when failing closed)."""
        now = time.time() if now is None else now
        bucket = f"{rule.name}|{key}"
        backend = self.exact_backend if rule.exact and self.exact_backend else self.backend
        # A backend that answers from memory needs no shortcut (and must see every request).
        remote = not getattr(backend, "answers_locally", False)
        with self._lock:
            empty_until = self._empty_until.get(bucket, 0.0) if remote else 0.0
        if now < empty_until:
            decision = Decision(False, 0, empty_until - now, empty_until - now)
        else:
            try:
                decision = backend.take(key, rule, now)
            except Exception as exc:  # the backend is down or contended past retries
                return self._on_backend_failure(rule, exc)
            if not decision.allowed and remote:
                with self._lock:
                    self._empty_until[bucket] = now + decision.retry_after_seconds
                    if len(self._empty_until) > 10_000:  # bounded memory per instance
                        self._empty_until.clear()
        if not decision.allowed:
            raise TooManyRequests(
                f"Rate limit '{rule.name}' exceeded: {rule.per_minute} requests per minute.",
                headers=limit_headers(rule, decision),
            )
        return decision

    def _on_backend_failure(self, rule: RateLimitRule, exc: Exception) -> Decision:
        mode = rule.fail_mode or self.default_fail_mode
        logs.error(
            "rate limit backend failed",
            rule=rule.name,
            fail_mode=mode,
            error=f"{type(exc).__name__}: {exc}",
        )
        if mode == "closed":
            raise ServiceUnavailable(
                "Rate limiting is unavailable; try again shortly.",
                code="rate_limit_unavailable",
                headers={"Retry-After": "1"},
            )
        return Decision(True, rule.burst, 0.0, 0.0)


def limit_headers(rule: RateLimitRule, decision: Decision) -> dict[str, str]:
    """IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers) and Retry-After."""
    headers = {
        "RateLimit-Limit": str(rule.burst),
        "RateLimit-Remaining": str(max(0, decision.remaining)),
        "RateLimit-Reset": str(math.ceil(decision.reset_seconds)),
        "RateLimit-Policy": f"{rule.burst};w={math.ceil(rule.burst / rule.refill_per_second)}",
    }
    if not decision.allowed:
        headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after_seconds)))
    return headers
