"""Local-first rate limiting: admit from instance memory, reconcile through Firestore later.

Every instance keeps a token bucket per (rule, client) in memory and answers from it, so a
request costs no Firestore call. A background thread reconciles the instances, the way
approximate distributed limiters do it (Envoy's local limit in front of a global one,
Cloudflare's asynchronously incremented counters, Figma's and Stripe's shared buckets):

- every ``interval`` seconds it *publishes* what this instance admitted since the last
  time, one document per (bucket, instance) in ``rate_limit_shards``, all in one batched
  write; a client's bucket is written at most once per interval per instance, and only when
  this instance admitted something for it. No document is shared, so none is hot;
- in the same pass it *reads* the shards other instances published for the clients active
  here (one query per 30 clients) and takes their new admissions out of the local bucket.

So an admission anywhere reaches every other instance's bucket within two passes (one to
be published, one to be read), and the whole fleet admits at most

    b + r·W + (N − 1)·(b + r·D),   D = 2·(T + δ)

requests of one client in any window of W seconds (N instances serving that client, rule
rate r per second and burst b, reconcile interval T, δ the duration of a pass;
docs/operations.md, "Rate limiting", gives the argument). A bucket an instance sees for the
first time starts from the most pessimistic level published for it, refilled to now, so a
client cannot reset its budget by reaching a fresh instance or by pausing.

When CPU is allocated only during requests (Cloud Run's default), the thread gets little or
no CPU between requests; a request that finds a pass due wakes the thread, which then runs
alongside that request's own work. An idle instance admits nothing, so what it has not
published yet can only be the admissions of its last requests; it publishes them at its
next request, or when it shuts down. The thread, its fork safety and the publish at exit are
shared/periodic.py's :class:`~shared.periodic.PeriodicPass` (the request metrics use it too).
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from shared.periodic import PeriodicPass
from shared.query_shapes import QueryShape, register
from shared.ratelimit import Decision, RateLimitRule

SHARDS_COLLECTION = "rate_limit_shards"
(RECENT_SHARDS_OF_BUCKETS,) = register(
    QueryShape(
        SHARDS_COLLECTION,
        equality=("bucket",),
        order=(("updated", "ASCENDING"),),
        description="the shards of up to 30 buckets published recently (rate-limit sync)",
    )
)
# Firestore allows 30 values in an ``in`` filter and 500 writes in one batch.
MAX_BUCKETS_PER_QUERY = 30
MAX_WRITES_PER_BATCH = 500
# Buckets kept per instance (about 1 KB each). Idle ones are forgotten once published;
# past this many the least recently used go at once (a forgotten client starts again from
# its published level). An instance that regularly serves more distinct clients than this
# within a minute should use a shared store (Redis) instead.
MAX_BUCKETS = 20_000
# A pass must not hang on a slow Firestore; what it could not publish goes out next time.
RPC_TIMEOUT_SECONDS = 5.0
# A shard Firestore may delete (TTL policy on expires_at, docs/operations.md): by then no
# instance still reads it.
SHARD_EXPIRY_SECONDS = 3600


@dataclass(frozen=True)
class Shard:
    """What one instance published about one bucket."""

    bucket: str
    instance: str
    generation: str  # the instance's incarnation of the bucket; counts restart with it
    admitted: int  # admissions in this generation
    level: float  # the instance's view of the bucket when it published
    updated: float  # when it published (seconds since the epoch)
    rule: str = ""

    @property
    def peer(self) -> str:
        return f"{self.instance}:{self.generation}"


class ShardStore(Protocol):
    """Where instances publish and read shards (Firestore in production)."""

    def publish(self, shards: Sequence[Shard], now: float) -> None:
        """Write this instance's shards (one batched write per 500)."""
        ...

    def read(self, buckets: Sequence[str], since: float) -> list[Shard]:
        """Every instance's shards of ``buckets`` published at or after ``since``."""
        ...


class FirestoreShards:
    """Shards as documents ``rate_limit_shards/{bucket}.{instance}``."""

    def publish(self, shards: Sequence[Shard], now: float) -> None:
        from shared.firestore import get_client

        client = get_client()
        collection = client.collection(SHARDS_COLLECTION)
        expires_at = datetime.fromtimestamp(now + SHARD_EXPIRY_SECONDS, tz=UTC)
        for start in range(0, len(shards), MAX_WRITES_PER_BATCH):
            batch = client.batch()
            for shard in shards[start : start + MAX_WRITES_PER_BATCH]:
                ref = collection.document(f"{shard.bucket}.{shard.instance}")
                batch.set(
                    ref,
                    {
                        "bucket": shard.bucket,
                        "instance": shard.instance,
                        "generation": shard.generation,
                        "admitted": shard.admitted,
                        "level": shard.level,
                        "updated": shard.updated,
                        "rule": shard.rule,
                        "expires_at": expires_at,
                    },
                )
            batch.commit(timeout=RPC_TIMEOUT_SECONDS)

    def read(self, buckets: Sequence[str], since: float) -> list[Shard]:
        from shared.firestore import get_client

        # The client first: get_client imports the library under its lock. This thread
        # importing parts of it on its own while a request imports it (the first request of
        # an instance) can meet a partially initialised module.
        collection = get_client().collection(SHARDS_COLLECTION)
        from google.cloud.firestore_v1.base_query import FieldFilter

        found: list[Shard] = []
        for start in range(0, len(buckets), MAX_BUCKETS_PER_QUERY):
            group = list(buckets[start : start + MAX_BUCKETS_PER_QUERY])
            query = collection.where(filter=FieldFilter("bucket", "in", group)).where(
                filter=FieldFilter("updated", ">=", since)
            )
            for snapshot in query.stream(timeout=RPC_TIMEOUT_SECONDS):
                data = snapshot.to_dict() or {}
                found.append(
                    Shard(
                        bucket=str(data["bucket"]),
                        instance=str(data["instance"]),
                        generation=str(data["generation"]),
                        admitted=int(data["admitted"]),
                        level=float(data["level"]),
                        updated=float(data["updated"]),
                        rule=str(data.get("rule", "")),
                    )
                )
        return found


def bucket_id(rule: RateLimitRule, key: str) -> str:
    """The bucket's name in Firestore: clients' keys (user ids, IPs) never appear there."""
    return hashlib.sha256(f"{rule.name}|{key}".encode()).hexdigest()[:40]


@dataclass
class _Bucket:
    rule: RateLimitRule
    name: str
    level: float  # tokens; negative when peers admitted more than this instance knew of
    stamp: float  # when ``level`` was last refilled
    generation: str
    admitted: int = 0  # own admissions in this generation
    published: int = 0  # ``admitted`` as last published
    primed: bool = False
    last_used: float = 0.0
    seen: dict[str, int] = field(default_factory=dict)  # peer generation -> admissions applied

    def refill(self, now: float) -> None:
        if now > self.stamp:
            rate = self.rule.refill_per_second
            self.level = min(float(self.rule.burst), self.level + (now - self.stamp) * rate)
            self.stamp = now

    def idle(self, now: float, interval: float) -> bool:
        """Nothing unpublished and no request for two intervals: safe to forget.

        Its published shard outlives it, so if the client comes back the new bucket
        starts from that level (refilled), not from a full burst.
        """
        return self.admitted == self.published and now - self.last_used > 2 * interval


class LocalFirstBackend:
    """A :class:`shared.ratelimit.RateLimitBackend` that answers from instance memory.

    ``background=False`` leaves the passes to the caller (:meth:`sync`), which tests use to
    drive several instances on one clock.
    """

    # RateLimiter's "known empty" shortcut is for remote backends; this one is as cheap.
    answers_locally = True

    def __init__(
        self,
        interval: float = 1.0,
        store: ShardStore | None = None,
        *,
        instance_id: str | None = None,
        background: bool = True,
        clock: Callable[[], float] = time.time,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        self.interval = interval
        self.max_buckets = max_buckets
        self.store: ShardStore = store or FirestoreShards()
        self.instance_id = instance_id or uuid.uuid4().hex[:16]
        self.background = background
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()
        self._pass_lock = threading.Lock()  # one pass at a time (thread, exit, tests)
        # The first full pass is due one interval after start, not during the first request.
        self._last_full_pass = clock()
        self._unprimed = False
        # The reconcile thread (shared/periodic.py): a pass per interval, or at once when a
        # request asks; a last publish when the process exits.
        self._worker = PeriodicPass(
            "pmi-ratelimit-sync",
            "rate limit sync",
            interval,
            self.sync,
            final=self._publish_at_exit,
            after_fork=self._forget_parent_state,
        )
        self.passes = 0  # completed passes, for tests and the benchmark

    # --- the request path -------------------------------------------------------------------

    def take(self, key: str, rule: RateLimitRule, now: float) -> Decision:
        """Take one token from this instance's bucket; no I/O."""
        self._ensure_worker()
        name = bucket_id(rule, key)
        with self._lock:
            bucket = self._buckets.get(name)
            if bucket is None:
                bucket = _Bucket(rule, name, float(rule.burst), now, uuid.uuid4().hex[:12])
                self._buckets[name] = bucket
                self._unprimed = True
                while len(self._buckets) > self.max_buckets:
                    # Under a flood of new clients the least recently seen go, published or
                    # not: memory stays bounded and those clients merely start afresh.
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(name)
            bucket.refill(now)
            bucket.last_used = max(bucket.last_used, now)
            decision = _spend(bucket)
            wake = self._unprimed or now - self._last_full_pass >= self.interval
        if wake and self.background:
            # Overdue or a new client: the thread runs now, alongside this request.
            self._worker.wake()
        return decision

    # --- reconciliation (off the request path) ------------------------------------------------

    def sync(self, now: float | None = None, *, full: bool | None = None) -> None:
        """One pass: publish own admissions, read the peers', apply them.

        A full pass (due every ``interval``) covers every active bucket; in between, a
        priming pass only reads the shards of buckets seen for the first time.
        """
        with self._pass_lock:
            now = self._clock() if now is None else now
            if full is None:
                full = now - self._last_full_pass >= self.interval
            with self._lock:
                self._unprimed = False
                chosen = [b for b in self._buckets.values() if full or not b.primed]
                publish = [
                    Shard(
                        b.name,
                        self.instance_id,
                        b.generation,
                        b.admitted,
                        _level_at(b, now),
                        now,
                        b.rule.name,
                    )
                    for b in chosen
                    if full and b.admitted > b.published
                ]
                since = now - max((_horizon(b.rule, self.interval) for b in chosen), default=0.0)
                names = [b.name for b in chosen]
            if publish:
                self.store.publish(publish, now)
                with self._lock:
                    for shard in publish:
                        bucket = self._buckets.get(shard.bucket)
                        if bucket is not None and bucket.generation == shard.generation:
                            bucket.published = max(bucket.published, shard.admitted)
            shards = self.store.read(names, since) if names else []
            with self._lock:
                self._apply(names, shards, now)
                if full:
                    self._last_full_pass = now
                    self._forget_idle(now)
            self.passes += 1

    def _apply(self, names: Iterable[str], shards: Iterable[Shard], now: float) -> None:
        by_bucket: dict[str, list[Shard]] = {}
        for shard in shards:
            by_bucket.setdefault(shard.bucket, []).append(shard)
        for name in names:
            bucket = self._buckets.get(name)
            if bucket is None:
                continue
            horizon = _horizon(bucket.rule, self.interval)
            own = f"{self.instance_id}:{bucket.generation}"
            # Every other view of the bucket counts, this instance's earlier ones included.
            peers = [
                s for s in by_bucket.get(name, []) if s.peer != own and s.updated >= now - horizon
            ]
            bucket.refill(now)
            if not bucket.primed:
                _prime(bucket, peers, now)
                continue
            for shard in peers:
                before = bucket.seen.get(shard.peer, 0)
                if shard.admitted > before:
                    # New admissions elsewhere: they spent tokens of the same bucket.
                    bucket.level -= shard.admitted - before
                    bucket.seen[shard.peer] = shard.admitted

    def _forget_idle(self, now: float) -> None:
        """Drop buckets nobody used lately and that hold nothing unpublished (lock held)."""
        for name in [n for n, b in self._buckets.items() if b.idle(now, self.interval)]:
            del self._buckets[name]

    # --- the thread ---------------------------------------------------------------------------

    def _ensure_worker(self) -> None:
        if self.background:
            self._worker.ensure_running()

    def _forget_parent_state(self) -> None:
        """In a forked child (gunicorn forks after import): the parent's buckets are not ours."""
        self._buckets.clear()
        self._lock = threading.Lock()
        self._pass_lock = threading.Lock()

    def _publish_at_exit(self) -> None:
        """Best effort: an instance shutting down publishes what it admitted last."""
        if self.pending_admissions():
            self.sync(full=True)

    @property
    def needs_priming(self) -> bool:
        """A client is new here and the priming pass has not run yet."""
        return self._unprimed

    def pending_admissions(self) -> int:
        """Own admissions not yet published (the benchmark and tests read this)."""
        with self._lock:
            return sum(b.admitted - b.published for b in self._buckets.values())

    def bucket_count(self) -> int:
        with self._lock:
            return len(self._buckets)


def _spend(bucket: _Bucket) -> Decision:
    rule = bucket.rule
    rate = rule.refill_per_second
    if bucket.level >= 1.0:
        bucket.level -= 1.0
        bucket.admitted += 1
        return Decision(True, int(bucket.level), 0.0, (rule.burst - bucket.level) / rate)
    wait = (1.0 - bucket.level) / rate
    return Decision(False, 0, wait, (rule.burst - bucket.level) / rate)


def _level_at(bucket: _Bucket, now: float) -> float:
    bucket.refill(now)
    return bucket.level


def _horizon(rule: RateLimitRule, interval: float) -> float:
    """How long a published shard can still matter.

    An empty bucket refills in b/r; twice that also covers a bucket in debt by a burst.
    """
    return 2 * rule.burst / rule.refill_per_second + 2 * interval


def _prime(bucket: _Bucket, peers: Sequence[Shard], now: float) -> None:
    """First pass for a bucket: start from the most pessimistic peer's view.

    A peer's published level already counts everything that peer knew of; refilled to now
    it bounds what is left. This instance's own admissions since it created the bucket are
    not in any peer's view yet, so they come off on top. Counts published so far are the
    baseline: only later admissions are taken off again.
    """
    rate = bucket.rule.refill_per_second
    burst = float(bucket.rule.burst)
    for shard in peers:
        bucket.seen[shard.peer] = shard.admitted
        peer_view = min(burst, shard.level + max(0.0, now - shard.updated) * rate)
        bucket.level = min(bucket.level, peer_view - bucket.admitted)
    bucket.primed = True
