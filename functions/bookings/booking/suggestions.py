"""Prediction → booking: turn open alerts and due services into bookable slot suggestions.

Sources (both written by the vehicles function, see docs/data-model.md):

* ``alerts`` with ``owner_id`` = caller, ``status`` = open, severity high or critical;
* each of the caller's ``vehicles``' ``due_services`` (overdue, due soon, upcoming).

Each (vehicle, service code) need becomes up to :data:`SUGGESTIONS_PER_NEED` suggestions:
with a caller location, the first free slot at each of the nearest centers offering the
service; without one, the soonest free slots across those centers. The scan is bounded
(:data:`SCAN_DAYS`, :data:`MAX_CENTERS_PER_NEED`) so one request costs a few dozen reads.

**Predicted failures.** An alert from a forecasting rule carries ``predicted_failure_date``
(and ``book_by``; docs/data-model.md). Its need is served with slots *before* that date
only (in the center's own calendar), soonest first, and each suggestion says why
(``reason.why``, ``book_before``). When no center has room before the date within the scan,
the soonest slots after it are offered instead, marked ``before_predicted_date: false``.

A suggestion id is an encoding (not a secret) of vehicle, center, service and start.
Accepting one re-checks everything as a fresh booking would, so a forged or stale id can
never do more than a normal ``POST /``.

**For a center** (:func:`center_suggestions`): the open high/critical alerts of the vehicles
the center may see *now* (shared.center_links: a live booking there, or one completed in
the last 30 days — read from the vehicle, not only the alert's copy), each need with the
center's own soonest free slots (before a predicted failure when there is one). What the
workshop needs to call the customer back; booking stays the customer's act (accept).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from booking.centers import AvailableSlot, Center, all_centers, availability
from booking.scheduling import center_today
from booking.store import active_bookings_of
from shared import clock, service_codes
from shared.alerts import ALERTS, OPEN
from shared.auth.principal import Principal
from shared.center_links import CENTER_IDS, live_center_ids
from shared.errors import NotFound
from shared.firestore import get_client
from shared.ids import is_document_id
from shared.query_shapes import QueryShape, register
from shared.vehicle_documents import VEHICLES, vehicle_ref

OPEN_ALERTS_OF_OWNER, VEHICLES_OF_OWNER, OPEN_ALERTS_AT_CENTER = register(
    QueryShape(ALERTS, equality=("owner_id", "status"), description="suggestions: open alerts"),
    QueryShape(VEHICLES, equality=("owner_id",), description="suggestions: caller's vehicles"),
    QueryShape(
        ALERTS,
        equality=("status",),
        array_contains=CENTER_IDS,
        order=(("opened_at", "DESCENDING"),),
        description="center suggestions: open alerts of vehicles linked to the center",
    ),
)

# Two weeks is as far as a health warning should wait; beyond that "no slot" is the answer.
SCAN_DAYS = 14
# A few options per need is what a user compares; more is noise and costs reads.
SUGGESTIONS_PER_NEED = 3
# Bounds the scan: only the nearest (or first) centers offering the service are looked at.
MAX_CENTERS_PER_NEED = 5
# Centers read per request; the network is small, and the bound keeps the request cheap.
MAX_CENTERS_READ = 200
# Needs listed per request: a fleet owner with many vehicles gets the most urgent first.
MAX_NEEDS = 10
MAX_VEHICLES_READ = 50
# Open alerts a center's suggestions read (newest first); the needs of more stay for later.
MAX_CENTER_ALERTS_READ = 100
EARTH_RADIUS_KM = 6371.0

# Lower sorts first: critical findings before overdue maintenance before upcoming.
_PRIORITY = {
    ("alert", "critical"): 0,
    ("alert", "high"): 1,
    ("due_service", "overdue"): 2,
    ("due_service", "due_soon"): 3,
    ("due_service", "upcoming"): 4,
}
_ID_VERSION = 1


@dataclass
class Need:
    """A vehicle needs a service, for one or more reasons."""

    vehicle_id: str
    service_code: str
    reasons: list[dict[str, Any]] = field(default_factory=list)

    @property
    def priority(self) -> int:
        return min(int(r["priority"]) for r in self.reasons)

    @property
    def deadline(self) -> date | None:
        """The earliest predicted failure among the reasons, if any predicts one."""
        dates = [
            date.fromisoformat(r["predicted_failure_date"])
            for r in self.reasons
            if isinstance(r.get("predicted_failure_date"), str)
        ]
        return min(dates) if dates else None


@dataclass(frozen=True)
class SuggestionRef:
    """What a suggestion id encodes."""

    vehicle_id: str
    center_id: str
    service_code: str
    start: datetime

    def encode(self) -> str:
        raw = json.dumps(
            [
                _ID_VERSION,
                self.vehicle_id,
                self.center_id,
                self.service_code,
                self.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            ],
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> SuggestionRef:
        try:
            padded = text + "=" * (-len(text) % 4)
            version, vehicle_id, center_id, code, start = json.loads(
                base64.urlsafe_b64decode(padded.encode())
            )
            if (
                version != _ID_VERSION
                or not (is_document_id(vehicle_id) and is_document_id(center_id))
                or not (isinstance(code, str) and 0 < len(code) <= 64)
            ):
                raise ValueError("shape")
            moment = datetime.fromisoformat(start)
            if moment.tzinfo is None:
                raise ValueError("naive")
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise NotFound("The suggestion does not exist.") from None
        return cls(vehicle_id, center_id, code, moment)


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lng) points in degrees."""
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def _needs(principal: Principal) -> list[Need]:
    from google.cloud.firestore_v1.base_query import FieldFilter

    client = get_client()
    needs: dict[tuple[str, str], Need] = {}

    def add(vehicle_id: str, code: str, reason: dict[str, Any]) -> None:
        if not code or not service_codes.is_known(code):
            return
        need = needs.setdefault((vehicle_id, code), Need(vehicle_id, code))
        need.reasons.append(reason)

    alerts = (
        client.collection(ALERTS)
        .where(filter=FieldFilter("owner_id", "==", principal.user_id))
        .where(filter=FieldFilter("status", "==", OPEN))
        .limit(MAX_VEHICLES_READ * 4)
        .stream()
    )
    for alert in alerts:
        data = alert.to_dict() or {}
        reason = _alert_reason(alert.id, data)
        if reason is not None:
            add(str(data.get("vehicle_id")), str(data.get("service_code") or ""), reason)
    vehicles = (
        client.collection(VEHICLES)
        .where(filter=FieldFilter("owner_id", "==", principal.user_id))
        .limit(MAX_VEHICLES_READ)
        .stream()
    )
    owned = set()
    for vehicle in vehicles:
        owned.add(vehicle.id)
        for due in (vehicle.to_dict() or {}).get("due_services") or []:
            urgency = due.get("urgency")
            if ("due_service", urgency) not in _PRIORITY:
                continue
            add(
                vehicle.id,
                str(due.get("code") or ""),
                {
                    "kind": "due_service",
                    "urgency": urgency,
                    "due_date": due.get("due_date"),
                    "due_km": due.get("due_km"),
                    "priority": _PRIORITY[("due_service", urgency)],
                },
            )
    # A need that is already booked needs no suggestion; an alert of a vehicle the caller no
    # longer owns is not theirs to act on.
    booked = {
        (b.data.get("vehicle_id"), b.data.get("service_type"))
        for b in active_bookings_of(principal.user_id)
    }
    open_needs = [n for key, n in needs.items() if key not in booked and n.vehicle_id in owned]
    open_needs.sort(key=lambda n: (n.priority, n.vehicle_id, n.service_code))
    return open_needs[:MAX_NEEDS]


def _alert_reason(alert_id: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """Why an open alert asks for a booking (None below high severity)."""
    severity = data.get("severity")
    if severity not in ("high", "critical"):
        return None
    reason: dict[str, Any] = {
        "kind": "alert",
        "alert_id": alert_id,
        "severity": severity,
        "title": data.get("title"),
        "priority": _PRIORITY[("alert", severity)],
    }
    predicted = _iso_date(data.get("predicted_failure_date"))
    if predicted is not None:
        reason["predicted_failure_date"] = predicted
        reason["book_by"] = _iso_date(data.get("book_by"))
        reason["why"] = data.get("recommended_action")
    return reason


def _iso_date(value: Any) -> str | None:
    """An ISO date string from an alert, or None when absent or not a date."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return None


class _AvailabilityCache:
    """One request's availability reads, so needs sharing a center and day read it once."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, date, int], list[AvailableSlot]] = {}

    def free(self, center: Center, day: date, minutes: int) -> list[AvailableSlot]:
        key = (center.id, day, minutes)
        if key not in self._cache:
            self._cache[key] = [s for s in availability(center, day, minutes) if s.remaining > 0]
        return self._cache[key]


def _days(center: Center, before: date | None) -> Iterable[date]:
    """The center's days to scan, today first; only days before ``before`` when given."""
    today = center_today(center.calendar, clock.now())
    days = (today + timedelta(days=offset) for offset in range(SCAN_DAYS))
    return (day for day in days if before is None or day < before)


def _first_free(
    center: Center, minutes: int, cache: _AvailabilityCache, before: date | None
) -> AvailableSlot | None:
    for day in _days(center, before):
        free = cache.free(center, day, minutes)
        if free:
            return free[0]
    return None


def _soonest(
    centers: list[Center], code: str, cache: _AvailabilityCache, before: date | None
) -> list[tuple[Center, AvailableSlot]]:
    found: list[tuple[Center, AvailableSlot]] = []
    for offset in range(SCAN_DAYS):
        for center in centers:
            offering = center.service(code)
            assert offering is not None
            day = center_today(center.calendar, clock.now()) + timedelta(days=offset)
            if before is not None and day >= before:
                continue
            for slot in cache.free(center, day, offering.duration_minutes):
                found.append((center, slot))
        if len(found) >= SUGGESTIONS_PER_NEED:
            break  # later days cannot hold anything sooner than what this day gave
    found.sort(key=lambda pair: pair[1].slot.start_utc)
    return found[:SUGGESTIONS_PER_NEED]


def _picks(
    need: Need,
    centers: list[Center],
    distance: dict[str, float | None],
    location: tuple[float, float] | None,
    cache: _AvailabilityCache,
    before: date | None,
) -> list[tuple[Center, AvailableSlot]]:
    """Slots for one need: nearest centers first with a location, else soonest first."""
    if location is None:
        return _soonest(centers[: MAX_CENTERS_PER_NEED * 2], need.service_code, cache, before)
    picks: list[tuple[Center, AvailableSlot]] = []
    # Centers without a location sort after every located one.
    nearest = sorted(centers, key=lambda c: (distance[c.id] is None, distance[c.id] or 0.0, c.name))
    for center in nearest[:MAX_CENTERS_PER_NEED]:
        offering = center.service(need.service_code)
        assert offering is not None
        slot = _first_free(center, offering.duration_minutes, cache, before)
        if slot is not None:
            picks.append((center, slot))
        if len(picks) >= SUGGESTIONS_PER_NEED:
            break
    if before is not None:
        picks.sort(key=lambda pair: pair[1].slot.start_utc)  # a deadline: soonest first
    return picks


def suggestions(principal: Principal, location: tuple[float, float] | None) -> list[dict[str, Any]]:
    """Suggestions for every open need of the caller's vehicles, most urgent first."""
    needs = _needs(principal)
    if not needs:
        return []
    centers = all_centers(MAX_CENTERS_READ)
    cache = _AvailabilityCache()
    result: list[dict[str, Any]] = []
    for need in needs:
        offering_centers = [c for c in centers if c.service(need.service_code) is not None]
        distance: dict[str, float | None] = {}
        for center in offering_centers:
            at = center.location()
            distance[center.id] = haversine_km(location, at) if location and at else None
        deadline = need.deadline
        picks = _picks(need, offering_centers, distance, location, cache, deadline)
        in_time = deadline is None or bool(picks)
        if not picks and deadline is not None:  # nothing before the date: the soonest after
            picks = _picks(need, offering_centers, distance, location, cache, None)
        reasons = sorted(need.reasons, key=lambda r: r["priority"])
        for center, free in picks:
            ref = SuggestionRef(need.vehicle_id, center.id, need.service_code, free.slot.start)
            offering = center.service(need.service_code)
            result.append(
                {
                    "id": ref.encode(),
                    "vehicle_id": need.vehicle_id,
                    "service_code": need.service_code,
                    "service_name": offering.name if offering else need.service_code,
                    "reason": {k: v for k, v in reasons[0].items() if k != "priority"},
                    "reasons": [{k: v for k, v in r.items() if k != "priority"} for r in reasons],
                    "center": {
                        "id": center.id,
                        "name": center.name,
                        "address": center.data.get("address"),
                        "distance_km": (
                            round(d, 1) if (d := distance.get(center.id)) is not None else None
                        ),
                    },
                    **free.to_json(),
                    **(
                        {}
                        if deadline is None
                        else {
                            "book_before": deadline.isoformat(),
                            "before_predicted_date": in_time,
                        }
                    ),
                }
            )
    return result


# --------------------------------------------------------------------------- for a center


def _center_needs(center: Center, now: datetime) -> tuple[list[Need], dict[str, str]]:
    """The needs from open alerts of vehicles the center may see now, most urgent first,
    and each vehicle's owner (for the already-booked check)."""
    from google.cloud import firestore
    from google.cloud.firestore_v1.base_query import FieldFilter

    alerts = (
        get_client()
        .collection(ALERTS)
        .where(filter=FieldFilter("status", "==", OPEN))
        .where(filter=FieldFilter(CENTER_IDS, "array_contains", center.id))
        .order_by("opened_at", direction=firestore.Query.DESCENDING)
        .limit(MAX_CENTER_ALERTS_READ)
        .stream()
    )
    needs: dict[tuple[str, str], Need] = {}
    owners: dict[str, str] = {}
    for alert in alerts:
        data = alert.to_dict() or {}
        code = str(data.get("service_code") or "")
        reason = _alert_reason(alert.id, data)
        # An alert keeps its center_ids until the next booking change prunes them; only
        # center_access decides (shared.center_links), as for every staff read.
        if (
            reason is None
            or not service_codes.is_known(code)
            or center.id not in live_center_ids(data, now)
        ):
            continue
        vehicle_id = str(data.get("vehicle_id"))
        needs.setdefault((vehicle_id, code), Need(vehicle_id, code)).reasons.append(reason)
        owners[vehicle_id] = str(data.get("owner_id"))
    ordered = sorted(needs.values(), key=lambda n: (n.priority, n.vehicle_id, n.service_code))
    return ordered, owners


def center_suggestions(center: Center) -> list[dict[str, Any]]:
    """What the center's linked vehicles need, with the center's own free slots for it.

    Skipped: needs the customer has booked already (anywhere), vehicles the center no
    longer sees (decided on the vehicle document itself) or that are gone. At most
    :data:`MAX_NEEDS` needs; reads: the alerts (≤ :data:`MAX_CENTER_ALERTS_READ`), two per
    distinct owner checked, one batch of vehicles, and the availability of the days scanned.
    """
    now = clock.now()
    needs, owners = _center_needs(center, now)
    booked: dict[str, set[tuple[str, str]]] = {}
    chosen: list[Need] = []
    for need in needs:
        owner = owners[need.vehicle_id]
        if owner not in booked:
            booked[owner] = {
                (str(b.data.get("vehicle_id")), str(b.data.get("service_type")))
                for b in active_bookings_of(owner)
            }
        if (need.vehicle_id, need.service_code) not in booked[owner]:
            chosen.append(need)
        if len(chosen) >= MAX_NEEDS:
            break
    if not chosen:
        return []
    client = get_client()
    refs = [vehicle_ref(v) for v in dict.fromkeys(n.vehicle_id for n in chosen)]
    vehicles = {s.id: s.to_dict() or {} for s in client.get_all(refs) if s.exists}
    cache = _AvailabilityCache()
    result: list[dict[str, Any]] = []
    for need in chosen:
        vehicle = vehicles.get(need.vehicle_id)
        if vehicle is None or center.id not in live_center_ids(vehicle, now):
            continue
        offering = center.service(need.service_code)
        deadline = need.deadline
        picks: list[tuple[Center, AvailableSlot]] = []
        in_time = True
        if offering is not None:
            picks = _soonest([center], need.service_code, cache, deadline)
            if not picks and deadline is not None:
                in_time = False
                picks = _soonest([center], need.service_code, cache, None)
        reasons = sorted(need.reasons, key=lambda r: r["priority"])
        result.append(
            {
                "vehicle_id": need.vehicle_id,
                "vehicle": {
                    "make": vehicle.get("make"),
                    "model": vehicle.get("model"),
                    "year": vehicle.get("year"),
                    "plate": vehicle.get("plate"),
                },
                "service_code": need.service_code,
                "service_name": offering.name
                if offering
                else service_codes.SERVICE_NAMES.get(need.service_code, need.service_code),
                "offered": offering is not None,
                "reason": {k: v for k, v in reasons[0].items() if k != "priority"},
                "reasons": [{k: v for k, v in r.items() if k != "priority"} for r in reasons],
                "slots": [free.to_json() for _, free in picks],
                **(
                    {}
                    if deadline is None
                    else {"book_before": deadline.isoformat(), "before_predicted_date": in_time}
                ),
            }
        )
    return result
