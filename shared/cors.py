"""CORS for the admin dashboard and other allowed browser origins.

Only origins on the configured allowlist are ever echoed back; an unknown origin gets no
CORS headers at all (the browser then blocks the response), and its preflight is refused.
Credentials travel in ``Authorization``, so ``Allow-Credentials`` is never needed.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.request_context import Headers

ALLOWED_METHODS = "GET, POST, PATCH, PUT, DELETE, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID, traceparent"
EXPOSED_HEADERS = "X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
# Browsers cap preflight caching (Chromium at 2 h); 10 minutes keeps policy changes quick.
PREFLIGHT_MAX_AGE_SECONDS = 600


def is_preflight(method: str, headers: Headers) -> bool:
    return (
        method == "OPTIONS" and "Origin" in headers and "Access-Control-Request-Method" in headers
    )


def origin_allowed(origin: str | None, allowlist: Iterable[str]) -> bool:
    return bool(origin) and origin in set(allowlist)


def response_headers(origin: str | None, allowlist: Iterable[str]) -> dict[str, str]:
    """Headers for an actual (non-preflight) response."""
    headers = {"Vary": "Origin"}
    if origin is not None and origin_allowed(origin, allowlist):
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return headers


def preflight_headers(origin: str) -> dict[str, str]:
    """Headers answering an allowed preflight."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": ALLOWED_METHODS,
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
        "Vary": "Origin",
    }
