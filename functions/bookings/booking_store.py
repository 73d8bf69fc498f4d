"""Bookings in Firestore: every change that touches capacity runs in one transaction.

Capacity model (docs/bookings.md has the full story):

* ``slots/{slot_key}`` — one document per grid cell of a center (``scheduling.slot_key``),
  ``{center_id, start, count, booking_ids}``. A booking holds every cell its duration covers
  (``scheduling.slot_keys_held``); ``count`` never exceeds the center's bays.
* ``booking_holders/{customer_id}`` — ``{active_count, booking_ids}``, the customer's bookings
  in an active state; ``active_count`` never exceeds ``Settings.max_active_bookings``.
* Creating, rescheduling and ending a booking read the cells (and holder) inside one
  transaction, check the limits, and write booking + cells + holder together. Firestore's
  server-side transactions lock what they read, so two requests for the last bay cannot
  both see it free: one commits, the other is retried and then finds the slot full.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import booking_clock
import booking_idempotency
import booking_locks
from booking_models import BookingListQuery, CompleteBody
from centers import SLOTS, Center
from google.api_core import exceptions as google_exceptions
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

from shared import logs
from shared.auth.principal import Principal
from shared.auth.rbac import Role
from shared.auth.scoping import can_see, redact_for, scope_query
from shared.errors import ApiError, Conflict, Forbidden, NotFound, ValidationFailed
from shared.firestore import get_client
from shared.pagination import page_of
from shared.query_shapes import QueryShape, register

BOOKINGS = "bookings"
HOLDERS = "booking_holders"
VEHICLES = "vehicles"
ALERTS = "alerts"
SERVICE_RECORDS = "service_records"

T = TypeVar("T")

# The client library retries an aborted commit this many times inside one transaction
# object, keeping its "spot in line" (retry_id). 50 requests racing for one slot on the
# emulator abort each other repeatedly; 20 attempts plus the outer retries below were enough
# in measurement (docs/bookings.md) without letting one request spin for long.
TRANSACTION_ATTEMPTS = 20
# Outer retries with jittered back-off, for aborts the library does not retry (a read
# that timed out waiting for a lock) and for an exhausted inner budget.
OUTER_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 0.02
BACKOFF_CAP_SECONDS = 0.5


def _all_shapes() -> tuple[QueryShape, ...]:
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


LIST_SHAPES = register(*_all_shapes())
(OPEN_ALERTS_FOR_SERVICE,) = register(
    QueryShape(
        ALERTS,
        equality=("vehicle_id", "status", "service_code"),
        description="complete: resolve the vehicle's open alerts for the booked service",
    )
)


# --------------------------------------------------------------------------- transactions


def _is_contention(exc: BaseException) -> bool:
    if isinstance(exc, google_exceptions.Aborted):
        return True
    return isinstance(exc, ValueError) and str(exc).startswith("Failed to commit transaction")


def run_transaction(work: Callable[[Any], T], *, what: str, lock_keys: Iterable[str]) -> T:
    """Run ``work(transaction)`` in a Firestore transaction, retrying contention.

    ``lock_keys`` name the documents the transaction will touch: this instance's threads
    take turns on them (booking_locks) so they do not abort one another in Firestore.
    ApiErrors raised by ``work`` (slot full, illegal transition, ...) roll back and
    propagate at once. Only when every retry lost to contention does the caller get
    409 ``slot_contended`` — the request can simply be sent again.
    """
    from google.cloud import firestore

    client = get_client()
    keys = list(lock_keys)
    for attempt in range(OUTER_ATTEMPTS):
        try:
            transaction = client.transaction(max_attempts=TRANSACTION_ATTEMPTS)
            with booking_locks.holding(keys):
                return firestore.transactional(work)(transaction)
        except ApiError:
            raise
        except Exception as exc:
            if not _is_contention(exc):
                raise
            logs.warning("transaction contention", what=what, attempt=attempt + 1)
            # Full jitter: spreads the retries of many losers instead of re-colliding.
            delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
            time.sleep(random.uniform(0, delay))
    raise Conflict(
        "Too many requests compete for this slot right now; try again.",
        code="slot_contended",
    )


# --------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class Booking:
    id: str
    data: dict[str, Any]

    @property
    def state(self) -> BookingState:
        return BookingState(self.data["status"])

    @property
    def customer_id(self) -> str:
        return str(self.data["customer_id"])

    @property
    def center_id(self) -> str:
        return str(self.data["center_id"])

    @property
    def slot_keys(self) -> list[str]:
        return list(self.data.get("slot_keys") or [])


def _as_utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    raise ValueError(f"not a timestamp: {value!r}")


def booking_to_json(booking: Booking, principal: Principal) -> dict[str, Any]:
    """The API shape: times in the center's zone, personal data removed for viewers."""
    data = booking.data
    zone = ZoneInfo(data.get("time_zone") or "UTC")

    def local(value: Any) -> str | None:
        return _as_utc(value).astimezone(zone).isoformat() if value else None

    history = [{**entry, "at": local(entry.get("at"))} for entry in data.get("history") or []]
    body = {
        "id": booking.id,
        "customer_id": data.get("customer_id"),
        "vehicle_id": data.get("vehicle_id"),
        "center_id": data.get("center_id"),
        "center_name": data.get("center_name"),
        "service_type": data.get("service_type"),
        "service_name": data.get("service_name"),
        "duration_minutes": data.get("duration_minutes"),
        "start": local(data.get("start")),
        "end": local(data.get("end")),
        "time_zone": data.get("time_zone"),
        "status": data.get("status"),
        "mechanic_id": data.get("mechanic_id"),
        "notes": data.get("notes"),
        "source": data.get("source"),
        "suggestion_id": data.get("suggestion_id"),
        "completion": data.get("completion"),
        "history": history,
        "created_at": local(data.get("created_at")),
        "updated_at": local(data.get("updated_at")),
    }
    if principal.role is Role.VIEWER:
        # Reporting needs what happened where and when, not who the customer is.
        body = redact_for(principal, body)
        body.pop("customer_id", None)
        body["history"] = [{k: v for k, v in entry.items() if k != "actor_id"} for entry in history]
    return body


def _visible(principal: Principal, booking: Booking) -> bool:
    return can_see(principal, owner_id=booking.customer_id, center_ids=[booking.center_id])


def _visible_booking(snapshot: Any, principal: Principal) -> Booking:
    """The snapshot's booking if it exists and is in the caller's scope; else 404.

    Missing and out-of-scope answer alike, so ids cannot be probed.
    """
    if not snapshot.exists:
        raise NotFound("The booking does not exist.")
    booking = Booking(snapshot.id, snapshot.to_dict() or {})
    if not _visible(principal, booking):
        raise NotFound("The booking does not exist.")
    return booking


def get_booking(booking_id: str, principal: Principal) -> Booking:
    """The booking if it exists and is in the caller's scope; else 404 (ids are not probed)."""
    return _visible_booking(_booking_ref(booking_id).get(), principal)


def _booking_ref(booking_id: str) -> Any:
    if not booking_id or "/" in booking_id or len(booking_id) > 128:
        raise NotFound("The booking does not exist.")
    return get_client().collection(BOOKINGS).document(booking_id)


def _read_in(transaction: Any, refs: Iterable[Any]) -> dict[str, dict[str, Any] | None]:
    """Read documents in a transaction, keyed by path; missing documents are None."""
    refs = list(refs)
    found: dict[str, dict[str, Any] | None] = {ref.path: None for ref in refs}
    if refs:
        for snapshot in transaction.get_all(refs):
            if snapshot.exists:
                found[snapshot.reference.path] = snapshot.to_dict() or {}
    return found


def _slot_ref(key: str) -> Any:
    return get_client().collection(SLOTS).document(key)


def _holder_ref(customer_id: str) -> Any:
    return get_client().collection(HOLDERS).document(customer_id)


def _take_cells(
    transaction: Any,
    cells: Mapping[str, dict[str, Any] | None],
    keys: Iterable[str],
    *,
    booking_id: str,
    center: Center,
    slot: Slot,
) -> None:
    """Add the booking to each of ``keys`` (already read), or raise 409 if one is full.

    ``keys`` are cells of ``slot``: all of them, or on a reschedule only those the old slot
    did not hold already.
    """
    now = booking_clock.utc_now()
    bays = center.calendar.bays
    step_minutes = center.calendar.slot_step_minutes
    # A cell's start follows from its place among every cell the slot covers.
    all_keys = slot_keys_held(center.id, center.calendar, slot)
    writes = []
    for key in keys:
        current = cells[_slot_ref(key).path] or {}
        count = int(current.get("count", 0))
        if count >= bays:
            raise Conflict("This slot is fully booked; pick another time.", code="slot_full")
        ids = [i for i in current.get("booking_ids") or [] if i != booking_id]
        cell_start = slot.start_utc + timedelta(minutes=step_minutes * all_keys.index(key))
        writes.append(
            (
                key,
                {
                    "center_id": center.id,
                    "start": cell_start,
                    "count": count + 1,
                    "booking_ids": [*ids, booking_id],
                    "updated_at": now,
                },
            )
        )
    for key, document in writes:
        transaction.set(_slot_ref(key), document)


def _release_cells(
    transaction: Any,
    cells: Mapping[str, dict[str, Any] | None],
    keys: Iterable[str],
    booking_id: str,
) -> None:
    now = booking_clock.utc_now()
    for key in keys:
        current = cells[_slot_ref(key).path]
        if current is None:
            continue  # nothing held there (should not happen; never go below zero)
        ids = [i for i in current.get("booking_ids") or [] if i != booking_id]
        transaction.update(
            _slot_ref(key),
            {
                "count": max(int(current.get("count", 0)) - 1, 0),
                "booking_ids": ids,
                "updated_at": now,
            },
        )


def _release_holder(
    transaction: Any, holder: dict[str, Any] | None, customer_id: str, booking_id: str
) -> None:
    if holder is None:
        return
    ids = [i for i in holder.get("booking_ids") or [] if i != booking_id]
    transaction.set(
        _holder_ref(customer_id),
        {"active_count": len(ids), "booking_ids": ids, "updated_at": booking_clock.utc_now()},
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

    client = get_client()
    booking_id = uuid.uuid4().hex
    center = request.center
    keys = slot_keys_held(center.id, center.calendar, request.slot)
    booking_ref = client.collection(BOOKINGS).document(booking_id)
    holder_ref = _holder_ref(request.customer.user_id)
    vehicle_ref = client.collection(VEHICLES).document(request.vehicle_id)
    slot_refs = [_slot_ref(key) for key in keys]

    def work(transaction: Any) -> dict[str, Any]:
        now = booking_clock.utc_now()
        found = _read_in(transaction, [*slot_refs, holder_ref])
        holder = found[holder_ref.path] or {}
        held_ids = [i for i in holder.get("booking_ids") or [] if i != booking_id]
        if len(held_ids) >= max_active:
            raise Conflict(
                f"You already hold {len(held_ids)} active bookings (the limit is "
                f"{max_active}); cancel or finish one first.",
                code="active_booking_limit",
            )
        _take_cells(
            transaction, found, keys, booking_id=booking_id, center=center, slot=request.slot
        )
        record = {
            "action": "create",
            "from_state": None,
            "to_state": BookingState.REQUESTED.value,
            "actor_id": request.customer.user_id,
            "actor_role": request.customer.role.value,
            "at": now,
        }
        document = {
            "customer_id": request.customer.user_id,
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
        transaction.create(booking_ref, document)
        transaction.set(
            holder_ref,
            {
                "active_count": len(held_ids) + 1,
                "booking_ids": [*held_ids, booking_id],
                "updated_at": now,
            },
        )
        # The vehicles contract: staff of this center may now see the vehicle.
        transaction.update(vehicle_ref, {"center_ids": firestore.ArrayUnion([center.id])})
        body = booking_to_json(Booking(booking_id, document), request.customer)
        if claim is not None:
            transaction.set(
                claim.ref(), booking_idempotency.completion_fields(201, body), merge=True
            )
        return body

    return run_transaction(
        work, what="create booking", lock_keys=[*keys, holder_ref.path, vehicle_ref.path]
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
    ref = _booking_ref(booking_id)
    snapshot = ref.get()
    if not snapshot.exists:
        return [ref.path]
    data = snapshot.to_dict() or {}
    return [
        ref.path,
        *(data.get("slot_keys") or []),
        _holder_ref(str(data.get("customer_id"))).path,
        f"{VEHICLES}/{data.get('vehicle_id')}",
    ]


def _load_in(transaction: Any, booking_id: str, principal: Principal) -> Booking:
    """get_booking inside a transaction, so the read is locked with the rest."""
    return _visible_booking(_booking_ref(booking_id).get(transaction=transaction), principal)


def perform_action(booking_id: str, action: BookingAction, principal: Principal) -> dict[str, Any]:
    """confirm / start / cancel / no_show: one transaction; terminal states free the bay."""

    def work(transaction: Any) -> dict[str, Any]:
        now = booking_clock.utc_now()
        booking = _load_in(transaction, booking_id, principal)
        record = _record(principal, booking, action, now)
        new_state = BookingState(record["to_state"])
        releasing = new_state in TERMINAL_STATES and booking.state in ACTIVE_STATES
        holder_ref = _holder_ref(booking.customer_id)
        found = (
            _read_in(transaction, [*map(_slot_ref, booking.slot_keys), holder_ref])
            if releasing
            else {}
        )
        updates = {
            "status": new_state.value,
            "history": [*booking.data.get("history", []), record],
            "updated_at": now,
        }
        transaction.update(_booking_ref(booking_id), updates)
        if releasing:
            _release_cells(transaction, found, booking.slot_keys, booking_id)
            _release_holder(transaction, found[holder_ref.path], booking.customer_id, booking_id)
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
        transaction.update(_booking_ref(booking_id), updates)
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
        found = _read_in(transaction, map(_slot_ref, [*taking, *freeing]))
        _take_cells(transaction, found, taking, booking_id=booking_id, center=center, slot=new_slot)
        _release_cells(transaction, found, freeing, booking_id)
        record["from_start"] = _as_utc(booking.data["start"])
        record["to_start"] = new_slot.start_utc
        updates = {
            "start": new_slot.start_utc,
            "end": new_slot.end_utc,
            "slot_keys": new_keys,
            "history": [*booking.data.get("history", []), record],
            "updated_at": now,
        }
        transaction.update(_booking_ref(booking_id), updates)
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
        vehicle_ref = client.collection(VEHICLES).document(vehicle_id)
        service_record_ref = vehicle_ref.collection(SERVICE_RECORDS).document(
            f"booking-{booking_id}"
        )
        holder_ref = _holder_ref(booking.customer_id)
        found = _read_in(
            transaction,
            [*map(_slot_ref, booking.slot_keys), holder_ref, vehicle_ref, service_record_ref],
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
        transaction.update(_booking_ref(booking_id), updates)
        _release_cells(transaction, found, booking.slot_keys, booking_id)
        _release_holder(transaction, found[holder_ref.path], booking.customer_id, booking_id)
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
        vehicle = found[vehicle_ref.path]
        if vehicle is not None and body.mileage_km > int(vehicle.get("mileage_km") or 0):
            transaction.update(vehicle_ref, {"mileage_km": body.mileage_km, "updated_at": now})
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


# --------------------------------------------------------------------------- listing


def list_bookings(
    principal: Principal, query: BookingListQuery
) -> tuple[list[dict[str, Any]], str | None]:
    """The caller's scope of bookings, filtered, ordered by start, one page at a time."""
    from google.cloud.firestore_v1.base_query import FieldFilter

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
    holder = _holder_ref(customer_id).get()
    ids = list((holder.to_dict() or {}).get("booking_ids") or []) if holder.exists else []
    refs = [client.collection(BOOKINGS).document(i) for i in ids]
    return (
        [Booking(s.id, s.to_dict() or {}) for s in client.get_all(refs) if s.exists] if refs else []
    )
