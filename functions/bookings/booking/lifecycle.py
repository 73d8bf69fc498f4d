"""Booking lifecycle: which state each action leads to, and who may perform it.

Pure domain logic for the bookings function: no HTTP, no Firestore. Who may act is two
questions: does the caller's role grant the action's permission (the platform's one table,
shared.auth.rbac — the same permission the action's route declares), and does the caller
stand in the right relation to *this* booking. Some actions also depend on the time:
work starts only near the slot, and a no-show is marked only once the customer is really
late (:func:`timing_problem`, judged at the instant the store reads from shared.clock). The
store maps `ActionForbidden` to 403, `IllegalTransition` and `OutsideActionWindow` to 409,
then stores the new state and appends a `TransitionRecord` in the same transaction that read
the current state.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from shared.auth.rbac import Permission, Role, has_permission


class BookingState(StrEnum):
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class BookingAction(StrEnum):
    CONFIRM = "confirm"
    START = "start"
    COMPLETE = "complete"
    CANCEL = "cancel"
    NO_SHOW = "no_show"
    RESCHEDULE = "reschedule"


# States in which a booking holds a bay: its slot cells count against the center's capacity.
ACTIVE_STATES: frozenset[BookingState] = frozenset(
    {BookingState.REQUESTED, BookingState.CONFIRMED, BookingState.IN_PROGRESS}
)

# States no action leaves; the bay is released when a booking enters one.
TERMINAL_STATES: frozenset[BookingState] = frozenset(
    {BookingState.COMPLETED, BookingState.CANCELLED, BookingState.NO_SHOW}
)

# The whole state machine: (current state, action) -> new state. Any pair not listed is illegal.
# Reschedule keeps the state: the new slot is capacity-checked in the same transaction, so a
# confirmed booking stays confirmed (change the two RESCHEDULE rows to require re-confirmation).
_TRANSITIONS: Mapping[tuple[BookingState, BookingAction], BookingState] = MappingProxyType(
    {
        (BookingState.REQUESTED, BookingAction.CONFIRM): BookingState.CONFIRMED,
        (BookingState.CONFIRMED, BookingAction.START): BookingState.IN_PROGRESS,
        (BookingState.IN_PROGRESS, BookingAction.COMPLETE): BookingState.COMPLETED,
        (BookingState.REQUESTED, BookingAction.CANCEL): BookingState.CANCELLED,
        (BookingState.CONFIRMED, BookingAction.CANCEL): BookingState.CANCELLED,
        (BookingState.CONFIRMED, BookingAction.NO_SHOW): BookingState.NO_SHOW,
        (BookingState.REQUESTED, BookingAction.RESCHEDULE): BookingState.REQUESTED,
        (BookingState.CONFIRMED, BookingAction.RESCHEDULE): BookingState.CONFIRMED,
    }
)

# The permission each action needs (shared.auth.rbac grants it to roles; the action's route
# declares the same one). Each role additionally needs its relation to the booking (see
# _has_relation): staff of *this* center, *this* booking's customer, the mechanic assigned
# to *this* booking. Admin needs none.
ACTION_PERMISSIONS: Mapping[BookingAction, Permission] = MappingProxyType(
    {
        BookingAction.CONFIRM: Permission.BOOKINGS_MANAGE,
        BookingAction.NO_SHOW: Permission.BOOKINGS_MANAGE,
        BookingAction.START: Permission.BOOKINGS_WORK,
        BookingAction.COMPLETE: Permission.BOOKINGS_WORK,
        BookingAction.CANCEL: Permission.BOOKINGS_CANCEL,
        BookingAction.RESCHEDULE: Permission.BOOKINGS_RESCHEDULE,
    }
)


# A no-show may be marked only this long after the booking's start: arriving a few minutes
# late (traffic, parking, a queue at reception) is common, and a customer who does should
# still find their bay; a quarter of an hour is the usual grace period workshops and clinics
# state in their terms.
NO_SHOW_GRACE = timedelta(minutes=15)

# Work may start this long before the slot (the car was dropped off early and a bay is free)
# and until the slot's end. Outside that, "start" is almost certainly the wrong booking: a
# booking whose slot has passed is a no-show or is cancelled, and work on another day is a
# reschedule first.
START_EARLY_ALLOWANCE = timedelta(minutes=30)


class IllegalTransition(Exception):
    """The action is not allowed from the booking's current state (HTTP 409)."""

    def __init__(self, current_state: BookingState | str, action: BookingAction | str) -> None:
        super().__init__(f"cannot {action} a booking that is {current_state}")
        self.current_state = current_state
        self.action = action


class ActionForbidden(Exception):
    """The caller's role or relation to the booking does not permit the action (HTTP 403)."""

    def __init__(self, action: BookingAction | str, role: Role | str) -> None:
        super().__init__(f"role {role!r} may not {action} this booking")
        self.action = action
        self.role = role


class OutsideActionWindow(Exception):
    """The action is legal from this state, but not at this time (HTTP 409).

    ``code`` names the rule (``start_too_early``, ``start_too_late``,
    ``no_show_too_early``); ``boundary`` is the instant the answer changes at (when the
    action becomes possible, or when it stopped being possible).
    """

    def __init__(self, action: BookingAction, code: str, boundary: datetime) -> None:
        super().__init__(f"cannot {action} this booking now ({code}, boundary {boundary})")
        self.action = action
        self.code = code
        self.boundary = boundary


def timing_problem(
    action: BookingAction, *, start: datetime, end: datetime, now: datetime
) -> OutsideActionWindow | None:
    """Why ``action`` may not happen at ``now`` for a booking of ``start``..``end``, or None.

    * start: from START_EARLY_ALLOWANCE before ``start`` until ``end``;
    * no-show: from NO_SHOW_GRACE after ``start`` on (the bay is then released);
    * every other action: at any time.
    """
    if action is BookingAction.START:
        opens = start - START_EARLY_ALLOWANCE
        if now < opens:
            return OutsideActionWindow(action, "start_too_early", opens)
        if now >= end:
            return OutsideActionWindow(action, "start_too_late", end)
    if action is BookingAction.NO_SHOW:
        opens = start + NO_SHOW_GRACE
        if now < opens:
            return OutsideActionWindow(action, "no_show_too_early", opens)
    return None


def transition(current_state: BookingState, action: BookingAction) -> BookingState:
    """The state after `action`, or IllegalTransition if it is not allowed from here."""
    try:
        return _TRANSITIONS[(current_state, action)]
    except KeyError:
        raise IllegalTransition(current_state, action) from None


def _has_relation(
    role: Role, *, is_owner: bool, is_center_staff: bool, is_assigned_mechanic: bool
) -> bool:
    # Each role counts only with its own relation: a customer flagged as center staff is still
    # a customer. This keeps a wrong flag from quietly widening someone's rights.
    match role:
        case Role.ADMIN:
            return True
        case Role.SERVICE_CENTER:
            return is_center_staff
        case Role.MECHANIC:
            return is_assigned_mechanic
        case Role.CUSTOMER:
            return is_owner
        case Role.VIEWER:
            return False


def actor_may(
    action: BookingAction,
    role: Role | str,
    *,
    is_owner: bool,
    is_center_staff: bool,
    is_assigned_mechanic: bool,
) -> bool:
    """Whether a caller with `role` and this relation to the booking may perform `action`.

    Unknown roles are refused rather than raising: claims come from tokens and deny is the
    safe default.
    """
    try:
        known_role = Role(role)
    except ValueError:
        return False
    if not has_permission(known_role, ACTION_PERMISSIONS[action]):
        return False
    return _has_relation(
        known_role,
        is_owner=is_owner,
        is_center_staff=is_center_staff,
        is_assigned_mechanic=is_assigned_mechanic,
    )


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    """One entry of a booking's history: who moved it from which state to which, and when."""

    action: BookingAction
    from_state: BookingState
    to_state: BookingState
    actor_id: str
    actor_role: Role
    at: datetime

    def __post_init__(self) -> None:
        if not self.actor_id:
            raise ValueError("actor_id must be non-empty")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("at must be timezone-aware")

    def to_document(self) -> dict[str, str | datetime]:
        """Plain values for Firestore (which stores an aware datetime as a timestamp)."""
        return {
            "action": self.action.value,
            "from_state": self.from_state.value,
            "to_state": self.to_state.value,
            "actor_id": self.actor_id,
            "actor_role": self.actor_role.value,
            "at": self.at,
        }


def apply_action(
    current_state: BookingState,
    action: BookingAction,
    *,
    actor_id: str,
    actor_role: Role | str,
    is_owner: bool,
    is_center_staff: bool,
    is_assigned_mechanic: bool,
    at: datetime,
    slot: tuple[datetime, datetime] | None = None,
) -> TransitionRecord:
    """Check permission (ActionForbidden, 403), then state (IllegalTransition, 409), then
    time (OutsideActionWindow, 409, judged on ``slot`` = the booking's start and end at
    ``at``); record it.

    Permission comes first so a caller who may not touch the booking learns nothing about its
    state. An action whose rule depends on the time needs the ``slot``.
    """
    if not actor_may(
        action,
        actor_role,
        is_owner=is_owner,
        is_center_staff=is_center_staff,
        is_assigned_mechanic=is_assigned_mechanic,
    ):
        raise ActionForbidden(action, actor_role)
    new_state = transition(current_state, action)
    if action in (BookingAction.START, BookingAction.NO_SHOW):
        if slot is None:
            raise ValueError(f"{action} needs the booking's slot to judge the time")
        problem = timing_problem(action, start=slot[0], end=slot[1], now=at)
        if problem is not None:
            raise problem
    return TransitionRecord(
        action=action,
        from_state=current_state,
        to_state=new_state,
        actor_id=actor_id,
        actor_role=Role(actor_role),
        at=at,
    )
