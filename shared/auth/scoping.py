"""Ownership scoping, so a handler cannot forget who may see what.

Rules: customers reach their own objects; service-center staff and mechanics reach their
center's; viewers read everything but without personal data; admins reach everything.
Anything out of scope is reported as *not found* (404), never 403, so ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from shared.auth.principal import Principal
from shared.auth.rbac import Role
from shared.errors import NotFound

if TYPE_CHECKING:
    from google.cloud.firestore import CollectionReference, Query

# Fields a viewer never sees, wherever they appear in a document.
PERSONAL_FIELDS = frozenset(
    {
        "email",
        "phone",
        "full_name",
        "owner_email",
        "owner_name",
        "customer_email",
        "customer_name",
        "customer_phone",
        "notes",
        "plate",
        "vin",
        "address_line",
    }
)


def can_see(
    principal: Principal,
    *,
    owner_id: str | None = None,
    center_ids: Iterable[str | None] = (),
) -> bool:
    """True if the object (owned by ``owner_id``, linked to ``center_ids``) is in scope."""
    if principal.role in (Role.ADMIN, Role.VIEWER):
        return True
    if principal.role is Role.CUSTOMER:
        return owner_id is not None and owner_id == principal.user_id
    if principal.is_center_staff:
        return principal.service_center_id is not None and principal.service_center_id in set(
            center_ids
        )
    return False


def ensure_visible(
    principal: Principal,
    *,
    owner_id: str | None = None,
    center_ids: Iterable[str | None] = (),
    what: str = "resource",
) -> None:
    """Raise 404 unless the object is in the caller's scope."""
    if not can_see(principal, owner_id=owner_id, center_ids=center_ids):
        raise NotFound(f"The {what} does not exist.")


def scope_query(
    query: CollectionReference | Query,
    principal: Principal,
    *,
    owner_field: str,
    center_field: str,
    center_is_array: bool,
) -> CollectionReference | Query | None:
    """``query`` narrowed to what ``principal`` may list, or None when nothing is in scope.

    Customers get ``owner_field == user_id``; center staff get their center, by
    ``center_field`` (``array_contains`` when it holds a list of centers, ``==`` when one);
    admins and viewers get ``query`` unchanged. None means the caller may see nothing (staff
    not linked to a center), so the caller can answer with an empty page without a read.
    The scope filter is added first, so the query shapes each store registers keep their
    field order.
    """
    # Imported here, as shared.firestore does, so modules that only check scope in memory
    # do not pay for loading the Firestore library.
    from google.cloud.firestore_v1.base_query import FieldFilter

    if principal.role is Role.CUSTOMER:
        return query.where(filter=FieldFilter(owner_field, "==", principal.user_id))
    if principal.is_center_staff:
        center_id = principal.service_center_id
        if center_id is None:
            return None
        op = "array_contains" if center_is_array else "=="
        return query.where(filter=FieldFilter(center_field, op, center_id))
    return query


def redact_for(principal: Principal, document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` with personal data removed when the caller is a viewer."""
    if principal.role is not Role.VIEWER:
        return dict(document)
    return {k: v for k, v in document.items() if k not in PERSONAL_FIELDS}
