"""Response models every function shares: the error envelope, pages, a function's health.

Response models describe what the API sends; routes declare them (``response=`` on
:meth:`shared.http.App.route`) and scripts/openapi.py turns them into the OpenAPI document.
Handlers still return plain dicts, so the request path pays nothing for them; the contract
is checked from outside — every in-process test's responses are validated against the
document (tests/conftest.py) and the fuzzer validates the running stack's.

A response model allows fields it does not list (a client must ignore fields it does not
know, so adding one is never a breaking change), and a field that some callers do not get
(a viewer sees no personal data) has a default, so the document does not call it required.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field


class ResponseModel(BaseModel):
    """Base of every response model (see the module docstring)."""

    model_config = ConfigDict(extra="allow")


class ErrorBody(ResponseModel):
    """What went wrong; ``code`` is stable (docs/api.md lists every one), the message is not."""

    code: str = Field(description="Stable machine-readable code; branch on this.")
    message: str = Field(description="For people; may change between versions.")
    request_id: str | None = Field(
        description="The X-Request-ID of this request; quote it when reporting a problem."
    )
    details: list[dict[str, Any]] = Field(
        description=(
            "Specifics, e.g. one entry per invalid field: "
            '{"field", "location" (body|query), "message", "type"}.'
        )
    )


class ErrorEnvelope(ResponseModel):
    """Every error of the API, whatever the status."""

    error: ErrorBody


ItemT = TypeVar("ItemT")


class Page(ResponseModel, Generic[ItemT]):
    """One page of a listing; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[ItemT]
    next_cursor: str | None = Field(description="null on the last page.")


class FunctionHealth(ResponseModel):
    """A function's own liveness answer (no I/O)."""

    status: str = Field(examples=["ok"])
    function: str


class Timestamps(ResponseModel):
    """Creation and last change, ISO 8601 with an offset."""

    created_at: datetime | None = None
    updated_at: datetime | None = None
