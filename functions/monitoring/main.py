"""Monitoring function: liveness, readiness and a health report of this instance.

Health routes are public and exempt from rate limiting: probes and uptime checks call
them often, and ``/health/live`` must not touch any backend at all.
"""

from __future__ import annotations

from typing import Any

import flask
import functions_framework
import health_checks

from shared import __version__
from shared.auth.rbac import PUBLIC
from shared.errors import ServiceUnavailable
from shared.http import App, RequestContext
from shared.startup import check_configuration

check_configuration()  # a bad setting or signing key stops the instance here
app = App("monitoring")


@app.get("/health/live", access=PUBLIC, rate_limited=False)
def live(ctx: RequestContext) -> dict[str, Any]:
    """The process is up and serving (no I/O)."""
    return {"status": "ok"}


@app.get("/health/ready", access=PUBLIC, rate_limited=False)
def ready(ctx: RequestContext) -> dict[str, Any]:
    """Firestore answers within the readiness deadline, else 503."""
    firestore = health_checks.check_firestore()
    if not firestore.ok:
        raise ServiceUnavailable(
            "Firestore is not reachable.",
            code="not_ready",
            details=[{"dependency": "firestore", "error": firestore.error}],
        )
    return {"status": "ready", "firestore_latency_ms": firestore.latency_ms}


@app.get("/health", access=PUBLIC, rate_limited=False)
def health(ctx: RequestContext) -> dict[str, Any]:
    """Version, uptime and each dependency with its latency."""
    firestore = health_checks.check_firestore()
    version = ctx.settings.version if ctx.settings.version != "dev" else __version__
    return {
        "status": "ok" if firestore.ok else "degraded",
        "version": version,
        "function": app.name,
        "uptime_seconds": health_checks.process_facts()["uptime_seconds"],
        "dependencies": [
            {
                "name": firestore.name,
                "ok": firestore.ok,
                "latency_ms": firestore.latency_ms,
                "error": firestore.error,
            }
        ],
        "process": health_checks.process_facts(),
    }


@functions_framework.http
def monitoring(request: flask.Request) -> flask.Response:
    """Entry point of the monitoring Cloud Function."""
    return app(request)
