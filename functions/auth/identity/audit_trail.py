"""Reading the audit trail (``audit_log``): the entries an admin pages through, newest first.

shared.audit writes the entries (the auth function's account events, the vehicles
function's mileage corrections and VIN claim decisions); this module is the one reader.
Filters — the subject (whose account an entry concerns), the actor (who did it), the event,
and a time range on ``at`` — are equality filters plus a range on the order field, so every
combination is one query with its composite index (:data:`LIST_SHAPES`); the cursor is the
shared one (shared.pagination).

What an entry holds is documented in docs/auth.md ("Audit log"): no password, hash or token
ever, emails only as a truncated hash, and the client's IP — personal data that only
``audit:read`` (the admin's alone, docs/rbac.md) reaches.
"""

from __future__ import annotations

from datetime import datetime
from itertools import combinations
from typing import TYPE_CHECKING, Any

from shared.audit import COLLECTION
from shared.firestore import get_client
from shared.pagination import page_of
from shared.query_shapes import QueryShape, register

if TYPE_CHECKING:
    from google.cloud.firestore import CollectionReference, Query

    from shared.request_models import PageQuery  # annotations only: pydantic stays unloaded

# The equality filters a listing may combine, in the order the query applies them.
FILTER_FIELDS = ("subject_id", "actor_id", "event")

LIST_SHAPES = register(
    *(
        QueryShape(
            COLLECTION,
            equality=chosen,
            order=(("at", "DESCENDING"),),
            description="GET /audit (the audit trail) with its filters",
        )
        for size in range(len(FILTER_FIELDS) + 1)
        for chosen in combinations(FILTER_FIELDS, size)
    )
)


def entry_json(entry_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """An entry as the API answers it (every stored field, under its id)."""
    return {
        "id": entry_id,
        "event": data.get("event"),
        "at": data.get("at"),
        "actor_id": data.get("actor_id"),
        "subject_id": data.get("subject_id"),
        "request_id": data.get("request_id"),
        "client_request_id": data.get("client_request_id"),
        "ip": data.get("ip"),
        "details": data.get("details") or {},
    }


def list_entries(
    *,
    equals: dict[str, str],
    since: datetime | None,
    until: datetime | None,
    page: PageQuery,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of entries matching ``equals`` (fields of :data:`FILTER_FIELDS`) whose
    ``at`` is in [since, until), newest first."""
    from google.cloud import firestore
    from google.cloud.firestore_v1.base_query import FieldFilter

    collection = get_client().collection(COLLECTION)
    query: CollectionReference | Query = collection
    for name in FILTER_FIELDS:  # the registered shapes' order
        if name in equals:
            query = query.where(filter=FieldFilter(name, "==", equals[name]))
    if since is not None:
        query = query.where(filter=FieldFilter("at", ">=", since))
    if until is not None:
        query = query.where(filter=FieldFilter("at", "<", until))
    # __name__ breaks ties between entries of the same instant, so the cursor is exact.
    query = query.order_by("at", direction=firestore.Query.DESCENDING).order_by(
        "__name__", direction=firestore.Query.DESCENDING
    )
    snapshots, cursor = page_of(collection, query, ["at"], page)
    return [entry_json(s.id, s.to_dict() or {}) for s in snapshots], cursor
