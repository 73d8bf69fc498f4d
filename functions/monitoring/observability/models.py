"""The monitoring API's query and response models (pure: no I/O).

Every answer is plain JSON for a dashboard (docs/monitoring.md shows each one): counts are
integers, latencies milliseconds, instants ISO 8601 in UTC. Per-minute series are columns of
equal length (``t`` holds each minute's start in epoch seconds), the shape chart libraries
such as uPlot take as they are. A percentile is ``null`` where there were no requests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.request_models import QueryModel

Window = Literal["5m", "1h", "24h"]
# Minutes in each window, the current (partial) minute included.
WINDOW_MINUTES: dict[str, int] = {"5m": 5, "1h": 60, "24h": 1440}


class Answer(BaseModel):
    """Base of the responses: fields may be spelled as JSON wants them (``"4xx"``)."""

    model_config = ConfigDict(serialize_by_alias=True, populate_by_name=True)


# --- /stats/performance --------------------------------------------------------------------


class PerformanceQuery(QueryModel):
    window: Window = Field(default="5m", description="5m, 1h or 24h, ending now")
    function: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_-]{0,39}$",
        description="only this function (auth, vehicles, bookings, monitoring)",
    )
    route: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=r"^(/[^\s]*|\(unmatched\))$",
        description="only this route template, as the route table spells it: /<vehicle_id>",
    )


class ErrorCounts(Answer):
    total: int = Field(description="4xx + 5xx")
    client: int = Field(serialization_alias="4xx")
    server: int = Field(serialization_alias="5xx")


class Latency(Answer):
    p50: float | None
    p95: float | None
    p99: float | None
    mean: float | None


class Figures(Answer):
    """One function's, one route's or everything's figures over the window."""

    requests: int
    errors: ErrorCounts
    rate_limited: int = Field(description="429 answers (also counted in errors.4xx)")
    cold_starts: int = Field(description="first requests of new instances")
    error_rate: float = Field(description="5xx ÷ requests (0 without requests)")
    latency_ms: Latency


class Series(Answer):
    """Per-minute columns, oldest first, one entry per minute of the window."""

    t: list[int] = Field(description="start of each minute, epoch seconds")
    requests: list[int]
    errors_4xx: list[int]
    errors_5xx: list[int]
    rate_limited: list[int]
    cold_starts: list[int]
    p50_ms: list[float | None]
    p95_ms: list[float | None]
    p99_ms: list[float | None]


class FunctionFigures(Figures):
    routes: dict[str, Figures] = Field(description="route template → figures")
    series: Series


class PerformanceReport(Answer):
    window: Window
    start: datetime = Field(description="start of the window's first minute")
    end: datetime = Field(description="end of the window (the current minute's end)")
    step_seconds: int
    function: str | None
    route: str | None
    read_at: datetime = Field(description="when the figures were read from Firestore")
    cached: bool = Field(description="served from this instance's cache")
    instances: int = Field(description="instances whose figures are merged")
    documents_read: int
    latency_bounds_ms: list[float] = Field(description="the histogram's bucket bounds")
    totals: Figures
    series: Series
    functions: dict[str, FunctionFigures]


# --- /stats/database -----------------------------------------------------------------------


class Figure(Answer):
    count: int
    read_at: datetime


class TelemetryFigure(Answer):
    count: int = Field(description="estimated readings in the last 24 h")
    read_at: datetime
    days: dict[str, int] = Field(description="readings stored per UTC day (exact)")
    method: str


class DatabaseStats(Answer):
    read_at: datetime
    cached: bool
    cache_seconds: float
    queries: int = Field(description="aggregation queries one uncached call runs")
    reads_note: str
    collections: dict[str, Figure]
    bookings_by_status: dict[str, Figure]
    open_alerts_by_severity: dict[str, Figure]
    users_by_role: dict[str, Figure]
    new_users_last_7_days: Figure
    telemetry_readings_last_24h: TelemetryFigure


# --- /metrics ------------------------------------------------------------------------------


class ProcessFigures(Answer):
    pid: int
    cpu_percent: float = Field(description="since the previous /metrics call on this instance")
    cpu_seconds: float
    rss_bytes: int
    memory_percent: float
    threads: int
    open_connections: int | None
    open_files: int | None
    uptime_seconds: float


class SystemFigures(Answer):
    cpu_count: int
    cpu_percent: float
    memory_total_bytes: int
    memory_available_bytes: int
    disk_path: str
    disk_total_bytes: int
    disk_used_bytes: int
    disk_free_bytes: int


class Limits(Answer):
    memory_bytes: int | None = Field(description="the container's memory limit (cgroup)")
    cpus: float | None = Field(description="the container's CPU quota (cgroup)")
    max_body_bytes: int
    rate_limit_per_minute: int
    rate_limit_burst: int
    rate_limit_backend: str


class Configuration(Answer):
    function: str
    version: str
    environment: str
    region: str | None
    service: str | None = Field(description="Cloud Run service (K_SERVICE)")
    revision: str | None = Field(description="Cloud Run revision (K_REVISION)")
    concurrency: int | None = Field(description="gunicorn threads (THREADS)")
    limits: Limits


class InstanceMetrics(Answer):
    read_at: datetime
    process: ProcessFigures
    system: SystemFigures
    configuration: Configuration
    recording: dict[str, object] = Field(description="this instance's request metrics recorder")


# --- /health/live, /health/ready, /health ---------------------------------------------------


class Status(Answer):
    """A probe's answer."""

    status: str = Field(examples=["ok"])


class PublicHealth(Answer):
    """What anyone may know: up, and which version."""

    status: str = Field(examples=["ok"])
    version: str


# --- /health/detailed ----------------------------------------------------------------------


class Dependency(Answer):
    name: str
    ok: bool
    latency_ms: float
    error: str | None


class HealthThresholds(Answer):
    max_error_rate: float
    max_p95_ms: float
    min_requests: int


class RecentPerformance(Answer):
    window: Literal["5m"] = "5m"
    requests: int
    error_rate: float = Field(description="5xx ÷ requests, every function")
    p95_ms: float | None
    read_at: datetime | None
    available: bool


class ClientIpReading(Answer):
    address: str
    source: str
    limit_key: str
    peer: str | None
    forwarded_for: list[str]
    trusted_proxy_hops: int


class DetailedHealth(Answer):
    status: Literal["ok", "degraded"]
    reasons: list[str]
    version: str
    function: str
    uptime_seconds: float
    dependencies: list[Dependency]
    performance: RecentPerformance
    thresholds: HealthThresholds
    process: dict[str, float | int]
    client_ip: ClientIpReading
