"""Which service centers' staff may see a vehicle, and until when: the one rule.

Staff and mechanics of a center see a vehicle — its document, telemetry, service records and
alerts — only while the vehicle has a live relationship with their center:

* an **active** booking there (requested, confirmed, in progress) grants access until the
  end of its slot plus :data:`CENTER_ACCESS_WINDOW`;
* a **completed** booking grants access until its completion plus the same window;
* a **cancelled** or **no-show** booking grants nothing, from the moment it is one.

A center's access ends at the latest of its bookings' grants. Stored on the vehicle, and
written only by :meth:`PendingLink.write`:

* ``center_grants``: ``{booking_id: {"center_id", "until"}}`` — what each booking grants
  (internal bookkeeping, never returned by the API);
* ``center_access``: ``{center_id: until}`` — the latest grant per center; the API
  (:func:`live_center_ids`) and firestore.rules (``center_access[center] > request.time``)
  both decide on this field;
* ``center_ids``: the keys of ``center_access``, for the ``array_contains`` listings.

Each alert of the vehicle carries copies of ``center_access`` and ``center_ids`` (its rules
and listings decide the same way without reading the vehicle); a booking change reads at
most ``shared.alerts.MAX_ALERTS_LINKED`` of them, open ones first. The bookings function runs
this rule inside every transaction that changes a grant — create, cancel, no-show, complete,
reschedule — and each run first drops the grants that have already expired, so the stored
fields only ever shrink back to the truth. Expiry does not wait for that pruning: an entry
whose ``until`` has passed never grants access, in the API or in the rules.

As with shared.service_completion, :func:`read_link` only reads and :meth:`PendingLink.write`
only writes (Firestore: every read before the first write).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from shared import fast_writes
from shared.alerts import all_of_vehicle_in
from shared.vehicle_documents import as_utc_datetime, vehicle_ref

if TYPE_CHECKING:
    from google.cloud.firestore import Transaction

    from shared.firestore import Snapshot
    from shared.staged_writes import Writer

# How long after the work (or, for a booking never closed, after its slot) the center's staff
# still see the vehicle. 30 days covers what a workshop legitimately does after a visit —
# answering the owner's questions about the invoice, a warranty claim on the part just
# fitted, a follow-up check that the fault stays fixed — and a monthly billing cycle, while
# ending well before the next routine service (months away), which needs a new booking.
CENTER_ACCESS_WINDOW: Final = timedelta(days=30)

# The vehicle fields this rule owns (and the alert copies of the last two).
GRANTS: Final = "center_grants"
ACCESS: Final = "center_access"
CENTER_IDS: Final = "center_ids"


def grant_until(*, slot_end: datetime, completed_at: datetime | None = None) -> datetime:
    """Until when a live booking lets its center see the vehicle.

    A completed booking counts from its completion; an active one from the end of its slot
    (so a booking nobody closes stops granting access on its own).
    """
    return (completed_at or slot_end) + CENTER_ACCESS_WINDOW


def live_center_ids(document: Mapping[str, Any], now: datetime) -> list[str]:
    """The centers whose access to this vehicle (or alert) has not expired at ``now``.

    Decides on ``center_access`` only: a center left in ``center_ids`` after its access
    expired (not yet pruned) is not in the answer, and a document without ``center_access``
    grants no center anything.
    """
    access = document.get(ACCESS)
    if not isinstance(access, Mapping):
        return []
    live = []
    for center_id, until in access.items():
        expires = as_utc_datetime(until) if isinstance(until, datetime) else None
        if expires is not None and expires > now:
            live.append(str(center_id))
    return sorted(live)


def link_fields(grants: Mapping[str, Mapping[str, Any]], now: datetime) -> dict[str, Any]:
    """The three stored link fields for ``grants`` (``{booking_id: {center_id, until}}``),
    with those expired at ``now`` dropped — what :meth:`PendingLink.write` stores, for a
    caller that gathered the grants itself (the migration that backfills them)."""
    return _derived(_live_grants(grants, now))


def empty_fields() -> dict[str, Any]:
    """The link fields of a vehicle no center has seen yet (written at registration)."""
    return {GRANTS: {}, ACCESS: {}, CENTER_IDS: []}


def _live_grants(stored: Any, now: datetime) -> dict[str, dict[str, Any]]:
    grants: dict[str, dict[str, Any]] = {}
    if not isinstance(stored, Mapping):
        return grants
    for booking_id, grant in stored.items():
        if not isinstance(grant, Mapping):
            continue
        until = grant.get("until")
        expires = as_utc_datetime(until) if isinstance(until, datetime) else None
        center_id = grant.get("center_id")
        if expires is not None and expires > now and isinstance(center_id, str):
            grants[str(booking_id)] = {"center_id": center_id, "until": expires}
    return grants


def _derived(grants: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    access: dict[str, datetime] = {}
    for grant in grants.values():
        center_id, until = grant["center_id"], grant["until"]
        if center_id not in access or until > access[center_id]:
            access[center_id] = until
    return {GRANTS: dict(grants), ACCESS: access, CENTER_IDS: sorted(access)}


def _same(stored: Any, wanted: Any) -> bool:
    """Stored and wanted link values are equal (timestamps compared as UTC instants)."""
    if isinstance(wanted, Mapping):
        return (
            isinstance(stored, Mapping)
            and set(stored) == set(wanted)
            and all(_same(stored[k], wanted[k]) for k in wanted)
        )
    if isinstance(wanted, datetime):
        return isinstance(stored, datetime) and as_utc_datetime(stored) == wanted
    return bool(stored == wanted)


@dataclass(frozen=True)
class PendingLink:
    """The vehicle and its alerts, read in the transaction, ready to re-link."""

    vehicle_id: str
    vehicle: dict[str, Any] | None
    alerts: list[Snapshot]

    def write(
        self,
        transaction: Writer,
        *,
        booking_id: str,
        center_id: str,
        until: datetime | None,
        now: datetime,
    ) -> None:
        """Set what ``booking_id`` grants ``center_id`` (``until`` None: nothing any more),
        drop expired grants, and write the vehicle and every alert whose copy changed.

        A vehicle deleted meanwhile gets nothing written.
        """
        if self.vehicle is None:
            return
        grants = _live_grants(self.vehicle.get(GRANTS), now)
        grants.pop(booking_id, None)
        if until is not None and until > now:
            grants[booking_id] = {"center_id": center_id, "until": until}
        wanted = _derived(grants)
        if not all(_same(self.vehicle.get(name), value) for name, value in wanted.items()):
            fast_writes.update(
                transaction, vehicle_ref(self.vehicle_id), _vehicle_update(self.vehicle, wanted)
            )
        copy = {ACCESS: wanted[ACCESS], CENTER_IDS: wanted[CENTER_IDS]}
        for alert in self.alerts:
            stored = alert.to_dict() or {}
            if not all(_same(stored.get(name), value) for name, value in copy.items()):
                transaction.update(alert.reference, copy)


def _vehicle_update(vehicle: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The vehicle's update to ``wanted``: the grants that changed by field path (a vehicle
    may hold many; the transaction read and locked them all, so the result is the same as
    writing the whole map, for less to encode and store), the derived fields whole."""
    from google.cloud.firestore_v1 import DELETE_FIELD
    from google.cloud.firestore_v1.field_path import FieldPath

    stored = vehicle.get(GRANTS)
    if not isinstance(stored, Mapping):
        return dict(wanted)
    update: dict[str, Any] = {ACCESS: wanted[ACCESS], CENTER_IDS: wanted[CENTER_IDS]}
    for booking_id, grant in wanted[GRANTS].items():
        if not _same(stored.get(booking_id), grant):
            update[FieldPath(GRANTS, booking_id).to_api_repr()] = grant
    for booking_id in stored.keys() - wanted[GRANTS].keys():
        update[FieldPath(GRANTS, str(booking_id)).to_api_repr()] = DELETE_FIELD
    return update


def read_link(
    transaction: Transaction, vehicle_id: str, *, vehicle: dict[str, Any] | None = None
) -> PendingLink:
    """Phase one: the vehicle (unless the caller read it in this transaction) and its alerts
    (at most ``MAX_ALERTS_LINKED``, open ones first)."""
    if vehicle is None:
        snapshot = vehicle_ref(vehicle_id).get(transaction=transaction)
        vehicle = (snapshot.to_dict() or {}) if snapshot.exists else None
    return PendingLink(vehicle_id, vehicle, all_of_vehicle_in(transaction, vehicle_id, vehicle))
