"""The pydantic side of a request: the bases of body and query models, and their shared fields.

Kept apart from the pipeline (shared.http, shared.pagination, shared.ids), which never
imports it, so a cold start imports pydantic only when a route validates a body or a query
with it: every module here is imported by the first request that needs a model
(shared/model_refs.py).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.ids import check_document_id
from shared.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE


class BodyModel(BaseModel):
    """Base for request bodies: unknown fields are an error, not silently dropped."""

    # defer_build: a model's validator is built by the first request that uses it, not at
    # import: a function declares every route's models, a cold start serves one route.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class QueryModel(BaseModel):
    """Base for query strings: unknown parameters are an error (typos surface as 422)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class PageQuery(QueryModel):
    """Query parameters every list endpoint accepts."""

    limit: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    cursor: str | None = Field(default=None, max_length=2048)


# A request-body or query-string field that names a document: 422 when it breaks the rule
# of shared.ids.
DocumentId = Annotated[str, AfterValidator(check_document_id)]
