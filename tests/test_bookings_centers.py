"""Service centers: CRUD, validation, and availability (including a daylight-saving day)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from bookings_helpers import (
    World,
    center_body,
    world_fixture,  # noqa: F401 - provides the "world" fixture
)

CENTERS = "/api/bookings/centers"


def test_admin_creates_reads_lists_and_patches_a_center(world: World) -> None:
    created = world.create_center(location={"lat": 52.52, "lng": 13.40})
    assert created["bays"] == 3
    assert created["opening_hours"]["mon"] == [["08:00", "17:00"]]
    customer = world.users.create("customer")

    fetched = world.client.get(f"{CENTERS}/{created['id']}", headers=customer.headers)
    assert fetched.status_code == 200
    assert fetched.get_json()["name"] == "Werkstatt Mitte"

    patched = world.client.patch(
        f"{CENTERS}/{created['id']}", json={"bays": 5, "name": "Neu"}, headers=world.admin.headers
    )
    assert patched.status_code == 200
    assert patched.get_json()["bays"] == 5
    assert patched.get_json()["services"] == created["services"]

    listing = world.client.get(CENTERS, headers=customer.headers).get_json()
    assert [c["name"] for c in listing["items"]] == ["Neu"]


def test_centers_list_pages_with_a_cursor(world: World) -> None:
    for name in ("A", "B", "C"):
        world.create_center(name=name)
    customer = world.users.create("customer")
    first = world.client.get(f"{CENTERS}?limit=2", headers=customer.headers).get_json()
    assert [c["name"] for c in first["items"]] == ["A", "B"]
    second = world.client.get(
        f"{CENTERS}?limit=2&cursor={first['next_cursor']}", headers=customer.headers
    ).get_json()
    assert [c["name"] for c in second["items"]] == ["C"]
    assert second["next_cursor"] is None


@pytest.mark.parametrize("role", ["customer", "service_center", "mechanic", "viewer"])
def test_only_admin_may_create_or_patch_centers(world: World, role: str) -> None:
    center = world.create_center()
    user = world.users.create(role, service_center_id=center["id"])
    assert world.client.post(CENTERS, json=center_body(), headers=user.headers).status_code == 403
    response = world.client.patch(
        f"{CENTERS}/{center['id']}", json={"bays": 9}, headers=user.headers
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "localtime"}, "time_zone"),
        ({"bays": 0}, "bays"),
        ({"bays": "3"}, "bays"),
        ({"opening_hours": {"mon": [["17:00", "08:00"]]}}, "opening_hours.mon"),
        ({"opening_hours": {"mon": [["8am", "17:00"]]}}, "opening_hours.mon"),
        ({"opening_hours": {"mon": [["08:00", "12:00"], ["11:00", "15:00"]]}}, "opening_hours.mon"),
        ({"opening_hours": {"someday": [["08:00", "12:00"]]}}, "opening_hours.someday"),
        ({"services": []}, "services"),
        ({"services": [{"code": "warp_drive", "name": "x", "duration_minutes": 60}]}, "services"),
        ({"services": [{"code": "oil_change", "name": "x", "duration_minutes": 5}]}, "services"),
        ({"color": "red"}, "color"),
    ],
)
def test_invalid_center_is_422_naming_the_field(
    world: World, overrides: dict[str, Any], field: str
) -> None:
    response = world.client.post(
        CENTERS, json=center_body(**overrides), headers=world.admin.headers
    )
    assert response.status_code == 422, response.get_json()
    fields = [d["field"] for d in response.get_json()["error"]["details"]]
    assert any(f.startswith(field) for f in fields), fields


def test_patch_revalidates_the_merged_center(world: World) -> None:
    center = world.create_center()
    response = world.client.patch(
        f"{CENTERS}/{center['id']}", json={"time_zone": "Nowhere/Else"}, headers=world.admin.headers
    )
    assert response.status_code == 422
    unchanged = world.client.get(f"{CENTERS}/{center['id']}", headers=world.admin.headers)
    assert unchanged.get_json()["time_zone"] == "Europe/Berlin"


def test_unknown_center_is_404(world: World) -> None:
    assert world.client.get(f"{CENTERS}/nope", headers=world.admin.headers).status_code == 404


def test_availability_on_berlin_spring_forward_day_has_real_offsets_and_counts(
    world: World, pin_clock: Any
) -> None:
    # 2026-03-29: Berlin jumps from 02:00 CET (+01:00) to 03:00 CEST (+02:00).
    pin_clock(datetime(2026, 3, 20, tzinfo=UTC))
    center = world.create_center(opening_hours={"sun": [["01:00", "05:00"]]}, bays=3)
    user, vehicle = world.customer()
    # A 60-minute job from 01:30+01:00 lasts one real hour: until 03:30+02:00.
    booked = world.book(user, vehicle, center["id"], "2026-03-29T01:30:00+01:00")
    assert booked.status_code == 201, booked.get_json()
    assert booked.get_json()["end"] == "2026-03-29T03:30:00+02:00"

    response = world.client.get(
        f"{CENTERS}/{center['id']}/availability?date=2026-03-29&service=tyre_rotation",
        headers=user.headers,
    )
    assert response.status_code == 200
    slots = response.get_json()["slots"]
    assert [(s["start"], s["end"], s["remaining"]) for s in slots] == [
        ("2026-03-29T01:00:00+01:00", "2026-03-29T01:30:00+01:00", 3),
        ("2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00", 2),
        ("2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00", 2),
        ("2026-03-29T03:30:00+02:00", "2026-03-29T04:00:00+02:00", 3),
        ("2026-03-29T04:00:00+02:00", "2026-03-29T04:30:00+02:00", 3),
        ("2026-03-29T04:30:00+02:00", "2026-03-29T05:00:00+02:00", 3),
    ]
    # "02:30+01:00" names a real instant (01:30 UTC) even though Berlin's wall clock never
    # shows 02:30 that night: it is the 03:30+02:00 slot and is answered in local time.
    other, other_vehicle = world.customer()
    same_instant = world.book(
        other, other_vehicle, center["id"], "2026-03-29T02:30:00+01:00", "tyre_rotation"
    )
    assert same_instant.status_code == 201
    assert same_instant.get_json()["start"] == "2026-03-29T03:30:00+02:00"


def test_availability_rejects_bad_date_and_unknown_service(world: World) -> None:
    center = world.create_center()
    base = f"{CENTERS}/{center['id']}/availability"
    headers = world.admin.headers
    bad_date = world.client.get(f"{base}?date=2026-02-30&service=oil_change", headers=headers)
    assert bad_date.status_code == 422
    unknown = world.client.get(f"{base}?date=2026-12-01&service=warp", headers=headers)
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["code"] == "unknown_service"
    missing = world.client.get(f"{base}?service=oil_change", headers=headers)
    assert missing.status_code == 422


def test_closed_day_has_no_slots(world: World) -> None:
    center = world.create_center()
    # A Sunday within the horizon: the default center is open Monday to Friday only.
    from bookings_helpers import next_weekday

    sunday = next_weekday(6)
    response = world.client.get(
        f"{CENTERS}/{center['id']}/availability?date={sunday}&service=oil_change",
        headers=world.admin.headers,
    )
    assert response.get_json()["slots"] == []
