"""Demo data for local runs: one account per role, service centers, vehicles, telemetry
and a booking — loaded into the local emulator by ``make dev``, never deployed.

Accounts are written straight to Firestore (there is no other way to make the first admin);
everything else goes through the running platform's own HTTP API, so a demo that loads is
also a smoke test of the gateway and every function.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
DEMO_DOMAIN = "demo.pmi.dev"
# Passes the platform's own password policy (12+ characters, not a common password).
DEFAULT_DEMO_PASSWORD = "pmi-demo-garage-2026"
DEMO_ROLES = ("admin", "customer", "center", "mechanic", "viewer")
ROLE_OF_ACCOUNT = {
    "admin": "admin",
    "customer": "customer",
    "center": "service_center",
    "mechanic": "mechanic",
    "viewer": "viewer",
}
REQUEST_TIMEOUT_SECONDS = 30


def demo_password() -> str:
    return os.environ.get("PMI_DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD


def demo_email(account: str) -> str:
    return f"{account}@{DEMO_DOMAIN}"


class Api:
    """A tiny client for the gateway: raises with the error envelope on any failure."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.token: str | None = None

    def call(
        self, method: str, path: str, body: Any = None, expect: int | tuple[int, ...] = 200
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.session.request(
            method,
            self.base_url + path,
            json=body,
            headers=headers,
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        expected = expect if isinstance(expect, tuple) else (expect,)
        if response.status_code not in expected:
            raise RuntimeError(
                f"{method} {path} answered {response.status_code}: {response.text[:500]}"
            )
        return response.json() if response.content else None

    def login(self, email: str, password: str) -> Api:
        signed_in = Api(self.base_url)
        signed_in.token = self.call(
            "POST", "/api/auth/login", {"email": email, "password": password}
        )["access_token"]
        return signed_in


def _create_accounts(center_id: str | None, only: tuple[str, ...]) -> dict[str, str]:
    sys.path.insert(0, str(ROOT / "functions" / "auth"))
    from identity import accounts

    created = {}
    for account in only:
        role = ROLE_OF_ACCOUNT[account]
        user = accounts.create_account(
            email=demo_email(account),
            password=demo_password(),
            full_name=f"Demo {account.title()}",
            role=role,
            service_center_id=center_id if role in ("service_center", "mechanic") else None,
        )
        created[account] = str(user["id"])
    return created


def weekly_hours(open_at: str, close_at: str) -> dict[str, list[list[str]]]:
    weekdays = {day: [[open_at, close_at]] for day in ("mon", "tue", "wed", "thu", "fri")}
    return {**weekdays, "sat": [["09:00", "13:00"]], "sun": []}


def battery_series(now: datetime, days: int = 10) -> list[dict[str, Any]]:
    """A car whose resting battery voltage sags over ten days: a finding before a failure."""
    readings = []
    odometer = 42_100.0
    for day in range(days, 0, -1):
        morning = now - timedelta(days=day, hours=-7)
        odometer += 31.5
        resting = 12.55 - (days - day) * 0.05
        for minutes, running, volts, coolant in (
            (0, False, resting, 15.0),
            (30, False, resting - 0.01, 15.0),
            (60, False, resting - 0.02, 14.0),
            (90, True, 14.1, 88.0),
            (120, True, 14.2, 91.0),
        ):
            readings.append(
                {
                    "timestamp": (morning + timedelta(minutes=minutes)).isoformat(),
                    "odometer_km": round(odometer + minutes / 10, 1),
                    "battery_voltage": round(volts, 2),
                    "engine_running": running,
                    "coolant_temp_c": coolant,
                    "dtc_codes": [],
                }
            )
    return readings


def seed(gateway_url: str, progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Load the demo data through ``gateway_url``; returns the ids it made."""
    api = Api(gateway_url)
    password = demo_password()
    ids: dict[str, Any] = {"users": _create_accounts(None, ("admin",))}
    admin = api.login(demo_email("admin"), password)

    centers = []
    for name, city, lat, lng, bays in (
        ("PMI Werkstatt Berlin Mitte", "Berlin", 52.520, 13.405, 3),
        ("PMI Service Potsdam", "Potsdam", 52.391, 13.064, 2),
    ):
        center = admin.call(
            "POST",
            "/api/bookings/centers",
            {
                "name": name,
                "address": f"Hauptstraße 1, {city}, Germany",
                "location": {"lat": lat, "lng": lng},
                "time_zone": "Europe/Berlin",
                "opening_hours": weekly_hours("08:00", "18:00"),
                "bays": bays,
                "services": [
                    {"code": "oil_change", "name": "Oil and filter change", "duration_minutes": 60},
                    {"code": "battery_check", "name": "12 V battery check", "duration_minutes": 30},
                    {
                        "code": "diagnostics",
                        "name": "Fault-code diagnostics",
                        "duration_minutes": 60,
                    },
                    {
                        "code": "brake_inspection",
                        "name": "Brake inspection",
                        "duration_minutes": 60,
                    },
                    {"code": "tyre_rotation", "name": "Tyre rotation", "duration_minutes": 30},
                ],
            },
            expect=201,
        )
        centers.append(center["id"])
    ids["centers"] = centers
    progress(f"  {len(centers)} service centers")

    ids["users"].update(_create_accounts(centers[0], ("customer", "center", "mechanic", "viewer")))
    admin.call(
        "PATCH", f"/api/bookings/centers/{centers[0]}", {"mechanic_ids": [ids["users"]["mechanic"]]}
    )
    progress(f"  {len(ids['users'])} accounts: " + ", ".join(demo_email(a) for a in DEMO_ROLES))

    customer = api.login(demo_email("customer"), password)
    vehicles = []
    for vin, make, model, year, mileage, plate in (
        ("1HGCM82633A004352", "Honda", "Accord", 2019, 42_100, "B-PM 1001"),
        ("WVWZZZ1JZXW000001", "Volkswagen", "Golf", 2021, 18_500, "B-PM 2002"),
    ):
        vehicle = customer.call(
            "POST",
            "/api/vehicles/",
            {
                "vin": vin,
                "make": make,
                "model": model,
                "year": year,
                "mileage_km": mileage,
                "plate": plate,
                "fuel_type": "petrol",
            },
            expect=201,
        )
        vehicles.append(vehicle["id"])
    ids["vehicles"] = vehicles
    now = datetime.now(UTC)
    series = battery_series(now)
    accepted = 0
    # A batch may span at most 7 days (docs/vehicles.md): send the ten days as two halves.
    for half in (series[: len(series) // 2], series[len(series) // 2 :]):
        result = customer.call(
            "POST",
            f"/api/vehicles/{vehicles[0]}/telemetry",
            {"readings": half},
            expect=(200, 201, 207),
        )
        accepted += int(result.get("accepted", 0))
    progress(f"  {len(vehicles)} vehicles, {accepted} telemetry readings")
    health = customer.call("GET", f"/api/vehicles/{vehicles[0]}/health")
    progress(
        f"  health of the Accord: score {health.get('score')}, "
        f"{len(health.get('findings', []))} findings"
    )

    slots: list[dict[str, Any]] = []
    day = now.date()
    for _ in range(10):
        day += timedelta(days=1)
        slots = customer.call(
            "GET",
            f"/api/bookings/centers/{centers[0]}/availability?date={day.isoformat()}"
            "&service=battery_check",
        )["slots"]
        if slots:
            break
    if slots:
        booking = customer.call(
            "POST",
            "/api/bookings/",
            {
                "vehicle_id": vehicles[0],
                "center_id": centers[0],
                "service_type": "battery_check",
                "start": slots[0]["start"],
                "notes": "Battery seems weak on cold mornings.",
            },
            expect=201,
        )
        ids["bookings"] = [booking["id"]]
        progress(f"  1 booking on {slots[0]['start']}")
    return ids
