"""Vehicles function (routes are filled in by its own issue; health only for now)."""

from __future__ import annotations

from typing import Any

import flask
import functions_framework

from shared.auth.rbac import public
from shared.http import App, RequestContext

app = App("vehicles")


@app.get("/health", rate_limited=False)
@public
def health(ctx: RequestContext) -> dict[str, Any]:
    """This function is up."""
    return {"status": "ok", "function": app.name}


@functions_framework.http
def vehicles(request: flask.Request) -> flask.Response:
    """Entry point of the vehicles Cloud Function."""
    return app(request)
