"""Vehicle registry: create, read, list, change and delete, with every bad input and role."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from vehicles_testkit import (
    API,
    client_fixture,  # noqa: F401 - provides the "client" fixture
    create_vehicle,
    error_code,
    european_vin,
    north_american_vin,
    recent,
    vehicle_body,
)
from vehicles_testkit import link_to_center as shared_rule_link


def link_to_center(db: Any, vehicle_id: str, center_id: str) -> None:
    """What the bookings function does when a booking is made at a center."""
    shared_rule_link(vehicle_id, center_id)


# --- create ---------------------------------------------------------------------------------


def test_create_vehicle_returns_201_and_the_stored_vehicle(
    client: Any, users: Any, db: Any
) -> None:
    owner = users.create("customer")
    body = vehicle_body(vin=" " + north_american_vin().lower() + " ")
    response = client.post(API, json=body, headers=owner.headers)
    assert response.status_code == 201
    vehicle = response.get_json()
    assert vehicle["vin"] == body["vin"].strip().upper()
    assert vehicle["owner_id"] == owner.id
    assert response.headers["Location"] == f"{API}/{vehicle['id']}"
    stored = db.collection("vehicles").document(vehicle["id"]).get().to_dict()
    assert stored["vin"] == vehicle["vin"] and stored["center_ids"] == []
    assert db.collection("vehicle_vins").document(vehicle["vin"]).get().exists


def test_european_vin_without_check_digit_is_accepted(client: Any, users: Any) -> None:
    owner = users.create("customer")
    vehicle = create_vehicle(client, owner, vin=european_vin())
    assert vehicle["vin"].startswith("WVW")


@pytest.mark.parametrize(
    ("vin", "fragment"),
    [
        ("1HGCM82633A00435", "17 characters"),
        ("1HGCM82633A0043521", "17 characters"),
        ("1HGCM82633A00I352", "I, O or Q"),
        ("1HGCM82633A00O352", "I, O or Q"),
        ("1HGCM82633A00Q352", "I, O or Q"),
        ("1HGCM82633A00#352", "only letters"),
        ("", "empty"),
    ],
)
def test_bad_vin_is_422_with_the_reason(client: Any, users: Any, vin: str, fragment: str) -> None:
    owner = users.create("customer")
    response = client.post(API, json=vehicle_body(vin=vin), headers=owner.headers)
    assert response.status_code == 422
    detail = response.get_json()["error"]["details"][0]
    assert detail["field"] == "vin" and fragment in detail["message"]


def test_wrong_check_digit_on_a_north_american_vin_is_422(client: Any, users: Any) -> None:
    owner = users.create("customer")
    good = north_american_vin()
    wrong_digit = "X" if good[8] != "X" else "0"
    bad = good[:8] + wrong_digit + good[9:]
    response = client.post(API, json=vehicle_body(vin=bad), headers=owner.headers)
    assert response.status_code == 422
    assert "check digit" in response.get_json()["error"]["details"][0]["message"]


@pytest.mark.parametrize(
    "changes",
    [
        {"year": 1980},
        {"year": 2999},
        {"year": "new"},
        {"mileage_km": -1},
        {"mileage_km": 3_000_001},
        {"fuel_type": "steam"},
        {"make": ""},
        {"plate": "X" * 16},
        {"owner_id": "someone-else"},
        {"colour": "red"},
    ],
)
def test_out_of_bounds_or_unknown_fields_are_422(
    client: Any, users: Any, changes: dict[str, Any]
) -> None:
    owner = users.create("customer")
    response = client.post(API, json=vehicle_body(**changes), headers=owner.headers)
    assert response.status_code == 422, changes


@pytest.mark.parametrize("missing", ["vin", "make", "model", "year", "mileage_km"])
def test_missing_required_field_is_422(client: Any, users: Any, missing: str) -> None:
    owner = users.create("customer")
    body = vehicle_body()
    del body[missing]
    response = client.post(API, json=body, headers=owner.headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == missing


def test_malformed_json_is_400_and_wrong_media_type_415(client: Any, users: Any) -> None:
    owner = users.create("customer")
    headers = {**owner.headers, "Content-Type": "application/json"}
    response = client.post(API, data="{not json", headers=headers)
    assert response.status_code == 400 and error_code(response) == "malformed_json"
    response = client.post(API, data="[]", headers=headers)
    assert response.status_code == 422
    response = client.post(
        API, data="vin=1", headers={**owner.headers, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415


def test_a_vin_registered_by_someone_else_becomes_a_claim_not_a_second_vehicle(
    client: Any, users: Any
) -> None:
    """The VIN stays unique; the second registrant gets a claim (tests/test_vin_claims.py)."""
    first, second = users.create("customer"), users.create("customer")
    vin = north_american_vin()
    create_vehicle(client, first, vin=vin)
    response = client.post(API, json=vehicle_body(vin=vin.lower()), headers=second.headers)
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["claim"]["status"] == "pending"
    assert client.get(API, headers=second.headers).get_json()["items"] == []


def test_registering_your_own_vin_twice_is_409(client: Any, users: Any) -> None:
    owner = users.create("customer")
    vin = north_american_vin()
    create_vehicle(client, owner, vin=vin)
    response = client.post(API, json=vehicle_body(vin=vin), headers=owner.headers)
    assert response.status_code == 409 and error_code(response) == "vin_already_yours"


def test_concurrent_posts_of_one_vin_give_one_201_and_claims_for_the_rest(
    client: Any, users: Any, call: Any
) -> None:
    owners = [users.create("customer") for _ in range(4)]
    vin = north_american_vin()
    statuses: list[int] = []
    barrier = threading.Barrier(len(owners))

    def post(owner: Any) -> None:
        own_client = call("vehicles")  # a Flask test client per thread
        barrier.wait()
        response = own_client.post(API, json=vehicle_body(vin=vin), headers=owner.headers)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=post, args=(owner,)) for owner in owners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One instance's racers take turns (shared.locks), the losers' claim transactions too:
    # each is answered at once, none waits out the request deadline for a 503. (The
    # claims' query once locked the emulator's whole collection: three claimants at once
    # waited 30 s, and again on every retry.)
    assert sorted(statuses) == [201, 202, 202, 202]
    admin = users.create("admin")
    assert len(client.get(API, headers=admin.headers).get_json()["items"]) == 1


# --- read, scoping, BOLA --------------------------------------------------------------------


def test_other_owners_vehicle_is_404(client: Any, users: Any) -> None:
    owner, intruder = users.create("customer"), users.create("customer")
    vehicle = create_vehicle(client, owner)
    url = f"{API}/{vehicle['id']}"
    assert client.get(url, headers=intruder.headers).status_code == 404
    assert client.patch(url, json={"nickname": "mine"}, headers=intruder.headers).status_code == 404
    assert client.delete(url, headers=intruder.headers).status_code == 404
    for path in ("telemetry", "health", "service-records"):
        assert client.get(f"{url}/{path}", headers=intruder.headers).status_code == 404, path
    reading = {
        "timestamp": "2024-01-01T00:00:00Z",
        "odometer_km": 1,
        "battery_voltage": 12.6,
        "engine_running": False,
        "dtc_codes": [],
    }
    response = client.post(
        f"{url}/telemetry", json={"readings": [reading]}, headers=intruder.headers
    )
    assert response.status_code == 404
    record = {
        "performed_at": "2024-01-01T00:00:00Z",
        "mileage_km": 1,
        "service_codes": ["oil_change"],
    }
    response = client.post(f"{url}/service-records", json=record, headers=intruder.headers)
    assert response.status_code == 404
    # The same answer as for an id that never existed: nothing to probe.
    assert client.get(f"{API}/does-not-exist", headers=intruder.headers).status_code == 404
    assert client.get(url, headers=owner.headers).status_code == 200


def test_every_route_needs_sign_in(client: Any, users: Any) -> None:
    owner = users.create("customer")
    vehicle = create_vehicle(client, owner)
    url = f"{API}/{vehicle['id']}"
    for method, path in [
        ("get", API),
        ("post", API),
        ("get", f"{API}/alerts"),
        ("get", url),
        ("patch", url),
        ("delete", url),
        ("get", f"{url}/telemetry"),
        ("post", f"{url}/telemetry"),
        ("get", f"{url}/health"),
        ("get", f"{url}/service-records"),
        ("post", f"{url}/service-records"),
    ]:
        response = getattr(client, method)(path, json={})
        assert response.status_code == 401, (method, path)


def test_roles_see_what_their_scope_allows(client: Any, users: Any, db: Any) -> None:
    owner = users.create("customer")
    booked = create_vehicle(client, owner)
    unbooked = create_vehicle(client, owner)
    link_to_center(db, booked["id"], "center-a")
    staff = users.create("service_center", service_center_id="center-a")
    mechanic = users.create("mechanic", service_center_id="center-a")
    other_staff = users.create("service_center", service_center_id="center-b")
    admin, viewer = users.create("admin"), users.create("viewer")

    def visible(user: Any) -> set[str]:
        return {v["id"] for v in client.get(API, headers=user.headers).get_json()["items"]}

    both = {booked["id"], unbooked["id"]}
    assert visible(owner) == both
    assert visible(staff) == {booked["id"]} == visible(mechanic)
    assert visible(other_staff) == set()
    assert visible(admin) == both == visible(viewer)
    assert visible(users.create("customer")) == set()

    for user in (staff, mechanic, admin, viewer):
        assert client.get(f"{API}/{booked['id']}", headers=user.headers).status_code == 200
    for user in (staff, mechanic, other_staff):
        assert client.get(f"{API}/{unbooked['id']}", headers=user.headers).status_code == 404
    assert client.get(f"{API}/{booked['id']}", headers=other_staff.headers).status_code == 404


def test_viewer_gets_no_personal_data(client: Any, users: Any) -> None:
    owner, viewer = users.create("customer"), users.create("viewer")
    vehicle = create_vehicle(client, owner)
    seen = client.get(f"{API}/{vehicle['id']}", headers=viewer.headers).get_json()
    assert {"vin", "plate", "nickname"}.isdisjoint(seen)
    assert seen["make"] == "Honda"
    listed = client.get(API, headers=viewer.headers).get_json()["items"][0]
    assert {"vin", "plate", "nickname"}.isdisjoint(listed)


def test_in_scope_roles_without_write_permission_get_403(client: Any, users: Any, db: Any) -> None:
    owner = users.create("customer")
    vehicle = create_vehicle(client, owner)
    link_to_center(db, vehicle["id"], "center-a")
    mechanic = users.create("mechanic", service_center_id="center-a")
    staff = users.create("service_center", service_center_id="center-a")
    viewer = users.create("viewer")
    url = f"{API}/{vehicle['id']}"
    for user in (mechanic, staff, viewer):
        assert client.patch(url, json={"nickname": "x"}, headers=user.headers).status_code == 403
        assert client.delete(url, headers=user.headers).status_code == 403
        assert client.post(API, json=vehicle_body(), headers=user.headers).status_code == 403


# --- list pagination and filters --------------------------------------------------------------


def test_cursor_walks_every_vehicle_exactly_once(client: Any, users: Any) -> None:
    owner = users.create("customer")
    created = {create_vehicle(client, owner)["id"] for _ in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(API, query_string=query, headers=owner.headers).get_json()
        assert len(page["items"]) <= 3
        seen += [v["id"] for v in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7 and set(seen) == created


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 101},
        {"limit": 0},
        {"cursor": "garbage!"},
        {"colour": "red"},
        {"fuel_type": "steam"},
    ],
)
def test_bad_list_parameters_are_422(client: Any, users: Any, query: dict[str, Any]) -> None:
    owner = users.create("customer")
    create_vehicle(client, owner)
    response = client.get(API, query_string=query, headers=owner.headers)
    assert response.status_code == 422, query


def test_list_filters_by_make_and_fuel_type(client: Any, users: Any) -> None:
    owner = users.create("customer")
    create_vehicle(client, owner, make="Honda", fuel_type="petrol")
    ev = create_vehicle(client, owner, make="Tesla", fuel_type="electric")
    page = client.get(API, query_string={"make": "Tesla"}, headers=owner.headers).get_json()
    assert [v["id"] for v in page["items"]] == [ev["id"]]
    page = client.get(
        API, query_string={"make": "Honda", "fuel_type": "electric"}, headers=owner.headers
    ).get_json()
    assert page["items"] == []


# --- patch and delete -------------------------------------------------------------------------


def test_patch_changes_allowed_fields_only(client: Any, users: Any) -> None:
    owner = users.create("customer")
    vehicle = create_vehicle(client, owner)
    url = f"{API}/{vehicle['id']}"
    response = client.patch(
        url,
        json={
            "nickname": "Blue",
            "mileage_km": 50000,
            "maintenance_overrides": {"oil_change": {"every_km": 30000}, "battery_check": None},
        },
        headers=owner.headers,
    )
    assert response.status_code == 200
    changed = response.get_json()
    assert changed["nickname"] == "Blue" and changed["mileage_km"] == 50000
    assert changed["maintenance_overrides"] == {
        "oil_change": {"every_km": 30000},
        "battery_check": None,
    }
    for bad in (
        {"vin": north_american_vin()},
        {"owner_id": "x"},
        {"make": "Other"},
        {},
        {"mileage_km": None},
        {"maintenance_overrides": {"timing_belt": {"name": "Timing belt"}}},
        {"maintenance_overrides": {"oil_change": {"every_km": 0}}},
        {"maintenance_overrides": {"oil_change": {"every_weeks": 3}}},
    ):
        assert client.patch(url, json=bad, headers=owner.headers).status_code == 422, bad


def test_patch_cannot_lower_mileage(client: Any, users: Any) -> None:
    owner = users.create("customer")
    vehicle = create_vehicle(client, owner, mileage_km=42000)
    response = client.patch(
        f"{API}/{vehicle['id']}", json={"mileage_km": 41999}, headers=owner.headers
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "mileage_km"


def test_delete_frees_the_vin_and_removes_the_data(client: Any, users: Any, db: Any) -> None:
    owner = users.create("customer")
    vehicle = create_vehicle(client, owner)
    url = f"{API}/{vehicle['id']}"
    reading = {
        "timestamp": recent(60).isoformat(),  # telemetry older than 30 days is refused
        "odometer_km": 42001,
        "battery_voltage": 12.6,
        "engine_running": False,
        "dtc_codes": [],
    }
    assert (
        client.post(
            f"{url}/telemetry", json={"readings": [reading]}, headers=owner.headers
        ).status_code
        == 201
    )
    assert client.delete(url, headers=owner.headers).status_code == 204
    assert client.get(url, headers=owner.headers).status_code == 404
    assert client.delete(url, headers=owner.headers).status_code == 404
    ref = db.collection("vehicles").document(vehicle["id"])
    assert list(ref.collection("telemetry_days").stream()) == []
    assert not db.collection("vehicle_vins").document(vehicle["vin"]).get().exists
    # The VIN can be registered again (e.g. the car was sold to another customer).
    create_vehicle(client, users.create("customer"), vin=vehicle["vin"])


def test_admin_can_patch_and_delete_any_vehicle(client: Any, users: Any) -> None:
    owner, admin = users.create("customer"), users.create("admin")
    vehicle = create_vehicle(client, owner)
    url = f"{API}/{vehicle['id']}"
    assert client.patch(url, json={"plate": "NEW-1"}, headers=admin.headers).status_code == 200
    assert client.delete(url, headers=admin.headers).status_code == 204


def test_a_transactions_query_takes_its_collections_turn_only_against_the_emulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shared import alerts, locks

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8080")
    assert locks.query_keys("vin_claims") == ["vin_claims"]
    assert alerts.query_lock_keys() == ["alerts"]
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST")
    assert locks.query_keys("vin_claims") == [] and alerts.query_lock_keys() == []
