"""What a center's staff see of their own center: its team by name, the suggestions from
alerts on the vehicles it may see now, and its bookings of one local day (DST-correct)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from bookings_helpers import (
    BOOKINGS,
    World,
    berlin_start,
    next_weekday,
    world_fixture,  # noqa: F401 - provides the "world" fixture
)

ALL_WEEK = {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _get(world: World, user: Any, path: str) -> Any:
    return world.client.get(f"{BOOKINGS}{path}", headers=user.headers)


# --------------------------------------------------------------------------- the team


def _user(world: World, user_id: str, **fields: Any) -> None:
    world.db.collection("users").document(user_id).set(
        {"email": f"{user_id}@example.test", "phone": "+49 30 1234567", **fields}
    )


@pytest.fixture
def team_center(world: World) -> dict[str, Any]:
    center = world.create_center(mechanic_ids=["m-bea", "m-off", "m-left", "m-gone", "m-al"])
    other = world.create_center(name="Elsewhere")
    cid = center["id"]
    _user(world, "m-bea", full_name="Bea Brake", role="mechanic", service_center_id=cid,
          is_active=True)  # fmt: skip
    _user(world, "m-al", full_name="Al Axle", role="mechanic", service_center_id=cid,
          is_active=True)  # fmt: skip
    _user(world, "m-off", full_name="Olga Off", role="mechanic", service_center_id=cid,
          is_active=False)  # fmt: skip
    # Left the workshop: a customer now, and a mechanic of another center.
    _user(world, "m-left", full_name="Lee Left", role="customer", service_center_id=None,
          is_active=True)  # fmt: skip
    return {"center": center, "other": other}


def test_staff_see_their_mechanics_by_name_and_nothing_else(
    world: World, team_center: dict[str, Any]
) -> None:
    center = team_center["center"]
    for role in ("service_center", "mechanic"):
        staff = world.users.create(role, service_center_id=center["id"])
        reply = _get(world, staff, f"/centers/{center['id']}/team")
        assert reply.status_code == 200, reply.get_json()
        body = reply.get_json()
        assert body["center_id"] == center["id"]
        assert body["items"] == [
            {"id": "m-al", "full_name": "Al Axle", "role": "mechanic", "active": True},
            {"id": "m-bea", "full_name": "Bea Brake", "role": "mechanic", "active": True},
            {"id": "m-off", "full_name": "Olga Off", "role": "mechanic", "active": False},
            # A former colleague and a missing account keep their place, without a name.
            {"id": "m-gone", "full_name": None, "role": None, "active": False},
            {"id": "m-left", "full_name": None, "role": None, "active": False},
        ]
    admin_view = _get(world, world.admin, f"/centers/{center['id']}/team").get_json()
    assert [m["id"] for m in admin_view["items"]][:2] == ["m-al", "m-bea"]


def test_another_centers_staff_get_404_and_other_roles_403(
    world: World, team_center: dict[str, Any]
) -> None:
    center, other = team_center["center"], team_center["other"]
    for role in ("service_center", "mechanic"):
        outsider = world.users.create(role, service_center_id=other["id"])
        assert _get(world, outsider, f"/centers/{center['id']}/team").status_code == 404
        assert _get(world, outsider, f"/centers/{other['id']}/team").get_json()["items"] == []
    for role in ("customer", "viewer"):
        caller = world.users.create(role)
        assert _get(world, caller, f"/centers/{center['id']}/team").status_code == 403
    assert _get(world, world.admin, "/centers/no-such-center/team").status_code == 404


def test_staff_assign_a_mechanic_from_the_team(world: World, team_center: dict[str, Any]) -> None:
    center = team_center["center"]
    staff = world.users.create("service_center", service_center_id=center["id"])
    user, vehicle = world.customer()
    booking = world.book(user, vehicle, center["id"], berlin_start(next_weekday(1), 9))
    team = _get(world, staff, f"/centers/{center['id']}/team").get_json()["items"]
    chosen = next(m for m in team if m["full_name"] == "Bea Brake")
    assigned = world.act(staff, booking.get_json()["id"], "assign", {"mechanic_id": chosen["id"]})
    assert assigned.status_code == 200 and assigned.get_json()["mechanic_id"] == "m-bea"


# --------------------------------------------------------------------------- suggestions


def _alert(world: World, vehicle: str, owner: str, code: str, **fields: Any) -> str:
    alert_id = f"{vehicle}_{code}"
    world.db.collection("alerts").document(alert_id).set(
        {
            "vehicle_id": vehicle,
            "owner_id": owner,
            "status": "open",
            "severity": "critical",
            "service_code": code,
            "title": f"{code} needed",
            "rule_id": code,
            "opened_at": datetime.now(UTC),
            "center_ids": [],
            "center_access": {},
            **fields,
        }
    )
    return alert_id


@pytest.fixture
def linked(world: World) -> dict[str, Any]:
    """A vehicle with two open alerts, booked at center A for one of the two services."""
    a = world.create_center(name="A", opening_hours=ALL_WEEK)
    b = world.create_center(name="B", opening_hours=ALL_WEEK)
    user, vehicle = world.customer()
    world.db.collection("vehicles").document(vehicle).update({"plate": "B-XY 1"})
    brakes = _alert(world, vehicle, user.id, "brake_inspection")
    _alert(world, vehicle, user.id, "oil_change", severity="high")
    booking = world.book(user, vehicle, a["id"], berlin_start(next_weekday(2), 10))
    assert booking.status_code == 201, booking.get_json()
    return {
        "a": a,
        "b": b,
        "user": user,
        "vehicle": vehicle,
        "brakes": brakes,
        "booking": booking.get_json()["id"],
    }


def test_center_staff_see_what_their_linked_vehicles_need_with_their_own_slots(
    world: World, linked: dict[str, Any]
) -> None:
    a = linked["a"]
    staff = world.users.create("service_center", service_center_id=a["id"])
    reply = _get(world, staff, f"/centers/{a['id']}/suggestions")
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert body["center_id"] == a["id"] and body["time_zone"] == "Europe/Berlin"
    # The oil change is booked already; the brake inspection is not.
    [need] = body["suggestions"]
    assert need["vehicle_id"] == linked["vehicle"]
    assert need["vehicle"] == {"make": "VW", "model": "Golf", "year": 2019, "plate": "B-XY 1"}
    assert need["service_code"] == "brake_inspection" and need["offered"] is True
    assert need["reason"]["alert_id"] == linked["brakes"]
    assert need["reason"]["severity"] == "critical"
    assert 1 <= len(need["slots"]) <= 3
    assert all(s["remaining"] > 0 for s in need["slots"])
    # Center B has no relation to the vehicle: nothing to suggest there.
    staff_b = world.users.create("service_center", service_center_id=linked["b"]["id"])
    assert (
        _get(world, staff_b, f"/centers/{linked['b']['id']}/suggestions").get_json()["suggestions"]
        == []
    )


def test_suggestions_stop_when_the_centers_access_ends(
    world: World, linked: dict[str, Any]
) -> None:
    a = linked["a"]
    staff = world.users.create("service_center", service_center_id=a["id"])
    path = f"/centers/{a['id']}/suggestions"
    assert len(_get(world, staff, path).get_json()["suggestions"]) == 1
    # The vehicle (the authority) says the access has expired; the alert's copy lags.
    past = datetime.now(UTC) - timedelta(minutes=1)
    world.db.collection("vehicles").document(linked["vehicle"]).update(
        {"center_access": {a["id"]: past}}
    )
    assert _get(world, staff, path).get_json()["suggestions"] == []
    # Cancelling the only booking ends the access everywhere at once.
    world.db.collection("vehicles").document(linked["vehicle"]).update(
        {"center_access": {a["id"]: datetime.now(UTC) + timedelta(days=3)}}
    )
    assert world.act(staff, linked["booking"], "cancel").status_code == 200
    assert _get(world, staff, path).get_json()["suggestions"] == []


def test_suggestions_scope_for_every_role(world: World, linked: dict[str, Any]) -> None:
    a, b = linked["a"], linked["b"]
    path = f"/centers/{a['id']}/suggestions"
    assert len(_get(world, world.admin, path).get_json()["suggestions"]) == 1
    other_staff = world.users.create("service_center", service_center_id=b["id"])
    assert _get(world, other_staff, path).status_code == 404
    for role in ("customer", "mechanic", "viewer"):
        caller = world.users.create(role, service_center_id=a["id"])
        assert _get(world, caller, path).status_code == 403, role
    assert _get(world, world.admin, "/centers/nope/suggestions").status_code == 404


# --------------------------------------------------------------------------- the local day


def _stored_booking(world: World, center: dict[str, Any], start: datetime) -> str:
    """A booking document as the store writes it, at an instant a test chooses."""
    _, document = world.db.collection("bookings").add(
        {
            "customer_id": "someone",
            "vehicle_id": "v",
            "center_id": center["id"],
            "center_name": center["name"],
            "service_type": "oil_change",
            "service_name": "Oil change",
            "duration_minutes": 30,
            "start": start,
            "end": start + timedelta(minutes=30),
            "time_zone": center["time_zone"],
            "slot_keys": [],
            "status": "confirmed",
            "mechanic_id": None,
            "history": [],
        }
    )
    return str(document.id)


def _listed(world: World, user: Any, query: str) -> list[str]:
    reply = _get(world, user, query)
    assert reply.status_code == 200, reply.get_json()
    return [b["id"] for b in reply.get_json()["items"]]


def test_the_local_day_is_the_centers_own_and_dst_correct(world: World) -> None:
    berlin = world.create_center(name="Berlin")
    # 2026-03-29: clocks in Berlin go from 02:00 to 03:00, so the day is 23 hours long,
    # 2026-03-28T23:00Z to 2026-03-29T22:00Z.
    early = _stored_booking(world, berlin, datetime(2026, 3, 28, 23, 30, tzinfo=UTC))  # 00:30
    late = _stored_booking(world, berlin, datetime(2026, 3, 29, 21, 30, tzinfo=UTC))  # 23:30
    next_day = _stored_booking(world, berlin, datetime(2026, 3, 29, 22, 0, tzinfo=UTC))  # 00:00
    before = _stored_booking(world, berlin, datetime(2026, 3, 28, 22, 59, tzinfo=UTC))  # 23:59
    day = f"?center_id={berlin['id']}&date=2026-03-29"
    assert _listed(world, world.admin, day) == [early, late]
    # The UTC day is another set: what the day view had to correct for before.
    utc_day = "?from=2026-03-29&to=2026-03-30"
    assert _listed(world, world.admin, utc_day) == [late, next_day]
    assert _listed(world, world.admin, f"?center_id={berlin['id']}&date=2026-03-28") == [before]
    # Autumn: 2026-10-25 has 25 hours (22:00Z the day before to 23:00Z).
    first = _stored_booking(world, berlin, datetime(2026, 10, 24, 22, 0, tzinfo=UTC))
    last = _stored_booking(world, berlin, datetime(2026, 10, 25, 22, 59, tzinfo=UTC))
    _stored_booking(world, berlin, datetime(2026, 10, 25, 23, 0, tzinfo=UTC))
    autumn = f"?center_id={berlin['id']}&date=2026-10-25"
    assert _listed(world, world.admin, autumn) == [first, last]


def test_a_center_west_of_utc_gets_its_evening_not_the_next_utc_day(world: World) -> None:
    new_york = world.create_center(name="NYC", time_zone="America/New_York")
    evening = _stored_booking(world, new_york, datetime(2026, 6, 3, 0, 30, tzinfo=UTC))
    assert _listed(world, world.admin, f"?center_id={new_york['id']}&date=2026-06-02") == [evening]
    assert _listed(world, world.admin, f"?center_id={new_york['id']}&date=2026-06-03") == []


def test_staff_get_their_own_centers_day_and_nothing_of_another(world: World) -> None:
    mine = world.create_center(name="Mine")
    theirs = world.create_center(name="Theirs")
    at = datetime(2026, 5, 4, 8, tzinfo=UTC)
    own = _stored_booking(world, mine, at)
    _stored_booking(world, theirs, at)
    for role in ("service_center", "mechanic"):
        staff = world.users.create(role, service_center_id=mine["id"])
        assert _listed(world, staff, "?date=2026-05-04") == [own]
        assert _listed(world, staff, f"?date=2026-05-04&center_id={mine['id']}") == [own]
        assert _listed(world, staff, f"?date=2026-05-04&center_id={theirs['id']}") == []
    customer = world.users.create("customer")
    assert _listed(world, customer, f"?date=2026-05-04&center_id={mine['id']}") == []


def test_the_local_day_filter_works_with_status_and_pages(world: World) -> None:
    center = world.create_center()
    starts = [datetime(2026, 5, 4, 7, tzinfo=UTC) + timedelta(hours=h) for h in range(5)]
    made = [_stored_booking(world, center, s) for s in starts]
    seen: list[str] = []
    cursor = ""
    while True:
        query = f"?center_id={center['id']}&date=2026-05-04&status=confirmed&limit=2{cursor}"
        page = _get(world, world.admin, query).get_json()
        seen += [b["id"] for b in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == made


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("?date=2026-05-04", 422, "center_required"),
        ("?date=2026-05-04&center_id={c}&from=2026-05-04", 422, "validation_failed"),
        ("?date=2026-05-04&center_id={c}&to=2026-05-05", 422, "validation_failed"),
        ("?date=2026-02-30&center_id={c}", 422, "validation_failed"),
        ("?date=04.05.2026&center_id={c}", 422, "validation_failed"),
        ("?date=2026-05-04&center_id=unknown-center", 404, "not_found"),
    ],
)
def test_a_bad_local_day_is_a_clear_error(world: World, query: str, status: int, code: str) -> None:
    center = world.create_center()
    reply = _get(world, world.admin, query.format(c=center["id"]))
    assert reply.status_code == status, reply.get_json()
    assert reply.get_json()["error"]["code"] == code


def test_local_day_bounds_follow_the_zones_rules() -> None:
    from booking.calendar_models import CenterCalendar, OpeningHours
    from booking.scheduling import local_day_bounds

    def bounds(zone: str, day: date) -> tuple[datetime, datetime]:
        calendar = CenterCalendar(time_zone=zone, opening_hours=OpeningHours(), bays=1)
        return local_day_bounds(calendar, day)

    start, end = bounds("Europe/Berlin", date(2026, 3, 29))
    assert (start, end - start) == (datetime(2026, 3, 28, 23, tzinfo=UTC), timedelta(hours=23))
    start, end = bounds("Europe/Berlin", date(2026, 10, 25))
    assert end - start == timedelta(hours=25)
    # Chile moves its clocks at midnight: 2026-09-06 00:00 never happens there; the day
    # starts when the clocks jump (04:00 UTC), and is 23 hours long.
    start, end = bounds("America/Santiago", date(2026, 9, 6))
    assert start == datetime(2026, 9, 6, 4, tzinfo=UTC) and end - start == timedelta(hours=23)
