"""The one error hierarchy of the API and the envelope every failure leaves through.

Each error carries a stable machine-readable ``code`` (clients branch on it), a human
message, an HTTP status and optional ``details`` (field-level problems, for instance).
Handlers raise these; :mod:`shared.http` turns them into
``{"error": {"code", "message", "request_id", "details"}}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ApiError(Exception):
    """Base of every error a client may see. Subclasses fix the status and default code."""

    status: int = 400
    code: str = "bad_request"
    default_message: str = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code is not None:
            self.code = code
        self.details: list[dict[str, Any]] = [dict(d) for d in details or ()]
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.message)

    def envelope(self, request_id: str | None) -> dict[str, Any]:
        """The JSON body sent to the client."""
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "request_id": request_id,
                "details": self.details,
            }
        }


class BadRequest(ApiError):
    status, code, default_message = 400, "bad_request", "The request is malformed."


class Unauthorized(ApiError):
    status, code, default_message = 401, "unauthenticated", "Authentication is required."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        # RFC 6750: a 401 names the scheme the client should use.
        headers = {"WWW-Authenticate": 'Bearer realm="pmi"', **kwargs.pop("headers", {})}
        super().__init__(message, headers=headers, **kwargs)


class Forbidden(ApiError):
    status, code, default_message = 403, "forbidden", "You may not perform this action."


class NotFound(ApiError):
    status, code, default_message = 404, "not_found", "The resource does not exist."


class MethodNotAllowed(ApiError):
    status, code, default_message = 405, "method_not_allowed", "Method not allowed here."


class Conflict(ApiError):
    status, code, default_message = 409, "conflict", "The request conflicts with current state."


class PayloadTooLarge(ApiError):
    status, code, default_message = 413, "payload_too_large", "The request body is too large."


class UnsupportedMediaType(ApiError):
    status, code, default_message = (
        415,
        "unsupported_media_type",
        "Send the body as application/json.",
    )


class ValidationFailed(ApiError):
    status, code, default_message = 422, "validation_failed", "The request is not valid."


class TooManyRequests(ApiError):
    status, code, default_message = 429, "rate_limited", "Too many requests; slow down."


class ServiceUnavailable(ApiError):
    status, code, default_message = (
        503,
        "unavailable",
        "The service is temporarily unavailable.",
    )


class InternalError(ApiError):
    """Used only by the last-resort handler: the message never reveals the cause."""

    status, code, default_message = 500, "internal", "An unexpected error occurred."


class ConfigurationError(RuntimeError):
    """Raised at start-up when settings or secrets are unusable (never sent to clients)."""
