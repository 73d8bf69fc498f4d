"""firestore.rules, as the mobile SDK meets it: reads scoped by role, no client writes at all.

The session emulator (tests/conftest.py) is started with ``--rules=firestore.rules`` and
enforces them on its REST API. Fixtures are written with the ``db`` client, which the
emulator treats as the owner (rules bypassed, as the Cloud Functions are in production).
Every check then goes through REST with an unsigned Firebase ID token — the shape the
emulator accepts as ``request.auth`` — carrying the claims the auth function puts in its
custom token (functions/auth/identity/firebase_tokens.py): ``role`` and ``service_center_id``.
200 means the rules allowed the request, 403 that they denied it.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

NORTH = "center-north"
SOUTH = "center-south"


# --------------------------------------------------------------------------- callers


@dataclass(frozen=True)
class Caller:
    """Someone reaching Firestore through the mobile SDK (``uid`` None: not signed in)."""

    slug: str
    uid: str | None
    claims: dict[str, Any] = field(default_factory=dict)
    provider: str = "custom"


ADMIN = Caller("admin", "u-admin", {"role": "admin"})
OWNER = Caller("owner", "u-alice", {"role": "customer"})
OTHER_CUSTOMER = Caller("other_customer", "u-bob", {"role": "customer"})
STAFF = Caller(
    "staff_of_its_center", "u-staff-north", {"role": "service_center", "service_center_id": NORTH}
)
OTHER_STAFF = Caller(
    "staff_of_another_center",
    "u-staff-south",
    {"role": "service_center", "service_center_id": SOUTH},
)
MECHANIC = Caller(
    "assigned_mechanic", "u-mech-north", {"role": "mechanic", "service_center_id": NORTH}
)
UNASSIGNED_MECHANIC = Caller(
    "unassigned_mechanic_of_its_center",
    "u-mech-north-2",
    {"role": "mechanic", "service_center_id": NORTH},
)
OTHER_MECHANIC = Caller(
    "mechanic_of_another_center", "u-mech-south", {"role": "mechanic", "service_center_id": SOUTH}
)
VIEWER = Caller("viewer", "u-viewer", {"role": "viewer"})
ANONYMOUS = Caller("anonymous", None)
# Signed in to Firebase some other way (not the PMI custom token), even with a role claim
# someone set on that account: the rules only trust claims from our own sign-in.
FOREIGN_SIGN_IN = Caller(
    "non_custom_token_sign_in", "firebase-user-1", {"role": "admin"}, provider="password"
)
# Staff role but no center claim: scoped by nothing, so sees nothing center-scoped.
STAFF_WITHOUT_CENTER = Caller(
    "staff_without_center_claim", "u-staff-none", {"role": "service_center"}
)
UNKNOWN_ROLE = Caller("unknown_role", "u-odd", {"role": "superuser"})

EVERYONE = (
    ADMIN,
    OWNER,
    OTHER_CUSTOMER,
    STAFF,
    OTHER_STAFF,
    MECHANIC,
    UNASSIGNED_MECHANIC,
    OTHER_MECHANIC,
    VIEWER,
    ANONYMOUS,
    FOREIGN_SIGN_IN,
    STAFF_WITHOUT_CENTER,
    UNKNOWN_ROLE,
)


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def id_token(caller: Caller, project_id: str) -> str:
    """An unsigned Firebase ID token, as the emulator accepts it in place of a real one."""
    now = int(time.time())
    payload = {
        "iss": f"https://securetoken.google.com/{project_id}",
        "aud": project_id,
        "sub": caller.uid,
        "user_id": caller.uid,
        "iat": now,
        "exp": now + 3600,
        "auth_time": now,
        "firebase": {"sign_in_provider": caller.provider, "identities": {}},
        **caller.claims,
    }
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."


# --------------------------------------------------------------------------- REST client

Filter = tuple[str, str, Any]  # (field path, REST operator, value)


def _value(value: Any) -> dict[str, Any]:
    if value is None:
        return {"nullValue": None}
    if isinstance(value, datetime):
        return {"timestampValue": value.astimezone(UTC).isoformat().replace("+00:00", "Z")}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"integerValue": str(value)}
    return {"stringValue": str(value)}


class RulesClient:
    """The Firestore REST API of the session emulator, called as a given SDK user."""

    def __init__(self, emulator: Any, http: requests.Session) -> None:
        self.project_id: str = emulator.project_id
        self.documents = (
            f"{emulator.base_url}/v1/projects/{self.project_id}/databases/(default)/documents"
        )
        self.http = http

    def _headers(self, caller: Caller) -> dict[str, str]:
        if caller.uid is None:
            return {}
        return {"Authorization": f"Bearer {id_token(caller, self.project_id)}"}

    def get(self, caller: Caller, path: str) -> int:
        return self.http.get(f"{self.documents}/{path}", headers=self._headers(caller)).status_code

    def query(
        self,
        caller: Caller,
        collection: str,
        *filters: Filter,
        parent: str = "",
        all_descendants: bool = False,
    ) -> requests.Response:
        """runQuery on ``parent``/``collection`` with the filters ANDed together."""
        structured: dict[str, Any] = {
            "from": [{"collectionId": collection, "allDescendants": all_descendants}]
        }
        clauses = [
            {"fieldFilter": {"field": {"fieldPath": f}, "op": op, "value": _value(v)}}
            for f, op, v in filters
        ]
        if len(clauses) == 1:
            structured["where"] = clauses[0]
        elif clauses:
            structured["where"] = {"compositeFilter": {"op": "AND", "filters": clauses}}
        url = f"{self.documents}/{parent}:runQuery" if parent else f"{self.documents}:runQuery"
        return self.http.post(
            url, json={"structuredQuery": structured}, headers=self._headers(caller)
        )

    def create(self, caller: Caller, path: str) -> int:
        return self.http.patch(
            f"{self.documents}/{path}",
            params={"currentDocument.exists": "false"},
            json={"fields": {"note": _value("client write")}},
            headers=self._headers(caller),
        ).status_code

    def update(self, caller: Caller, path: str) -> int:
        return self.http.patch(
            f"{self.documents}/{path}",
            params={"currentDocument.exists": "true", "updateMask.fieldPaths": "note"},
            json={"fields": {"note": _value("client write")}},
            headers=self._headers(caller),
        ).status_code

    def delete(self, caller: Caller, path: str) -> int:
        return self.http.delete(
            f"{self.documents}/{path}", headers=self._headers(caller)
        ).status_code


def ids_of(response: requests.Response) -> set[str]:
    """Document ids a successful runQuery returned."""
    return {
        row["document"]["name"].rsplit("/", 1)[1] for row in response.json() if "document" in row
    }


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


# --------------------------------------------------------------------------- the world

# Access of a linked center ends here (shared/center_links.py writes it; the rules compare
# it with request.time). Relative to the real clock: the emulator judges request.time.
LIVE_UNTIL = datetime.now(UTC) + timedelta(days=20)


def access_field(center: str) -> str:
    """The REST field path of one center's access entry (ids with '-' need backticks)."""
    return f"center_access.`{center}`"


def live_now() -> datetime:
    """What the app sends as "now" in a staff list query: a little ahead of the server's
    request.time, so the query's bound proves the rule's ``> request.time``."""
    return datetime.now(UTC) + timedelta(minutes=5)


VEHICLE = "vehicles/v-alice"
TELEMETRY_DAY = "vehicles/v-alice/telemetry_days/2024-05-01"
SERVICE_RECORD = "vehicles/v-alice/service_records/r-alice"
ALERT = "alerts/v-alice_battery.low"
BOOKING = "bookings/b-alice"
CENTER = f"centers/{NORTH}"

# Collections the SDK must never read, one document each, most of them about the owner.
CLOSED = (
    f"users/{OWNER.uid}",
    "user_emails/alice-email-hash",
    "sessions/s-alice",
    "login_failures/account-alice",
    "audit_log/a-alice",
    "rate_limits/bucket-alice",
    "rate_limit_shards/bucket-alice.instance-1",
    "vehicle_vins/WVWZZZ1JZXW000001",
    "booking_idempotency/k-alice",
    f"booking_holders/{OWNER.uid}",
    f"slots/{NORTH}_2024-05-02T08:00:00Z",
    f"token_revocations/{OWNER.uid}",
    "schema_migrations/001_backfill_user_fields",
    "outbox/m-alice",
    "login_known_networks/n-alice",
    "vin_claims/c-alice",
    "metric_buckets/instance-1.493000",
)


@pytest.fixture
def world(db: Any, emulator: Any, http: requests.Session) -> RulesClient:
    """Two customers, two centers, one vehicle each with its data; the closed collections.

    Alice's vehicle is linked to the north center (she booked there; the north mechanic is
    assigned), Bob's to the south one.
    """
    now = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    docs: dict[str, dict[str, Any]] = {}
    for center in (NORTH, SOUTH):
        docs[f"centers/{center}"] = {
            "name": center,
            "time_zone": "Europe/Paris",
            "bays": 2,
            "mechanic_ids": ["u-mech-north", "u-mech-north-2"] if center == NORTH else [],
        }
    for name, owner, center in (("alice", OWNER, NORTH), ("bob", OTHER_CUSTOMER, SOUTH)):
        vehicle = f"vehicles/v-{name}"
        docs[vehicle] = {
            "owner_id": owner.uid,
            "vin": f"VIN-{name}",
            "plate": f"PL-{name}",
            "center_ids": [center],
            "center_access": {center: LIVE_UNTIL},
            "created_at": now,
        }
        docs[f"{vehicle}/telemetry_days/2024-05-01"] = {"count": 1, "readings": {"t0": {"v": 1}}}
        docs[f"{vehicle}/service_records/r-{name}"] = {"work_done": "oil", "created_by": owner.uid}
        docs[f"alerts/v-{name}_battery.low"] = {
            "vehicle_id": f"v-{name}",
            "owner_id": owner.uid,
            "center_ids": [center],
            "center_access": {center: LIVE_UNTIL},
            "status": "open",
            "severity": "high",
        }
        docs[f"bookings/b-{name}"] = {
            "customer_id": owner.uid,
            "vehicle_id": f"v-{name}",
            "center_id": center,
            "mechanic_id": MECHANIC.uid if center == NORTH else None,
            "status": "confirmed",
            "notes": "call me",
            "start": now,
        }
    docs.update(
        {
            f"users/{OWNER.uid}": {"role": "customer", "password_hash": "x", "session_ids": ["s"]},
            "user_emails/alice-email-hash": {"user_id": OWNER.uid},
            "sessions/s-alice": {"user_id": OWNER.uid, "revoked": False},
            "login_failures/account-alice": {"count": 2},
            "audit_log/a-alice": {"actor_id": OWNER.uid, "subject_id": OWNER.uid},
            "rate_limits/bucket-alice": {"tokens": 5},
            "rate_limit_shards/bucket-alice.instance-1": {"bucket": "bucket-alice", "admitted": 3},
            "vehicle_vins/WVWZZZ1JZXW000001": {"vehicle_id": "v-alice"},
            "booking_idempotency/k-alice": {"user_id": OWNER.uid, "status": 201},
            f"booking_holders/{OWNER.uid}": {"active_count": 1, "booking_ids": ["b-alice"]},
            f"slots/{NORTH}_2024-05-02T08:00:00Z": {"center_id": NORTH, "count": 1},
            # A revocation long before any token below was issued: it cuts nobody off.
            f"token_revocations/{OWNER.uid}": {"user_id": OWNER.uid, "revoke_time": 1},
            "schema_migrations/001_backfill_user_fields": {"status": "applied"},
            # A confirmation code addressed to Alice must not be readable, even by her.
            "outbox/m-alice": {"to": "alice@example.test", "user_id": OWNER.uid},
            "login_known_networks/n-alice": {"expires_at": now},
            "vin_claims/c-alice": {"claimant_id": OWNER.uid, "vin": "WVWZZZ1JZXW000001"},
            "metric_buckets/instance-1.493000": {"instance": "instance-1", "hour": 493000},
        }
    )
    batch = db.batch()
    for path, data in docs.items():
        batch.set(db.document(path), data)
    batch.commit()
    return RulesClient(emulator, http)


# --------------------------------------------------------------------------- document reads


def _matrix(what: str, path: str, allowed: Sequence[Caller]) -> list[Any]:
    """One case per caller, named for the expected behaviour."""
    return [
        pytest.param(
            caller,
            path,
            caller in allowed,
            id=f"{caller.slug}_{'can' if caller in allowed else 'cannot'}_read_{what}",
        )
        for caller in EVERYONE
    ]


# Center staff and every mechanic of a linked center see the vehicle and what hangs off it.
VEHICLE_SCOPE = (ADMIN, OWNER, STAFF, MECHANIC, UNASSIGNED_MECHANIC)
# Bookings: the customer, service_center staff of its center, the assigned mechanic only.
BOOKING_SCOPE = (ADMIN, OWNER, STAFF, MECHANIC)
PMI_USERS = tuple(c for c in EVERYONE if c not in (ANONYMOUS, FOREIGN_SIGN_IN, UNKNOWN_ROLE))


@pytest.mark.parametrize(
    ("caller", "path", "allowed"),
    _matrix("the_vehicle", VEHICLE, VEHICLE_SCOPE)
    + _matrix("its_telemetry", TELEMETRY_DAY, VEHICLE_SCOPE)
    + _matrix("its_service_records", SERVICE_RECORD, VEHICLE_SCOPE)
    + _matrix("its_alert", ALERT, VEHICLE_SCOPE)
    + _matrix("the_booking", BOOKING, BOOKING_SCOPE)
    + _matrix("centers", CENTER, PMI_USERS),
)
def test_document_read_access(world: RulesClient, caller: Caller, path: str, allowed: bool) -> None:
    assert world.get(caller, path) == (200 if allowed else 403)


def test_customer_cannot_read_another_customers_vehicle(world: RulesClient) -> None:
    assert world.get(OTHER_CUSTOMER, VEHICLE) == 403
    assert world.get(OWNER, "vehicles/v-bob") == 403
    assert world.get(OTHER_CUSTOMER, "vehicles/v-bob") == 200


def test_viewer_reads_no_raw_personal_documents_only_centers(world: RulesClient) -> None:
    """Rules cannot drop fields (vin, plate, customer ids) as the API does for viewers."""
    for path in (VEHICLE, TELEMETRY_DAY, SERVICE_RECORD, ALERT, BOOKING):
        assert world.get(VIEWER, path) == 403, path
    assert world.get(VIEWER, CENTER) == 200


@pytest.mark.parametrize(
    "role_now",
    [
        {"role": "viewer"},
        {"role": "service_center", "service_center_id": SOUTH},
        {"role": "mechanic", "service_center_id": SOUTH},
    ],
    ids=["demoted_to_viewer", "now_center_staff", "now_mechanic"],
)
def test_ownership_counts_only_while_the_owner_is_a_customer(
    world: RulesClient, role_now: dict[str, str]
) -> None:
    """The API decides by role (shared/auth/scoping.py): a customer made viewer or staff no
    longer reads their own vehicle, its data, alerts or bookings as its owner — not by
    document, not by the owner query."""
    former_owner = Caller("former_owner", OWNER.uid, role_now)
    for path in (VEHICLE, TELEMETRY_DAY, SERVICE_RECORD, ALERT, BOOKING):
        assert world.get(former_owner, path) == 403, path
    for collection, field_name in (
        ("vehicles", "owner_id"),
        ("alerts", "owner_id"),
        ("bookings", "customer_id"),
    ):
        query = world.query(former_owner, collection, (field_name, "EQUAL", OWNER.uid))
        assert query.status_code == 403, collection
    assert world.get(former_owner, CENTER) == 200  # still a PMI user
    assert world.get(OWNER, VEHICLE) == 200  # the same uid as a customer


def test_staff_lose_sight_of_a_vehicle_not_linked_to_their_center(
    world: RulesClient, db: Any
) -> None:
    db.document(VEHICLE).update({"center_ids": [SOUTH], "center_access": {SOUTH: LIVE_UNTIL}})
    assert world.get(STAFF, VEHICLE) == 403
    assert world.get(STAFF, TELEMETRY_DAY) == 403  # subcollections follow the parent's get()
    assert world.get(OTHER_STAFF, VEHICLE) == 200
    assert world.get(OTHER_STAFF, SERVICE_RECORD) == 200


def test_staff_access_that_expired_grants_nothing_even_before_it_is_pruned(
    world: RulesClient, db: Any
) -> None:
    """The booking ended more than the window ago: center_ids still lists the center (no
    booking change has pruned it), but its center_access entry is in the past."""
    expired = {
        "center_ids": [NORTH],
        "center_access": {NORTH: datetime.now(UTC) - timedelta(hours=1)},
    }
    db.document(VEHICLE).update(expired)
    db.document(ALERT).update(expired)
    for caller in (STAFF, MECHANIC, UNASSIGNED_MECHANIC):
        for path in (VEHICLE, TELEMETRY_DAY, SERVICE_RECORD, ALERT):
            assert world.get(caller, path) == 403, (caller.slug, path)
    assert world.get(OWNER, VEHICLE) == 200
    assert world.get(ADMIN, ALERT) == 200
    # Their center's booking itself stays theirs: it is the center's own record.
    assert world.get(STAFF, BOOKING) == 200
    listed = world.query(STAFF, "vehicles", (access_field(NORTH), "GREATER_THAN", live_now()))
    assert listed.status_code == 200 and ids_of(listed) == set(), listed.text


def test_a_vehicle_linked_only_through_center_ids_is_closed_to_staff(
    world: RulesClient, db: Any
) -> None:
    """A document written before access had an end (no center_access) grants staff nothing."""
    db.document(VEHICLE).update({"center_access": {}})
    assert world.get(STAFF, VEHICLE) == 403
    assert world.get(STAFF, SERVICE_RECORD) == 403


def test_telemetry_left_behind_by_a_deleted_vehicle_is_closed_to_its_former_owner(
    world: RulesClient, db: Any
) -> None:
    """The subcollection rules read the parent vehicle; without it there is no owner."""
    db.document(VEHICLE).delete()
    assert world.get(OWNER, TELEMETRY_DAY) == 403
    assert world.get(STAFF, SERVICE_RECORD) == 403


@pytest.mark.parametrize("path", CLOSED)
def test_server_only_collections_are_never_readable(world: RulesClient, path: str) -> None:
    """Not by the user they describe, not by an admin (the API serves what they may see)."""
    for caller in (OWNER, ADMIN, STAFF, VIEWER, ANONYMOUS):
        assert world.get(caller, path) == 403, caller.slug


@pytest.mark.parametrize("collection", sorted({p.split("/", 1)[0] for p in CLOSED}))
def test_server_only_collections_cannot_be_listed_even_by_their_user(
    world: RulesClient, collection: str
) -> None:
    user_field = {
        "sessions": "user_id",
        "booking_idempotency": "user_id",
        "token_revocations": "user_id",
        "outbox": "user_id",
        "vin_claims": "claimant_id",
    }.get(collection, "actor_id")
    assert world.query(OWNER, collection, (user_field, "EQUAL", OWNER.uid)).status_code == 403
    assert world.query(ADMIN, collection).status_code == 403


# --------------------------------------------------------------------------- list queries


@dataclass(frozen=True)
class QueryCase:
    caller: Caller
    collection: str
    filters: tuple[Filter, ...]
    expected: set[str] | None  # ids returned, or None for denied
    parent: str = ""
    collection_group: bool = False


QUERY_CASES = {
    # vehicles
    "customer_lists_own_vehicles": QueryCase(
        OWNER, "vehicles", (("owner_id", "EQUAL", OWNER.uid),), {"v-alice"}
    ),
    "customer_cannot_list_all_vehicles": QueryCase(OWNER, "vehicles", (), None),
    "customer_cannot_list_another_customers_vehicles": QueryCase(
        OWNER, "vehicles", (("owner_id", "EQUAL", OTHER_CUSTOMER.uid),), None
    ),
    "staff_list_vehicles_their_center_may_see_now": QueryCase(
        STAFF, "vehicles", ((access_field(NORTH), "GREATER_THAN", "LIVE_NOW"),), {"v-alice"}
    ),
    "mechanic_lists_vehicles_their_center_may_see_now": QueryCase(
        UNASSIGNED_MECHANIC,
        "vehicles",
        ((access_field(NORTH), "GREATER_THAN", "LIVE_NOW"),),
        {"v-alice"},
    ),
    "staff_cannot_list_vehicles_by_center_ids_alone_which_proves_no_expiry": QueryCase(
        STAFF, "vehicles", (("center_ids", "ARRAY_CONTAINS", NORTH),), None
    ),
    "staff_cannot_list_vehicles_with_a_bound_in_the_past": QueryCase(
        STAFF, "vehicles", ((access_field(NORTH), "GREATER_THAN", "AN_HOUR_AGO"),), None
    ),
    "staff_cannot_list_another_centers_vehicles": QueryCase(
        STAFF, "vehicles", ((access_field(SOUTH), "GREATER_THAN", "LIVE_NOW"),), None
    ),
    "staff_cannot_list_all_vehicles": QueryCase(STAFF, "vehicles", (), None),
    "admin_lists_all_vehicles": QueryCase(ADMIN, "vehicles", (), {"v-alice", "v-bob"}),
    "viewer_cannot_list_vehicles": QueryCase(VIEWER, "vehicles", (), None),
    "anonymous_cannot_list_vehicles": QueryCase(
        ANONYMOUS, "vehicles", (("owner_id", "EQUAL", OWNER.uid),), None
    ),
    # subcollections
    "owner_lists_own_vehicles_telemetry": QueryCase(
        OWNER, "telemetry_days", (), {"2024-05-01"}, parent=VEHICLE
    ),
    "other_customer_cannot_list_a_vehicles_telemetry": QueryCase(
        OTHER_CUSTOMER, "telemetry_days", (), None, parent=VEHICLE
    ),
    "staff_list_service_records_of_a_linked_vehicle": QueryCase(
        STAFF, "service_records", (), {"r-alice"}, parent=VEHICLE
    ),
    "nobody_runs_collection_group_queries_on_service_records": QueryCase(
        ADMIN, "service_records", (), None, collection_group=True
    ),
    # alerts
    "customer_lists_own_open_alerts": QueryCase(
        OWNER,
        "alerts",
        (("owner_id", "EQUAL", OWNER.uid), ("status", "EQUAL", "open")),
        {"v-alice_battery.low"},
    ),
    "customer_cannot_list_all_open_alerts": QueryCase(
        OWNER, "alerts", (("status", "EQUAL", "open"),), None
    ),
    "staff_list_alerts_their_center_may_see_now": QueryCase(
        STAFF,
        "alerts",
        ((access_field(NORTH), "GREATER_THAN", "LIVE_NOW"),),
        {"v-alice_battery.low"},
    ),
    "staff_cannot_list_alerts_by_center_ids_alone": QueryCase(
        STAFF,
        "alerts",
        (("status", "EQUAL", "open"), ("center_ids", "ARRAY_CONTAINS", NORTH)),
        None,
    ),
    "staff_cannot_list_alerts_of_another_center": QueryCase(
        STAFF, "alerts", ((access_field(SOUTH), "GREATER_THAN", "LIVE_NOW"),), None
    ),
    # bookings
    "customer_lists_own_bookings": QueryCase(
        OWNER, "bookings", (("customer_id", "EQUAL", OWNER.uid),), {"b-alice"}
    ),
    "customer_cannot_list_all_bookings": QueryCase(OWNER, "bookings", (), None),
    "staff_list_bookings_of_their_center": QueryCase(
        STAFF, "bookings", (("center_id", "EQUAL", NORTH),), {"b-alice"}
    ),
    "staff_cannot_list_bookings_of_another_center": QueryCase(
        STAFF, "bookings", (("center_id", "EQUAL", SOUTH),), None
    ),
    "mechanic_lists_bookings_assigned_to_them": QueryCase(
        MECHANIC, "bookings", (("mechanic_id", "EQUAL", MECHANIC.uid),), {"b-alice"}
    ),
    "mechanic_cannot_list_all_bookings_of_their_center": QueryCase(
        MECHANIC, "bookings", (("center_id", "EQUAL", NORTH),), None
    ),
    "admin_lists_all_bookings": QueryCase(ADMIN, "bookings", (), {"b-alice", "b-bob"}),
    "viewer_cannot_list_bookings": QueryCase(VIEWER, "bookings", (), None),
    # centers
    "any_signed_in_user_lists_centers": QueryCase(OTHER_CUSTOMER, "centers", (), {NORTH, SOUTH}),
    "anonymous_cannot_list_centers": QueryCase(ANONYMOUS, "centers", (), None),
}


def _resolved(filters: tuple[Filter, ...]) -> tuple[Filter, ...]:
    """Relative times are taken when the query is sent (the emulator judges request.time)."""
    moments: dict[str, Callable[[], datetime]] = {
        "LIVE_NOW": live_now,
        "AN_HOUR_AGO": lambda: datetime.now(UTC) - timedelta(hours=1),
    }
    return tuple(
        (f, op, moments[v]() if isinstance(v, str) and v in moments else v) for f, op, v in filters
    )


@pytest.mark.parametrize("case", QUERY_CASES.values(), ids=QUERY_CASES.keys())
def test_list_query_access(world: RulesClient, case: QueryCase) -> None:
    response = world.query(
        case.caller,
        case.collection,
        *_resolved(case.filters),
        parent=case.parent,
        all_descendants=case.collection_group,
    )
    if case.expected is None:
        assert response.status_code == 403, response.text
    else:
        assert response.status_code == 200, response.text
        assert ids_of(response) == case.expected


def test_rules_are_not_filters_an_unfiltered_list_is_denied_even_if_all_results_are_yours(
    world: RulesClient, db: Any
) -> None:
    """The query must prove its scope by its where clause, as in production."""
    db.document("vehicles/v-bob").delete()  # only Alice's vehicle is left
    assert world.query(OWNER, "vehicles").status_code == 403
    assert world.query(OWNER, "vehicles", ("owner_id", "EQUAL", OWNER.uid)).status_code == 200


# --------------------------------------------------------------------------- writes

WRITABLE_LOOKING = (
    VEHICLE,
    TELEMETRY_DAY,
    SERVICE_RECORD,
    ALERT,
    BOOKING,
    CENTER,
    f"users/{OWNER.uid}",
    "sessions/s-alice",
    f"slots/{NORTH}_2024-05-02T08:00:00Z",
)


@pytest.mark.parametrize("caller", [OWNER, ADMIN, STAFF], ids=lambda c: c.slug)
def test_clients_cannot_create_documents(world: RulesClient, caller: Caller) -> None:
    refused = {
        path: world.create(caller, path.rsplit("/", 1)[0] + "/client-made")
        for path in WRITABLE_LOOKING
    }
    assert refused == dict.fromkeys(WRITABLE_LOOKING, 403)


@pytest.mark.parametrize("caller", [OWNER, ADMIN, STAFF], ids=lambda c: c.slug)
def test_clients_cannot_update_documents_they_can_read(
    world: RulesClient, db: Any, caller: Caller
) -> None:
    refused = {path: world.update(caller, path) for path in WRITABLE_LOOKING}
    assert refused == dict.fromkeys(WRITABLE_LOOKING, 403)
    assert "note" not in db.document(VEHICLE).get().to_dict()


@pytest.mark.parametrize("caller", [OWNER, ADMIN, STAFF], ids=lambda c: c.slug)
def test_clients_cannot_delete_documents(world: RulesClient, db: Any, caller: Caller) -> None:
    refused = {path: world.delete(caller, path) for path in WRITABLE_LOOKING}
    assert refused == dict.fromkeys(WRITABLE_LOOKING, 403)
    assert all(db.document(path).get().exists for path in WRITABLE_LOOKING)


def test_owner_cannot_create_a_vehicle_for_themself(world: RulesClient, db: Any) -> None:
    assert world.create(OWNER, "vehicles/v-new") == 403
    assert not db.document("vehicles/v-new").get().exists


# --------------------------------------------------------------------------- revocation
#
# shared/auth/sdk_revocation.py writes token_revocations/{uid}.revoke_time when a user is
# deactivated or changes role or center; a token from a sign-in at or before that second
# keeps its old claims, so the rules refuse it (tests/test_sdk_revocation.py drives the
# module itself against the Auth emulator).


def _revoke(db: Any, caller: Caller, revoke_time: int) -> None:
    assert caller.uid is not None
    db.document(f"token_revocations/{caller.uid}").set(
        {"user_id": caller.uid, "revoke_time": revoke_time, "reason": "role_changed"}
    )


def _signed_in_at(caller: Caller, auth_time: int, **claims: Any) -> Caller:
    """``caller`` holding an ID token from a sign-in at ``auth_time`` (epoch seconds)."""
    return Caller(caller.slug, caller.uid, {**caller.claims, "auth_time": auth_time, **claims})


def test_a_session_signed_in_before_the_revocation_reads_nothing(
    world: RulesClient, db: Any
) -> None:
    now = int(time.time())
    _revoke(db, OWNER, now)
    stale = _signed_in_at(OWNER, now - 60)
    for path in (VEHICLE, SERVICE_RECORD, TELEMETRY_DAY, ALERT, BOOKING, CENTER):
        assert world.get(stale, path) == 403, path
    assert world.query(stale, "vehicles", ("owner_id", "EQUAL", OWNER.uid)).status_code == 403
    assert world.query(stale, "bookings", ("customer_id", "EQUAL", OWNER.uid)).status_code == 403
    assert world.query(stale, "centers").status_code == 403


def test_signing_in_again_after_the_revocation_restores_access(world: RulesClient, db: Any) -> None:
    now = int(time.time())
    _revoke(db, OWNER, now - 10)
    fresh = _signed_in_at(OWNER, now)
    assert world.get(fresh, VEHICLE) == 200
    assert world.query(fresh, "vehicles", ("owner_id", "EQUAL", OWNER.uid)).status_code == 200


def test_a_sign_in_within_the_revocation_second_is_refused(world: RulesClient, db: Any) -> None:
    """Whole seconds and a strict comparison: the same second counts as before."""
    now = int(time.time())
    _revoke(db, OWNER, now)
    assert world.get(_signed_in_at(OWNER, now), VEHICLE) == 403
    assert world.get(_signed_in_at(OWNER, now + 1), VEHICLE) == 200


def test_a_custom_token_minted_before_the_revocation_is_refused_when_exchanged_after(
    world: RulesClient, db: Any
) -> None:
    """A login's custom token lives an hour; the minted_at claim dates it."""
    now = int(time.time())
    _revoke(db, OWNER, now)
    assert world.get(_signed_in_at(OWNER, now + 5, minted_at=now - 30), VEHICLE) == 403
    assert world.get(_signed_in_at(OWNER, now + 5, minted_at=now + 2), VEHICLE) == 200


def test_revoking_one_user_leaves_everyone_elses_sessions_alone(
    world: RulesClient, db: Any
) -> None:
    now = int(time.time())
    _revoke(db, OWNER, now)
    for caller in (ADMIN, STAFF, MECHANIC):
        assert world.get(_signed_in_at(caller, now - 60), VEHICLE) == 200, caller.slug


def test_staff_moved_to_another_center_lose_the_old_centers_bookings_at_once(
    world: RulesClient, db: Any
) -> None:
    """Their old token still says the old center; the revocation makes it worthless."""
    now = int(time.time())
    old_token = _signed_in_at(STAFF, now - 60)
    query = ("center_id", "EQUAL", NORTH)
    assert world.query(old_token, "bookings", query).status_code == 200
    _revoke(db, STAFF, now)
    assert world.query(old_token, "bookings", query).status_code == 403
    new_token = _signed_in_at(
        Caller(STAFF.slug, STAFF.uid, {"role": "service_center", "service_center_id": SOUTH}),
        now + 1,
    )
    assert world.query(new_token, "bookings", query).status_code == 403
    assert world.query(new_token, "bookings", ("center_id", "EQUAL", SOUTH)).status_code == 200
