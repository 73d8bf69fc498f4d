"""The audit trail an admin reads (``GET /api/auth/audit``): the entries the platform wrote,
newest first, filtered by subject, actor, event and time, cursor-paginated, with the people
they mention — and nobody but an admin may read it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from auth_test_helpers import registered

AUDIT = "/api/auth/audit"


def _trail(call: Any, admin: Any, **query: Any) -> Any:
    reply = call("auth").get(AUDIT, query_string=query, headers=admin.headers)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def _entry(db: Any, event: str, at: datetime, **fields: Any) -> None:
    """An entry as shared.audit writes it."""
    document = {
        "event": event,
        "actor_id": None,
        "subject_id": None,
        "request_id": "r",
        "client_request_id": None,
        "ip": "203.0.113.9",
        "at": at,
        "details": {},
        **fields,
    }
    db.collection("audit_log").add(document)


def test_a_role_change_appears_in_the_subjects_trail_with_who_did_it(
    call: Any, users: Any, db: Any
) -> None:
    client = call("auth")
    admin = users.create("admin")
    db.collection("users").document(admin.id).update({"full_name": "Root Admin"})
    target = registered(client)["user"]
    changed = client.patch(
        f"/api/auth/users/{target['id']}", json={"role": "viewer"}, headers=admin.headers
    )
    assert changed.status_code == 200

    trail = _trail(call, admin, subject_id=target["id"])
    events = [e["event"] for e in trail["items"]]
    # Newest first: the role change, the sign-in that confirmation made, the confirmation.
    assert events[:2] == ["role_changed", "login_succeeded"]
    assert events[-1] == "registered"
    change = trail["items"][0]
    assert change["actor_id"] == admin.id and change["subject_id"] == target["id"]
    assert change["details"] == {"from": "customer", "to": "viewer"}
    assert change["request_id"] and change["ip"]
    assert datetime.fromisoformat(change["at"]).tzinfo is not None
    assert trail["people"][admin.id]["full_name"] == "Root Admin"
    assert trail["people"][target["id"]]["email"] == target["email"]
    assert set(trail["people"][admin.id]) == {"email", "full_name"}


def test_filters_by_actor_event_and_time_combine(call: Any, users: Any, db: Any) -> None:
    admin = users.create("admin")
    base = datetime(2026, 3, 1, 12, tzinfo=UTC)
    for hour in range(6):
        _entry(
            db,
            "role_changed" if hour % 2 else "login_failed",
            base + timedelta(hours=hour),
            actor_id="a1" if hour < 3 else "a2",
            subject_id="s1",
        )
    _entry(db, "role_changed", base, actor_id="a1", subject_id="s2")

    def hours(**query: Any) -> list[int]:
        items = _trail(call, admin, **query)["items"]
        return [
            int((datetime.fromisoformat(e["at"]) - base).total_seconds() // 3600) for e in items
        ]

    assert hours(subject_id="s1") == [5, 4, 3, 2, 1, 0]
    assert hours(subject_id="s1", event="role_changed") == [5, 3, 1]
    assert hours(subject_id="s1", actor_id="a1") == [2, 1, 0]
    assert hours(subject_id="s1", actor_id="a2", event="role_changed") == [5, 3]
    assert hours(actor_id="a1", event="role_changed") == [1, 0]
    window = {"from": (base + timedelta(hours=1)).isoformat(), "to": "2026-03-01T16:00:00+02:00"}
    assert hours(subject_id="s1", **window) == [1]  # 16:00+02:00 is 14:00 UTC, exclusive
    assert hours(**{"from": (base + timedelta(hours=4)).isoformat()}) == [5, 4]
    assert hours(event="lockout") == []


def test_the_cursor_walks_every_entry_once_newest_first(call: Any, users: Any, db: Any) -> None:
    admin = users.create("admin")
    base = datetime(2026, 3, 1, tzinfo=UTC)
    for minute in range(7):
        _entry(db, "login_failed", base + timedelta(minutes=minute // 2), subject_id="s")
    seen: list[str] = []
    stamps: list[str] = []
    cursor: str | None = None
    while True:
        page = _trail(
            call, admin, subject_id="s", limit=3, **({"cursor": cursor} if cursor else {})
        )
        seen += [e["id"] for e in page["items"]]
        stamps += [e["at"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7
    assert stamps == sorted(stamps, reverse=True)


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-03-01T12:00:00"},  # no offset: which instant?
        {"from": "yesterday"},
        {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
        {"from": "2026-03-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
        {"event": "Role Changed"},
        {"subject_id": "../users"},
        {"actor_id": "x" * 200},
        {"limit": "0"},
        {"cursor": "not-a-cursor"},
    ],
)
def test_bad_filters_are_422_in_the_envelope(call: Any, users: Any, query: dict[str, str]) -> None:
    admin = users.create("admin")
    reply = call("auth").get(AUDIT, query_string=query, headers=admin.headers)
    assert reply.status_code == 422, reply.get_json()
    assert set(reply.get_json()["error"]) == {"code", "message", "request_id", "details"}


@pytest.mark.parametrize("role", ["customer", "service_center", "mechanic", "viewer", None])
def test_only_admins_read_the_audit_trail(call: Any, users: Any, role: str | None) -> None:
    headers = users.create(role, service_center_id="c1").headers if role else {}
    reply = call("auth").get(AUDIT, headers=headers)
    assert reply.status_code == (401 if role is None else 403)
