"""What a booking costs in Firestore round trips, and the two facts that keep it that low
without giving up correctness.

A booking is one transaction of three round trips — begin, one read of the slot cells, the
holder and the vehicle, commit — when the instance read the center recently and the vehicle
lists its alerts:

- the center comes from the instance's short cache (booking.centers.recent_center): an edit
  made through this instance applies to the next booking, one made elsewhere within
  CENTER_CACHE_SECONDS;
- the vehicle lists its alert ids (shared.alerts), so the center link reaches every alert
  without a query; a list that code which keeps no list may have outdated (a previous
  release during a rollout or after a rollback) is not trusted, and the query runs instead.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from bookings_helpers import BOOKINGS, berlin_start, center_body, next_weekday
from vehicles_testkit import API, create_vehicle, reading, recent

from shared import clock
from shared.alerts import (
    VEHICLE_ALERT_IDS,
    VEHICLE_ALERT_IDS_EVALUATED_AT,
    listed_alert_ids,
)

# The suite reads the caller's user document on every request (PMI_PRINCIPAL_CACHE_SECONDS
# is 0 in tests/conftest.py); deployed, the principal cache spares it (docs/operations.md).
PRINCIPAL_READ = Counter(batch_get_documents=1)
# A resting voltage this low opens a critical battery alert.
FLAT_BATTERY_VOLTS = 11.8
BATTERY_ALERT_KEY = "battery.resting_voltage"


@contextmanager
def counting_round_trips() -> Iterator[Counter[str]]:
    """Count the Firestore RPCs made meanwhile, by method, at the client library's edge."""
    from google.cloud.firestore_v1.services.firestore.client import FirestoreClient

    counts: Counter[str] = Counter()
    lock = threading.Lock()
    methods = ("batch_get_documents", "run_query", "begin_transaction", "commit", "rollback")
    originals = {name: getattr(FirestoreClient, name) for name in methods}

    def counted(name: str) -> Any:
        real = originals[name]

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                counts[name] += 1
            return real(self, *args, **kwargs)

        return wrapper

    for name in methods:
        setattr(FirestoreClient, name, counted(name))
    try:
        yield counts
    finally:
        for name, real in originals.items():
            setattr(FirestoreClient, name, real)


class Garage:
    """A center, a customer with a registered vehicle, both functions in process."""

    def __init__(self, call: Any, users: Any, db: Any) -> None:
        self.db = db
        self.vehicles, self.bookings = call("vehicles"), call("bookings")
        self.admin = users.create("admin")
        created = self.bookings.post(
            f"{BOOKINGS}/centers", json=center_body(bays=5), headers=self.admin.headers
        )
        assert created.status_code == 201, created.get_json()
        self.center = str(created.get_json()["id"])
        self.owner = users.create("customer")
        self.vehicle_id = str(create_vehicle(self.vehicles, self.owner, mileage_km=42_000)["id"])

    def book(self, hour: int = 9, weeks_ahead: int = 1) -> Any:
        start = berlin_start(next_weekday(0, weeks_ahead=weeks_ahead), hour)
        return self.bookings.post(
            BOOKINGS,
            json={
                "vehicle_id": self.vehicle_id,
                "center_id": self.center,
                "service_type": "oil_change",
                "start": start,
            },
            headers=self.owner.headers,
        )

    def flat_battery(self, minutes_ago: int = 300) -> None:
        """Telemetry that opens the battery alert (and runs an evaluation)."""
        readings = [
            reading(recent(minutes_ago - 30 * i), 42_000, volts=FLAT_BATTERY_VOLTS)
            for i in range(3)
        ]
        sent = self.vehicles.post(
            f"{API}/{self.vehicle_id}/telemetry",
            json={"readings": readings},
            headers=self.owner.headers,
        )
        assert sent.status_code == 201, sent.get_json()

    def vehicle(self) -> dict[str, Any]:
        document: dict[str, Any] = self.db.document(f"vehicles/{self.vehicle_id}").get().to_dict()
        return document

    def alert(self, key: str) -> dict[str, Any] | None:
        snapshot = self.db.document(f"alerts/{self.vehicle_id}_{key}").get()
        return snapshot.to_dict() if snapshot.exists else None


@pytest.fixture
def garage(call: Any, users: Any, db: Any) -> Garage:
    return Garage(call, users, db)


def test_a_booking_is_one_transaction_of_three_round_trips(garage: Garage) -> None:
    assert garage.book(hour=9).status_code == 201  # the center is now in this instance's cache
    with counting_round_trips() as counts:
        response = garage.book(hour=11)
    assert response.status_code == 201, response.get_json()
    transaction = Counter(begin_transaction=1, batch_get_documents=1, commit=1)
    assert counts == PRINCIPAL_READ + transaction


def test_a_vehicle_with_alerts_costs_one_more_read_and_still_no_query(garage: Garage) -> None:
    garage.flat_battery()
    assert garage.book(hour=9).status_code == 201
    with counting_round_trips() as counts:
        assert garage.book(hour=11).status_code == 201
    # The alerts by id: the vehicle, read with the cells and the holder, lists them.
    transaction = Counter(begin_transaction=1, batch_get_documents=2, commit=1)
    assert counts == PRINCIPAL_READ + transaction
    alert = garage.alert(BATTERY_ALERT_KEY)
    assert alert is not None and alert["center_ids"] == [garage.center]


def test_registration_lists_no_alerts_and_each_evaluation_keeps_the_list(garage: Garage) -> None:
    registered = garage.vehicle()
    assert registered[VEHICLE_ALERT_IDS] == [] and listed_alert_ids(registered) == []

    garage.flat_battery()

    evaluated = garage.vehicle()
    assert evaluated[VEHICLE_ALERT_IDS] == [f"{garage.vehicle_id}_{BATTERY_ALERT_KEY}"]
    assert evaluated[VEHICLE_ALERT_IDS_EVALUATED_AT] == evaluated["health_evaluated_at"]
    assert listed_alert_ids(evaluated) == evaluated[VEHICLE_ALERT_IDS]


def test_an_alert_opened_by_code_that_keeps_no_list_is_still_linked(garage: Garage) -> None:
    """What a previous release does during a rollout: it opens an alert and sets
    health_evaluated_at, but leaves the list (and its stamp) as they were."""
    garage.flat_battery()
    unlisted = f"{garage.vehicle_id}_coolant.overheat"
    garage.db.document(f"alerts/{unlisted}").set(
        {"vehicle_id": garage.vehicle_id, "owner_id": garage.owner.id, "status": "open"}
    )
    garage.db.document(f"vehicles/{garage.vehicle_id}").update(
        {"health_evaluated_at": clock.now() + timedelta(seconds=1)}
    )
    assert listed_alert_ids(garage.vehicle()) is None

    assert garage.book().status_code == 201

    for key in (BATTERY_ALERT_KEY, "coolant.overheat"):
        alert = garage.alert(key)
        assert alert is not None and alert["center_ids"] == [garage.center], key


def test_the_next_evaluation_rebuilds_a_list_it_cannot_trust(garage: Garage) -> None:
    garage.flat_battery()
    resolved = f"{garage.vehicle_id}_coolant.overheat"
    garage.db.document(f"alerts/{resolved}").set(
        {"vehicle_id": garage.vehicle_id, "owner_id": garage.owner.id, "status": "resolved"}
    )
    # A service completion clears health_evaluated_at: the list is no longer trusted.
    garage.db.document(f"vehicles/{garage.vehicle_id}").update({"health_evaluated_at": None})
    assert listed_alert_ids(garage.vehicle()) is None

    garage.flat_battery(minutes_ago=200)

    rebuilt = listed_alert_ids(garage.vehicle())
    assert rebuilt == sorted([f"{garage.vehicle_id}_{BATTERY_ALERT_KEY}", resolved])


def test_a_listed_alert_that_is_gone_is_skipped(garage: Garage) -> None:
    garage.flat_battery()
    garage.db.document(f"alerts/{garage.vehicle_id}_{BATTERY_ALERT_KEY}").delete()

    assert garage.book().status_code == 201
    assert garage.alert(BATTERY_ALERT_KEY) is None  # not recreated by the link


def test_a_center_edited_through_this_instance_applies_to_the_next_booking(
    garage: Garage,
) -> None:
    assert garage.book(hour=9).status_code == 201  # cached now
    closed_monday = {day: [["08:00", "17:00"]] for day in ("tue", "wed", "thu", "fri")}
    patched = garage.bookings.patch(
        f"{BOOKINGS}/centers/{garage.center}",
        json={"opening_hours": closed_monday},
        headers=garage.admin.headers,
    )
    assert patched.status_code == 200, patched.get_json()

    refused = garage.book(hour=11)

    assert refused.status_code == 422, refused.get_json()


def test_a_center_edited_elsewhere_applies_within_the_cache_bound(
    garage: Garage, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from booking import centers

    assert garage.book(hour=9).status_code == 201  # cached now
    # Another instance closes the center on Mondays (written straight to Firestore here).
    garage.db.document(f"centers/{garage.center}").update({"opening_hours.mon": []})
    later = time.monotonic() + centers.CENTER_CACHE_SECONDS
    monkeypatch.setattr("shared.instance_cache.time.monotonic", lambda: later)

    refused = garage.book(hour=11)

    assert refused.status_code == 422, refused.get_json()
