"""A request's time budget for the Firestore calls it makes (``PMI_REQUEST_DEADLINE_SECONDS``).

Without one, a slow or frozen Firestore holds a request — and the instance thread serving
it — for the client library's own limits (60 s per call, retried), until Hosting gives up
at 60 s; every thread of every instance fills up with waiting requests. With one:

* :func:`budget` starts the clock when the pipeline (shared.http) takes a request;
* every gRPC call the Firestore client makes on that request's thread gets at most the time
  left (an interceptor on the client's channel, see :func:`interceptor`), and one that
  would start with no time left is refused at once;
* the library's retries and back-off between attempts stay inside the same budget
  (:class:`BudgetRetry`);
* the request answers **503** ``deadline_exceeded`` with ``Retry-After``.

So a request's Firestore work ends by its deadline, plus at most one in-flight call's
cancellation (milliseconds). Calls outside a request (background reconciliation, scripts)
keep the library's defaults. A transaction cut short is rolled back by Firestore: nothing
half-written (its commit is one atomic call). A cut that falls during the commit call itself
cannot tell whether Firestore applied it, so the answer says a change may have been saved.
"""

from __future__ import annotations

import contextvars
import time
from collections import namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import grpc
from google.api_core import retry as api_retry

from shared.errors import ServiceUnavailable

# What a client is told to wait before retrying after a deadline (Retry-After, seconds).
RETRY_AFTER_SECONDS = 2

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "pmi_request_deadline", default=None
)


class DeadlineExceeded(ServiceUnavailable):
    """The request's Firestore work did not finish within its budget (503, Retry-After)."""

    code = "deadline_exceeded"
    # The cut can fall after Firestore applied a commit but before its answer arrived, so
    # a write is not promised undone: atomic (never half-written), possibly applied.
    default_message = (
        "The database did not answer in time. Nothing is half-written, but a change this "
        "request sent may have been saved: retry with the same Idempotency-Key, or read it "
        "back first."
    )

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


@contextmanager
def budget(seconds: float | None) -> Iterator[None]:
    """Firestore calls made in this block end within ``seconds`` of its start (None: no limit)."""
    token = _deadline.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left in the current request's budget; None outside a request."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


# --------------------------------------------------------------------------- gRPC

# grpc reads exactly these attribute names from a call's details.
_CallDetails = namedtuple(
    "_CallDetails",
    ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
)


class _Details(_CallDetails, grpc.ClientCallDetails):  # type: ignore[misc]
    """grpc.ClientCallDetails with a changed timeout."""


# Rolling back frees the locks a transaction holds (others wait on them), so it may run
# past the deadline, for at most this long.
ROLLBACK_GRACE_SECONDS = 1.0


def _clamped(details: Any) -> Any:
    left = remaining()
    if left is None:
        return details
    method = details.method.decode() if isinstance(details.method, bytes) else details.method
    if str(method).endswith("/Rollback"):
        left = max(left, ROLLBACK_GRACE_SECONDS)
    if left <= 0:
        raise DeadlineExceeded()
    timeout = left if details.timeout is None else min(details.timeout, left)
    return _Details(
        details.method,
        timeout,
        details.metadata,
        details.credentials,
        getattr(details, "wait_for_ready", None),
        getattr(details, "compression", None),
    )


class _DeadlineInterceptor(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]  # grpc ships no type hints
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
):
    """Gives every call at most the time left in the current request's budget."""

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(_clamped(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(_clamped(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, iterator: Any) -> Any:
        return continuation(_clamped(details), iterator)

    def intercept_stream_stream(self, continuation: Any, details: Any, iterator: Any) -> Any:
        return continuation(_clamped(details), iterator)


def interceptor() -> Any:
    return _DeadlineInterceptor()


class BudgetRetry(api_retry.Retry):
    """The library's retry, with its overall timeout cut to the request's time left.

    ``retry_target`` reads ``_timeout`` when a call starts and refuses to sleep past it,
    so back-off between attempts never outlasts the request's budget either.
    """

    @property
    def _timeout(self) -> float | None:
        configured: float | None = self.__dict__.get("_configured_timeout")
        left = remaining()
        if left is None:
            return configured
        left = max(left, 0.0)
        return left if configured is None else min(configured, left)

    @_timeout.setter
    def _timeout(self, value: float | None) -> None:
        self.__dict__["_configured_timeout"] = value

    @classmethod
    def like(cls, original: api_retry.Retry) -> BudgetRetry:
        return cls(
            predicate=original._predicate,
            initial=original._initial,
            maximum=original._maximum,
            multiplier=original._multiplier,
            timeout=original._timeout,
        )


def budget_retries(wrapped_methods: dict[Any, Callable[..., Any]]) -> int:
    """Make each wrapped GAPIC method's default retry a :class:`BudgetRetry`; returns how many."""
    changed = 0
    for method in wrapped_methods.values():
        default = getattr(method, "_retry", None)
        if isinstance(default, api_retry.Retry) and not isinstance(default, BudgetRetry):
            method._retry = BudgetRetry.like(default)  # type: ignore[attr-defined]
            changed += 1
    return changed
