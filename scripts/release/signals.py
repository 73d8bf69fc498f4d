"""Is the release healthy? One reading per rollout step, from what /api/monitoring offers.

A reading combines three sources, each optional except the probes:

1. **Probes** — ``probes_per_check`` GETs to each new revision's own health route through
   its tagged URL: the only signal that sees the new code alone.
2. **Readiness** — ``/api/monitoring/health/ready`` through the Hosting site: Hosting, the
   rewrite and Firestore answer.
3. **Error rate** — ``/api/monitoring/stats/performance?window=5m`` (the monitoring work's
   cross-instance figures; it needs a ``monitoring:read`` token: ``PMI_ROLLOUT_TOKEN``, or
   the pipeline signs in with ``PMI_ROLLOUT_EMAIL`` / ``PMI_ROLLOUT_PASSWORD``).
   Where the route does not exist yet (404) or no token is configured, the reading falls
   back to readiness and probes and says so; any other failure of that route is unhealthy.

Only 5xx answers count as errors: 4xx are the callers' mistakes (bad input, no token, 429
for a client over its limit) and say nothing about the new code.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

READY_PATH = "/api/monitoring/health/ready"
STATS_PATH = "/api/monitoring/stats/performance?window=5m"
_REQUEST_KEYS = ("requests", "count", "total")
_ERROR_KEYS = ("5xx", "errors_5xx", "server_errors")


@dataclass(frozen=True)
class HttpResult:
    status: int  # 0 when nothing answered (refused, timed out, DNS)
    body: bytes = b""


class Http(Protocol):
    def get(self, url: str, headers: Mapping[str, str] | None = None) -> HttpResult: ...


@dataclass
class UrllibHttp:
    timeout_seconds: float = 10.0

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> HttpResult:
        if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
            raise ValueError(f"refusing to probe a non-https URL: {url}")
        request = urllib.request.Request(url, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                return HttpResult(response.status, response.read())
        except urllib.error.HTTPError as error:
            return HttpResult(error.code, error.read())
        except (urllib.error.URLError, OSError):
            return HttpResult(0)


def sign_in(site_url: str, email: str, password: str, timeout_seconds: float = 30.0) -> str:
    """An access token for the rollout's account (a ``viewer``: monitoring:read only).

    Access tokens live 30 minutes, longer than a production rollout's checks take, so the
    pipeline signs in at the start of the rollout phase instead of storing a token.
    """
    body = json.dumps({"email": email, "password": password}).encode()
    request = urllib.request.Request(
        site_url + "/api/auth/login", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
        return str(json.loads(response.read())["access_token"])


@dataclass(frozen=True)
class Reading:
    healthy: bool
    source: str  # "stats/performance" or "readiness" (the fallback)
    error_rate: float | None  # the worst function's 5xx share, when measured
    details: tuple[str, ...] = ()


class HealthSignal(Protocol):
    def read(self, candidates: Mapping[str, str]) -> Reading:
        """``candidates``: function → base URL of its new revision (its tagged URL)."""


@dataclass(frozen=True)
class Thresholds:
    max_error_rate: float
    min_requests: int
    probes: int


@dataclass
class MonitoringSignal:
    http: Http
    site_url: str
    health_paths: Mapping[str, str]
    thresholds: Thresholds
    token: str | None = None
    notes: list[str] = field(default_factory=list)

    def read(self, candidates: Mapping[str, str]) -> Reading:
        details: list[str] = []
        healthy = True

        failed = total = 0
        for name, base in candidates.items():
            for _ in range(self.thresholds.probes):
                total += 1
                status = self.http.get(base.rstrip("/") + self.health_paths[name]).status
                if not 200 <= status < 300:
                    failed += 1
                    details.append(f"{name}: new revision answered {status or 'nothing'}")
        probe_rate = failed / total if total else 0.0
        if probe_rate > self.thresholds.max_error_rate:
            healthy = False

        ready = self.http.get(self.site_url + READY_PATH)
        if ready.status != 200:
            healthy = False
            details.append(f"{READY_PATH} through Hosting answered {ready.status or 'nothing'}")

        try:
            rates = self._stats_error_rates()
        except _StatsUnusable as problem:
            details.append(str(problem))
            return Reading(False, "stats/performance", None, tuple(details))
        if rates is None:
            return Reading(healthy, "readiness", probe_rate if total else None, tuple(details))
        worst = max(rates.values(), default=0.0)
        for name, rate in sorted(rates.items()):
            if rate > self.thresholds.max_error_rate:
                healthy = False
                details.append(f"{name}: {rate:.1%} of requests failed (5xx) in the last 5 min")
        return Reading(healthy, "stats/performance", max(worst, probe_rate), tuple(details))

    def _stats_error_rates(self) -> dict[str, float] | None:
        """Function → 5xx share; None when the route is absent or not usable (fallback)."""
        if not self.token:
            self._note("PMI_ROLLOUT_TOKEN is not set: error rates not read, readiness only")
            return None
        answer = self.http.get(
            self.site_url + STATS_PATH, {"Authorization": f"Bearer {self.token}"}
        )
        if answer.status == 404:
            self._note("/api/monitoring/stats/performance not deployed: readiness only")
            return None
        if answer.status in (401, 403):
            self._note(f"/stats/performance refused the rollout token ({answer.status})")
            return None
        if answer.status != 200:
            raise _StatsUnusable(f"/stats/performance answered {answer.status or 'nothing'}")
        try:
            counts = error_counts(json.loads(answer.body))
        except (ValueError, TypeError) as error:
            raise _StatsUnusable(f"/stats/performance: unreadable answer ({error})") from error
        rates = {}
        for name, (requests, errors) in counts.items():
            if name in self.health_paths and requests >= self.thresholds.min_requests:
                rates[name] = errors / requests
        return rates

    def _note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)


class _StatsUnusable(Exception):
    """The stats route exists but its answer cannot be judged: the check fails."""


def error_counts(document: Any) -> dict[str, tuple[int, int]]:
    """Function → (requests, 5xx) from a /stats/performance answer.

    Reads ``{"functions": {"auth": {"requests": n, "errors": {"5xx": m}}}}`` and the same
    entries as a list with a ``"function"`` key; the 5xx count may also sit directly in the
    entry (``"5xx"``, ``"errors_5xx"``, ``"server_errors"``).
    """
    functions = document.get("functions") if isinstance(document, dict) else None
    if isinstance(functions, list):
        functions = {entry.get("function"): entry for entry in functions if isinstance(entry, dict)}
    if not isinstance(functions, dict):
        raise ValueError("no per-function figures")
    counts = {}
    for name, entry in functions.items():
        if not isinstance(entry, dict):
            continue
        requests = _first_int(entry, _REQUEST_KEYS)
        errors = _first_int(entry, _ERROR_KEYS)
        if errors is None and isinstance(entry.get("errors"), dict):
            errors = _first_int(entry["errors"], _ERROR_KEYS)
        if requests is None or errors is None:
            raise ValueError(f"{name}: needs a request count and a 5xx count")
        counts[str(name)] = (requests, errors)
    return counts


def _first_int(entry: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = entry.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None
