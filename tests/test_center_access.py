"""Staff access follows live relationships (shared/center_links.py), through both APIs.

A center's staff see a vehicle — and its telemetry, health, service records and alerts —
while a booking there is active or was completed within CENTER_ACCESS_WINDOW (30 days); a
cancelled or no-show booking grants nothing. The bookings function maintains the grants in
the transaction of each booking change; the vehicles function decides on the expiry at read
time, so an expired grant never counts even before a later booking change prunes it.
(The same rule in firestore.rules: tests/test_firestore_rules.py.)

OWASP API Security Top 10 (2023): API1 Broken Object Level Authorization — a former
relationship must not keep granting access to an object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bookings_helpers import BOOKINGS, berlin_start, center_body, next_weekday
from vehicles_testkit import API, create_vehicle, reading, recent

from shared import clock

# The stated window (docs/bookings.md), written out so the test states the contract itself.
CENTER_ACCESS_WINDOW = timedelta(days=30)

COMPLETION = {
    "mileage_km": 42_100,
    "work_done": "Oil and filter",
    "cost": {"amount": 89.5, "currency": "EUR"},
}
# Everything a center's staff could read about a vehicle, besides the listings.
VEHICLE_READS = ("", "/telemetry", "/health", "/service-records")


@dataclass
class Workshop:
    """Two centers with their staff, a customer with a vehicle that has telemetry and an open
    alert, and both functions in process."""

    call: Any
    users: Any
    db: Any

    def __post_init__(self) -> None:
        self.vehicles, self.bookings = self.call("vehicles"), self.call("bookings")
        self.admin = self.users.create("admin")
        self.center = self._center("North")
        self.other_center = self._center("South")
        self.staff = self.users.create("service_center", service_center_id=self.center)
        self.mechanic = self.users.create("mechanic", service_center_id=self.center)
        self.other_staff = self.users.create("service_center", service_center_id=self.other_center)
        self.owner = self.users.create("customer")
        self.vehicle_id: str = create_vehicle(self.vehicles, self.owner, mileage_km=42_000)["id"]
        # A resting voltage of 11.8 V: a critical battery alert, so there is an alert to see.
        readings = [reading(recent(300 - 30 * i), 42_000, volts=11.8) for i in range(3)]
        sent = self.vehicles.post(
            f"{API}/{self.vehicle_id}/telemetry",
            json={"readings": readings},
            headers=self.owner.headers,
        )
        assert sent.status_code == 201, sent.get_json()
        assert self.get(self.owner, "/health").status_code == 200

    def _center(self, name: str) -> str:
        every_day = {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        created = self.bookings.post(
            f"{BOOKINGS}/centers",
            json=center_body(name=name, opening_hours=every_day, bays=5),
            headers=self.admin.headers,
        )
        assert created.status_code == 201, created.get_json()
        return str(created.get_json()["id"])

    def book(self, center: str | None = None, hour: int = 9, weeks_ahead: int = 1) -> str:
        start = berlin_start(next_weekday(0, weeks_ahead=weeks_ahead), hour)
        response = self.bookings.post(
            BOOKINGS,
            json={
                "vehicle_id": self.vehicle_id,
                "center_id": center or self.center,
                "service_type": "oil_change",
                "start": start,
            },
            headers=self.owner.headers,
        )
        assert response.status_code == 201, response.get_json()
        return str(response.get_json()["id"])

    def act(self, user: Any, booking_id: str, action: str, body: Any = None) -> Any:
        path = f"{BOOKINGS}/{booking_id}/{action}"
        if body is None:
            return self.bookings.post(path, headers=user.headers)
        return self.bookings.post(path, json=body, headers=user.headers)

    def start_of(self, booking_id: str) -> datetime:
        stored = self.db.collection("bookings").document(booking_id).get().to_dict()
        start: datetime = stored["start"]
        return start

    def get(self, user: Any, suffix: str) -> Any:
        return self.vehicles.get(f"{API}/{self.vehicle_id}{suffix}", headers=user.headers)

    def sees_vehicle(self, user: Any) -> bool:
        """Every read route agrees: all 200 or all 404, and the listings match."""
        statuses = {suffix: self.get(user, suffix).status_code for suffix in VEHICLE_READS}
        assert set(statuses.values()) in ({200}, {404}), statuses
        listed = self.vehicles.get(API, headers=user.headers).get_json()["items"]
        alerts = self.vehicles.get(f"{API}/alerts", headers=user.headers).get_json()["items"]
        visible = statuses[""] == 200
        assert ([v["id"] for v in listed] == [self.vehicle_id]) is visible, listed
        assert bool([a for a in alerts if a["vehicle_id"] == self.vehicle_id]) is visible
        return visible

    def vehicle_document(self) -> dict[str, Any]:
        document: dict[str, Any] = (
            self.db.collection("vehicles").document(self.vehicle_id).get().to_dict()
        )
        return document


@pytest.fixture
def shop(call: Any, users: Any, db: Any, pin_clock: Any) -> Workshop:
    return Workshop(call, users, db)


def at(moment: datetime) -> None:
    clock.set_clock(lambda: moment)


def test_a_booking_lets_the_centers_staff_see_the_vehicle_and_no_one_else(shop: Workshop) -> None:
    assert not shop.sees_vehicle(shop.staff)
    shop.book()
    assert shop.sees_vehicle(shop.staff)
    assert shop.sees_vehicle(shop.mechanic)
    assert not shop.sees_vehicle(shop.other_staff)


def test_staff_lose_the_vehicle_the_moment_the_customer_cancels(shop: Workshop) -> None:
    booking_id = shop.book()
    assert shop.sees_vehicle(shop.staff)
    assert shop.act(shop.owner, booking_id, "cancel").status_code == 200
    assert not shop.sees_vehicle(shop.staff)
    assert not shop.sees_vehicle(shop.mechanic)
    # The stored fields shrank with the cancellation (vehicle and its alerts alike).
    assert shop.vehicle_document()["center_ids"] == []
    alert = shop.vehicles.get(f"{API}/alerts", headers=shop.owner.headers).get_json()["items"][0]
    assert alert["center_ids"] == []
    # Their center's booking stays theirs to read: it is the center's own record.
    booking = shop.bookings.get(f"{BOOKINGS}/{booking_id}", headers=shop.staff.headers)
    assert booking.status_code == 200


def test_a_no_show_ends_the_centers_access(shop: Workshop) -> None:
    booking_id = shop.book()
    assert shop.act(shop.staff, booking_id, "confirm").status_code == 200
    at(shop.start_of(booking_id) + timedelta(minutes=20))
    assert shop.act(shop.staff, booking_id, "no-show").status_code == 200
    assert not shop.sees_vehicle(shop.staff)


def test_a_completed_booking_keeps_access_for_the_window_and_then_it_ends_by_itself(
    shop: Workshop,
) -> None:
    booking_id = shop.book()
    done_at = shop.start_of(booking_id) + timedelta(minutes=45)
    at(done_at - timedelta(minutes=25))
    for step in ("confirm", "start"):
        assert shop.act(shop.staff, booking_id, step).status_code == 200
    at(done_at)
    assert shop.act(shop.staff, booking_id, "complete", COMPLETION).status_code == 200
    stored_until = shop.vehicle_document()["center_access"][shop.center]
    assert stored_until == done_at + CENTER_ACCESS_WINDOW

    at(done_at + CENTER_ACCESS_WINDOW - timedelta(minutes=1))
    assert shop.sees_vehicle(shop.staff)
    at(done_at + CENTER_ACCESS_WINDOW + timedelta(minutes=1))
    assert not shop.sees_vehicle(shop.staff)
    assert not shop.sees_vehicle(shop.mechanic)
    # No booking changed since: the center is still listed, and grants nothing.
    assert shop.vehicle_document()["center_ids"] == [shop.center]
    assert shop.sees_vehicle(shop.owner)


def test_an_active_booking_nobody_closes_stops_granting_after_its_slot_and_the_window(
    shop: Workshop,
) -> None:
    booking_id = shop.book()
    end = shop.start_of(booking_id) + timedelta(hours=1)  # the oil change takes 60 minutes
    at(end + CENTER_ACCESS_WINDOW - timedelta(minutes=1))
    assert shop.sees_vehicle(shop.staff)
    at(end + CENTER_ACCESS_WINDOW)
    assert not shop.sees_vehicle(shop.staff)


def test_another_live_booking_at_the_center_keeps_access_after_one_is_cancelled(
    shop: Workshop,
) -> None:
    first = shop.book(hour=9)
    second = shop.book(hour=11, weeks_ahead=2)
    assert shop.act(shop.owner, first, "cancel").status_code == 200
    assert shop.sees_vehicle(shop.staff)
    assert shop.act(shop.owner, second, "cancel").status_code == 200
    assert not shop.sees_vehicle(shop.staff)


def test_rescheduling_moves_the_end_of_access_with_the_slot(shop: Workshop) -> None:
    booking_id = shop.book(weeks_ahead=1)
    later = berlin_start(next_weekday(0, weeks_ahead=3), 9)
    moved = shop.bookings.post(
        f"{BOOKINGS}/{booking_id}/reschedule", json={"start": later}, headers=shop.owner.headers
    )
    assert moved.status_code == 200, moved.get_json()
    new_end = datetime.fromisoformat(later).astimezone(UTC) + timedelta(hours=1)
    assert shop.vehicle_document()["center_access"][shop.center] == new_end + CENTER_ACCESS_WINDOW


def test_the_next_booking_change_prunes_access_that_expired(shop: Workshop) -> None:
    booking_id = shop.book(weeks_ahead=1)
    end = shop.start_of(booking_id) + timedelta(hours=1)
    # Long after the first booking's access ended, the customer books the other center.
    at(end + CENTER_ACCESS_WINDOW + timedelta(days=1))
    later = shop.book(shop.other_center, weeks_ahead=7)
    document = shop.vehicle_document()
    assert document["center_ids"] == [shop.other_center]
    assert set(document["center_access"]) == {shop.other_center}
    assert set(document["center_grants"]) == {later}
    owner_alerts = shop.vehicles.get(f"{API}/alerts", headers=shop.owner.headers).get_json()
    assert [a["center_ids"] for a in owner_alerts["items"]] == [[shop.other_center]]


def test_the_booking_transaction_grants_exactly_its_own_center_until_slot_end_plus_window(
    shop: Workshop,
) -> None:
    booking_id = shop.book()
    end = shop.start_of(booking_id) + timedelta(hours=1)
    document = shop.vehicle_document()
    assert document["center_grants"] == {
        booking_id: {"center_id": shop.center, "until": end + CENTER_ACCESS_WINDOW}
    }
    assert document["center_access"] == {shop.center: end + CENTER_ACCESS_WINDOW}
    # Internal bookkeeping never leaves the API.
    seen = shop.get(shop.owner, "").get_json()
    assert "center_grants" not in seen and "center_access" not in seen


def test_a_completion_with_an_implausible_mileage_is_refused_and_changes_nothing(
    shop: Workshop,
) -> None:
    """A mechanic completing a booking is held to the same jump bound as a staff record
    (shared.mileage through shared.service_completion): 422, and the booking stays open."""
    booking_id = shop.book()
    at(shop.start_of(booking_id) + timedelta(minutes=20))
    for step in ("confirm", "start"):
        assert shop.act(shop.staff, booking_id, step).status_code == 200
    absurd = dict(COMPLETION, mileage_km=1_999_999)
    refused = shop.act(shop.staff, booking_id, "complete", absurd)
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["error"]["code"] == "implausible_mileage"
    assert shop.vehicle_document()["mileage_km"] == 42_000
    booking = shop.bookings.get(f"{BOOKINGS}/{booking_id}", headers=shop.staff.headers)
    assert booking.get_json()["status"] == "in_progress"
    assert shop.act(shop.staff, booking_id, "complete", COMPLETION).status_code == 200
    assert shop.vehicle_document()["mileage_km"] == 42_100
