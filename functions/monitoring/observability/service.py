"""The monitoring function's operations, one per route: the routes parse, call one, return.

Figures that cost Firestore reads (database statistics, cross-instance performance) are
cached per instance for ``PMI_STATS_CACHE_SECONDS``: however many dashboards poll, an
instance reads each answer at most once per period.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from observability import health_checks
from observability.ttl_cache import TtlCache
from shared import clock, logs, metrics
from shared.config import Settings

# The answers' models (pydantic) and the modules that gather them (psutil among them) are
# imported by the functions below on their first call: a cold start answering the probes
# (/health, /health/live, /health/ready) pays for none of them (docs/benchmarks.md).
if TYPE_CHECKING:
    from observability.models import (
        ClientIpReading,
        DatabaseStats,
        DetailedHealth,
        HealthThresholds,
        InstanceMetrics,
        PerformanceQuery,
        PerformanceReport,
        RecentPerformance,
    )

_performance_cache: TtlCache[PerformanceReport] = TtlCache(max_entries=64)
_database_cache: TtlCache[DatabaseStats] = TtlCache(max_entries=1)


def readiness() -> health_checks.DependencyStatus:
    """Can this instance reach Firestore within the readiness deadline?"""
    return health_checks.check_firestore()


def instance_metrics(settings: Settings, function: str, version: str) -> InstanceMetrics:
    """This instance: process, system, configuration and its metrics recorder."""
    from observability import instance

    recorder = metrics.get_recorder()
    recording: dict[str, Any] = recorder.describe() if recorder else {"mode": "off"}
    return instance.instance_metrics(settings, function, version, recording)


def database(settings: Settings) -> DatabaseStats:
    """Counts by aggregation queries, cached per instance."""
    from observability import database_stats

    seconds = settings.stats_cache_seconds
    answer, cached = _database_cache.get(
        "database", lambda: database_stats.gather(clock.now(), seconds), seconds
    )
    return answer.model_copy(update={"cached": cached}) if cached else answer


def performance_report(query: PerformanceQuery, settings: Settings) -> PerformanceReport:
    """Every instance's figures over the window, merged; cached per instance."""
    from observability import performance

    key = (query.window, query.function, query.route)

    def compute() -> PerformanceReport:
        now = clock.now()
        first, last = performance.window_minutes(query.window, now)
        found = metrics.FirestoreBuckets().read(first, last)
        return performance.report(
            found.cells,
            window=query.window,
            now=now,
            function=query.function,
            route=query.route,
            documents_read=found.documents,
        )

    answer, cached = _performance_cache.get(key, compute, settings.stats_cache_seconds)
    return answer.model_copy(update={"cached": cached}) if cached else answer


def detailed_health(
    settings: Settings, function: str, version: str, client_ip: ClientIpReading
) -> DetailedHealth:
    """Dependencies, the last 5 minutes' error rate and p95, and what makes them degraded."""
    from observability import instance
    from observability.models import Dependency, DetailedHealth, HealthThresholds, RecentPerformance

    firestore = health_checks.check_firestore()
    thresholds = HealthThresholds(
        max_error_rate=settings.health_max_error_rate,
        max_p95_ms=settings.health_max_p95_ms,
        min_requests=settings.health_min_requests,
    )
    reasons: list[str] = []
    if not firestore.ok:
        reasons.append(f"firestore is not reachable ({firestore.error})")
        recent = RecentPerformance(
            requests=0, error_rate=0.0, p95_ms=None, read_at=None, available=False
        )
    else:
        recent = _recent_performance(settings)
        reasons.extend(degradation(recent, thresholds))
    return DetailedHealth(
        status="degraded" if reasons else "ok",
        reasons=reasons,
        version=version,
        function=function,
        uptime_seconds=instance.uptime_seconds(),
        dependencies=[
            Dependency(
                name=firestore.name,
                ok=firestore.ok,
                latency_ms=firestore.latency_ms,
                error=firestore.error,
            )
        ],
        performance=recent,
        thresholds=thresholds,
        process=instance.process_facts(),
        client_ip=client_ip,
    )


def degradation(recent: RecentPerformance, thresholds: HealthThresholds) -> list[str]:
    """Why the recent figures make the platform degraded (empty: they do not)."""
    if not recent.available:
        return ["the last 5 minutes' figures could not be read"]
    if recent.requests < thresholds.min_requests:
        return []  # too few requests to judge a rate or a percentile
    reasons = []
    if recent.error_rate > thresholds.max_error_rate:
        reasons.append(
            f"5xx share {recent.error_rate:.1%} over 5 minutes exceeds "
            f"{thresholds.max_error_rate:.1%}"
        )
    if recent.p95_ms is not None and recent.p95_ms > thresholds.max_p95_ms:
        reasons.append(
            f"p95 latency {recent.p95_ms:.0f} ms over 5 minutes exceeds "
            f"{thresholds.max_p95_ms:.0f} ms"
        )
    return reasons


def _recent_performance(settings: Settings) -> RecentPerformance:
    from observability.models import PerformanceQuery, RecentPerformance

    try:
        report = performance_report(PerformanceQuery(window="5m"), settings)
    except Exception as exc:  # the health answer must still come back, saying why
        logs.warning("recent performance unavailable", error=f"{type(exc).__name__}: {exc}")
        return RecentPerformance(
            requests=0, error_rate=0.0, p95_ms=None, read_at=None, available=False
        )
    totals = report.totals
    return RecentPerformance(
        requests=totals.requests,
        error_rate=totals.error_rate,
        p95_ms=totals.latency_ms.p95,
        read_at=report.read_at,
        available=True,
    )


def clear_caches() -> None:
    """Forget cached answers (tests)."""
    _performance_cache.clear()
    _database_cache.clear()
