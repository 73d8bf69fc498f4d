"""Request identity: the request id and the Cloud Trace context of the current request.

A request id sent by a caller is honoured when it looks sane, so one id follows a request
across the gateway, functions and logs; otherwise one is made. The id lives in a context
variable so every log line of the request carries it without being passed around.
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


_current: contextvars.ContextVar[RequestIdentity | None] = contextvars.ContextVar(
    "pmi_request_identity", default=None
)


def identify(headers: Headers) -> RequestIdentity:
    """Read or create the request id and trace ids from incoming headers."""
    incoming = headers.get("X-Request-ID") or ""
    request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
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
    return RequestIdentity(request_id=request_id, trace_id=trace_id, span_id=span_id)


def set_current(identity: RequestIdentity | None) -> contextvars.Token[RequestIdentity | None]:
    return _current.set(identity)


def reset_current(token: contextvars.Token[RequestIdentity | None]) -> None:
    _current.reset(token)


def current() -> RequestIdentity | None:
    """The identity of the request being served on this thread, if any."""
    return _current.get()
