"""Ownership scoping, so a handler cannot forget who may see what.

Rules: customers reach their own objects; service-center staff and mechanics reach their
center's; viewers read everything but without personal data; admins reach everything.
Anything out of scope is reported as *not found* (404), never 403, so ids cannot be probed.

What a viewer sees is one rule, :func:`redact_for`, applied by every view that answers them
(vehicles, alerts, telemetry, health, service records, bookings, centers). A viewer reports
on the fleet — how many vehicles of which kind, what breaks, which center does what work and
when — and needs no person in it. So, wherever they appear in a response (nested too), a
viewer never gets :data:`VIEWER_HIDDEN_FIELDS`:

* personal data (:data:`PERSONAL_FIELDS`: contact details, names, VIN, plate);
* ids of people (owner, customer, staff and mechanics, whoever acted);
* ids that **link** one customer's records together — ``vehicle_id`` on a booking or an
  alert, ``booking_id`` on a service record, the suggestion id (which encodes the vehicle),
  the centers a vehicle visited — so no chain leads from a booking to a vehicle to a person;
* free text people wrote (notes, work done, reasons, nicknames): it names people.

And an object whose own id embeds another's (an alert ``{vehicle_id}_{key}``, a completed
booking's record ``booking-{booking_id}``) reaches a viewer without its id
(``id_is_a_link=True``). What remains linkable is only by coincidence of values (the same
instant on a record and a booking, say); docs/rbac.md says so.
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


# Who someone is: user ids wherever a document keeps one.
PEOPLE_ID_FIELDS = frozenset(
    {
        "owner_id",
        "customer_id",
        "user_id",
        "created_by",
        "actor_id",
        "mechanic_id",
        "mechanic_ids",
        "completed_by",
        "claimant_id",
        "resolved_by",
        "subject_id",
    }
)

# References from one of a customer's records to another (see the module docstring).
LINK_FIELDS = frozenset(
    {
        "vehicle_id",
        "booking_id",
        "service_record_id",
        "resolved_alert_ids",
        "suggestion_id",
        "center_ids",
        "center_access",
        "center_grants",
    }
)

# Text a person typed.
FREE_TEXT_FIELDS = frozenset(
    {"notes", "work_done", "reason", "nickname", "resolution_reason", "cancel_reason"}
)

VIEWER_HIDDEN_FIELDS = PERSONAL_FIELDS | PEOPLE_ID_FIELDS | LINK_FIELDS | FREE_TEXT_FIELDS


def _without_hidden(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_hidden(v) for k, v in value.items() if k not in VIEWER_HIDDEN_FIELDS}
    if isinstance(value, list | tuple):
        return [_without_hidden(item) for item in value]
    return value


def redact_for(
    principal: Principal, document: Mapping[str, Any], *, id_is_a_link: bool = False
) -> dict[str, Any]:
    """``document`` as ``principal`` may see it: unchanged for every role but the viewer,
    who gets it without VIEWER_HIDDEN_FIELDS at any depth, and without its ``id`` when that
    id embeds another object's (``id_is_a_link``)."""
    if principal.role is not Role.VIEWER:
        return dict(document)
    redacted: dict[str, Any] = _without_hidden(document)
    if id_is_a_link:
        redacted.pop("id", None)
    return redacted
