"""Request identity: the request id and the Cloud Trace context of the current request.

Every request gets its own id, made here: it is the ``request_id`` of every log line, audit
entry and error envelope, and the ``X-Request-ID`` of the response, so it names exactly one
request. An ``X-Request-ID`` the caller sent is kept beside it as ``client_request_id`` when
it looks sane — good for correlating with the caller's own logs, never trusted to be
unique (a client may send the same value twice, or another request's id). The identity
lives in a context variable so every log line carries it without being passed around.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from dataclasses import dataclass
from typing import Protocol

# Letters, digits and a few separators, bounded: anything else could forge log lines.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")
# W3C trace context: version-traceid-parentid-flags.
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
# Google's legacy header: TRACE_ID/SPAN_ID;o=OPTIONS
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/(\d+))?(?:;o=\d)?$")


class Headers(Protocol):
    """What is read from request headers (werkzeug's Headers and plain dicts both fit)."""

    def get(self, key: str) -> str | None: ...

    def __contains__(self, key: str, /) -> bool: ...


@dataclass(frozen=True)
class RequestIdentity:
    request_id: str
    trace_id: str | None = None
    span_id: str | None = None
    # What the caller sent as X-Request-ID (sane values only): correlation, not identity.
    client_request_id: str | None = None


_current: contextvars.ContextVar[RequestIdentity | None] = contextvars.ContextVar(
    "pmi_request_identity", default=None
)


def identify(headers: Headers) -> RequestIdentity:
    """Make the request id; read the caller's request id and the trace ids from headers."""
    incoming = (headers.get("X-Request-ID") or "").strip()
    client_request_id = incoming if _SANE_REQUEST_ID.match(incoming) else None
    request_id = uuid.uuid4().hex
    trace_id = span_id = None
    traceparent = (headers.get("traceparent") or "").strip().lower()
    match = _TRACEPARENT.match(traceparent)
    if match and match.group(1) != "0" * 32:
        trace_id, span_id = match.group(1), match.group(2)
    else:
        cloud = _CLOUD_TRACE.match((headers.get("X-Cloud-Trace-Context") or "").strip())
        if cloud:
            trace_id = cloud.group(1).lower()
            span_id = cloud.group(2)
    return RequestIdentity(
        request_id=request_id,
        trace_id=trace_id,
        span_id=span_id,
        client_request_id=client_request_id,
    )


def set_current(identity: RequestIdentity | None) -> contextvars.Token[RequestIdentity | None]:
    return _current.set(identity)


def reset_current(token: contextvars.Token[RequestIdentity | None]) -> None:
    _current.reset(token)


def current() -> RequestIdentity | None:
    """The identity of the request being served on this thread, if any."""
    return _current.get()
