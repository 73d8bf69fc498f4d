"""scope_query: the one place list endpoints narrow a Firestore query to the caller's scope."""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth.principal import Principal
from shared.auth.rbac import Role
from shared.auth.scoping import scope_query

# A query these roles' answers never touch: any object will do (it is returned or dropped).
ANY_QUERY: Any = object()

COLLECTION = "scoping_probe"
EVERY_DOCUMENT = {"mine_at_c1", "mine_at_c2", "other_at_c1", "other_at_c3"}


def _principal(role: Role, center: str | None = None) -> Principal:
    return Principal(user_id="u1", role=role, session_id="s1", service_center_id=center)


@pytest.fixture
def probe(db: Any) -> Any:
    """A collection with one document per owner/center combination the rules tell apart."""
    collection = db.collection(COLLECTION)
    documents = {
        "mine_at_c1": {"owner_id": "u1", "center_ids": ["c1"], "center_id": "c1"},
        "mine_at_c2": {"owner_id": "u1", "center_ids": ["c2", "c3"], "center_id": "c2"},
        "other_at_c1": {"owner_id": "u2", "center_ids": ["c3", "c1"], "center_id": "c1"},
        "other_at_c3": {"owner_id": "u2", "center_ids": ["c3"], "center_id": "c3"},
    }
    for doc_id, data in documents.items():
        collection.document(doc_id).set(data)
    return collection


def _ids(query: Any) -> set[str]:
    return {snapshot.id for snapshot in query.stream()}


@pytest.mark.parametrize(
    ("principal", "center_is_array", "expected"),
    [
        (_principal(Role.CUSTOMER), True, {"mine_at_c1", "mine_at_c2"}),
        (_principal(Role.SERVICE_CENTER, "c1"), True, {"mine_at_c1", "other_at_c1"}),
        (_principal(Role.MECHANIC, "c3"), True, {"mine_at_c2", "other_at_c1", "other_at_c3"}),
        (_principal(Role.SERVICE_CENTER, "c1"), False, {"mine_at_c1", "other_at_c1"}),
        (_principal(Role.MECHANIC, "c3"), False, {"other_at_c3"}),
        (_principal(Role.ADMIN), True, EVERY_DOCUMENT),
        (_principal(Role.VIEWER), False, EVERY_DOCUMENT),
    ],
)
def test_scope_query_returns_only_what_the_role_may_list(
    probe: Any, principal: Principal, center_is_array: bool, expected: set[str]
) -> None:
    center_field = "center_ids" if center_is_array else "center_id"
    scoped = scope_query(
        probe,
        principal,
        owner_field="owner_id",
        center_field=center_field,
        center_is_array=center_is_array,
    )
    assert scoped is not None
    assert _ids(scoped) == expected


@pytest.mark.parametrize("role", [Role.SERVICE_CENTER, Role.MECHANIC])
def test_staff_without_a_center_see_nothing(role: Role) -> None:
    # None is decided before any query is built, so no collection is needed.
    scoped = scope_query(
        ANY_QUERY,
        _principal(role, center=None),
        owner_field="owner_id",
        center_field="center_ids",
        center_is_array=True,
    )
    assert scoped is None


def test_admin_and_viewer_get_the_query_unchanged() -> None:
    query = ANY_QUERY
    for role in (Role.ADMIN, Role.VIEWER):
        scoped = scope_query(
            query,
            _principal(role),
            owner_field="owner_id",
            center_field="center_id",
            center_is_array=False,
        )
        assert scoped is query
