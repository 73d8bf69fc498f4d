"""Monitoring function: health, this instance's metrics, database and performance statistics.

Public routes say as little as a probe needs: ``/health/live`` and ``/health`` touch no
backend and name no internals (status and version), ``/health/ready`` reads one Firestore
document and is rate limited per client IP like any anonymous request. Everything that helps
an operator is behind ``monitoring:read`` (admin and viewer): ``/health/detailed``
(dependencies, the last 5 minutes' error rate and p95 against stated thresholds, this
instance, the caller's IP reading), ``/metrics`` (this instance), ``/stats/database``
(aggregation counts) and ``/stats/performance`` (every instance of every function, merged).
docs/monitoring.md describes each answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flask
import functions_framework

from observability import service
from shared import __version__
from shared.auth.rbac import PUBLIC, Permission
from shared.errors import ServiceUnavailable
from shared.http import App, RequestContext, client_of
from shared.model_refs import lazy_models
from shared.startup import check_configuration

# Query and response models are imported by the first request that needs one (and by the
# OpenAPI generator), not at every cold start: shared/model_refs.py.
if TYPE_CHECKING:
    from observability import models as m
    from observability.models import (
        DatabaseStats,
        DetailedHealth,
        InstanceMetrics,
        PerformanceReport,
    )
else:
    m = lazy_models("observability.models")

check_configuration()  # a bad setting or signing key stops the instance here
app = App("monitoring")


def _version(ctx: RequestContext) -> str:
    return ctx.settings.version if ctx.settings.version != "dev" else __version__


# No I/O at all, so there is nothing to protect by limiting it (a limiter check would cost
# more than the answer).
@app.get("/health/live", access=PUBLIC, rate_limited=False, response=m.Status)
def live(ctx: RequestContext) -> dict[str, Any]:
    """The process is up and serving (no I/O)."""
    return {"status": "ok"}


@app.get(
    "/health/ready",
    access=PUBLIC,
    response=m.Status,
    responses={503: "not_ready: Firestore did not answer within the readiness deadline"},
)
def ready(ctx: RequestContext) -> dict[str, Any]:
    """Firestore answers within the readiness deadline, else 503 (rate limited per IP)."""
    firestore = service.readiness()
    if not firestore.ok:
        raise ServiceUnavailable(
            "Firestore is not reachable.",
            code="not_ready",
            details=[{"dependency": "firestore"}],
        )
    return {"status": "ready"}


@app.get("/health", access=PUBLIC, rate_limited=False, response=m.PublicHealth)
def health(ctx: RequestContext) -> dict[str, Any]:
    """Status and version (no I/O; the details are /health/detailed)."""
    return {"status": "ok", "version": _version(ctx)}


@app.get("/health/detailed", access=Permission.MONITORING_READ, response=m.DetailedHealth)
def detailed(ctx: RequestContext) -> DetailedHealth:
    """Dependencies, 5-minute error rate and p95 against thresholds, this instance, your IP."""
    from observability.models import ClientIpReading  # on this route's first use (see above)

    client = client_of(ctx.request, ctx.settings)
    # How this request's client IP was read: compare with your real address, through
    # Hosting and through the function's own URL, to set PMI_TRUSTED_PROXY_HOPS.
    reading = ClientIpReading(
        address=client.address,
        source=client.source,
        limit_key=client.limit_key,
        peer=ctx.request.remote_addr,
        forwarded_for=ctx.request.headers.getlist("X-Forwarded-For"),
        trusted_proxy_hops=ctx.settings.trusted_proxy_hops,
    )
    return service.detailed_health(ctx.settings, app.name, _version(ctx), reading)


@app.get("/metrics", access=Permission.MONITORING_READ, response=m.InstanceMetrics)
def instance_metrics(ctx: RequestContext) -> InstanceMetrics:
    """This instance: CPU, memory, disk, connections, threads, uptime and configuration."""
    return service.instance_metrics(ctx.settings, app.name, _version(ctx))


@app.get("/stats/database", access=Permission.MONITORING_READ, response=m.DatabaseStats)
def database_stats(ctx: RequestContext) -> DatabaseStats:
    """Document counts by aggregation queries (cached briefly per instance)."""
    return service.database(ctx.settings)


@app.get(
    "/stats/performance",
    access=Permission.MONITORING_READ,
    query=m.PerformanceQuery,
    response=m.PerformanceReport,
)
def performance(ctx: RequestContext) -> PerformanceReport:
    """Requests, errors, latency percentiles and per-minute series across every instance."""
    return service.performance_report(ctx.query_as(m.PerformanceQuery), ctx.settings)


@functions_framework.http
def monitoring(request: flask.Request) -> flask.Response:
    """Entry point of the monitoring Cloud Function."""
    return app(request)
