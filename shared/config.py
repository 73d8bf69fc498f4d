"""Typed settings read once from the environment.

Every variable is documented in README.md ("Environment variables"). Settings are a frozen,
validated dataclass so a typo in a value fails at start-up with the variable's name, not
later inside a request.

Why not a pydantic model (what request bodies use): every request reads the settings, so
their class is on every cold start's path, and importing pydantic costs a cold start ~60 ms
of CPU that a first request validating no body does not otherwise need (docs/benchmarks.md,
"Hot path"). The validation below keeps pydantic's lax rules and messages for the types used
here (tests/test_config_parity.py holds it to an equivalent pydantic model), and the
pydantic-style ``model_validate`` / ``model_copy`` / ``model_fields`` callers used stay.
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from shared.client_ip import parse_networks
from shared.errors import ConfigurationError

# Local and test runs use the demo project so nothing can reach a real Firebase project
# (the emulators treat "demo-" projects as offline-only).
DEFAULT_PROJECT_ID = "demo-pmi"


def setting(
    default: Any,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
) -> Any:
    """A field with bounds, checked as pydantic's ``Field(ge=, gt=, le=)`` checks them."""
    return field(default=default, metadata={"ge": ge, "gt": gt, "le": le})


@dataclass(frozen=True)
class Settings:
    """All runtime configuration of a function instance."""

    # The fields by name (pydantic's name for it: README's test and from_environ use it).
    model_fields: ClassVar[dict[str, dataclasses.Field[Any]]]

    environment: Literal["local", "test", "production"] = "local"
    project_id: str = DEFAULT_PROJECT_ID
    version: str = "dev"
    # Secrets: a Secret Manager version name wins; the plain variable serves local runs.
    jwt_secret_name: str | None = None
    jwt_secret: str | None = field(default=None, repr=False)
    jwt_issuer: str = "pmi-auth"
    jwt_audience: str = "pmi-api"
    # 30 minutes keeps a stolen access token short-lived; refresh covers the rest.
    access_token_ttl_seconds: int = setting(1800, ge=60, le=86400)
    refresh_token_ttl_seconds: int = setting(7 * 86400, ge=300, le=90 * 86400)
    # Clock skew tolerated between instances when checking exp/iat.
    jwt_leeway_seconds: int = setting(30, ge=0, le=300)
    # OWASP's 2024 guidance for bcrypt is a work factor of at least 10; 12 costs ~250 ms.
    bcrypt_cost: int = setting(12, ge=4, le=16)
    cors_origins: tuple[str, ...] = ("http://127.0.0.1:5000", "http://localhost:5000")
    rate_limit_per_minute: int = setting(120, ge=1, le=100_000)
    rate_limit_burst: int = setting(30, ge=1, le=100_000)
    # local-first: admit from instance memory, reconcile through Firestore off the request
    # path (docs/operations.md, "Rate limiting"); firestore: every request takes its token
    # in Firestore (exact). Sensitive rules (fail_mode="closed") are exact under both.
    rate_limit_backend: Literal["local-first", "firestore", "memory", "off"] = "local-first"
    rate_limit_fail_mode: Literal["open", "closed"] = "open"
    # How often an instance publishes its admissions and learns the others' (T in the
    # overshoot bound); one write per active client per interval at most.
    rate_limit_sync_seconds: float = setting(1.0, ge=0.05, le=60.0)
    # How long an instance may serve a user's role, activity and sessions from memory; a
    # change made elsewhere takes effect within this bound. 0: read the user on every request.
    principal_cache_seconds: float = setting(5.0, ge=0.0, le=300.0)
    # 1 MiB fits a 500-reading telemetry batch several times over.
    max_body_bytes: int = setting(1_048_576, ge=1024, le=32 * 1_048_576)
    # Proxies in front of the function that append to X-Forwarded-For, counted from the
    # right (shared/client_ip.py). 0 trusts none: the peer address, safe anywhere; a
    # deployment sets its own path's value (docs/operations.md, "Client IP").
    trusted_proxy_hops: int = setting(0, ge=0, le=5)
    # Proxies trusted by address (CIDRs): past the hops above, an entry from one of these
    # is skipped for the one to its left (Hosting's CDN egress; docs/operations.md).
    trusted_proxy_networks: tuple[str, ...] = ()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_active_bookings: int = setting(3, ge=1, le=100)
    # Every Firestore call of a request ends within this many seconds of the request's start,
    # else the request answers 503 deadline_exceeded (shared/deadline.py). Well below
    # Hosting's 60 s, so a slow database frees threads instead of holding them for a minute;
    # well above the slowest healthy request (a health evaluation: under a second).
    request_deadline_seconds: float = setting(10.0, ge=0.5, le=540.0)
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
    metrics_flush_seconds: float = setting(5.0, ge=0.05, le=60.0)
    # How long an instance reuses /stats/database and /stats/performance answers: dashboards
    # polling every 30 s then cost the reads of one, however many are open.
    stats_cache_seconds: float = setting(30.0, ge=0.0, le=600.0)
    # /health/detailed turns "degraded" when, over the last 5 minutes and with at least
    # health_min_requests requests, the 5xx share exceeds health_max_error_rate or the p95
    # latency exceeds health_max_p95_ms (docs/monitoring.md).
    health_max_error_rate: float = setting(0.05, ge=0.0, le=1.0)
    health_max_p95_ms: float = setting(1000.0, gt=0.0, le=60_000.0)
    health_min_requests: int = setting(20, ge=1, le=1_000_000)

    def __post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        for spec in dataclasses.fields(self):
            try:
                value = _validate(spec, getattr(self, spec.name))
            except _Invalid as exc:
                problems.append((spec.name, str(exc)))
            else:
                object.__setattr__(self, spec.name, value)
        if problems:
            raise SettingsError(problems)

    @property
    def sends_debug_headers(self) -> bool:
        """Whether responses may carry diagnostic headers (never by default in production)."""
        if self.debug_headers is None:
            return self.environment != "production"
        return self.debug_headers

    @classmethod
    def model_validate(cls, values: Mapping[str, Any]) -> Settings:
        """Settings from a mapping of field values (``SettingsError`` when one is invalid)."""
        return cls(**values)

    def model_copy(self, *, update: Mapping[str, Any]) -> Settings:
        """A copy with ``update`` applied (validated, unlike pydantic's ``model_copy``)."""
        return dataclasses.replace(self, **update)

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
        except SettingsError as exc:
            problems = "; ".join(f"PMI_{name.upper()}: {message}" for name, message in exc.problems)
            raise ConfigurationError(f"invalid configuration: {problems}") from None


Settings.model_fields = {spec.name: spec for spec in dataclasses.fields(Settings)}


class SettingsError(ValueError):
    """One or more settings are invalid: (field, message) pairs in field order."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in problems))
        self.problems = problems


class _Invalid(ValueError):
    """One value is invalid; the message is pydantic's for the same input."""


# pydantic's lax parsing of the field types used here (its messages, word for word).
_INTEGER = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0*)?")
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
_types_lock = threading.Lock()
_types: dict[str, Any] = {}


def _field_types() -> dict[str, Any]:
    """The fields' annotations, resolved once (they are strings under __future__ annotations)."""
    with _types_lock:
        if not _types:
            _types.update(typing.get_type_hints(Settings))
    return _types


def _validate(spec: dataclasses.Field[Any], value: Any) -> Any:
    kind = _field_types()[spec.name]
    optional = False
    args = typing.get_args(kind)
    if type(None) in args and typing.get_origin(kind) is not Literal:
        optional = True
        (kind,) = (arg for arg in args if arg is not type(None))
    if value is None and optional:
        return None
    if spec.name == "trusted_proxy_networks" or spec.name == "cors_origins":
        value = _split(value)
        if spec.name == "trusted_proxy_networks":
            try:
                parse_networks(value)  # ValueError names the bad CIDR; ConfigurationError at start
            except ValueError as exc:
                raise _Invalid(f"Value error, {exc}") from None
        return value
    if typing.get_origin(kind) is Literal:
        choices = typing.get_args(kind)
        if value not in choices or not isinstance(value, str):
            quoted = [repr(choice) for choice in choices]
            raise _Invalid(f"Input should be {', '.join(quoted[:-1])} or {quoted[-1]}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise _Invalid("Input should be a valid string")
        return value
    if kind is bool:
        return _boolean(value)
    number = _integer(value) if kind is int else _number(value)
    _check_bounds(number, spec.metadata)
    return number


def _split(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise _Invalid("Input should be a valid tuple of strings")
    return tuple(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
    raise _Invalid("Input should be a valid boolean, unable to interpret input")


def _integer(value: Any) -> int:
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise _Invalid("Input should be a valid integer, got a number with a fractional part")
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip().split(".")[0])
    raise _Invalid("Input should be a valid integer, unable to parse string as an integer")


def _number(value: Any) -> float:
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _Invalid("Input should be a valid number, unable to parse string as a number")


def _check_bounds(number: float, bounds: Mapping[str, float | None]) -> None:
    # Written as "not within" so NaN fails the first bound, as pydantic's checks do; the
    # upper bound first, in pydantic's order.
    le, ge, gt = bounds.get("le"), bounds.get("ge"), bounds.get("gt")
    if le is not None and not number <= le:
        raise _Invalid(f"Input should be less than or equal to {_show(le)}")
    if ge is not None and not number >= ge:
        raise _Invalid(f"Input should be greater than or equal to {_show(ge)}")
    if gt is not None and not number > gt:
        raise _Invalid(f"Input should be greater than {_show(gt)}")


def _show(bound: float) -> str:
    """A bound as pydantic prints it: 60, 0.05, and 100 for 100.0."""
    return str(int(bound)) if float(bound).is_integer() else str(bound)


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
