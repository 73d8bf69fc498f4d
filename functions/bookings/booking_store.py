"""Every change to a booking, each in one Firestore transaction.

Creating, rescheduling and ending a booking read the slot cells (and the holder) inside one
transaction, check the limits (booking_capacity), and write booking + cells + holder
together. Firestore's server-side transactions lock what they read, so two requests for the
last bay cannot both see it free: one commits, the other is retried
(booking_transactions) and then finds the slot full. docs/bookings.md has the full story;
what callers see of a booking is booking_views'.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import booking_clock
import booking_idempotency
from booking_capacity import release_cells, release_holder, take_cells, take_holder
from booking_documents import (
    ALERTS,
    SERVICE_RECORDS,
    Booking,
    as_utc,
    booking_ref,
    holder_ref,
    read_in,
    require_own_vehicle,
    slot_ref,
    vehicle_ref,
)
from booking_models import CompleteBody
from booking_transactions import run_transaction
from booking_views import booking_to_json, visible_booking
from centers import Center
from lifecycle import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    ActionForbidden,
    BookingAction,
    BookingState,
    IllegalTransition,
    apply_action,
)
from scheduling import Slot, slot_keys_held

from shared.auth.principal import Principal
from shared.auth.rbac import Role
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed
from shared.firestore import get_client
from shared.query_shapes import QueryShape, register

(OPEN_ALERTS_FOR_SERVICE,) = register(
    QueryShape(
        ALERTS,
        equality=("vehicle_id", "status", "service_code"),
        description="complete: resolve the vehicle's open alerts for the booked service",
    )
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
    claim: booking_idempotency.Claim | None,
) -> dict[str, Any]:
    """Book it in one transaction; returns the booking's JSON (also stored for replay)."""
    from google.cloud import firestore

    booking_id = uuid.uuid4().hex
    center = request.center
    customer_id = request.customer.user_id
    keys = slot_keys_held(center.id, center.calendar, request.slot)
    new_booking_ref = booking_ref(booking_id)
    customer_holder_ref = holder_ref(customer_id)
    booked_vehicle_ref = vehicle_ref(request.vehicle_id)
    slot_refs = [slot_ref(key) for key in keys]

    def work(transaction: Any) -> dict[str, Any]:
        now = booking_clock.utc_now()
        found = read_in(transaction, [*slot_refs, customer_holder_ref, booked_vehicle_ref])
        # Checked before (booking_requests) without a lock; read again here because the
        # vehicle may have been deleted or handed over since, and updating a deleted
        # vehicle would fail the commit (a 500). Reading it also locks it until commit.
        require_own_vehicle(found[booked_vehicle_ref.path], customer_id)
        take_holder(
            transaction,
            found[customer_holder_ref.path],
            customer_id,
            booking_id,
            max_active=max_active,
        )
        take_cells(
            transaction, found, keys, booking_id=booking_id, center=center, slot=request.slot
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
        transaction.create(new_booking_ref, document)
        # The vehicles contract: staff of this center may now see the vehicle.
        transaction.update(booked_vehicle_ref, {"center_ids": firestore.ArrayUnion([center.id])})
        body = booking_to_json(Booking(booking_id, document), request.customer)
        if claim is not None:
            transaction.set(
                claim.ref(), booking_idempotency.completion_fields(201, body), merge=True
            )
        return body

    return run_transaction(
        work,
        what="create booking",
        lock_keys=[*keys, customer_holder_ref.path, booked_vehicle_ref.path],
    )


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


def _record(
    principal: Principal, booking: Booking, action: BookingAction, at: datetime
) -> dict[str, Any]:
    """Check permission then state (lifecycle.apply_action) and map its errors to HTTP."""
    try:
        record = apply_action(
            booking.state,
            action,
            actor_id=principal.user_id,
            actor_role=principal.role.value,
            at=at,
            **_relation(principal, booking),
        )
    except ActionForbidden:
        raise Forbidden(
            f"Your role ({principal.role.value}) may not {action.value} this booking.",
            code="action_forbidden",
        ) from None
    except IllegalTransition:
        raise Conflict(
            f"A booking that is {booking.state.value} cannot be {_past(action)}.",
            code="illegal_transition",
        ) from None
    return dict(record.to_document())


def _past(action: BookingAction) -> str:
    return {
        BookingAction.CONFIRM: "confirmed",
        BookingAction.START: "started",
        BookingAction.COMPLETE: "completed",
        BookingAction.CANCEL: "cancelled",
        BookingAction.NO_SHOW: "marked as no-show",
        BookingAction.RESCHEDULE: "rescheduled",
    }[action]


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


def _load_in(transaction: Any, booking_id: str, principal: Principal) -> Booking:
    """get_booking inside a transaction, so the read is locked with the rest."""
    return visible_booking(booking_ref(booking_id).get(transaction=transaction), principal)


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

    def work(transaction: Any) -> dict[str, Any]:
        now = booking_clock.utc_now()
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
        updates = {
            "status": new_state.value,
            "history": [*booking.data.get("history", []), record],
            "updated_at": now,
        }
        transaction.update(booking_ref(booking_id), updates)
        if releasing:
            release_cells(transaction, found, booking.slot_keys, booking_id)
            release_holder(
                transaction, found[customer_holder_ref.path], booking.customer_id, booking_id
            )
        return booking_to_json(Booking(booking_id, {**booking.data, **updates}), principal)

    return run_transaction(
        work, what=f"{action.value} booking", lock_keys=_booking_lock_keys(booking_id)
    )


def assign_mechanic(
    booking_id: str, mechanic_id: str, principal: Principal, center: Center
) -> dict[str, Any]:
    """Give an active booking to one of its center's mechanics."""

    def work(transaction: Any) -> dict[str, Any]:
        now = booking_clock.utc_now()
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
            "history": [*booking.data.get("history", []), record],
            "updated_at": now,
        }
        transaction.update(booking_ref(booking_id), updates)
        return booking_to_json(Booking(booking_id, {**booking.data, **updates}), principal)

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

    def work(transaction: Any) -> dict[str, Any]:
        now = booking_clock.utc_now()
        booking = _load_in(transaction, booking_id, principal)
        record = _record(principal, booking, BookingAction.RESCHEDULE, now)
        old_keys = booking.slot_keys
        taking = [k for k in new_keys if k not in old_keys]
        freeing = [k for k in old_keys if k not in new_keys]
        found = read_in(transaction, map(slot_ref, [*taking, *freeing]))
        take_cells(transaction, found, taking, booking_id=booking_id, center=center, slot=new_slot)
        release_cells(transaction, found, freeing, booking_id)
        record["from_start"] = as_utc(booking.data["start"])
        record["to_start"] = new_slot.start_utc
        updates = {
            "start": new_slot.start_utc,
            "end": new_slot.end_utc,
            "slot_keys": new_keys,
            "history": [*booking.data.get("history", []), record],
            "updated_at": now,
        }
        transaction.update(booking_ref(booking_id), updates)
        return booking_to_json(Booking(booking_id, {**booking.data, **updates}), principal)

    return run_transaction(
        work,
        what="reschedule booking",
        lock_keys=[*_booking_lock_keys(booking_id), *new_keys],
    )


def complete(booking_id: str, body: CompleteBody, principal: Principal) -> dict[str, Any]:
    """Finish the work: booking completed, bay and holder freed, service record written,
    mileage raised if higher, and the vehicle's open alerts for this service resolved —
    all in one transaction, so a retried completion cannot half-apply."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    client = get_client()

    def work(transaction: Any) -> dict[str, Any]:
        now = booking_clock.utc_now()
        booking = _load_in(transaction, booking_id, principal)
        record = _record(principal, booking, BookingAction.COMPLETE, now)
        vehicle_id = str(booking.data["vehicle_id"])
        serviced_vehicle_ref = vehicle_ref(vehicle_id)
        service_record_ref = serviced_vehicle_ref.collection(SERVICE_RECORDS).document(
            f"booking-{booking_id}"
        )
        customer_holder_ref = holder_ref(booking.customer_id)
        found = read_in(
            transaction,
            [
                *map(slot_ref, booking.slot_keys),
                customer_holder_ref,
                serviced_vehicle_ref,
                service_record_ref,
            ],
        )
        alerts_query = (
            client.collection(ALERTS)
            .where(filter=FieldFilter("vehicle_id", "==", vehicle_id))
            .where(filter=FieldFilter("status", "==", "open"))
            .where(filter=FieldFilter("service_code", "==", booking.data["service_type"]))
        )
        open_alerts = list(transaction.get(alerts_query))

        completion = {
            "mileage_km": body.mileage_km,
            "work_done": body.work_done,
            "cost": body.cost.model_dump(),
            "completed_by": principal.user_id,
            "completed_at": now,
            "resolved_alert_ids": [a.id for a in open_alerts],
        }
        updates = {
            "status": record["to_state"],
            "history": [*booking.data.get("history", []), record],
            "completion": completion,
            "updated_at": now,
        }
        transaction.update(booking_ref(booking_id), updates)
        release_cells(transaction, found, booking.slot_keys, booking_id)
        release_holder(
            transaction, found[customer_holder_ref.path], booking.customer_id, booking_id
        )
        if found[service_record_ref.path] is None:
            transaction.create(
                service_record_ref,
                {
                    "performed_at": now,
                    "mileage_km": body.mileage_km,
                    "service_codes": [booking.data["service_type"]],
                    "work_done": body.work_done,
                    "cost": body.cost.model_dump(),
                    "source": "booking",
                    "booking_id": booking_id,
                    "center_id": booking.center_id,
                    "created_by": principal.user_id,
                    "created_at": now,
                },
            )
        vehicle = found[serviced_vehicle_ref.path]
        if vehicle is not None and body.mileage_km > int(vehicle.get("mileage_km") or 0):
            transaction.update(
                serviced_vehicle_ref, {"mileage_km": body.mileage_km, "updated_at": now}
            )
        for alert in open_alerts:
            transaction.update(
                alert.reference,
                {
                    "status": "resolved",
                    "resolved_at": now,
                    "updated_at": now,
                    "resolved_by_booking": booking_id,
                },
            )
        return booking_to_json(Booking(booking_id, {**booking.data, **updates}), principal)

    return run_transaction(work, what="complete booking", lock_keys=_booking_lock_keys(booking_id))
