"""The mobile data path with the real Firebase JS SDK, against the real running platform.

Data is prepared the way users make it — through the Hosting gateway and every function
(the ``stack`` fixture): customers register, add vehicles, book at a center, send telemetry
that opens an alert, record a service. Then ``node --test`` runs tests/mobile/
firebase_sdk.test.mjs, which does what the app does: ``POST /api/auth/login``,
``signInWithCustomToken`` at the Firebase Auth emulator with the ``firebase_token``, and
reads Firestore (the same emulator the functions write, firestore.rules loaded) with the
official SDK's modular API. docs/firestore-rules.md lists what it proves.

Revocation: the admin's API call alone (``PATCH /api/auth/users/{id}``) must end the open
SDK session — the auth function processes call shared/auth/sdk_revocation.py themselves,
against the same Auth emulator the SDK signs in at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from seed_demo import Api, weekly_hours

ROOT = Path(__file__).resolve().parent.parent
NODE_TEST = ROOT / "tests" / "mobile" / "firebase_sdk.test.mjs"
PASSWORD = "mobile-path-gearbox-4417"
# The Node file's own test count: a run that silently executes fewer fails here.
EXPECTED_NODE_TESTS = 10
NODE_TIMEOUT_SECONDS = 180

pytestmark = pytest.mark.e2e


def _center(admin: Api, name: str) -> str:
    center = admin.call(
        "POST",
        "/api/bookings/centers",
        {
            "name": name,
            "address": "Hauptstraße 1, Berlin, Germany",
            "location": {"lat": 52.52, "lng": 13.405},
            "time_zone": "Europe/Berlin",
            "opening_hours": weekly_hours("08:00", "18:00"),
            "bays": 2,
            "services": [
                {"code": "diagnostics", "name": "Fault-code diagnostics", "duration_minutes": 60}
            ],
        },
        expect=201,
    )
    return str(center["id"])


def _book(customer: Api, vehicle_id: str, center_id: str) -> str:
    day = datetime.now(UTC).date()
    for _ in range(14):
        day += timedelta(days=1)
        slots = customer.call(
            "GET",
            f"/api/bookings/centers/{center_id}/availability"
            f"?date={day.isoformat()}&service=diagnostics",
        )["slots"]
        if slots:
            booking = customer.call(
                "POST",
                "/api/bookings/",
                {
                    "vehicle_id": vehicle_id,
                    "center_id": center_id,
                    "service_type": "diagnostics",
                    "start": slots[0]["start"],
                },
                expect=201,
            )
            return str(booking["id"])
    raise AssertionError("no free slot in the next two weeks")


def _misfire(customer: Api, vehicle_id: str, odometer: float) -> str:
    """A drive reporting P0301: a critical alert, scoped like its vehicle."""
    start = datetime.now(UTC) - timedelta(hours=2)
    readings = [
        {
            "timestamp": (start + timedelta(minutes=minute)).isoformat(),
            "odometer_km": odometer + minute,
            "battery_voltage": 14.1,
            "engine_running": True,
            "coolant_temp_c": 90.0,
            "dtc_codes": ["P0301"],
        }
        for minute in (0, 10, 20)
    ]
    customer.call(
        "POST", f"/api/vehicles/{vehicle_id}/telemetry", {"readings": readings}, expect=(200, 201)
    )
    customer.call("GET", f"/api/vehicles/{vehicle_id}/health")
    alerts = customer.call("GET", "/api/vehicles/alerts")["items"]
    ids = [a["id"] for a in alerts if a["vehicle_id"] == vehicle_id]
    assert ids, alerts
    return str(ids[0])


def _prepare_world(db: Any, gateway: str) -> dict[str, Any]:
    """Two customers with a vehicle, booking, alert and service record each, at two centers."""
    from identity import accounts

    api = Api(gateway)
    users: dict[str, dict[str, str]] = {}

    def account(name: str, role: str, center: str | None = None) -> None:
        email = f"{name.replace('_', '-')}@mobile.test"
        user = accounts.create_account(
            email=email, password=PASSWORD, full_name=name, role=role, service_center_id=center
        )
        users[name] = {"email": email, "uid": str(user["id"])}

    account("admin", "admin")
    admin = api.login(users["admin"]["email"], PASSWORD)
    centers = {"north": _center(admin, "PMI North"), "south": _center(admin, "PMI South")}
    account("staff_north", "service_center", centers["north"])
    account("staff_south", "service_center", centers["south"])

    vehicles, bookings, alerts, records = {}, {}, {}, {}
    for name, center, vin in (
        ("alice", "north", "1HGCM82633A004352"),
        ("bob", "south", "WVWZZZ1JZXW000001"),
    ):
        email = f"{name}@mobile.test"
        api.call(
            "POST",
            "/api/auth/register",
            {"email": email, "password": PASSWORD, "full_name": name.title()},
            expect=202,
        )
        # The owner confirms with the code the outbox holds for the address (docs/auth.md).
        from auth_test_helpers import confirmation_code

        registered = api.call("POST", "/api/auth/verify-email", {"code": confirmation_code(email)})
        users[name] = {"email": email, "uid": str(registered["user"]["id"])}
        customer = api.login(email, PASSWORD)
        vehicle = customer.call(
            "POST",
            "/api/vehicles/",
            {"vin": vin, "make": "Honda", "model": "Accord", "year": 2019, "mileage_km": 42_000},
            expect=201,
        )
        vehicles[name] = str(vehicle["id"])
        # Booked first, so the vehicle (and then its alert) is linked to the center.
        bookings[name] = _book(customer, vehicles[name], centers[center])
        alerts[name] = _misfire(customer, vehicles[name], 42_000)
        record = customer.call(
            "POST",
            f"/api/vehicles/{vehicles[name]}/service-records",
            {
                "performed_at": (datetime.now(UTC) - timedelta(days=30)).isoformat(),
                "mileage_km": 41_000,
                "service_codes": ["oil_change"],
                "work_done": "Oil and filter",
            },
            expect=201,
        )
        records[name] = str(record["id"])
    return {
        "users": users,
        "centers": centers,
        "vehicles": vehicles,
        "bookings": bookings,
        "alerts": alerts,
        "service_records": records,
    }


def test_mobile_app_reads_exactly_its_own_data_with_the_firebase_sdk(
    stack: Any, emulator: Any, auth_emulator: Any, db: Any
) -> None:
    node = shutil.which("node")
    assert node is not None, "Node.js is required (scripts/ensure_tools.sh installs it)"
    world = {
        **_prepare_world(db, stack.gateway_url),
        "project_id": emulator.project_id,
        "gateway": stack.gateway_url,
        "firestore": emulator.address,
        "auth_emulator": auth_emulator.address,
        "password": PASSWORD,
    }
    result = subprocess.run(
        [node, "--test", "--test-reporter=tap", "--test-force-exit", str(NODE_TEST)],
        cwd=ROOT,
        env={**os.environ, "PMI_MOBILE_WORLD": json.dumps(world)},
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_SECONDS,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed is not None, output
    assert int(passed.group(1)) == EXPECTED_NODE_TESTS, output
    # The refused writes left nothing behind (the SDK cannot read a missing document).
    assert not db.document("vehicles/client-made").get().exists
    assert {s.id for s in db.collection("bookings").stream()} == set(world["bookings"].values())
    alice_records = db.collection(f"vehicles/{world['vehicles']['alice']}/service_records")
    assert {s.id for s in alice_records.stream()} == {world["service_records"]["alice"]}
