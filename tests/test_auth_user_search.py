"""The admin search for users by email or name (``GET /api/auth/users?q=``): the keys the
auth function stores (shared/user_search.py), the query with its filters and cursor, and the
places that must keep the keys current (registration, profile changes)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from auth_test_helpers import bearer, new_email, registered

from shared.user_search import (
    MAX_PREFIX_CHARS,
    SEARCH_FIELD,
    matches,
    normalise_name,
    query_terms,
    search_prefixes,
)

USERS = "/api/auth/users"


# --------------------------------------------------------------------------- the pure rule


def test_a_name_is_found_from_any_of_its_words_ignoring_case_accents_and_punctuation() -> None:
    keys = set(search_prefixes("ada.k@example.com", "Ada  King-Lovelace"))
    assert {"a", "ada", "ada king lovelace", "king", "king lovelace", "lovelace"} <= keys
    assert {"ada.k@", "ada.k@example.com"} <= keys
    assert "ada " not in keys  # nobody searches with a trailing space
    assert normalise_name("  Zoë  O'Brien ") == "zoe o brien"
    assert "obrien" not in search_prefixes(None, "Zoë O'Brien")
    assert "o brien" in search_prefixes(None, "Zoë O'Brien")
    assert matches("ZOE", "x@y.z", "Zoë O'Brien") and matches("brie", "x@y.z", "Zoë O'Brien")
    assert not matches("oe", "x@y.z", "Zoë O'Brien")  # from the start of a word only


def test_the_stored_keys_are_bounded_and_a_longer_search_is_checked_in_full() -> None:
    long_email = "a" * 60 + "@example.com"
    keys = search_prefixes(long_email, "One Two Three Four Five Six Seven Eight")
    assert max(map(len, keys)) == MAX_PREFIX_CHARS
    assert "seven eight" not in keys  # only the first six words start a run
    assert len(keys) <= MAX_PREFIX_CHARS * 7
    # The search asks Firestore for its first 32 characters; the rest is checked in memory.
    assert query_terms("a" * 50) == ["a" * MAX_PREFIX_CHARS]
    assert matches("a" * 50, long_email, None)
    assert not matches("a" * 61, long_email, None)


def test_a_search_has_an_email_reading_and_a_name_reading() -> None:
    assert query_terms("Ada.K@Example") == ["ada k example", "ada.k@example"]
    assert query_terms("Lovelace") == ["lovelace"]
    assert query_terms("   ") == []


# --------------------------------------------------------------------------- the API


def _account(email: str, full_name: str, role: str = "customer", **extra: Any) -> str:
    from identity import accounts

    user = accounts.create_account(
        email=email,
        password="a-long-test-password-1",
        full_name=full_name,
        role=role,
        cost=4,
        **extra,
    )
    return str(user["id"])


def _search(call: Any, admin: Any, **query: Any) -> Any:
    reply = call("auth").get(USERS, query_string=query, headers=admin.headers)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def _ids(reply: Any) -> list[str]:
    return [user["id"] for user in reply["items"]]


@pytest.fixture
def people(db: Any) -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    return {
        "ada": _account(f"ada.{tag}@example.test", "Ada King Lovelace"),
        "grace": _account(
            f"grace.{tag}@navy.test", "Grace Hopper", role="mechanic", service_center_id="c1"
        ),
        "alan": _account(f"turing.{tag}@computing-machinery.test", "Alan Mathison Turing"),
        "zoe": _account(f"zoe.{tag}@example.test", "Zoë O'Brien", role="viewer"),
        "tag": tag,
    }


def test_admin_finds_users_by_email_start_or_any_name_word(
    call: Any, users: Any, people: dict[str, str]
) -> None:
    admin = users.create("admin")
    assert _ids(_search(call, admin, q="Lovelace")) == [people["ada"]]
    assert _ids(_search(call, admin, q="king love")) == [people["ada"]]
    assert _ids(_search(call, admin, q=f"TURING.{people['tag']}")) == [people["alan"]]
    assert _ids(_search(call, admin, q="zoe o'b")) == [people["zoe"]]
    assert _ids(_search(call, admin, q="ZOË")) == [people["zoe"]]
    # Newest first, like the unfiltered list: Alan and Ada both match "a".
    both = _ids(_search(call, admin, q="a", role="customer"))
    assert both.index(people["alan"]) < both.index(people["ada"])
    assert _search(call, admin, q="hopperx")["items"] == []
    assert _search(call, admin, q="ovelace")["items"] == []  # a word's start, not its middle


def test_the_search_combines_with_role_and_status_and_a_long_search_is_exact(
    call: Any, users: Any, db: Any, people: dict[str, str]
) -> None:
    admin = users.create("admin")
    assert _ids(_search(call, admin, q="grace", role="mechanic")) == [people["grace"]]
    assert _search(call, admin, q="grace", role="customer")["items"] == []
    db.collection("users").document(people["grace"]).update({"is_active": False})
    assert _ids(_search(call, admin, q="grace", active="false")) == [people["grace"]]
    assert _search(call, admin, q="grace", active="true")["items"] == []
    assert _ids(_search(call, admin, q="grace", role="mechanic", active="false")) == [
        people["grace"]
    ]

    tag = people["tag"]
    # Only the start of an address counts: the tag sits after "ada.", "grace.", …
    assert _search(call, admin, q=tag)["items"] == []
    long_query = f"turing.{tag}@computing-machinery.test"
    assert len(long_query) > MAX_PREFIX_CHARS
    assert _ids(_search(call, admin, q=long_query)) == [people["alan"]]
    assert _search(call, admin, q=long_query[:-1] + "x")["items"] == []


def test_pages_of_a_search_hold_every_match_once(call: Any, users: Any, db: Any) -> None:
    admin = users.create("admin")
    family = uuid.uuid4().hex[:8]
    made = {_account(new_email(), f"Member{n} {family}") for n in range(5)}
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = _search(call, admin, q=family, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += _ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == len(made)


def test_search_keys_follow_registration_and_profile_changes(
    call: Any, users: Any, db: Any
) -> None:
    client = call("auth")
    admin = users.create("admin")
    signed_in = registered(client)
    user_id = signed_in["user"]["id"]
    assert _ids(_search(call, admin, q="ada driver")).count(user_id) == 1
    changed = client.patch(
        "/api/auth/me",
        json={"full_name": "Mary Somerville"},
        headers=bearer(signed_in["access_token"]),
    )
    assert changed.status_code == 200 and changed.get_json()["full_name"] == "Mary Somerville"
    assert user_id in _ids(_search(call, admin, q="somerville"))
    assert user_id not in _ids(_search(call, admin, q="ada driver"))
    stored = db.collection("users").document(user_id).get().to_dict()
    assert stored[SEARCH_FIELD] == search_prefixes(signed_in["email"], "Mary Somerville")


def test_the_keys_never_leave_the_server(call: Any, users: Any, people: dict[str, str]) -> None:
    admin = users.create("admin")
    for user in _search(call, admin, q="lovelace")["items"]:
        assert SEARCH_FIELD not in user
    one = call("auth").get(f"{USERS}/{people['ada']}", headers=admin.headers).get_json()
    assert SEARCH_FIELD not in one


@pytest.mark.parametrize("q", ["", "   ", "x" * 255])
def test_a_blank_or_overlong_search_is_422(call: Any, users: Any, q: str) -> None:
    admin = users.create("admin")
    reply = call("auth").get(USERS, query_string={"q": q}, headers=admin.headers)
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["error"]["details"][0]["field"] == "q"


@pytest.mark.parametrize("role", ["customer", "service_center", "mechanic", "viewer"])
def test_only_admins_search_users(call: Any, users: Any, role: str) -> None:
    caller = users.create(role, service_center_id="c1")
    reply = call("auth").get(USERS, query_string={"q": "a"}, headers=caller.headers)
    assert reply.status_code == 403
