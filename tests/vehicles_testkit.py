"""Helpers shared by the tests/test_vehicles_*.py files: VINs, vehicles, readings, fixtures.

The fixtures are defined under other names than the ones tests ask for (``client``,
``owner``, ``vehicle``), so that a test module imports them as
``from vehicles_testkit import client_fixture`` without the tests' arguments shadowing the
import.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vehicle.vin import CHECK_DIGIT_INDEX, compute_check_digit

API = "/api/vehicles"
MINUTE = timedelta(minutes=1)

_serials = itertools.count(100001)


def north_american_vin(serial: int | None = None) -> str:
    """A valid US VIN (check digit computed) with a fresh serial number."""
    number = next(_serials) if serial is None else serial
    draft = f"1HGCM82630A{number:06d}"
    digit = compute_check_digit(draft)
    return draft[:CHECK_DIGIT_INDEX] + digit + draft[CHECK_DIGIT_INDEX + 1 :]


def european_vin(serial: int | None = None) -> str:
    """A valid European VIN: position 9 is the maker's, not a check digit."""
    number = next(_serials) if serial is None else serial
    return f"WVWZZZ1JZXW{number:06d}"


def vehicle_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "vin": north_american_vin(),
        "make": "Honda",
        "model": "Accord",
        "year": 2019,
        "mileage_km": 42000,
        "plate": "AB-123-CD",
        "nickname": "Daily",
        "fuel_type": "petrol",
    }
    body.update(overrides)
    return body


def create_vehicle(client: Any, user: Any, **overrides: Any) -> dict[str, Any]:
    response = client.post(API, json=vehicle_body(**overrides), headers=user.headers)
    assert response.status_code == 201, response.get_json()
    vehicle: dict[str, Any] = response.get_json()
    return vehicle


def post_telemetry(client: Any, user: Any, vehicle_id: str, readings: list[dict[str, Any]]) -> Any:
    """``POST /{vehicle_id}/telemetry`` with ``readings`` as ``user``."""
    return client.post(
        f"{API}/{vehicle_id}/telemetry", json={"readings": readings}, headers=user.headers
    )


def reading(
    when: datetime,
    odometer_km: float = 42000.0,
    *,
    volts: float = 12.6,
    running: bool = False,
    coolant: float | None = None,
    codes: list[str] | None = None,
    pending: list[str] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "timestamp": when.isoformat(),
        "odometer_km": odometer_km,
        "battery_voltage": volts,
        "engine_running": running,
        "coolant_temp_c": coolant,
        "dtc_codes": codes or [],
    }
    if pending is not None:
        data["dtc_pending"] = pending
    return data


def recent(minutes_ago: float) -> datetime:
    """A whole-second UTC time ``minutes_ago`` before now."""
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).replace(microsecond=0)


def series(
    start: datetime,
    count: int,
    step: timedelta,
    odometer: float = 42000.0,
    km_per_step: float = 1.0,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    return [reading(start + i * step, odometer + i * km_per_step, **kwargs) for i in range(count)]


def link_to_center(
    vehicle_id: str,
    center_id: str,
    *,
    booking_id: str | None = None,
    until: datetime | None = None,
) -> None:
    """What a booking at ``center_id`` does to the vehicle: the shared rule
    (shared.center_links) run in a transaction, granting access until ``until`` (default: a
    booking whose slot ends in a day, so the usual window)."""
    from shared import clock
    from shared.center_links import grant_until, read_link
    from shared.transactions import run_transaction

    now = clock.now()
    granted = until or grant_until(slot_end=now + timedelta(days=1))

    def work(transaction: Any) -> None:
        read_link(transaction, vehicle_id).write(
            transaction,
            booking_id=booking_id or f"booking-at-{center_id}",
            center_id=center_id,
            until=granted,
            now=now,
        )

    run_transaction(work, what="test link")


def error_code(response: Any) -> str:
    body: dict[str, Any] = response.get_json()
    code: str = body["error"]["code"]
    return code


@pytest.fixture(name="client")
def client_fixture(call: Any) -> Any:
    """The vehicles function's test client."""
    return call("vehicles")


@pytest.fixture(name="owner")
def owner_fixture(users: Any) -> Any:
    """A signed-in customer."""
    return users.create("customer")


@pytest.fixture(name="vehicle")
def vehicle_fixture(client: Any, owner: Any) -> dict[str, Any]:
    """A vehicle of ``owner`` at 42,000 km."""
    return create_vehicle(client, owner, mileage_km=42000)
