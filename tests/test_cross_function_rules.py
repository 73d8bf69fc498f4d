"""The rules the vehicles and bookings functions share, seen through both functions' APIs.

* Completing a service (shared.service_completion): a completed booking leaves the vehicle's
  due services, alerts, health and the owner's suggestions consistent in the same response
  cycle, exactly as a service record added through the vehicles API does.
* Linking a center (shared.center_links): a booking lets the center's staff see the vehicle
  and its open alerts at once, without waiting for the vehicle's next evaluation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bookings_helpers import BOOKINGS, berlin_start, center_body, next_weekday
from vehicles_testkit import API, create_vehicle, reading, recent

OIL_ALERT = "maintenance.due.oil_change"
COMPLETION = {
    "mileage_km": 45_600,
    "work_done": "Oil and filter changed",
    "cost": {"amount": 89.5, "currency": "EUR"},
}


class Garage:
    """Both functions in process, a center, its staff, and a customer with a vehicle whose
    oil change is overdue (every 3,000 km; 3,500 km driven since PMI first saw it)."""

    def __init__(self, call: Any, users: Any, db: Any, *, bays: int = 3) -> None:
        self.vehicles, self.bookings, self.db = call("vehicles"), call("bookings"), db
        admin = users.create("admin")
        created = self.bookings.post(
            f"{BOOKINGS}/centers", json=center_body(bays=bays), headers=admin.headers
        )
        assert created.status_code == 201, created.get_json()
        self.center_id: str = created.get_json()["id"]
        self.staff = users.create("service_center", service_center_id=self.center_id)
        self.owner = users.create("customer")
        self.vehicle_id: str = create_vehicle(self.vehicles, self.owner, mileage_km=42_000)["id"]
        url = f"{API}/{self.vehicle_id}"
        overrides = {"maintenance_overrides": {"oil_change": {"every_km": 3_000}}}
        assert (
            self.vehicles.patch(url, json=overrides, headers=self.owner.headers).status_code == 200
        )
        batch = {"readings": [reading(recent(60), 45_500)]}
        sent = self.vehicles.post(f"{url}/telemetry", json=batch, headers=self.owner.headers)
        assert sent.status_code == 201, sent.get_json()
        self.health()  # evaluates: oil change overdue, high alert open

    def health(self) -> dict[str, Any]:
        response = self.vehicles.get(f"{API}/{self.vehicle_id}/health", headers=self.owner.headers)
        assert response.status_code == 200, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body

    def vehicle_document(self) -> dict[str, Any]:
        document: dict[str, Any] = (
            self.db.collection("vehicles").document(self.vehicle_id).get().to_dict()
        )
        return document

    def alert(self, key: str) -> dict[str, Any]:
        document: dict[str, Any] = (
            self.db.collection("alerts").document(f"{self.vehicle_id}_{key}").get().to_dict()
        )
        return document

    def due_codes(self) -> list[str]:
        return [d["code"] for d in self.vehicle_document()["due_services"]]

    def suggested_codes(self) -> set[str]:
        response = self.bookings.get(f"{BOOKINGS}/suggestions", headers=self.owner.headers)
        assert response.status_code == 200, response.get_json()
        return {s["service_code"] for s in response.get_json()["suggestions"]}

    def staff_alert_ids(self) -> list[str]:
        response = self.vehicles.get(f"{API}/alerts", headers=self.staff.headers)
        assert response.status_code == 200, response.get_json()
        return [a["id"] for a in response.get_json()["items"]]

    # The slot every booking of this garage is for.
    start = berlin_start(next_weekday(1), 10)

    def book_oil_change(self, owner: Any = None, vehicle_id: str | None = None) -> Any:
        """Book the oil change (for this garage's customer unless told otherwise)."""
        body = {
            "vehicle_id": vehicle_id or self.vehicle_id,
            "center_id": self.center_id,
            "service_type": "oil_change",
            "start": self.start,
        }
        return self.bookings.post(BOOKINGS, json=body, headers=(owner or self.owner).headers)

    def booked(self) -> str:
        response = self.book_oil_change()
        assert response.status_code == 201, response.get_json()
        booking_id: str = response.get_json()["id"]
        return booking_id

    def arrive(self) -> None:
        """The platform's clock at the booked slot (20 minutes in): work may start."""
        from shared import clock

        moment = datetime.fromisoformat(self.start).astimezone(UTC) + timedelta(minutes=20)
        clock.set_clock(lambda: moment)

    def act(self, booking_id: str, action: str, body: Any = None) -> Any:
        path = f"{BOOKINGS}/{booking_id}/{action}"
        return self.bookings.post(path, json=body, headers=self.staff.headers)


@pytest.fixture
def garage(call: Any, users: Any, db: Any, pin_clock: Any) -> Garage:
    """(``pin_clock`` restores the real clock after a test that moved it.)"""
    return Garage(call, users, db)


def test_completed_booking_leaves_no_due_service_and_no_open_alert_for_the_work(
    garage: Garage,
) -> None:
    assert "oil_change" in garage.due_codes()
    assert garage.alert(OIL_ALERT)["status"] == "open"
    booking_id = garage.booked()
    garage.arrive()
    for step in ("confirm", "start"):
        assert garage.act(booking_id, step).status_code == 200
    done = garage.act(booking_id, "complete", COMPLETION)
    assert done.status_code == 200, done.get_json()

    # Straight after the response, with no evaluation in between:
    vehicle = garage.vehicle_document()
    assert "oil_change" not in garage.due_codes()
    assert vehicle["mileage_km"] == 45_600
    assert vehicle["last_services"]["oil_change"]["mileage_km"] == 45_600
    # The score predates the work: unknown until the next evaluation, never stale.
    assert vehicle["health_score"] is None and vehicle["health_evaluated_at"] is None
    oil = garage.alert(OIL_ALERT)
    assert oil["status"] == "resolved"
    assert oil["resolution"] == "service_completed"
    assert oil["service_record_id"] == f"booking-{booking_id}"
    assert done.get_json()["completion"]["resolved_alert_ids"] == [
        f"{garage.vehicle_id}_{OIL_ALERT}"
    ]
    assert "oil_change" not in garage.suggested_codes()

    # The next evaluation agrees with what the completion wrote.
    report = garage.health()
    assert all(f["service_code"] != "oil_change" for f in report["findings"])
    assert "oil_change" not in garage.due_codes()
    assert garage.alert(OIL_ALERT)["status"] == "resolved"
    assert garage.vehicle_document()["health_score"] == report["score"]


def test_completion_writes_the_vehicle_and_each_alert_once(
    garage: Garage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recording the work (service_completion) and re-granting the center (center_links) both
    change the vehicle and its alerts: merged into one write per document
    (shared.staged_writes). Seen on the real client: the writes each commit sends."""
    from collections import Counter

    from google.cloud.firestore_v1.transaction import Transaction

    booking_id = garage.booked()
    garage.arrive()
    for step in ("confirm", "start"):
        assert garage.act(booking_id, step).status_code == 200
    committed: list[Counter[str]] = []
    real_commit = Transaction._commit

    def counting_commit(self: Transaction) -> list[Any]:
        committed.append(
            Counter(w.update.name or w.delete for w in self._write_pbs if w.update.name or w.delete)
        )
        return real_commit(self)

    monkeypatch.setattr(Transaction, "_commit", counting_commit)
    done = garage.act(booking_id, "complete", COMPLETION)
    assert done.status_code == 200, done.get_json()

    writes = committed[-1]
    vehicle = next(name for name in writes if name.endswith(f"/vehicles/{garage.vehicle_id}"))
    alert = next(
        name for name in writes if name.endswith(f"/alerts/{garage.vehicle_id}_{OIL_ALERT}")
    )
    assert writes[vehicle] == 1 and writes[alert] == 1, writes
    # ... and each write carries both rules' fields.
    stored = garage.vehicle_document()
    assert stored["mileage_km"] == 45_600 and garage.center_id in stored["center_access"]
    oil = garage.alert(OIL_ALERT)
    assert oil["status"] == "resolved" and garage.center_id in oil["center_access"]


def test_completion_re_forecasts_a_service_that_is_due_again_soon(garage: Garage) -> None:
    # With a 1,000 km interval the oil change is "upcoming" again right after the work:
    # re-forecast, not merely dropped from the list.
    url = f"{API}/{garage.vehicle_id}"
    overrides = {"maintenance_overrides": {"oil_change": {"every_km": 1_000}}}
    assert (
        garage.vehicles.patch(url, json=overrides, headers=garage.owner.headers).status_code == 200
    )
    booking_id = garage.booked()
    garage.arrive()
    for step in ("confirm", "start"):
        assert garage.act(booking_id, step).status_code == 200
    assert garage.act(booking_id, "complete", COMPLETION).status_code == 200
    due = {d["code"]: d for d in garage.vehicle_document()["due_services"]}
    assert due["oil_change"]["urgency"] == "upcoming"
    assert due["oil_change"]["due_km"] == 46_600


def test_service_record_and_booking_resolve_alerts_with_one_vocabulary(
    call: Any, users: Any, db: Any, pin_clock: Any
) -> None:
    by_owner, by_center = Garage(call, users, db), Garage(call, users, db)
    record = {
        "performed_at": recent(5).isoformat(),
        "mileage_km": 45_550,
        "service_codes": ["oil_change"],
        "work_done": "Oil changed at home",
    }
    added = by_owner.vehicles.post(
        f"{API}/{by_owner.vehicle_id}/service-records", json=record, headers=by_owner.owner.headers
    )
    assert added.status_code == 201, added.get_json()
    booking_id = by_center.booked()
    by_center.arrive()
    for step in ("confirm", "start"):
        assert by_center.act(booking_id, step).status_code == 200
    assert by_center.act(booking_id, "complete", COMPLETION).status_code == 200

    resolved = {
        added.get_json()["id"]: by_owner.alert(OIL_ALERT),
        f"booking-{booking_id}": by_center.alert(OIL_ALERT),
    }
    assert len({frozenset(alert) for alert in resolved.values()}) == 1  # the same fields
    for record_id, alert in resolved.items():
        assert (alert["status"], alert["resolution"]) == ("resolved", "service_completed")
        assert alert["service_record_id"] == record_id
    for garage in (by_owner, by_center):
        assert "oil_change" not in garage.due_codes()
    # The service-record route re-evaluates in the same request; the booking leaves the
    # score to the next evaluation.
    assert by_owner.vehicle_document()["health_score"] is not None
    assert by_center.vehicle_document()["health_score"] is None


def test_staff_see_a_newly_booked_vehicles_open_alerts_at_once(garage: Garage) -> None:
    assert garage.staff_alert_ids() == []
    listed = garage.vehicles.get(f"{API}/{garage.vehicle_id}", headers=garage.staff.headers)
    assert listed.status_code == 404
    garage.booked()
    # No evaluation ran since: the booking's own transaction linked the center.
    assert garage.staff_alert_ids() == [f"{garage.vehicle_id}_{OIL_ALERT}"]
    assert garage.alert(OIL_ALERT)["center_ids"] == [garage.center_id]
    seen = garage.vehicles.get(f"{API}/{garage.vehicle_id}", headers=garage.staff.headers)
    assert seen.status_code == 200


def test_a_later_evaluation_keeps_the_linked_center_on_the_alerts(garage: Garage) -> None:
    garage.booked()
    garage.health()
    assert garage.alert(OIL_ALERT)["center_ids"] == [garage.center_id]
    assert garage.staff_alert_ids() == [f"{garage.vehicle_id}_{OIL_ALERT}"]


def test_a_booking_refused_inside_its_transaction_links_nothing(
    call: Any, users: Any, db: Any
) -> None:
    garage = Garage(call, users, db, bays=1)
    other = users.create("customer")
    other_vehicle = create_vehicle(garage.vehicles, other, mileage_km=1_000)["id"]
    # The other customer takes the center's only bay at that time.
    assert garage.book_oil_change(other, other_vehicle).status_code == 201
    refused = garage.book_oil_change()
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "slot_full"
    assert garage.vehicle_document()["center_ids"] == []
    assert garage.alert(OIL_ALERT)["center_ids"] == []
    assert garage.staff_alert_ids() == []
