"""The whole PMI loop, end to end through the Hosting gateway and every function:

telemetry shows a weak battery → an explainable finding and an open alert → a booking
suggestion at a center with room → accepted with an Idempotency-Key → the center confirms,
starts and completes it → the vehicle gets a service record and the alert resolves.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.e2e
PASSWORD = "loop-test-gearbox-7781"


class Client:
    def __init__(self, base: str, token: str | None = None) -> None:
        self.base, self.token = base, token

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return requests.request(method, self.base + path, json=body, headers=headers, timeout=60)


def sign_in(base: str, email: str) -> Client:
    response = requests.post(
        f"{base}/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=60
    )
    assert response.status_code == 200, response.text
    return Client(base, response.json()["access_token"])


def weak_battery_readings(now: datetime) -> list[dict[str, Any]]:
    """A drive, then a parked car whose resting voltage sits at 12.1 V (high risk)."""
    start = now - timedelta(hours=6)
    readings = []
    for minute in range(0, 60, 10):
        readings.append(
            {
                "timestamp": (start + timedelta(minutes=minute)).isoformat(),
                "odometer_km": 50_000 + minute * 0.8,
                "battery_voltage": 14.2,
                "engine_running": True,
                "coolant_temp_c": 90.0,
                "dtc_codes": [],
            }
        )
    for minute in range(120, 360, 30):
        readings.append(
            {
                "timestamp": (start + timedelta(minutes=minute)).isoformat(),
                "odometer_km": 50_048.0,
                "battery_voltage": 12.1,
                "engine_running": False,
                "coolant_temp_c": 20.0,
                "dtc_codes": [],
            }
        )
    return readings


def test_weak_battery_becomes_a_completed_service(stack: Any, db: Any) -> None:
    from identity import accounts  # functions/auth: the only way to make the first admin

    base = stack.gateway_url
    for email, role, center in (("admin@loop.test", "admin", None),):
        accounts.create_account(
            email=email,
            password=PASSWORD,
            full_name="Loop Admin",
            role=role,
            service_center_id=center,
            enforce_policy=False,
        )
    admin = sign_in(base, "admin@loop.test")

    # Open around the clock with a 15-minute grid, so the soonest suggested slot starts
    # within 15 minutes of now: the center may start work from 30 minutes before a slot
    # (booking.lifecycle), and the functions here run on the real clock.
    every_day = {
        day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    center = admin.call(
        "POST",
        "/api/bookings/centers",
        {
            "name": "Loop Garage",
            "address": "Ringstraße 2, Berlin",
            "time_zone": "Europe/Berlin",
            "opening_hours": every_day,
            "bays": 2,
            "slot_step_minutes": 15,
            "services": [
                {"code": "battery_check", "name": "Battery check", "duration_minutes": 30}
            ],
            "location": {"lat": 52.5, "lng": 13.4},
        },
    )
    assert center.status_code == 201, center.text
    center_id = center.json()["id"]
    accounts.create_account(
        email="staff@loop.test",
        password=PASSWORD,
        full_name="Staff",
        role="service_center",
        service_center_id=center_id,
        enforce_policy=False,
    )
    staff = sign_in(base, "staff@loop.test")

    from auth_test_helpers import confirmation_code

    registration = requests.post(
        f"{base}/api/auth/register",
        json={"email": "owner@loop.test", "password": PASSWORD, "full_name": "Owner"},
        timeout=60,
    )
    assert registration.status_code == 202, registration.text
    registered = requests.post(
        f"{base}/api/auth/verify-email",
        json={"code": confirmation_code("owner@loop.test")},
        timeout=60,
    )
    assert registered.status_code == 200, registered.text
    owner = Client(base, registered.json()["access_token"])

    vehicle = owner.call(
        "POST",
        "/api/vehicles/",
        {
            "vin": "1M8GDM9AXKP042788",
            "make": "Ford",
            "model": "Focus",
            "year": 2018,
            "mileage_km": 50_000,
        },
    )
    assert vehicle.status_code == 201, vehicle.text
    vehicle_id = vehicle.json()["id"]

    ingest = owner.call(
        "POST",
        f"/api/vehicles/{vehicle_id}/telemetry",
        {"readings": weak_battery_readings(datetime.now(UTC))},
    )
    assert ingest.status_code in (200, 201), ingest.text

    health = owner.call("GET", f"/api/vehicles/{vehicle_id}/health").json()
    battery = [f for f in health["findings"] if f["rule_id"] == "battery.resting_voltage"]
    assert battery and battery[0]["severity"] == "high", health
    assert battery[0]["evidence"] and battery[0]["recommended_action"]
    assert health["score"] < 100

    alerts = owner.call("GET", "/api/vehicles/alerts").json()
    open_battery = [a for a in alerts["items"] if a["service_code"] == "battery_check"]
    assert open_battery and open_battery[0]["status"] == "open", alerts

    suggestions = owner.call("GET", "/api/bookings/suggestions?lat=52.52&lng=13.40").json()
    for_battery = [
        s
        for s in suggestions["suggestions"]
        if s["vehicle_id"] == vehicle_id and s["service_code"] == "battery_check"
    ]
    assert for_battery, suggestions
    assert for_battery[0]["center"]["id"] == center_id

    key = uuid.uuid4().hex
    accepted = owner.call(
        "POST",
        f"/api/bookings/suggestions/{for_battery[0]['id']}/accept",
        **{"Idempotency-Key": key},
    )
    assert accepted.status_code == 201, accepted.text
    replay = owner.call(
        "POST",
        f"/api/bookings/suggestions/{for_battery[0]['id']}/accept",
        **{"Idempotency-Key": key},
    )
    assert replay.status_code == 201 and replay.json()["id"] == accepted.json()["id"]
    booking_id = accepted.json()["id"]
    assert accepted.json()["status"] == "requested"
    assert datetime.fromisoformat(accepted.json()["start"]) > datetime.now(UTC)

    for action in ("confirm", "start"):
        moved = staff.call("POST", f"/api/bookings/{booking_id}/{action}")
        assert moved.status_code == 200, (action, moved.text)
    completed = staff.call(
        "POST",
        f"/api/bookings/{booking_id}/complete",
        {
            "mileage_km": 50_060,
            "work_done": "Battery tested and replaced",
            "cost": {"amount": 149.0, "currency": "EUR"},
        },
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "completed"

    records = owner.call("GET", f"/api/vehicles/{vehicle_id}/service-records").json()
    assert any(r.get("booking_id") == booking_id for r in records["items"]), records
    after = owner.call("GET", "/api/vehicles/alerts?status=resolved").json()
    assert any(a["service_code"] == "battery_check" for a in after["items"]), after
    still_open = owner.call("GET", "/api/vehicles/alerts").json()
    assert not [a for a in still_open["items"] if a["service_code"] == "battery_check"]
    # The staff member now sees the vehicle: it has a booking at their center.
    seen = staff.call("GET", "/api/vehicles/").json()
    assert [v["id"] for v in seen["items"]] == [vehicle_id]
