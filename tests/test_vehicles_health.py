"""Health end to end: findings from stored telemetry, alerts opened and resolved, due services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from vehicles_testkit import (
    API,
    MINUTE,
    client_fixture,  # noqa: F401 - provides the "client" fixture
    create_vehicle,
    link_to_center,
    owner_fixture,  # noqa: F401 - provides the "owner" fixture
    reading,
    recent,
    vehicle_fixture,  # noqa: F401 - provides the "vehicle" fixture
)

BATTERY_ALERT = "battery.resting_voltage"


def resting(start: datetime, volts: float, count: int = 3) -> list[dict[str, Any]]:
    """Engine-off readings an hour apart (settled: no engine run before them)."""
    return [reading(start + i * 60 * MINUTE, 42000, volts=volts) for i in range(count)]


def send(client: Any, user: Any, vehicle_id: str, readings: list[dict[str, Any]]) -> Any:
    response = client.post(
        f"{API}/{vehicle_id}/telemetry", json={"readings": readings}, headers=user.headers
    )
    assert response.status_code in (200, 201), response.get_json()
    return response


def health(client: Any, user: Any, vehicle_id: str) -> dict[str, Any]:
    response = client.get(f"{API}/{vehicle_id}/health", headers=user.headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def alert(db: Any, vehicle_id: str, key: str) -> dict[str, Any] | None:
    snapshot = db.collection("alerts").document(f"{vehicle_id}_{key}").get()
    return snapshot.to_dict() if snapshot.exists else None


def test_weak_battery_gives_a_finding_and_an_open_alert(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    send(client, owner, vehicle["id"], resting(recent(300), 12.1))
    report = health(client, owner, vehicle["id"])
    finding = next(f for f in report["findings"] if f["rule_id"] == BATTERY_ALERT)
    assert finding["severity"] == "high"
    assert finding["evidence"]["median_resting_voltage_v"] == 12.1
    assert finding["recommended_action"] and finding["service_code"] == "battery_check"
    assert report["score"] == 80
    stored = alert(db, vehicle["id"], BATTERY_ALERT)
    assert stored is not None and stored["status"] == "open"
    assert stored["owner_id"] == owner.id and stored["evidence"]["median_resting_voltage_v"] == 12.1
    listed = client.get(f"{API}/alerts", headers=owner.headers).get_json()["items"]
    assert [a["rule_id"] for a in listed] == [BATTERY_ALERT]


def test_healthy_battery_gives_no_finding(client: Any, owner: Any, vehicle: Any, db: Any) -> None:
    send(client, owner, vehicle["id"], resting(recent(300), 12.6))
    report = health(client, owner, vehicle["id"])
    assert report["score"] == 100 and report["findings"] == []
    assert alert(db, vehicle["id"], BATTERY_ALERT) is None


def test_alert_resolves_when_the_evidence_clears(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    send(client, owner, vehicle["id"], resting(recent(600), 12.1))
    health(client, owner, vehicle["id"])
    send(client, owner, vehicle["id"], resting(recent(200), 12.7))  # after a recharge
    report = health(client, owner, vehicle["id"])
    assert all(f["rule_id"] != BATTERY_ALERT for f in report["findings"])
    stored = alert(db, vehicle["id"], BATTERY_ALERT)
    assert stored is not None
    assert stored["status"] == "resolved" and stored["resolution"] == "evidence_cleared"
    assert client.get(f"{API}/alerts", headers=owner.headers).get_json()["items"] == []
    resolved = client.get(
        f"{API}/alerts", query_string={"status": "resolved"}, headers=owner.headers
    )
    assert [a["rule_id"] for a in resolved.get_json()["items"]] == [BATTERY_ALERT]


def test_ingest_evaluates_health_and_opens_the_alert(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    body = send(client, owner, vehicle["id"], resting(recent(300), 11.8)).get_json()
    assert body["health_evaluated"] is True
    stored = alert(db, vehicle["id"], BATTERY_ALERT)
    assert stored is not None and stored["severity"] == "critical"


def test_service_record_resolves_the_matching_alert(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    send(client, owner, vehicle["id"], resting(recent(600), 12.1))
    health(client, owner, vehicle["id"])
    record = {
        "performed_at": recent(10).isoformat(),
        "mileage_km": 42010,
        "service_codes": ["battery_check"],
        "work_done": "Battery replaced",
    }
    response = client.post(
        f"{API}/{vehicle['id']}/service-records", json=record, headers=owner.headers
    )
    assert response.status_code == 201 and response.get_json()["source"] == "owner"
    stored = alert(db, vehicle["id"], BATTERY_ALERT)
    assert stored is not None and stored["resolution"] == "service_completed"
    # Evidence from before the service no longer counts: the alert stays resolved.
    report = health(client, owner, vehicle["id"])
    assert all(f["rule_id"] != BATTERY_ALERT for f in report["findings"])
    assert alert(db, vehicle["id"], BATTERY_ALERT)["status"] == "resolved"  # type: ignore[index]
    records = client.get(f"{API}/{vehicle['id']}/service-records", headers=owner.headers).get_json()
    assert [r["work_done"] for r in records["items"]] == ["Battery replaced"]


def test_due_services_are_written_to_the_vehicle(
    client: Any, owner: Any, vehicle: Any, db: Any
) -> None:
    url = f"{API}/{vehicle['id']}"
    overrides = {"oil_change": {"every_km": 1000}}
    assert (
        client.patch(
            url, json={"maintenance_overrides": overrides}, headers=owner.headers
        ).status_code
        == 200
    )
    send(client, owner, vehicle["id"], [reading(recent(60), 43100)])
    report = health(client, owner, vehicle["id"])
    oil = next(f for f in report["findings"] if f["service_code"] == "oil_change")
    assert oil["severity"] == "high" and oil["evidence"]["urgency"] == "overdue"
    due = db.collection("vehicles").document(vehicle["id"]).get().to_dict()["due_services"]
    assert {"code": "oil_change", "urgency": "overdue"}.items() <= next(
        d for d in due if d["code"] == "oil_change"
    ).items()
    assert alert(db, vehicle["id"], "maintenance.due.oil_change")["status"] == "open"  # type: ignore[index]
    # The oil change is done: the interval restarts and the alert resolves.
    record = {
        "performed_at": recent(5).isoformat(),
        "mileage_km": 43100,
        "service_codes": ["oil_change"],
    }
    assert (
        client.post(f"{url}/service-records", json=record, headers=owner.headers).status_code == 201
    )
    due = db.collection("vehicles").document(vehicle["id"]).get().to_dict()["due_services"]
    # 1,000 km to go again: no longer overdue, only "upcoming" (within 1,500 km).
    assert [d["urgency"] for d in due if d["code"] == "oil_change"] == ["upcoming"]
    assert alert(db, vehicle["id"], "maintenance.due.oil_change")["status"] == "resolved"  # type: ignore[index]


@pytest.mark.parametrize(
    "record",
    [
        {"performed_at": "2024-01-01T00:00:00Z", "mileage_km": 1, "service_codes": ["car_wash"]},
        {"performed_at": "2024-01-01T00:00:00Z", "mileage_km": 1, "service_codes": []},
        {"performed_at": "2024-01-01T00:00:00", "mileage_km": 1, "service_codes": ["oil_change"]},
        {"performed_at": "2999-01-01T00:00:00Z", "mileage_km": 1, "service_codes": ["oil_change"]},
        {"performed_at": "2024-01-01T00:00:00Z", "mileage_km": -5, "service_codes": ["oil_change"]},
        {"performed_at": "2024-01-01T00:00:00Z", "service_codes": ["oil_change"]},
        {
            "performed_at": "2024-01-01T00:00:00Z",
            "mileage_km": 1,
            "service_codes": ["oil_change"],
            "x": 1,
        },
    ],
)
def test_bad_service_record_is_422(
    client: Any, owner: Any, vehicle: Any, record: dict[str, Any]
) -> None:
    response = client.post(
        f"{API}/{vehicle['id']}/service-records", json=record, headers=owner.headers
    )
    assert response.status_code == 422, record


def test_service_record_permissions(client: Any, users: Any, vehicle: Any, db: Any) -> None:
    link_to_center(vehicle["id"], "c1")
    record = {
        "performed_at": recent(60).isoformat(),
        "mileage_km": 42000,
        "service_codes": ["tyre_rotation"],
    }
    url = f"{API}/{vehicle['id']}/service-records"
    staff = users.create("service_center", service_center_id="c1")
    response = client.post(url, json=record, headers=staff.headers)
    assert response.status_code == 201 and response.get_json()["source"] == "staff"
    assert response.get_json()["center_id"] == "c1"
    for role in ("mechanic", "viewer"):
        user = users.create(role, service_center_id="c1" if role == "mechanic" else None)
        assert client.post(url, json=record, headers=user.headers).status_code == 403
        assert client.get(url, headers=user.headers).status_code == 200
    other = users.create("service_center", service_center_id="c2")
    assert client.post(url, json=record, headers=other.headers).status_code == 404


def test_alerts_are_scoped_like_vehicles(client: Any, users: Any, owner: Any, db: Any) -> None:
    booked = create_vehicle(client, owner)
    other_owner = users.create("customer")
    elsewhere = create_vehicle(client, other_owner)
    link_to_center(booked["id"], "c1")
    for user, vehicle in ((owner, booked), (other_owner, elsewhere)):
        send(client, user, vehicle["id"], resting(recent(300), 11.8))
        health(client, user, vehicle["id"])
    staff = users.create("service_center", service_center_id="c1")
    mechanic_elsewhere = users.create("mechanic", service_center_id="c9")
    admin, viewer = users.create("admin"), users.create("viewer")

    def seen(user: Any, **query: Any) -> list[str]:
        response = client.get(f"{API}/alerts", query_string=query, headers=user.headers)
        assert response.status_code == 200, response.get_json()
        return sorted(a["vehicle_id"] for a in response.get_json()["items"])

    assert seen(owner) == [booked["id"]]
    assert seen(other_owner) == [elsewhere["id"]]
    assert seen(staff) == [booked["id"]]
    assert seen(mechanic_elsewhere) == []
    assert seen(admin) == sorted([booked["id"], elsewhere["id"]])
    # Viewers count alerts without learning whose vehicle they are on (test_viewer_redaction).
    viewed = client.get(f"{API}/alerts", headers=viewer.headers).get_json()["items"]
    assert len(viewed) == 2 and all("vehicle_id" not in a for a in viewed)
    assert seen(admin, severity="critical") == seen(admin)
    assert seen(admin, severity="high") == []
    items = client.get(f"{API}/alerts", headers=viewer.headers).get_json()["items"]
    assert all("owner_id" not in a for a in items)
    for query in ({"status": "closed"}, {"severity": "low"}, {"limit": 101}, {"cursor": "x"}):
        assert (
            client.get(f"{API}/alerts", query_string=query, headers=admin.headers).status_code
            == 422
        )
    assert client.get(f"{API}/alerts").status_code == 401


def test_alert_pagination_walks_every_alert_once(client: Any, users: Any, db: Any) -> None:
    admin = users.create("admin")
    now = datetime.now(UTC)
    for i in range(5):
        db.collection("alerts").document(f"v{i}_battery.resting_voltage").set(
            {
                "vehicle_id": f"v{i}",
                "owner_id": "o",
                "center_ids": [],
                "status": "open",
                "severity": "high",
                "rule_id": "battery.resting_voltage",
                "opened_at": now - timedelta(minutes=i % 2),
            }
        )
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/alerts", query_string=query, headers=admin.headers).get_json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5
