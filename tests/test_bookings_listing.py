"""Listing and reading bookings: scope per role, filters, cursor pagination, and BOLA."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from bookings_helpers import (
    BOOKINGS,
    World,
    berlin_start,
    next_weekday,
    world_fixture,  # noqa: F401 - provides the "world" fixture
)


@pytest.fixture
def scene(world: World) -> dict[str, Any]:
    """Two centers; Alice books twice at A and once at B, Bob once at B."""
    a = world.create_center(name="A")
    b = world.create_center(name="B")
    alice, alice_car = world.customer()
    bob, bob_car = world.customer()
    monday = next_weekday(0)
    ids = {
        "a1": world.book(alice, alice_car, a["id"], berlin_start(monday, 9), notes="n").get_json()[
            "id"
        ],
        "a2": world.book(
            alice, alice_car, a["id"], berlin_start(monday + timedelta(days=1), 9)
        ).get_json()["id"],
        "b1": world.book(alice, alice_car, b["id"], berlin_start(monday, 11)).get_json()["id"],
        "b2": world.book(bob, bob_car, b["id"], berlin_start(monday, 13)).get_json()["id"],
    }
    return {"a": a, "b": b, "alice": alice, "bob": bob, "ids": ids, "monday": monday}


def _ids(world: World, user: Any, query: str = "") -> list[str]:
    response = world.client.get(f"{BOOKINGS}{query}", headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return [b["id"] for b in response.get_json()["items"]]


def test_each_role_lists_only_its_scope(world: World, scene: dict[str, Any]) -> None:
    ids = scene["ids"]
    assert set(_ids(world, scene["alice"])) == {ids["a1"], ids["a2"], ids["b1"]}
    assert _ids(world, scene["bob"]) == [ids["b2"]]
    staff_b = world.users.create("service_center", service_center_id=scene["b"]["id"])
    assert set(_ids(world, staff_b)) == {ids["b1"], ids["b2"]}
    assert _ids(world, staff_b, f"?center_id={scene['a']['id']}") == []
    mechanic_a = world.users.create("mechanic", service_center_id=scene["a"]["id"])
    assert set(_ids(world, mechanic_a)) == {ids["a1"], ids["a2"]}
    assert len(_ids(world, world.admin)) == 4


def test_viewer_sees_all_bookings_without_personal_data(
    world: World, scene: dict[str, Any]
) -> None:
    viewer = world.users.create("viewer")
    items = world.client.get(BOOKINGS, headers=viewer.headers).get_json()["items"]
    assert len(items) == 4
    for item in items:
        assert "customer_id" not in item and "notes" not in item
        assert all("actor_id" not in h for h in item["history"])


def test_filters_by_status_center_and_date_range(world: World, scene: dict[str, Any]) -> None:
    ids, alice = scene["ids"], scene["alice"]
    assert world.act(alice, ids["a1"], "cancel").status_code == 200
    assert _ids(world, alice, "?status=cancelled") == [ids["a1"]]
    assert set(_ids(world, alice, f"?center_id={scene['a']['id']}")) == {ids["a1"], ids["a2"]}
    monday = scene["monday"]
    day_range = f"?from={monday}&to={monday + timedelta(days=1)}"
    assert _ids(world, world.admin, day_range) == [ids["a1"], ids["b1"], ids["b2"]]
    assert world.client.get(f"{BOOKINGS}?status=lost", headers=alice.headers).status_code == 422
    backwards = f"?from={monday}&to={monday}"
    assert world.client.get(f"{BOOKINGS}{backwards}", headers=alice.headers).status_code == 422


def test_cursor_pages_through_every_booking_once(world: World, scene: dict[str, Any]) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = world.client.get(f"{BOOKINGS}{query}", headers=world.admin.headers).get_json()
        seen += [b["id"] for b in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(scene["ids"].values())
    bad = world.client.get(f"{BOOKINGS}?cursor=garbage", headers=world.admin.headers)
    assert bad.status_code == 422


def test_other_customers_booking_is_404(world: World, scene: dict[str, Any]) -> None:
    bob, target = scene["bob"], scene["ids"]["a1"]
    assert world.client.get(f"{BOOKINGS}/{target}", headers=bob.headers).status_code == 404
    assert world.act(bob, target, "cancel").status_code == 404
    response = world.client.post(
        f"{BOOKINGS}/{target}/reschedule",
        json={"start": berlin_start(scene["monday"], 15)},
        headers=bob.headers,
    )
    assert response.status_code == 404
    own = world.client.get(f"{BOOKINGS}/{target}", headers=scene["alice"].headers)
    assert own.status_code == 200


def test_other_centers_staff_get_404(world: World, scene: dict[str, Any]) -> None:
    staff_b = world.users.create("service_center", service_center_id=scene["b"]["id"])
    target = scene["ids"]["a1"]
    assert world.client.get(f"{BOOKINGS}/{target}", headers=staff_b.headers).status_code == 404
    assert world.act(staff_b, target, "confirm").status_code == 404
    assert world.act(staff_b, target, "assign", {"mechanic_id": staff_b.id}).status_code == 404


def test_unknown_booking_is_404_and_anonymous_is_401(world: World, scene: dict[str, Any]) -> None:
    assert world.client.get(f"{BOOKINGS}/nope", headers=world.admin.headers).status_code == 404
    assert world.client.get(BOOKINGS).status_code == 401
    assert world.client.post(f"{BOOKINGS}/{scene['ids']['a1']}/cancel").status_code == 401
