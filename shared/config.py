"""Typed settings read once from the environment.

Every variable is documented in README.md ("Environment variables"). Settings are a
frozen pydantic model so a typo in a value fails at start-up with the variable's name,
not later inside a request.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.errors import ConfigurationError

# Local and test runs use the demo project so nothing can reach a real Firebase project
# (the emulators treat "demo-" projects as offline-only).
DEFAULT_PROJECT_ID = "demo-pmi"


class Settings(BaseModel):
    """All runtime configuration of a function instance."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    environment: Literal["local", "test", "production"] = "local"
    project_id: str = DEFAULT_PROJECT_ID
    version: str = "dev"
    # Secrets: a Secret Manager version name wins; the plain variable serves local runs.
    jwt_secret_name: str | None = None
    jwt_secret: str | None = Field(default=None, repr=False)
    jwt_issuer: str = "pmi-auth"
    jwt_audience: str = "pmi-api"
    # 30 minutes keeps a stolen access token short-lived; refresh covers the rest.
    access_token_ttl_seconds: int = Field(default=1800, ge=60, le=86400)
    refresh_token_ttl_seconds: int = Field(default=7 * 86400, ge=300, le=90 * 86400)
    # Clock skew tolerated between instances when checking exp/iat.
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)
    # OWASP's 2024 guidance for bcrypt is a work factor of at least 10; 12 costs ~250 ms.
    bcrypt_cost: int = Field(default=12, ge=4, le=16)
    cors_origins: tuple[str, ...] = ("http://127.0.0.1:5000", "http://localhost:5000")
    rate_limit_per_minute: int = Field(default=120, ge=1, le=100_000)
    rate_limit_burst: int = Field(default=30, ge=1, le=100_000)
    # local-first: admit from instance memory, reconcile through Firestore off the request
    # path (docs/operations.md, "Rate limiting"); firestore: every request takes its token
    # in Firestore (exact). Sensitive rules (fail_mode="closed") are exact under both.
    rate_limit_backend: Literal["local-first", "firestore", "memory", "off"] = "local-first"
    rate_limit_fail_mode: Literal["open", "closed"] = "open"
    # How often an instance publishes its admissions and learns the others' (T in the
    # overshoot bound); one write per active client per interval at most.
    rate_limit_sync_seconds: float = Field(default=1.0, ge=0.05, le=60.0)
    # How long an instance may serve a user's role, activity and sessions from memory; a
    # change made elsewhere takes effect within this bound. 0: read the user on every request.
    principal_cache_seconds: float = Field(default=5.0, ge=0.0, le=300.0)
    # 1 MiB fits a 500-reading telemetry batch several times over.
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=32 * 1_048_576)
    # Proxies in front of the function that append to X-Forwarded-For, counted from the
    # right (shared/client_ip.py). 0 trusts none: the peer address, safe anywhere; a
    # deployment sets its own path's value (docs/operations.md, "Client IP").
    trusted_proxy_hops: int = Field(default=0, ge=0, le=5)
    # Proxies trusted by address (CIDRs): past the hops above, an entry from one of these
    # is skipped for the one to its left (Hosting's CDN egress; docs/operations.md).
    trusted_proxy_networks: tuple[str, ...] = ()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_active_bookings: int = Field(default=3, ge=1, le=100)
    # Every Firestore call of a request ends within this many seconds of the request's start,
    # else the request answers 503 deadline_exceeded (shared/deadline.py). Well below
    # Hosting's 60 s, so a slow database frees threads instead of holding them for a minute;
    # well above the slowest healthy request (a health evaluation: under a second).
    request_deadline_seconds: float = Field(default=10.0, ge=0.5, le=540.0)
    # Diagnostic response headers (X-Firestore-Ops). None: on outside production, off in it.
    debug_headers: bool | None = None
    # The region the function runs in (the release sets it; Cloud Run names no region in the
    # environment). Reported by /api/monitoring/metrics.
    region: str | None = None
    # Request metrics (shared/metrics.py): firestore = record in memory and flush per instance
    # off the request path; memory = record, never flush (unit tests); off = record nothing.
    metrics: Literal["firestore", "memory", "off"] = "firestore"
    # How often an instance flushes its metrics (one document write per flush while it serves
    # traffic); a dead instance loses at most this much of its requests.
    metrics_flush_seconds: float = Field(default=5.0, ge=0.05, le=60.0)
    # How long an instance reuses /stats/database and /stats/performance answers: dashboards
    # polling every 30 s then cost the reads of one, however many are open.
    stats_cache_seconds: float = Field(default=30.0, ge=0.0, le=600.0)
    # /health/detailed turns "degraded" when, over the last 5 minutes and with at least
    # health_min_requests requests, the 5xx share exceeds health_max_error_rate or the p95
    # latency exceeds health_max_p95_ms (docs/monitoring.md).
    health_max_error_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    health_max_p95_ms: float = Field(default=1000.0, gt=0.0, le=60_000.0)
    health_min_requests: int = Field(default=20, ge=1, le=1_000_000)

    @property
    def sends_debug_headers(self) -> bool:
        """Whether responses may carry diagnostic headers (never by default in production)."""
        if self.debug_headers is None:
            return self.environment != "production"
        return self.debug_headers

    @field_validator("cors_origins", "trusted_proxy_networks", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxy_networks")
    @classmethod
    def _networks_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from shared.client_ip import parse_networks

        parse_networks(value)  # ValueError names the bad CIDR; ConfigurationError at start
        return value

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``PMI_*`` variables (plus Google's project variables)."""
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for name in cls.model_fields:
            key = f"PMI_{name.upper()}"
            if key in env:
                raw[name] = env[key]
        project = (
            env.get("PMI_PROJECT_ID")
            or env.get("GOOGLE_CLOUD_PROJECT")
            or env.get("GCLOUD_PROJECT")
        )
        if project:
            raw["project_id"] = project
        if "PMI_VERSION" not in env and env.get("K_REVISION"):
            raw["version"] = env["K_REVISION"]
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"PMI_{str(err['loc'][0]).upper()}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigurationError(f"invalid configuration: {problems}") from None


_lock = threading.Lock()
_settings: Settings | None = None


def get_settings() -> Settings:
    """The instance's settings, read from the environment on first use."""
    global _settings
    if _settings is None:
        with _lock:
            if _settings is None:
                _settings = Settings.from_environ()
    return _settings


def reset_settings(settings: Settings | None = None) -> None:
    """Replace (or forget) the cached settings; tests use this to change configuration."""
    global _settings
    with _lock:
        _settings = settings
