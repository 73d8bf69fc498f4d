"""Helpers shared by the tests/test_bookings_*.py files (not a test module itself).

``World`` wraps the conftest fixtures (``db``, ``users``, ``call``) with the few steps every
bookings test needs: a center created through the API, a customer with a vehicle stored the
way docs/data-model.md describes, and a start time that is a real slot. The ``world``
fixture builds one per test.

Bookings are made for a slot a week ahead (the real "now"), but work starts only near the
slot and a no-show only after its start (booking.lifecycle): :meth:`World.arrive` moves the
platform's clock (shared.clock) to a moment of the booking's slot, :meth:`World.back_to_now`
moves it back before the next booking is made.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

BERLIN = ZoneInfo("Europe/Berlin")
BOOKINGS = "/api/bookings"

DEFAULT_HOURS = {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
DEFAULT_SERVICES = [
    {"code": "oil_change", "name": "Oil change", "duration_minutes": 60},
    {"code": "tyre_rotation", "name": "Tyre rotation", "duration_minutes": 30},
    {"code": "brake_inspection", "name": "Brake inspection", "duration_minutes": 60},
]


def center_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Werkstatt Mitte",
        "address": "Hauptstr. 1, 10115 Berlin",
        "time_zone": "Europe/Berlin",
        "opening_hours": DEFAULT_HOURS,
        "bays": 3,
        "services": DEFAULT_SERVICES,
        "mechanic_ids": [],
    }
    body.update(overrides)
    return body


def next_weekday(weekday: int, *, weeks_ahead: int = 1) -> date:
    """A date with ``weekday`` (0 = Monday) at least a week ahead of today (UTC)."""
    today = datetime.now(UTC).date()
    days = (weekday - today.weekday()) % 7 + 7 * weeks_ahead
    return today + timedelta(days=days)


def berlin_start(day: date, hour: int, minute: int = 0) -> str:
    """ISO 8601 start with Berlin's offset on that day."""
    return datetime.combine(day, time(hour, minute), BERLIN).isoformat()


# When staff act on a booking in these tests: after the no-show grace (15 minutes) and
# before the end of the shortest slot a test books (30 minutes), so every action is on time.
ARRIVAL = timedelta(minutes=20)
# How long before the tests' "now" a stored vehicle was registered: its mileage is known
# since then, so a completion a week ahead may raise it by a plausible amount.
REGISTERED_AGO = timedelta(days=30)


@dataclass
class World:
    db: Any
    users: Any
    call: Any

    def __post_init__(self) -> None:
        self.client = self.call("bookings")
        self.admin = self.users.create("admin")

    def create_center(self, **overrides: Any) -> dict[str, Any]:
        response = self.client.post(
            f"{BOOKINGS}/centers", json=center_body(**overrides), headers=self.admin.headers
        )
        assert response.status_code == 201, response.get_json()
        return dict(response.get_json())

    def vehicle(self, owner_id: str, **fields: Any) -> str:
        """A vehicle document as the vehicles function writes it (docs/data-model.md)."""
        vehicle_id = uuid.uuid4().hex
        registered = datetime.now(UTC) - REGISTERED_AGO
        self.db.collection("vehicles").document(vehicle_id).set(
            {
                "owner_id": owner_id,
                "vin": f"WVWZZZ1JZXW{uuid.uuid4().int % 1_000_000:06d}",
                "make": "VW",
                "model": "Golf",
                "year": 2019,
                "mileage_km": 50_000,
                "created_at": registered,
                "mileage_updated_at": registered,
                "center_ids": [],
                "center_access": {},
                "center_grants": {},
                "due_services": [],
                **fields,
            }
        )
        return vehicle_id

    def arrive(self, start: str, after: timedelta = ARRIVAL) -> None:
        """Pin the platform's clock to ``after`` past ``start`` (ISO 8601): the customer is
        there (or late enough to be a no-show), and work may start."""
        from shared import clock

        moment = datetime.fromisoformat(start).astimezone(UTC) + after
        clock.set_clock(lambda: moment)

    def back_to_now(self) -> None:
        """The real clock again (bookings can only be made for the future)."""
        from shared import clock

        clock.set_clock(None)

    def customer(self) -> tuple[Any, str]:
        user = self.users.create("customer")
        return user, self.vehicle(user.id)

    def book(
        self,
        user: Any,
        vehicle_id: str,
        center_id: str,
        start: str,
        service_type: str = "oil_change",
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> Any:
        body = {
            "vehicle_id": vehicle_id,
            "center_id": center_id,
            "service_type": service_type,
            "start": start,
            **extra,
        }
        return self.client.post(BOOKINGS, json=body, headers={**user.headers, **(headers or {})})

    def act(self, user: Any, booking_id: str, action: str, body: Any = None) -> Any:
        path = f"{BOOKINGS}/{booking_id}/{action}"
        if body is None:
            return self.client.post(path, headers=user.headers)
        return self.client.post(path, json=body, headers=user.headers)

    def slot_doc_counts(self, center_id: str) -> dict[str, tuple[int, list[str]]]:
        return {
            s.id: (int(s.get("count")), list(s.get("booking_ids")))
            for s in self.db.collection("slots")
            .where(filter=FieldFilter("center_id", "==", center_id))
            .stream()
        }

    def active_bookings_per_cell(self, center_id: str) -> dict[str, list[str]]:
        cells: dict[str, list[str]] = {}
        bookings = self.db.collection("bookings").where(
            filter=FieldFilter("center_id", "==", center_id)
        )
        for b in bookings.stream():
            if b.get("status") in ("requested", "confirmed", "in_progress"):
                for key in b.get("slot_keys"):
                    cells.setdefault(key, []).append(b.id)
        return cells

    def assert_capacity_invariant(self, center_id: str, bays: int) -> None:
        """Every slot document's count equals the active bookings holding it, ≤ bays."""
        stored = self.slot_doc_counts(center_id)
        actual = self.active_bookings_per_cell(center_id)
        for key in set(stored) | set(actual):
            count, ids = stored.get(key, (0, []))
            holders = actual.get(key, [])
            assert count == len(holders), (key, count, holders)
            assert sorted(ids) == sorted(holders), key
            assert count <= bays, (key, count)


# Named apart from the fixture so that test arguments called ``world`` do not shadow an
# import: a test module brings it in with ``from bookings_helpers import world_fixture``.
@pytest.fixture(name="world")
def world_fixture(db: Any, users: Any, call: Any, pin_clock: Any) -> World:
    """The bookings World of one test (``pin_clock`` restores the real clock at its end)."""
    return World(db, users, call)
