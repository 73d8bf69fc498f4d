"""Service records cannot be forged, mileage cannot be pushed to absurd values, and a wrong
mileage can be corrected by its owner (or an admin), audited.

* A staff-written record always carries the staff member's own center; naming another is
  422, and an owner names none (a center vouches only for its own work).
* Mileage: at most 2,000,000 km for anyone (shared.mileage.MAX_MILEAGE_KM); someone other
  than the owner — staff on a record, a mechanic completing a booking — may raise it only by
  a plausible jump since it was last known (1,500 km a day + 1,000 km).
* ``POST /{id}/mileage-correction`` lowers it, with a reason, in one transaction with the
  records above the new figure and an ``audit_log`` entry.

OWASP API Security Top 10 (2023): API3 Broken Object Property Level Authorization (a caller
writing a property — the center, an absurd mileage — it has no right to set) and API5 Broken
Function Level Authorization (the correction is the owner's and an admin's function only).
"""

from __future__ import annotations

from typing import Any

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter
from vehicles_testkit import (
    API,
    client_fixture,  # noqa: F401 - provides the "client" fixture
    error_code,
    link_to_center,
    owner_fixture,  # noqa: F401 - provides the "owner" fixture
    reading,
    recent,
    vehicle_fixture,  # noqa: F401 - provides the "vehicle" fixture
)

# The stated bound (docs/vehicles.md), written out so the test states the contract itself.
MAX_MILEAGE_KM = 2_000_000

CENTER = "center-north"


def record(mileage_km: float = 42_100, **extra: Any) -> dict[str, Any]:
    return {
        "performed_at": recent(30).isoformat(),
        "mileage_km": mileage_km,
        "service_codes": ["oil_change"],
        "work_done": "Oil and filter",
        **extra,
    }


@pytest.fixture
def staff(users: Any, vehicle: dict[str, Any]) -> Any:
    """Staff of a center the vehicle has a live booking at."""
    link_to_center(vehicle["id"], CENTER)
    return users.create("service_center", service_center_id=CENTER)


def records_of(db: Any, vehicle_id: str) -> list[dict[str, Any]]:
    return [
        s.to_dict()
        for s in db.collection("vehicles")
        .document(vehicle_id)
        .collection("service_records")
        .stream()
    ]


def stored(db: Any, vehicle_id: str) -> dict[str, Any]:
    document: dict[str, Any] = db.collection("vehicles").document(vehicle_id).get().to_dict()
    return document


def audit_entries(db: Any, event: str) -> list[dict[str, Any]]:
    query = db.collection("audit_log").where(filter=FieldFilter("event", "==", event))
    return [s.to_dict() for s in query.stream()]


# --------------------------------------------------------------------------- the center


def test_a_staff_record_carries_their_own_center(
    client: Any, staff: Any, vehicle: dict[str, Any]
) -> None:
    url = f"{API}/{vehicle['id']}/service-records"
    left_out = client.post(url, json=record(), headers=staff.headers)
    assert left_out.status_code == 201, left_out.get_json()
    assert left_out.get_json()["center_id"] == CENTER
    named = client.post(url, json=record(center_id=CENTER), headers=staff.headers)
    assert named.status_code == 201 and named.get_json()["center_id"] == CENTER


def test_staff_cannot_write_a_record_in_another_centers_name(
    client: Any, staff: Any, vehicle: dict[str, Any], db: Any
) -> None:
    url = f"{API}/{vehicle['id']}/service-records"
    response = client.post(url, json=record(center_id="center-south"), headers=staff.headers)
    assert response.status_code == 422 and error_code(response) == "foreign_center"
    assert records_of(db, vehicle["id"]) == []


def test_an_owner_cannot_attribute_their_record_to_a_center(
    client: Any, owner: Any, vehicle: dict[str, Any], db: Any
) -> None:
    url = f"{API}/{vehicle['id']}/service-records"
    response = client.post(url, json=record(center_id=CENTER), headers=owner.headers)
    assert response.status_code == 422 and error_code(response) == "foreign_center"
    plain = client.post(url, json=record(), headers=owner.headers)
    assert plain.status_code == 201 and plain.get_json()["center_id"] is None


# --------------------------------------------------------------------------- mileage bounds


def test_staff_cannot_push_the_mileage_to_2_999_999_km(
    client: Any, staff: Any, vehicle: dict[str, Any], db: Any
) -> None:
    """The attack from the report: a record at 2,999,999 km, then the owner is stuck."""
    url = f"{API}/{vehicle['id']}/service-records"
    response = client.post(url, json=record(2_999_999), headers=staff.headers)
    assert response.status_code == 422
    assert stored(db, vehicle["id"])["mileage_km"] == 42_000
    assert records_of(db, vehicle["id"]) == []


def test_staff_may_raise_the_mileage_only_by_a_plausible_jump(
    client: Any, staff: Any, vehicle: dict[str, Any], db: Any
) -> None:
    url = f"{API}/{vehicle['id']}/service-records"
    # Registered at 42,000 km just now: 1,000 km of slack, no days elapsed.
    jump = client.post(url, json=record(60_000), headers=staff.headers)
    assert jump.status_code == 422 and error_code(jump) == "implausible_mileage"
    detail = jump.get_json()["error"]["details"][0]
    assert detail["field"] == "mileage_km" and "43,000 km" in detail["message"]
    assert stored(db, vehicle["id"])["mileage_km"] == 42_000
    assert client.post(url, json=record(42_900), headers=staff.headers).status_code == 201
    assert stored(db, vehicle["id"])["mileage_km"] == 42_900


def test_the_jump_allowed_grows_with_the_days_since_the_mileage_was_known(
    client: Any, staff: Any, vehicle: dict[str, Any], db: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    ten_days_ago = datetime.now(UTC) - timedelta(days=10)
    db.collection("vehicles").document(vehicle["id"]).update(
        {"mileage_updated_at": ten_days_ago, "created_at": ten_days_ago}
    )
    url = f"{API}/{vehicle['id']}/service-records"
    # 42,000 + 1,000 + 10 days x 1,500 = 58,000 (a little more by the time it runs).
    assert client.post(url, json=record(58_000), headers=staff.headers).status_code == 201
    assert client.post(url, json=record(75_000), headers=staff.headers).status_code == 422


def test_nobody_sets_a_mileage_above_two_million_km(
    client: Any, owner: Any, vehicle: dict[str, Any]
) -> None:
    url = f"{API}/{vehicle['id']}"
    over = MAX_MILEAGE_KM + 1
    assert client.patch(url, json={"mileage_km": over}, headers=owner.headers).status_code == 422
    own = client.post(f"{url}/service-records", json=record(over), headers=owner.headers)
    assert own.status_code == 422
    # The owner's own word may raise it as far as the bound (they know their car).
    patched = client.patch(url, json={"mileage_km": 150_000}, headers=owner.headers)
    assert patched.status_code == 200 and patched.get_json()["mileage_km"] == 150_000


# --------------------------------------------------------------------------- correction


def correct(client: Any, user: Any, vehicle_id: str, km: float, reason: str | None = None) -> Any:
    body = {"mileage_km": km, "reason": reason or "typed one zero too many at registration"}
    return client.post(f"{API}/{vehicle_id}/mileage-correction", json=body, headers=user.headers)


def test_the_owner_corrects_a_wrong_mileage_and_it_is_audited(
    client: Any, owner: Any, vehicle: dict[str, Any], db: Any
) -> None:
    url = f"{API}/{vehicle['id']}"
    assert client.patch(url, json={"mileage_km": 420_000}, headers=owner.headers).status_code == 200
    response = correct(client, owner, vehicle["id"], 42_500)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["from_km"], body["to_km"]) == (420_000, 42_500)
    assert body["vehicle"]["mileage_km"] == 42_500
    assert stored(db, vehicle["id"])["mileage_km"] == 42_500
    [entry] = audit_entries(db, "mileage_corrected")
    assert entry["actor_id"] == owner.id and entry["subject_id"] == owner.id
    assert entry["details"]["from_km"] == 420_000 and entry["details"]["to_km"] == 42_500
    assert entry["details"]["reason"] == "typed one zero too many at registration"
    assert entry["request_id"]


def test_a_correction_brings_the_records_above_it_down_and_keeps_what_they_said(
    client: Any, owner: Any, staff: Any, vehicle: dict[str, Any], db: Any
) -> None:
    url = f"{API}/{vehicle['id']}"
    added = client.post(f"{url}/service-records", json=record(42_900), headers=staff.headers)
    assert added.status_code == 201
    response = correct(client, owner, vehicle["id"], 42_300, "the workshop misread the dash")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["records_adjusted"] == [added.get_json()["id"]]
    [kept] = records_of(db, vehicle["id"])
    assert (kept["mileage_km"], kept["reported_mileage_km"]) == (42_300, 42_900)
    vehicle_doc = stored(db, vehicle["id"])
    assert vehicle_doc["last_services"]["oil_change"]["mileage_km"] == 42_300
    listed = client.get(f"{url}/service-records", headers=owner.headers).get_json()["items"]
    assert listed[0]["mileage_km"] == 42_300


def test_an_admin_may_correct_staff_and_strangers_may_not(
    client: Any, users: Any, owner: Any, staff: Any, vehicle: dict[str, Any], db: Any
) -> None:
    url = f"{API}/{vehicle['id']}"
    assert client.patch(url, json={"mileage_km": 50_000}, headers=owner.headers).status_code == 200
    assert correct(client, staff, vehicle["id"], 43_000).status_code == 403
    mechanic = users.create("mechanic", service_center_id=CENTER)
    assert correct(client, mechanic, vehicle["id"], 43_000).status_code == 403
    assert correct(client, users.create("viewer"), vehicle["id"], 43_000).status_code == 403
    assert correct(client, users.create("customer"), vehicle["id"], 43_000).status_code == 404
    admin = users.create("admin")
    assert correct(client, admin, vehicle["id"], 43_000).status_code == 200
    [entry] = audit_entries(db, "mileage_corrected")
    assert entry["actor_id"] == admin.id and entry["subject_id"] == owner.id


@pytest.mark.parametrize(
    ("km", "reason", "code"),
    [
        (42_000, None, "not_a_decrease"),
        (50_000, None, "not_a_decrease"),
        (41_000, "short", "validation_failed"),
        (-1, None, "validation_failed"),
    ],
)
def test_a_correction_that_is_not_one_is_422(
    client: Any,
    owner: Any,
    vehicle: dict[str, Any],
    db: Any,
    km: float,
    reason: str | None,
    code: str,
) -> None:
    response = correct(client, owner, vehicle["id"], km, reason)
    assert response.status_code == 422 and error_code(response) == code, response.get_json()
    assert stored(db, vehicle["id"])["mileage_km"] == 42_000
    assert audit_entries(db, "mileage_corrected") == []


def test_a_correction_below_the_vehicles_own_odometer_is_422(
    client: Any, owner: Any, vehicle: dict[str, Any]
) -> None:
    url = f"{API}/{vehicle['id']}"
    sent = client.post(
        f"{url}/telemetry",
        json={"readings": [reading(recent(10), 42_600)]},
        headers=owner.headers,
    )
    assert sent.status_code == 201
    assert client.patch(url, json={"mileage_km": 90_000}, headers=owner.headers).status_code == 200
    response = correct(client, owner, vehicle["id"], 42_000)
    assert response.status_code == 422 and error_code(response) == "below_odometer"
    assert correct(client, owner, vehicle["id"], 42_600).status_code == 200
