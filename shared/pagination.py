"""Cursor pagination for list endpoints.

A cursor is opaque to clients: base64url of the last item's order-by values and id. It
survives inserts between pages (unlike offsets) and costs no extra reads. Page size is
capped so one request cannot ask for a whole collection.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from shared.errors import ValidationFailed
from shared.ids import is_document_id

if TYPE_CHECKING:
    from google.cloud.firestore import CollectionReference, Query

    from shared.firestore import Snapshot

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class PageRequest(Protocol):
    """What a listing asks of one page: where to resume and how many. Every list query
    model (shared.request_models.PageQuery and its subclasses) is one."""

    @property
    def cursor(self) -> str | None: ...

    @property
    def limit(self) -> int: ...


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$dt"}:
        return datetime.fromisoformat(value["$dt"])
    return value


def encode_cursor(values: Sequence[Any], doc_id: str) -> str:
    raw = json.dumps([[_encode_value(v) for v in values], doc_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[list[Any], str]:
    """Values and id from a cursor; a damaged cursor is the client's error (422)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values, doc_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or not is_document_id(doc_id):
            raise ValueError("cursor shape")
        return [_decode_value(v) for v in values], doc_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed(
            "The cursor is not valid; start again without it.",
            details=[
                {
                    "field": "cursor",
                    "location": "query",
                    "message": "not a cursor this API issued",
                    "type": "cursor_invalid",
                }
            ],
        ) from None


def page_of(
    collection: CollectionReference,
    query: CollectionReference | Query,
    order_fields: Sequence[str],
    page: PageRequest,
) -> tuple[list[Snapshot], str | None]:
    """Run ``query`` (already ordered by ``order_fields`` then ``__name__``) for one page.

    ``collection`` is the CollectionReference the query was built from (the cursor's id
    becomes a document reference in it). Returns the snapshots and the cursor of the
    next page (None on the last page).
    """
    if page.cursor:
        values, doc_id = decode_cursor(page.cursor)
        if len(values) != len(order_fields):
            raise ValidationFailed("The cursor does not belong to this listing.")
        start = dict(zip(order_fields, values, strict=True))
        start["__name__"] = collection.document(doc_id)
        query = query.start_after(start)
    snapshots = list(query.limit(page.limit + 1).stream())
    has_more = len(snapshots) > page.limit
    snapshots = snapshots[: page.limit]
    next_cursor = None
    if has_more and snapshots:
        last = snapshots[-1]
        next_cursor = encode_cursor([last.get(f) for f in order_fields], last.id)
    return snapshots, next_cursor
