"""Response models of the monitoring routes (the OpenAPI document; handlers return dicts)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.responses import ResponseModel


class Status(ResponseModel):
    """A probe's answer."""

    status: str = Field(examples=["ok"])


class PublicHealth(ResponseModel):
    status: str = Field(examples=["ok"])
    version: str


class Dependency(ResponseModel):
    name: str = Field(examples=["firestore"])
    ok: bool
    latency_ms: float | None
    error: str | None


class DetailedHealth(ResponseModel):
    """What helps an operator: dependencies, this instance, how the caller's IP was read."""

    status: str = Field(description="ok, or degraded when a dependency fails.")
    version: str
    function: str
    uptime_seconds: float
    dependencies: list[Dependency]
    process: dict[str, Any] = Field(description="pid, rss_bytes, threads, uptime_seconds.")
    client_ip: dict[str, Any]
