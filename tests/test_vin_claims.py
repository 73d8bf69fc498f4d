"""A VIN registered by someone else is a claim an admin resolves, not a dead end or an oracle.

Before: ``409 vin_taken`` told anyone whether a VIN is on the platform, and the real owner of
a car whose VIN someone else had registered (a previous owner, a squatter) could never
register it. Now the registration answers 202 with a pending claim that names nothing about
the current registration; an admin approves (the claimant gets the VIN, the former
registration and its data are removed) or rejects it, with a reason, audited
(functions/vehicles/vehicle/claims.py, docs/vehicles.md).

OWASP API Security Top 10 (2023): API6 Unrestricted Access to Sensitive Business Flows (the
registration flow used to probe VINs and to squat them; claims are capped per account and
reviewed) and API5 Broken Function Level Authorization (only admins resolve).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter
from vehicles_testkit import (
    API,
    client_fixture,  # noqa: F401 - provides the "client" fixture
    create_vehicle,
    error_code,
    north_american_vin,
    reading,
    recent,
    vehicle_body,
)

CLAIMS = f"{API}/vin-claims"
REASON = "Registration papers checked: the claimant holds the title"


def claim(client: Any, user: Any, vin: str, **fields: Any) -> Any:
    return client.post(API, json=vehicle_body(vin=vin, **fields), headers=user.headers)


def resolve(client: Any, user: Any, claim_id: str, decision: str) -> Any:
    return client.post(
        f"{CLAIMS}/{claim_id}/resolve",
        json={"decision": decision, "reason": REASON},
        headers=user.headers,
    )


def audit_events(db: Any, event: str) -> list[dict[str, Any]]:
    query = db.collection("audit_log").where(filter=FieldFilter("event", "==", event))
    return [s.to_dict() for s in query.stream()]


@pytest.fixture
def squatted(client: Any, users: Any) -> tuple[Any, dict[str, Any], str]:
    """Someone registered a VIN first (with telemetry); returns (them, their vehicle, VIN)."""
    squatter = users.create("customer")
    vin = north_american_vin()
    vehicle = create_vehicle(client, squatter, vin=vin, mileage_km=10_000)
    sent = client.post(
        f"{API}/{vehicle['id']}/telemetry",
        json={"readings": [reading(recent(30), 10_010)]},
        headers=squatter.headers,
    )
    assert sent.status_code == 201
    return squatter, vehicle, vin


def test_a_taken_vin_answers_202_with_a_claim_that_reveals_nothing_about_the_registration(
    client: Any, users: Any, squatted: tuple[Any, dict[str, Any], str]
) -> None:
    squatter, vehicle, vin = squatted
    owner = users.create("customer")
    response = claim(client, owner, vin)
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending_review"
    assert set(body["claim"]) == {"id", "vin", "status", "created_at", "resolved_at", "vehicle_id"}
    assert body["claim"]["status"] == "pending" and body["claim"]["vehicle_id"] is None
    text = json.dumps(body)
    for secret in (squatter.id, vehicle["id"], squatter.email):
        assert secret not in text
    assert "Location" not in response.headers
    # Nothing was registered to the claimant.
    assert client.get(API, headers=owner.headers).get_json()["items"] == []


def test_repeating_the_registration_answers_with_the_same_claim(
    client: Any, users: Any, squatted: tuple[Any, dict[str, Any], str]
) -> None:
    _, _, vin = squatted
    owner = users.create("customer")
    first = claim(client, owner, vin).get_json()["claim"]["id"]
    again = claim(client, owner, vin)
    assert again.status_code == 202 and again.get_json()["claim"]["id"] == first
    listed = client.get(CLAIMS, headers=owner.headers).get_json()["items"]
    assert [c["id"] for c in listed] == [first]


def test_an_account_holds_at_most_three_pending_claims(client: Any, users: Any, db: Any) -> None:
    """Probing VINs through claims stops after a handful, each one reviewed by an admin."""
    registrant, prober = users.create("customer"), users.create("customer")
    vins = [north_american_vin() for _ in range(4)]
    for vin in vins:
        create_vehicle(client, registrant, vin=vin)
    for vin in vins[:3]:
        assert claim(client, prober, vin).status_code == 202
    refused = claim(client, prober, vins[3])
    assert refused.status_code == 409 and error_code(refused) == "too_many_vin_claims"
    assert len(audit_events(db, "vin_claim_opened")) == 3


def test_claimants_see_their_own_claims_and_admins_see_the_registration_to_decide(
    client: Any, users: Any, squatted: tuple[Any, dict[str, Any], str]
) -> None:
    squatter, vehicle, vin = squatted
    owner, stranger, admin = (
        users.create("customer"),
        users.create("customer"),
        users.create("admin"),
    )
    claim_id = claim(client, owner, vin).get_json()["claim"]["id"]
    assert client.get(CLAIMS, headers=stranger.headers).get_json()["items"] == []
    assert client.get(CLAIMS, headers=squatter.headers).get_json()["items"] == []
    [seen] = client.get(CLAIMS, headers=admin.headers).get_json()["items"]
    assert seen["id"] == claim_id and seen["claimant_id"] == owner.id
    assert seen["current_registration"]["vehicle_id"] == vehicle["id"]
    assert seen["current_registration"]["owner_id"] == squatter.id
    for role in ("service_center", "mechanic", "viewer"):
        user = users.create(role, service_center_id="c1" if role != "viewer" else None)
        assert client.get(CLAIMS, headers=user.headers).status_code == 403


def test_an_approved_claim_gives_the_claimant_the_vin_and_removes_the_former_registration(
    client: Any, users: Any, db: Any, squatted: tuple[Any, dict[str, Any], str]
) -> None:
    squatter, vehicle, vin = squatted
    owner, admin = users.create("customer"), users.create("admin")
    claim_id = claim(client, owner, vin, make="Honda", mileage_km=88_000).get_json()["claim"]["id"]
    response = resolve(client, admin, claim_id, "approve")
    assert response.status_code == 200, response.get_json()
    resolved = response.get_json()
    assert resolved["status"] == "approved" and resolved["removed_vehicle_id"] == vehicle["id"]

    [mine] = client.get(API, headers=owner.headers).get_json()["items"]
    assert mine["id"] == resolved["vehicle_id"] and mine["vin"] == vin
    assert mine["mileage_km"] == 88_000
    assert client.get(f"{API}/{vehicle['id']}", headers=squatter.headers).status_code == 404
    assert db.collection("vehicle_vins").document(vin).get().get("vehicle_id") == mine["id"]
    # The former registration's data is theirs, not the car's next owner's: gone.
    old = db.collection("vehicles").document(vehicle["id"])
    assert not old.get().exists and old.collection("telemetry_days").get() == []
    [entry] = audit_events(db, "vin_claim_approved")
    assert entry["actor_id"] == admin.id and entry["subject_id"] == owner.id
    assert entry["details"]["removed_owner_id"] == squatter.id
    assert entry["details"]["reason"] == REASON
    mine_listed = client.get(f"{CLAIMS}?status=approved", headers=owner.headers).get_json()
    assert mine_listed["items"][0]["vehicle_id"] == mine["id"]


def test_a_rejected_claim_leaves_the_registration_as_it_was(
    client: Any, users: Any, db: Any, squatted: tuple[Any, dict[str, Any], str]
) -> None:
    squatter, vehicle, vin = squatted
    owner, admin = users.create("customer"), users.create("admin")
    claim_id = claim(client, owner, vin).get_json()["claim"]["id"]
    response = resolve(client, admin, claim_id, "reject")
    assert response.status_code == 200 and response.get_json()["status"] == "rejected"
    assert client.get(f"{API}/{vehicle['id']}", headers=squatter.headers).status_code == 200
    assert client.get(API, headers=owner.headers).get_json()["items"] == []
    assert len(audit_events(db, "vin_claim_rejected")) == 1
    again = resolve(client, admin, claim_id, "approve")
    assert again.status_code == 409 and error_code(again) == "claim_not_pending"


def test_only_admins_resolve_claims(
    client: Any, users: Any, squatted: tuple[Any, dict[str, Any], str]
) -> None:
    squatter, _, vin = squatted
    owner, admin = users.create("customer"), users.create("admin")
    claim_id = claim(client, owner, vin).get_json()["claim"]["id"]
    for user in (owner, squatter, users.create("service_center", service_center_id="c1")):
        assert resolve(client, user, claim_id, "approve").status_code == 403
    assert resolve(client, admin, "0" * 32, "approve").status_code == 404
    assert resolve(client, admin, "../users", "approve").status_code == 404
    bad = client.post(
        f"{CLAIMS}/{claim_id}/resolve", json={"decision": "approve"}, headers=admin.headers
    )
    assert bad.status_code == 422
