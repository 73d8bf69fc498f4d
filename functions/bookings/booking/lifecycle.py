"""Booking lifecycle: which state each action leads to, and who may perform it.

Pure domain logic for the bookings function: no HTTP, no Firestore. Who may act is two
questions: does the caller's role grant the action's permission (the platform's one table,
shared.auth.rbac — the same permission the action's route declares), and does the caller
stand in the right relation to *this* booking. The store maps `ActionForbidden` to 403 and
`IllegalTransition` to 409, then stores the new state and appends a `TransitionRecord` in
the same transaction that read the current state.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
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
) -> TransitionRecord:
    """Check permission (ActionForbidden, 403) then state (IllegalTransition, 409); record it.

    Permission comes first so a caller who may not touch the booking learns nothing about its
    state.
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
    return TransitionRecord(
        action=action,
        from_state=current_state,
        to_state=new_state,
        actor_id=actor_id,
        actor_role=Role(actor_role),
        at=at,
    )
