"""Every response a viewer can get is free of people and of the links that lead to them.

Driven from the route table: every GET route of every function whose access rule admits the
viewer role is called with real ids from a populated world — a customer's vehicle with
telemetry, an alert and records, bookings with notes, a cancellation reason, a completion
and a suggestion — and the whole JSON (at any depth) is checked:

* no key that names a person or links a customer's records together, or holds their words
  (the list below is written out here, independently of shared.auth.scoping);
* none of the customer's or the staff's values anywhere (ids, e-mail, VIN, plate, nickname,
  the texts they typed, the suggestion id that encodes the vehicle);
* the vehicle's id only as a vehicle's own ``id`` in the vehicles listing and detail — never
  on a booking, an alert, a record or a health report, so no chain leads from a booking to a
  vehicle to its owner.

The auth function's own-account routes (``/me``) answer with the viewer's own data; there
only the values are checked.

OWASP API Security Top 10 (2023): API3 Broken Object Property Level Authorization
(excessive data exposure to a role entitled to the object but not to these properties).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from bookings_helpers import (
    BOOKINGS,
    World,
    berlin_start,
    center_body,
    next_weekday,
    world_fixture,  # noqa: F401 - provides the "world" fixture
)
from test_route_matrix import app_of
from vehicles_testkit import API, create_vehicle, reading, recent

from shared.auth.rbac import Role
from shared.functions import FUNCTION_NAMES
from shared.http import Route

# Keys a viewer must never receive, at any depth (written out independently of the code).
FORBIDDEN_KEYS = frozenset(
    {
        # people
        "owner_id",
        "customer_id",
        "created_by",
        "actor_id",
        "mechanic_id",
        "mechanic_ids",
        "completed_by",
        "email",
        "phone",
        "full_name",
        # what identifies the car
        "vin",
        "plate",
        "nickname",
        # links between one customer's records
        "vehicle_id",
        "booking_id",
        "service_record_id",
        "resolved_alert_ids",
        "suggestion_id",
        "center_ids",
        "center_access",
        "center_grants",
        # words people typed
        "notes",
        "work_done",
        "reason",
    }
)
NOTES = "Call me on 0170 1234567 before noon"
STAFF_WORK = "Battery swapped, Mrs Example waited in the lounge"
COMPLETION_WORK = "Oil changed; Anna will collect the car"
CANCEL_REASON = "My husband Tom has to work that day"
# Routes answering with the caller's own account: only values are checked there.
OWN_ACCOUNT_ROUTES = {("auth", "/me")}
# Query strings a route needs (a required query field not listed here fails the test, so a
# new viewer route cannot slip by untested), plus variants worth reading.
QUERIES: dict[tuple[str, str], list[str]] = {
    ("vehicles", "/alerts"): ["", "?status=resolved"],
    ("bookings", "/"): ["", "?status=cancelled", "?status=completed"],
    ("bookings", "/centers/<center_id>/availability"): ["?date={day}&service=oil_change"],
}


class Fleet:
    """One customer's whole story, told through the APIs."""

    def __init__(self, world: World) -> None:
        self.world = world
        vehicles = world.call("vehicles")
        self.vehicles = vehicles
        center = world.create_center(
            services=[
                {"code": "oil_change", "name": "Oil change", "duration_minutes": 60},
                {"code": "battery_check", "name": "Battery check", "duration_minutes": 30},
            ],
            opening_hours=center_body()["opening_hours"],
        )
        self.center_id = center["id"]
        self.staff = world.users.create("service_center", service_center_id=self.center_id)
        self.mechanic = world.users.create("mechanic", service_center_id=self.center_id)
        patched = world.client.patch(
            f"{BOOKINGS}/centers/{self.center_id}",
            json={"mechanic_ids": [self.mechanic.id]},
            headers=world.admin.headers,
        )
        assert patched.status_code == 200, patched.get_json()
        self.customer = world.users.create("customer")
        vehicle = create_vehicle(
            vehicles, self.customer, plate="B-AE 1234", nickname="Anna's Golf", mileage_km=42_000
        )
        self.vehicle_id, self.vin = vehicle["id"], vehicle["vin"]
        readings = [reading(recent(300 - 30 * i), 42_000, volts=11.8) for i in range(3)]
        sent = vehicles.post(
            f"{API}/{self.vehicle_id}/telemetry",
            json={"readings": readings},
            headers=self.customer.headers,
        )
        assert sent.status_code == 201, sent.get_json()

        # A suggestion accepted (its id encodes the vehicle), a booking with notes that is
        # completed, one cancelled with a reason.
        suggested = world.client.get(
            f"{BOOKINGS}/suggestions", headers=self.customer.headers
        ).get_json()["suggestions"]
        assert suggested, "the critical battery alert should be suggested"
        self.suggestion_id = suggested[0]["id"]
        accepted = world.client.post(
            f"{BOOKINGS}/suggestions/{self.suggestion_id}/accept", headers=self.customer.headers
        )
        assert accepted.status_code == 201, accepted.get_json()
        start = berlin_start(next_weekday(0), 9)
        noted = world.book(self.customer, self.vehicle_id, self.center_id, start, notes=NOTES)
        cancelled = world.book(
            self.customer, self.vehicle_id, self.center_id, berlin_start(next_weekday(0), 14)
        )
        assert noted.status_code == 201 and cancelled.status_code == 201
        self.booking_ids = [
            accepted.get_json()["id"],
            noted.get_json()["id"],
            cancelled.get_json()["id"],
        ]
        assert (
            world.act(self.customer, self.booking_ids[2], "cancel", {"reason": CANCEL_REASON})
        ).status_code == 200
        record = vehicles.post(
            f"{API}/{self.vehicle_id}/service-records",
            json={
                "performed_at": recent(60).isoformat(),
                "mileage_km": 42_500,
                "service_codes": ["battery_check"],
                "work_done": STAFF_WORK,
            },
            headers=self.staff.headers,
        )
        assert record.status_code == 201, record.get_json()
        noted_id = self.booking_ids[1]
        assigned = world.act(self.staff, noted_id, "assign", {"mechanic_id": self.mechanic.id})
        assert assigned.status_code == 200
        world.arrive(start)
        for step in ("confirm", "start"):
            assert world.act(self.staff, noted_id, step).status_code == 200
        done = world.act(
            self.mechanic,
            noted_id,
            "complete",
            {
                "mileage_km": 42_600,
                "work_done": COMPLETION_WORK,
                "cost": {"amount": 80, "currency": "EUR"},
            },
        )
        assert done.status_code == 200, done.get_json()
        world.back_to_now()
        self.day = next_weekday(0).isoformat()

    def secret_values(self) -> list[str]:
        """Values that identify people or link the customer's records."""
        return [
            self.customer.id,
            self.customer.email,
            self.staff.id,
            self.mechanic.id,
            self.vin,
            "B-AE 1234",
            "Anna's Golf",
            NOTES,
            STAFF_WORK,
            COMPLETION_WORK,
            CANCEL_REASON,
            self.suggestion_id,
            *(f"booking-{b}" for b in self.booking_ids),
        ]


@pytest.fixture
def fleet(world: World) -> Fleet:
    return Fleet(world)


def viewer_routes() -> list[tuple[str, Route]]:
    return [
        (name, route)
        for name in FUNCTION_NAMES
        for route in app_of(name).routes
        if route.method == "GET" and route.access.allows(Role.VIEWER)
    ]


def paths_for(function: str, route: Route, fleet: Fleet) -> list[str]:
    values = {
        "vehicle_id": [fleet.vehicle_id],
        "booking_id": fleet.booking_ids,
        "center_id": [fleet.center_id],
    }
    names = re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", route.path)
    unknown = [n for n in names if n not in values]
    assert not unknown, f"{function} {route.path}: no test id for {unknown}; add one"
    paths = [route.path]
    for name in names:
        paths = [
            re.sub(rf"<(?:[a-z]+:)?{name}>", value, p) for p in paths for value in values[name]
        ]
    queries = QUERIES.get((function, route.path), [""])
    if route.query is not None and queries == [""]:
        required = [n for n, f in route.query.model_fields.items() if f.is_required()]
        assert not required, f"{function} {route.path}: add its query to QUERIES"
    base = f"/api/{function}"
    return [
        base + ("" if p == "/" else p) + q.format(day=fleet.day) for p in paths for q in queries
    ]


def walk(value: Any, path: str = "$") -> Iterator[tuple[str, str | None, Any]]:
    """(JSON path, key, value) for every value at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", key, item
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield f"{path}[{index}]", None, item
            yield from walk(item, f"{path}[{index}]")


def vehicle_id_allowed(function: str, route: Route, json_path: str, key: str | None) -> bool:
    """The vehicle's id may appear only as the id of a vehicle object, in the vehicles
    listing (``$.items[n].id``) and detail (``$.id``)."""
    if function != "vehicles" or key != "id":
        return False
    if route.path == "/":
        return re.fullmatch(r"\$\.items\[\d+\]\.id", json_path) is not None
    return route.path == "/<vehicle_id>" and json_path == "$.id"


def test_viewer_routes_come_from_the_route_table() -> None:
    """The table has what this test needs to be meaningful: data routes of three functions."""
    covered = {(f, r.path) for f, r in viewer_routes()}
    for expected in (
        ("vehicles", "/"),
        ("vehicles", "/<vehicle_id>/service-records"),
        ("bookings", "/<booking_id>"),
        ("bookings", "/centers"),
    ):
        assert expected in covered


def test_no_viewer_visible_route_exposes_people_or_links(fleet: Fleet, users: Any) -> None:
    viewer = users.create("viewer")
    checked = 0
    for function, route in viewer_routes():
        client = fleet.world.call(function)
        for path in paths_for(function, route, fleet):
            response = client.get(path, headers=viewer.headers)
            assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])
            body = response.get_json()
            text = json.dumps(body, default=str)
            for secret in fleet.secret_values():
                assert secret not in text, f"{path} exposes {secret!r}"
            own_account = (function, route.path) in OWN_ACCOUNT_ROUTES
            for json_path, key, value in walk(body):
                if key is not None and not own_account:
                    assert key not in FORBIDDEN_KEYS, f"{path} {json_path}"
                if isinstance(value, str) and fleet.vehicle_id in value:
                    assert vehicle_id_allowed(function, route, json_path, key), (
                        f"{path} links to the vehicle at {json_path}"
                    )
            checked += 1
    # Every listing and detail, each booking, both alert states: a real sweep.
    assert checked >= 15, checked


def test_the_sweep_reads_real_data(fleet: Fleet, users: Any) -> None:
    """Guard against a vacuous pass: the viewer does get the fleet's facts."""
    viewer = users.create("viewer")
    vehicles = fleet.vehicles
    seen = vehicles.get(f"{API}/{fleet.vehicle_id}", headers=viewer.headers).get_json()
    assert seen["make"] == "Honda" and seen["mileage_km"] == 42_600
    records = vehicles.get(
        f"{API}/{fleet.vehicle_id}/service-records", headers=viewer.headers
    ).get_json()["items"]
    assert sorted(r["source"] for r in records) == ["booking", "staff"]
    alerts = vehicles.get(f"{API}/alerts?status=resolved", headers=viewer.headers).get_json()
    assert alerts["items"] and alerts["items"][0]["rule_id"]
    bookings = fleet.world.client.get(BOOKINGS, headers=viewer.headers).get_json()["items"]
    assert {b["status"] for b in bookings} == {"requested", "completed", "cancelled"}
    completed = next(b for b in bookings if b["status"] == "completed")
    assert completed["center_id"] == fleet.center_id
    assert completed["completion"]["mileage_km"] == 42_600
    assert [h["to_state"] for h in completed["history"]][-1] == "completed"
    telemetry = vehicles.get(
        f"{API}/{fleet.vehicle_id}/telemetry", headers=viewer.headers
    ).get_json()["items"]
    assert len(telemetry) == 3


def test_other_roles_still_get_the_links_they_need(fleet: Fleet) -> None:
    """The redaction is the viewer's: the owner and the center keep ids and words."""
    booking = fleet.world.client.get(
        f"{BOOKINGS}/{fleet.booking_ids[1]}", headers=fleet.staff.headers
    ).get_json()
    assert booking["vehicle_id"] == fleet.vehicle_id and booking["notes"] == NOTES
    assert booking["completion"]["work_done"] == COMPLETION_WORK
    mine = fleet.vehicles.get(f"{API}/{fleet.vehicle_id}", headers=fleet.customer.headers)
    assert mine.get_json()["owner_id"] == fleet.customer.id
