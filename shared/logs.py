"""Structured JSON logs on stdout, shaped the way Cloud Logging reads them.

Cloud Functions ship each stdout line to Cloud Logging; a JSON line's ``severity``,
``httpRequest`` and ``logging.googleapis.com/trace`` fields become the entry's severity,
request panel and trace link. Every line carries the current request id (and, beside it,
the X-Request-ID the caller sent, if any: shared.request_context).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from shared import request_context
from shared.config import Settings, get_settings
from shared.errors import ConfigurationError

_SEVERITY_ORDER = {"DEBUG": 10, "INFO": 20, "NOTICE": 25, "WARNING": 30, "ERROR": 40}
_write_lock = threading.Lock()


def _settings() -> Settings | None:
    """The settings, or None when they are broken (logging must still work then)."""
    try:
        return get_settings()
    except ConfigurationError:
        return None


def _trace_fields() -> dict[str, Any]:
    identity = request_context.current()
    if identity is None:
        return {}
    fields: dict[str, Any] = {"request_id": identity.request_id}
    if identity.client_request_id:
        fields["client_request_id"] = identity.client_request_id
    if identity.trace_id:
        current = _settings()
        project = current.project_id if current else "unknown"
        fields["logging.googleapis.com/trace"] = f"projects/{project}/traces/{identity.trace_id}"
        if identity.span_id:
            fields["logging.googleapis.com/spanId"] = identity.span_id
    return fields


def log(severity: str, message: str, **fields: Any) -> None:
    """Write one structured line if ``severity`` passes the configured level."""
    current = _settings()
    threshold = _SEVERITY_ORDER.get(current.log_level if current else "INFO", 20)
    if _SEVERITY_ORDER.get(severity, 20) < threshold:
        return
    entry: dict[str, Any] = {
        "severity": severity,
        "message": message,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
        **_trace_fields(),
        **fields,
    }
    line = json.dumps(entry, default=str, separators=(",", ":"))
    with _write_lock:  # gunicorn threads share stdout; keep lines whole
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def info(message: str, **fields: Any) -> None:
    log("INFO", message, **fields)


def warning(message: str, **fields: Any) -> None:
    log("WARNING", message, **fields)


def error(message: str, **fields: Any) -> None:
    log("ERROR", message, **fields)
