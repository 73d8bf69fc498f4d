"""The ``bookings`` collection: every change to a booking in one Firestore transaction, and
every read of bookings.

Creating, rescheduling and ending a booking read the slot cells and the customer's holder
inside one transaction, check the limits (:mod:`booking.capacity`), and write booking,
cells and holder together. Firestore's server-side transactions lock what they read, so two
requests for the last bay cannot both see it free: one commits, the other is retried
(shared.transactions) and then finds the slot full. Every change that alters what a booking
grants its center — create, cancel, no-show, complete, reschedule — re-links the vehicle and
its alerts (shared.center_links), and completing records the work on the vehicle
(shared.service_completion), in the same transaction. docs/bookings.md has the full story;
what callers see of a booking is :mod:`booking.views`'.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from booking import idempotency
from booking.capacity import (
    holder_ref,
    release_cells,
    release_holder,
    slot_ref,
    take_cells,
    take_holder,
)
from booking.centers import Center
from booking.lifecycle import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    ActionForbidden,
    BookingAction,
    BookingState,
    IllegalTransition,
    OutsideActionWindow,
    apply_action,
)
from booking.scheduling import Slot, slot_keys_held
from booking.views import Booking, as_utc, booking_to_json, visible
from shared import clock, fast_reads, fast_writes
from shared.alerts import listed_alert_ids, query_lock_keys
from shared.auth.principal import Principal
from shared.auth.rbac import Role
from shared.auth.scoping import scope_query
from shared.center_links import PendingLink, grant_until, read_link
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.firestore import get_client
from shared.ids import is_document_id
from shared.pagination import page_of
from shared.query_shapes import QueryShape, register
from shared.service_completion import CompletedService, read_completion
from shared.staged_writes import StagedWrites, Writer
from shared.transactions import run_transaction
from shared.vehicle_documents import vehicle_ref

if TYPE_CHECKING:
    from google.cloud.firestore import DocumentReference, Transaction

    from booking.list_query import BookingListQuery
    from booking.models import CompleteBody
    from shared.firestore import Snapshot

BOOKINGS = "bookings"


def _list_shapes() -> tuple[QueryShape, ...]:
    """Every listing the API can run: scope field, optional status, range/order on start."""
    shapes = []
    scope_fields: tuple[tuple[str, ...], ...] = (
        ("customer_id",),
        ("customer_id", "center_id"),
        ("center_id",),
        (),
    )
    for scope in scope_fields:
        for status in ((), ("status",)):
            shapes.append(
                QueryShape(
                    BOOKINGS,
                    equality=scope + status,
                    order=(("start", "ASCENDING"),),
                    description="GET / (list bookings) with its filters",
                )
            )
    return tuple(shapes)


LIST_SHAPES = register(*_list_shapes())


# --------------------------------------------------------------------------- documents


def booking_ref(booking_id: str) -> DocumentReference:
    """The booking's document; an id that cannot be one is 404 without a read."""
    if not is_document_id(booking_id):
        raise NotFound("The booking does not exist.")
    return get_client().collection(BOOKINGS).document(booking_id)


def _booking_of(snapshot: Snapshot) -> Booking | None:
    return Booking(snapshot.id, snapshot.to_dict() or {}) if snapshot.exists else None


def require_own_vehicle(vehicle: dict[str, Any] | None, user_id: str) -> None:
    """404 unless the vehicle document exists and is ``user_id``'s.

    Another's vehicle answers exactly like a missing one, so vehicle ids cannot be probed.
    """
    if vehicle is None or vehicle.get("owner_id") != user_id:
        raise NotFound("The vehicle does not exist.")


def read_in(
    transaction: Transaction, refs: Iterable[DocumentReference]
) -> dict[str, dict[str, Any] | None]:
    """Read documents in a transaction, keyed by path; missing documents are None.

    Plain dicts straight from the wire (shared.fast_reads): a booking transaction wants the
    fields only, not the library's snapshots.
    """
    return fast_reads.read_in(transaction, refs)


# --------------------------------------------------------------------------- reads


def get_booking(booking_id: str, principal: Principal) -> Booking:
    """The booking if it exists and is in the caller's scope; else 404 (ids are not probed)."""
    return visible(_booking_of(booking_ref(booking_id).get()), principal)


def list_bookings(
    principal: Principal,
    query: BookingListQuery,
    *,
    starts_within: tuple[datetime, datetime] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """The caller's scope of bookings, filtered, ordered by start, one page at a time.

    ``starts_within`` ([start, end) instants: a center-local day, from the service) takes
    the place of the query's UTC ``from``/``to`` days.
    """
    from google.cloud.firestore_v1.base_query import FieldFilter

    if query.from_date and query.to_date and query.from_date >= query.to_date:
        raise ValidationFailed("'from' must be before 'to'.", code="invalid_range")
    collection = get_client().collection(BOOKINGS)
    built = scope_query(
        collection,
        principal,
        owner_field="customer_id",
        center_field="center_id",
        center_is_array=False,
    )
    if built is None:
        return [], None
    filters: list[tuple[str, str, Any]] = []
    if principal.is_center_staff:
        if query.center_id and query.center_id != principal.service_center_id:
            return [], None  # nothing of another center is in scope
    elif query.center_id:
        # Staff are already narrowed to their center; for others it is a plain filter.
        filters.append(("center_id", "==", query.center_id))
    if query.status:
        filters.append(("status", "==", query.status))
    if starts_within is not None:
        filters.append(("start", ">=", starts_within[0]))
        filters.append(("start", "<", starts_within[1]))
    if query.from_date:
        filters.append(("start", ">=", datetime.combine(query.from_date, datetime.min.time(), UTC)))
    if query.to_date:
        filters.append(("start", "<", datetime.combine(query.to_date, datetime.min.time(), UTC)))

    for field_path, op, value in filters:
        built = built.where(filter=FieldFilter(field_path, op, value))
    built = built.order_by("start").order_by("__name__")
    snapshots, cursor = page_of(collection, built, ["start"], query)
    return [booking_to_json(Booking(s.id, s.to_dict() or {}), principal) for s in snapshots], cursor


def active_bookings_of(customer_id: str) -> list[Booking]:
    """The customer's active bookings (from the holder document, no query needed)."""
    client = get_client()
    holder = holder_ref(customer_id).get()
    ids = list((holder.to_dict() or {}).get("booking_ids") or []) if holder.exists else []
    refs = [client.collection(BOOKINGS).document(i) for i in ids]
    return (
        [Booking(s.id, s.to_dict() or {}) for s in client.get_all(refs) if s.exists] if refs else []
    )


# --------------------------------------------------------------------------- create


@dataclass(frozen=True)
class NewBooking:
    """A validated request to book: the checks that need no lock are already done."""

    customer: Principal
    vehicle_id: str
    center: Center
    service_type: str
    service_name: str
    slot: Slot
    notes: str | None
    source: str = "direct"
    suggestion_id: str | None = None


def create_booking(
    request: NewBooking,
    *,
    max_active: int,
    claim: idempotency.Claim | None,
) -> dict[str, Any]:
    """Book it in one transaction; returns the booking's JSON (also stored for replay)."""
    booking_id = uuid.uuid4().hex
    center = request.center
    customer_id = request.customer.user_id
    keys = slot_keys_held(center.id, center.calendar, request.slot)
    new_booking_ref = booking_ref(booking_id)
    customer_holder_ref = holder_ref(customer_id)
    booked_vehicle_ref = vehicle_ref(request.vehicle_id)
    slot_refs = [slot_ref(key) for key in keys]
    # Held only while the transaction may query the vehicle's alerts (see below).
    query_locks = query_lock_keys()
    query_locked = not query_locks

    def work(transaction: Transaction) -> dict[str, Any]:
        now = clock.now()
        claim_refs = [claim.ref()] if claim is not None else []
        found = read_in(
            transaction, [*slot_refs, customer_holder_ref, booked_vehicle_ref, *claim_refs]
        )
        if claim is not None:
            idempotency.check_claim(found[claim.ref().path], claim)
        # The vehicle is read here only (with the cells, the holder and the idempotency
        # claim: one round trip): locked until commit, so it cannot be deleted or handed over
        # before the booking and its center link are written (updating a deleted vehicle
        # would fail the commit, a 500).
        vehicle = found[booked_vehicle_ref.path]
        require_own_vehicle(vehicle, customer_id)
        if not query_locked and vehicle is not None and listed_alert_ids(vehicle) is None:
            raise _QueryLockNeeded  # before any write: run again holding the query lock
        link = read_link(transaction, request.vehicle_id, vehicle=vehicle)
        take_holder(
            transaction,
            found[customer_holder_ref.path],
            customer_id,
            booking_id,
            max_active=max_active,
        )
        take_cells(
            transaction,
            found,
            keys,
            booking_id=booking_id,
            center_id=center.id,
            calendar=center.calendar,
            slot=request.slot,
        )
        record = {
            "action": "create",
            "from_state": None,
            "to_state": BookingState.REQUESTED.value,
            "actor_id": customer_id,
            "actor_role": request.customer.role.value,
            "at": now,
        }
        document = {
            "customer_id": customer_id,
            "vehicle_id": request.vehicle_id,
            "center_id": center.id,
            "center_name": center.name,
            "service_type": request.service_type,
            "service_name": request.service_name,
            "duration_minutes": request.slot.duration_minutes,
            "start": request.slot.start_utc,
            "end": request.slot.end_utc,
            "time_zone": center.calendar.time_zone,
            "slot_keys": keys,
            "status": BookingState.REQUESTED.value,
            "mechanic_id": None,
            "notes": request.notes,
            "source": request.source,
            "suggestion_id": request.suggestion_id,
            "completion": None,
            "history": [record],
            "created_at": now,
            "updated_at": now,
        }
        fast_writes.create(transaction, new_booking_ref, document)
        # Staff of this center may now see the vehicle and its alerts (shared rule).
        link.write(
            transaction,
            booking_id=booking_id,
            center_id=center.id,
            until=grant_until(slot_end=request.slot.end_utc),
            now=now,
        )
        body = booking_to_json(Booking(booking_id, document), request.customer)
        if claim is not None:
            transaction.set(claim.ref(), idempotency.completion_fields(201, body), merge=True)
        return body

    lock_keys = [*keys, customer_holder_ref.path, booked_vehicle_ref.path]
    try:
        return run_transaction(work, what="create booking", lock_keys=lock_keys)
    except _QueryLockNeeded:
        # The vehicle does not list its alerts (older data), so the transaction queries them
        # (shared.center_links), and such transactions take turns on the emulator
        # (shared.alerts.query_lock_keys). Every other booking runs alongside the others.
        query_locked = True
        return run_transaction(work, what="create booking", lock_keys=[*lock_keys, *query_locks])


class _QueryLockNeeded(Exception):
    """A booking transaction found it must query alerts without holding the query lock."""


# --------------------------------------------------------------------------- lifecycle


def _relation(principal: Principal, booking: Booking) -> dict[str, bool]:
    return {
        "is_owner": principal.user_id == booking.customer_id,
        "is_center_staff": principal.role is Role.SERVICE_CENTER
        and principal.service_center_id == booking.center_id,
        "is_assigned_mechanic": principal.role is Role.MECHANIC
        and principal.service_center_id == booking.center_id
        and booking.data.get("mechanic_id") == principal.user_id,
    }


# How an action reads in an error message ("cannot be confirmed").
_PAST_TENSE = {
    BookingAction.CONFIRM: "confirmed",
    BookingAction.START: "started",
    BookingAction.COMPLETE: "completed",
    BookingAction.CANCEL: "cancelled",
    BookingAction.NO_SHOW: "marked as no-show",
    BookingAction.RESCHEDULE: "rescheduled",
}


# What a timing refusal says, by lifecycle.OutsideActionWindow code; {at} is the boundary
# in the center's zone.
_TIMING_MESSAGES = {
    "start_too_early": "Work on this booking can start from {at} (30 minutes before its slot).",
    "start_too_late": (
        "This booking's slot ended at {at}; mark it as a no-show or cancel it, "
        "or reschedule it first."
    ),
    "no_show_too_early": (
        "A no-show can be marked from {at} (15 minutes after the booking's start)."
    ),
}


def _slot_of(booking: Booking) -> tuple[datetime, datetime]:
    return as_utc(booking.data["start"]), as_utc(booking.data["end"])


def _record(
    principal: Principal, booking: Booking, action: BookingAction, at: datetime
) -> dict[str, Any]:
    """Check permission, state and time (lifecycle.apply_action); map its errors to HTTP."""
    try:
        record = apply_action(
            booking.state,
            action,
            actor_id=principal.user_id,
            actor_role=principal.role.value,
            at=at,
            slot=_slot_of(booking),
            **_relation(principal, booking),
        )
    except ActionForbidden:
        raise Forbidden(
            f"Your role ({principal.role.value}) may not {action.value} this booking.",
            code="action_forbidden",
        ) from None
    except IllegalTransition:
        raise Conflict(
            f"A booking that is {booking.state.value} cannot be {_PAST_TENSE[action]}.",
            code="illegal_transition",
        ) from None
    except OutsideActionWindow as refusal:
        zone = ZoneInfo(booking.data.get("time_zone") or "UTC")
        boundary = refusal.boundary.astimezone(zone).isoformat()
        raise Conflict(
            _TIMING_MESSAGES[refusal.code].format(at=boundary),
            code=refusal.code,
            details=[
                {"field": "at", "location": "clock", "message": boundary, "type": refusal.code}
            ],
        ) from None
    return dict(record.to_document())


def _grant_after(booking: Booking, state: BookingState, now: datetime) -> datetime | None:
    """Until when the booking, once in ``state``, lets its center see the vehicle
    (shared.center_links: nothing once cancelled or a no-show)."""
    if state in (BookingState.CANCELLED, BookingState.NO_SHOW):
        return None
    completed_at = now if state is BookingState.COMPLETED else None
    return grant_until(slot_end=_slot_of(booking)[1], completed_at=completed_at)


def _relink(
    transaction: Writer,
    link: PendingLink,
    booking: Booking,
    until: datetime | None,
    now: datetime,
) -> None:
    link.write(
        transaction, booking_id=booking.id, center_id=booking.center_id, until=until, now=now
    )


def _booking_lock_keys(booking_id: str) -> list[str]:
    """What a change of this booking may touch, from a plain read (the transaction re-reads).

    If a concurrent change moved the booking meanwhile, the transaction still sees the
    truth; only the in-process turn-taking is less precise for that one request.
    """
    ref = booking_ref(booking_id)
    snapshot = ref.get()
    if not snapshot.exists:
        return [ref.path]
    data = snapshot.to_dict() or {}
    return [
        ref.path,
        *(data.get("slot_keys") or []),
        holder_ref(str(data.get("customer_id"))).path,
        vehicle_ref(str(data.get("vehicle_id"))).path,
    ]


def _load_in(transaction: Transaction, booking_id: str, principal: Principal) -> Booking:
    """get_booking inside a transaction, so the read is locked with the rest."""
    return visible(_booking_of(booking_ref(booking_id).get(transaction=transaction)), principal)


def _changed(
    transaction: Transaction, booking: Booking, principal: Principal, updates: dict[str, Any]
) -> dict[str, Any]:
    """Stage ``updates`` of the booking and return its JSON as it will be after commit."""
    transaction.update(booking_ref(booking.id), updates)
    return booking_to_json(Booking(booking.id, {**booking.data, **updates}), principal)


def perform_action(
    booking_id: str,
    action: BookingAction,
    principal: Principal,
    *,
    reason: str | None = None,
) -> dict[str, Any]:
    """confirm / start / cancel / no_show: one transaction; terminal states free the bay.

    ``reason`` (the caller's words, e.g. why they cancel) is kept in the history entry.
    """

    def work(transaction: Transaction) -> dict[str, Any]:
        now = clock.now()
        booking = _load_in(transaction, booking_id, principal)
        record = _record(principal, booking, action, now)
        if reason is not None:
            record["reason"] = reason
        new_state = BookingState(record["to_state"])
        releasing = new_state in TERMINAL_STATES and booking.state in ACTIVE_STATES
        customer_holder_ref = holder_ref(booking.customer_id)
        found = (
            read_in(transaction, [*map(slot_ref, booking.slot_keys), customer_holder_ref])
            if releasing
            else {}
        )
        # Ending a booking changes what it grants its center (confirm and start do not).
        link = read_link(transaction, booking.vehicle_id) if releasing else None
        # Every read is done; from here on the transaction only writes.
        if link is not None:
            _relink(transaction, link, booking, _grant_after(booking, new_state, now), now)
        if releasing:
            release_cells(transaction, found, booking.slot_keys, booking_id)
            release_holder(
                transaction, found[customer_holder_ref.path], booking.customer_id, booking_id
            )
        updates = {
            "status": new_state.value,
            "history": [*booking.history, record],
            "updated_at": now,
        }
        return _changed(transaction, booking, principal, updates)

    return run_transaction(
        work, what=f"{action.value} booking", lock_keys=_booking_lock_keys(booking_id)
    )


def assign_mechanic(
    booking_id: str, mechanic_id: str, principal: Principal, center: Center
) -> dict[str, Any]:
    """Give an active booking to one of its center's mechanics."""

    def work(transaction: Transaction) -> dict[str, Any]:
        now = clock.now()
        booking = _load_in(transaction, booking_id, principal)
        if booking.center_id != center.id:  # the caller passed the booking's own center
            raise NotFound("The booking does not exist.")
        if not (principal.is_admin or _relation(principal, booking)["is_center_staff"]):
            raise Forbidden(
                "Only the center's staff may assign a mechanic.", code="action_forbidden"
            )
        if booking.state not in ACTIVE_STATES:
            raise Conflict(
                f"A booking that is {booking.state.value} cannot be reassigned.",
                code="illegal_transition",
            )
        if mechanic_id not in center.mechanic_ids:
            raise ValidationFailed(
                "That user is not a mechanic of this center.", code="unknown_mechanic"
            )
        record = {
            "action": "assign",
            "from_state": booking.state.value,
            "to_state": booking.state.value,
            "actor_id": principal.user_id,
            "actor_role": principal.role.value,
            "at": now,
            "mechanic_id": mechanic_id,
        }
        updates = {
            "mechanic_id": mechanic_id,
            "history": [*booking.history, record],
            "updated_at": now,
        }
        return _changed(transaction, booking, principal, updates)

    return run_transaction(work, what="assign mechanic", lock_keys=_booking_lock_keys(booking_id))


def reschedule(
    booking_id: str, new_slot: Slot, principal: Principal, center: Center
) -> dict[str, Any]:
    """Move the booking: take the new cells and free the old ones in one transaction.

    Cells shared by the old and new slot stay as they are (the booking keeps its bay
    there), so moving a 60-minute booking by 30 minutes needs only one more free cell.
    If any new cell is full, the transaction raises and nothing changes.
    """
    new_keys = slot_keys_held(center.id, center.calendar, new_slot)

    def work(transaction: Transaction) -> dict[str, Any]:
        now = clock.now()
        booking = _load_in(transaction, booking_id, principal)
        record = _record(principal, booking, BookingAction.RESCHEDULE, now)
        old_keys = booking.slot_keys
        taking = [k for k in new_keys if k not in old_keys]
        freeing = [k for k in old_keys if k not in new_keys]
        found = read_in(transaction, map(slot_ref, [*taking, *freeing]))
        link = read_link(transaction, booking.vehicle_id)
        # Every read is done; from here on the transaction only writes.
        _relink(transaction, link, booking, grant_until(slot_end=new_slot.end_utc), now)
        take_cells(
            transaction,
            found,
            taking,
            booking_id=booking_id,
            center_id=center.id,
            calendar=center.calendar,
            slot=new_slot,
        )
        release_cells(transaction, found, freeing, booking_id)
        record["from_start"] = as_utc(booking.data["start"])
        record["to_start"] = new_slot.start_utc
        updates = {
            "start": new_slot.start_utc,
            "end": new_slot.end_utc,
            "slot_keys": new_keys,
            "history": [*booking.history, record],
            "updated_at": now,
        }
        return _changed(transaction, booking, principal, updates)

    return run_transaction(
        work,
        what="reschedule booking",
        lock_keys=[*_booking_lock_keys(booking_id), *new_keys],
    )


def complete(booking_id: str, body: CompleteBody, principal: Principal) -> dict[str, Any]:
    """Finish the work, all in one transaction so a retried completion cannot half-apply:
    the booking completed, its bay and holder freed, and the work recorded on the vehicle
    by the shared rule (service record, mileage, alerts resolved, due services re-forecast,
    health marked for re-evaluation — shared.service_completion)."""

    def work(transaction: Transaction) -> dict[str, Any]:
        now = clock.now()
        booking = _load_in(transaction, booking_id, principal)
        record = _record(principal, booking, BookingAction.COMPLETE, now)
        customer_holder_ref = holder_ref(booking.customer_id)
        found = read_in(transaction, [*map(slot_ref, booking.slot_keys), customer_holder_ref])
        pending = read_completion(
            transaction,
            CompletedService(
                vehicle_id=booking.vehicle_id,
                record_id=f"booking-{booking_id}",
                service_codes=[str(booking.data["service_type"])],
                performed_at=now,
                mileage_km=body.mileage_km,
                work_done=body.work_done,
                cost=body.cost.model_dump(),
                source="booking",
                created_by=principal.user_id,
                center_id=booking.center_id,
                booking_id=booking_id,
            ),
        )
        link = read_link(transaction, booking.vehicle_id, vehicle=pending.vehicle)
        # Every read is done; from here on the transaction only writes. The two shared rules
        # both change the vehicle and its alerts: staged, then written once per document.
        staged = StagedWrites()
        outcome = pending.write(staged, now)
        _relink(staged, link, booking, _grant_after(booking, BookingState.COMPLETED, now), now)
        staged.commit_to(transaction)
        release_cells(transaction, found, booking.slot_keys, booking_id)
        release_holder(
            transaction, found[customer_holder_ref.path], booking.customer_id, booking_id
        )
        completion = {
            "mileage_km": body.mileage_km,
            "work_done": body.work_done,
            "cost": body.cost.model_dump(),
            "completed_by": principal.user_id,
            "completed_at": now,
            "service_record_id": outcome.record["id"] if outcome.record else None,
            "resolved_alert_ids": outcome.resolved_alert_ids,
        }
        updates = {
            "status": record["to_state"],
            "history": [*booking.history, record],
            "completion": completion,
            "updated_at": now,
        }
        return _changed(transaction, booking, principal, updates)

    return run_transaction(
        work,
        what="complete booking",
        # The transaction queries the vehicle's open alerts (shared.service_completion).
        lock_keys=[*_booking_lock_keys(booking_id), *query_lock_keys()],
    )
