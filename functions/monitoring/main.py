"""Monitoring function: liveness, readiness, a minimal public health answer, and the details.

Public routes say as little as a probe needs: ``/health/live`` and ``/health`` touch no
backend and name no internals (status and version), ``/health/ready`` reads one Firestore
document and is rate limited per client IP like any anonymous request. What helps an
operator — dependency latency, this instance's pid, memory and threads, how the caller's IP
was read — is ``/health/detailed``, behind ``monitoring:read``.
"""

from __future__ import annotations

from typing import Any

import flask
import functions_framework
import health_checks

from shared import __version__
from shared.auth.rbac import PUBLIC, Permission
from shared.errors import ServiceUnavailable
from shared.http import App, RequestContext, client_of
from shared.startup import check_configuration

check_configuration()  # a bad setting or signing key stops the instance here
app = App("monitoring")


def _version(ctx: RequestContext) -> str:
    return ctx.settings.version if ctx.settings.version != "dev" else __version__


# No I/O at all, so there is nothing to protect by limiting it (a limiter check would cost
# more than the answer).
@app.get("/health/live", access=PUBLIC, rate_limited=False)
def live(ctx: RequestContext) -> dict[str, Any]:
    """The process is up and serving (no I/O)."""
    return {"status": "ok"}


@app.get("/health/ready", access=PUBLIC)
def ready(ctx: RequestContext) -> dict[str, Any]:
    """Firestore answers within the readiness deadline, else 503 (rate limited per IP)."""
    firestore = health_checks.check_firestore()
    if not firestore.ok:
        raise ServiceUnavailable(
            "Firestore is not reachable.",
            code="not_ready",
            details=[{"dependency": "firestore"}],
        )
    return {"status": "ready"}


@app.get("/health", access=PUBLIC, rate_limited=False)
def health(ctx: RequestContext) -> dict[str, Any]:
    """Status and version (no I/O; the details are /health/detailed)."""
    return {"status": "ok", "version": _version(ctx)}


@app.get("/health/detailed", access=Permission.MONITORING_READ)
def detailed(ctx: RequestContext) -> dict[str, Any]:
    """Version, uptime, each dependency with its latency, this instance, the caller's IP."""
    firestore = health_checks.check_firestore()
    process = health_checks.process_facts()
    client = client_of(ctx.request, ctx.settings)
    return {
        "status": "ok" if firestore.ok else "degraded",
        "version": _version(ctx),
        "function": app.name,
        "uptime_seconds": process["uptime_seconds"],
        "dependencies": [
            {
                "name": firestore.name,
                "ok": firestore.ok,
                "latency_ms": firestore.latency_ms,
                "error": firestore.error,
            }
        ],
        "process": process,
        # How this request's client IP was read: compare with your real address, through
        # Hosting and through the function's own URL, to set PMI_TRUSTED_PROXY_HOPS.
        "client_ip": {
            "address": client.address,
            "source": client.source,
            "limit_key": client.limit_key,
            "peer": ctx.request.remote_addr,
            "forwarded_for": ctx.request.headers.getlist("X-Forwarded-For"),
            "trusted_proxy_hops": ctx.settings.trusted_proxy_hops,
        },
    }


@functions_framework.http
def monitoring(request: flask.Request) -> flask.Response:
    """Entry point of the monitoring Cloud Function."""
    return app(request)
