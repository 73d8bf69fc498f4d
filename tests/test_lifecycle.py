"""Booking lifecycle: the full transition matrix, the full permission matrix, history records."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from booking.lifecycle import (
    ACTION_PERMISSIONS,
    ACTIVE_STATES,
    TERMINAL_STATES,
    ActionForbidden,
    BookingAction,
    BookingState,
    IllegalTransition,
    TransitionRecord,
    actor_may,
    apply_action,
    transition,
)
from shared.auth.rbac import Permission, Role

S = BookingState
A = BookingAction

# Written out independently of the module's table, so a typo there shows up here.
EXPECTED_TRANSITIONS: dict[tuple[BookingState, BookingAction], BookingState] = {
    (S.REQUESTED, A.CONFIRM): S.CONFIRMED,
    (S.REQUESTED, A.CANCEL): S.CANCELLED,
    (S.REQUESTED, A.RESCHEDULE): S.REQUESTED,
    (S.CONFIRMED, A.START): S.IN_PROGRESS,
    (S.CONFIRMED, A.CANCEL): S.CANCELLED,
    (S.CONFIRMED, A.NO_SHOW): S.NO_SHOW,
    (S.CONFIRMED, A.RESCHEDULE): S.CONFIRMED,
    (S.IN_PROGRESS, A.COMPLETE): S.COMPLETED,
}

# How the caller relates to the booking; each maps to exactly one actor_may flag (or none).
RELATIONS = ("none", "owner", "center_staff", "assigned_mechanic")

# Every (action, role, relation) that is allowed; everything else must be refused.
ADMIN_ANYWAY = {(action, Role.ADMIN, relation) for action in A for relation in RELATIONS}
EXPECTED_PERMISSIONS: set[tuple[BookingAction, Role, str]] = ADMIN_ANYWAY | {
    (A.CONFIRM, Role.SERVICE_CENTER, "center_staff"),
    (A.START, Role.SERVICE_CENTER, "center_staff"),
    (A.COMPLETE, Role.SERVICE_CENTER, "center_staff"),
    (A.NO_SHOW, Role.SERVICE_CENTER, "center_staff"),
    (A.CANCEL, Role.SERVICE_CENTER, "center_staff"),
    (A.RESCHEDULE, Role.SERVICE_CENTER, "center_staff"),
    (A.START, Role.MECHANIC, "assigned_mechanic"),
    (A.COMPLETE, Role.MECHANIC, "assigned_mechanic"),
    (A.CANCEL, Role.CUSTOMER, "owner"),
    (A.RESCHEDULE, Role.CUSTOMER, "owner"),
}

AT = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)


def allowed_actions(state: BookingState) -> set[BookingAction]:
    """Actions legal from ``state``, whoever asks (derived from ``transition``)."""
    legal = set()
    for action in A:
        try:
            transition(state, action)
        except IllegalTransition:
            continue
        legal.add(action)
    return legal


def relation_flags(relation: str) -> dict[str, bool]:
    return {
        "is_owner": relation == "owner",
        "is_center_staff": relation == "center_staff",
        "is_assigned_mechanic": relation == "assigned_mechanic",
    }


# --------------------------------------------------------------------------- transitions


@pytest.mark.parametrize(("state", "action"), list(itertools.product(S, A)))
def test_every_state_action_pair_is_the_expected_state_or_illegal(
    state: BookingState, action: BookingAction
) -> None:
    expected = EXPECTED_TRANSITIONS.get((state, action))
    if expected is None:
        with pytest.raises(IllegalTransition) as error:
            transition(state, action)
        assert (error.value.current_state, error.value.action) == (state, action)
    else:
        assert transition(state, action) is expected


def test_transition_matrix_covers_all_six_states_and_six_actions() -> None:
    assert len(list(itertools.product(S, A))) == 36
    assert {state.value for state in S} == {
        "requested",
        "confirmed",
        "in_progress",
        "completed",
        "cancelled",
        "no_show",
    }
    assert {action.value for action in A} == {
        "confirm",
        "start",
        "complete",
        "cancel",
        "no_show",
        "reschedule",
    }


def test_terminal_states_allow_no_action() -> None:
    assert set(TERMINAL_STATES) == {S.COMPLETED, S.CANCELLED, S.NO_SHOW}
    for state in TERMINAL_STATES:
        assert allowed_actions(state) == set()


def test_active_states_are_the_ones_holding_a_bay() -> None:
    assert set(ACTIVE_STATES) == {S.REQUESTED, S.CONFIRMED, S.IN_PROGRESS}
    assert ACTIVE_STATES.isdisjoint(TERMINAL_STATES)
    assert set(ACTIVE_STATES | TERMINAL_STATES) == set(S)


def test_allowed_actions_match_the_transition_matrix() -> None:
    assert allowed_actions(S.REQUESTED) == {A.CONFIRM, A.CANCEL, A.RESCHEDULE}
    assert allowed_actions(S.CONFIRMED) == {A.START, A.CANCEL, A.NO_SHOW, A.RESCHEDULE}
    assert allowed_actions(S.IN_PROGRESS) == {A.COMPLETE}


def test_states_and_actions_accept_their_stored_strings() -> None:
    # Firestore hands back plain strings; they must work as keys without conversion.
    assert transition(BookingState("requested"), BookingAction("confirm")) == "confirmed"
    assert BookingAction("no_show") is A.NO_SHOW


def test_illegal_transition_message_names_action_and_state() -> None:
    with pytest.raises(IllegalTransition, match="cannot complete a booking that is requested"):
        transition(S.REQUESTED, A.COMPLETE)


# --------------------------------------------------------------------------- permissions


@pytest.mark.parametrize(
    ("action", "role", "relation"), list(itertools.product(A, Role, RELATIONS))
)
def test_every_action_role_relation_permission(
    action: BookingAction, role: Role, relation: str
) -> None:
    expected = (action, role, relation) in EXPECTED_PERMISSIONS
    assert actor_may(action, role, **relation_flags(relation)) is expected


@pytest.mark.parametrize(("action", "role"), list(itertools.product(A, Role)))
def test_a_relation_only_counts_for_its_own_role(action: BookingAction, role: Role) -> None:
    # Every flag set at once grants exactly what the role's own relation grants, nothing more.
    own_relation = {
        Role.CUSTOMER: "owner",
        Role.SERVICE_CENTER: "center_staff",
        Role.MECHANIC: "assigned_mechanic",
        Role.ADMIN: "none",
        Role.VIEWER: "none",
    }[role]
    all_flags = {"is_owner": True, "is_center_staff": True, "is_assigned_mechanic": True}
    expected = (action, role, own_relation) in EXPECTED_PERMISSIONS
    assert actor_may(action, role, **all_flags) is expected


@pytest.mark.parametrize("role", ["", "superuser", "ADMIN", "staff"])
def test_unknown_roles_may_do_nothing(role: str) -> None:
    for action in A:
        assert not actor_may(
            action, role, is_owner=True, is_center_staff=True, is_assigned_mechanic=True
        )


def test_roles_accept_their_claim_strings() -> None:
    assert actor_may(
        A.CANCEL, "customer", is_owner=True, is_center_staff=False, is_assigned_mechanic=False
    )


def test_each_action_needs_the_permission_its_route_declares() -> None:
    # Written out from docs/rbac.md, independently of the module's table.
    assert dict(ACTION_PERMISSIONS) == {
        A.CONFIRM: Permission.BOOKINGS_MANAGE,
        A.NO_SHOW: Permission.BOOKINGS_MANAGE,
        A.START: Permission.BOOKINGS_WORK,
        A.COMPLETE: Permission.BOOKINGS_WORK,
        A.CANCEL: Permission.BOOKINGS_CANCEL,
        A.RESCHEDULE: Permission.BOOKINGS_RESCHEDULE,
    }


# --------------------------------------------------------------------------- apply_action


def test_apply_action_returns_the_history_record() -> None:
    record = apply_action(
        S.REQUESTED,
        A.CONFIRM,
        actor_id="staff-7",
        actor_role="service_center",
        is_owner=False,
        is_center_staff=True,
        is_assigned_mechanic=False,
        at=AT,
    )
    assert record == TransitionRecord(
        action=A.CONFIRM,
        from_state=S.REQUESTED,
        to_state=S.CONFIRMED,
        actor_id="staff-7",
        actor_role=Role.SERVICE_CENTER,
        at=AT,
    )
    assert record.to_document() == {
        "action": "confirm",
        "from_state": "requested",
        "to_state": "confirmed",
        "actor_id": "staff-7",
        "actor_role": "service_center",
        "at": AT,
    }


def act(
    state: S,
    action: A,
    *,
    actor_role: Role,
    is_assigned_mechanic: bool = False,
    slot: tuple[datetime, datetime] | None = None,
) -> TransitionRecord:
    """``apply_action`` by someone who neither owns the booking nor staffs its center."""
    return apply_action(
        state,
        action,
        actor_id="actor-1",
        actor_role=actor_role,
        is_owner=False,
        is_center_staff=False,
        is_assigned_mechanic=is_assigned_mechanic,
        at=AT,
        slot=slot,
    )


def as_assigned_mechanic(
    state: S, action: A, slot: tuple[datetime, datetime] | None = None
) -> TransitionRecord:
    return act(state, action, actor_role=Role.MECHANIC, is_assigned_mechanic=True, slot=slot)


def test_apply_action_checks_permission_before_state() -> None:
    # A stranger must get 403, not learn from a 409 that the booking is already completed.
    with pytest.raises(ActionForbidden):
        act(S.COMPLETED, A.CANCEL, actor_role=Role.CUSTOMER)


def test_apply_action_refuses_permitted_actors_in_the_wrong_state() -> None:
    with pytest.raises(IllegalTransition):
        as_assigned_mechanic(S.REQUESTED, A.START)


def test_assigned_mechanic_can_start_and_complete_a_confirmed_booking() -> None:
    started = as_assigned_mechanic(S.CONFIRMED, A.START, slot=(AT, AT + timedelta(hours=1)))
    completed = as_assigned_mechanic(started.to_state, A.COMPLETE)
    assert (started.to_state, completed.to_state) == (S.IN_PROGRESS, S.COMPLETED)


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"actor_id": ""}, "actor_id"), ({"at": datetime(2026, 6, 15, 9, 0)}, "aware")],
)
def test_transition_record_refuses_missing_actor_or_naive_time(
    fields: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {
        "action": A.CANCEL,
        "from_state": S.REQUESTED,
        "to_state": S.CANCELLED,
        "actor_id": "u1",
        "actor_role": Role.CUSTOMER,
        "at": AT,
    }
    values.update(fields)
    with pytest.raises(ValueError, match=message):
        TransitionRecord(**values)  # type: ignore[arg-type]
