"""Service centers: storage of the ``centers`` collection and slot availability.

A center document holds its calendar (IANA zone, weekly opening hours, bays, slot grid),
the services it offers and the user ids of its mechanics. Opening hours are stored as
``{"mon": [{"open": "08:00", "close": "17:00"}], ...}`` because Firestore cannot hold
nested arrays; the API speaks ``calendar_models.OpeningHours``' ``[["08:00", "17:00"]]`` form.
This module is the only writer of ``centers``; availability reads slot counts through
:mod:`booking.capacity`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from booking import capacity
from booking.scheduling import Slot, bookable_slots_for_day, slot_keys_held
from shared import clock
from shared.auth.principal import USERS_COLLECTION
from shared.auth.rbac import Role
from shared.errors import NotFound, ValidationFailed
from shared.firestore import get_client
from shared.http import validation_details
from shared.ids import is_document_id
from shared.instance_cache import InstanceCache
from shared.pagination import page_of
from shared.query_shapes import QueryShape, register

# The calendar and request models (pydantic) are imported where a center is built or
# validated, not at import: a cold start whose first request reads no center skips them.
if TYPE_CHECKING:
    from booking.calendar_models import CenterCalendar, OpeningHours, ServiceOffering
    from booking.models import CenterCreate, CenterPatch
    from shared.request_models import PageQuery

CENTERS = "centers"
# How long an instance books against a center it read (calendar, bays, services) without
# reading it again. Centers change rarely and by hand (an admin edits hours, bays or
# services), while every booking needs its center before its transaction (to know which
# slot cells to lock): a read per booking for data that changes a few times a year. A
# change made through this instance applies to its next booking; made through another,
# within this bound. Capacity is unaffected: the cells' counts are always read and
# written in the booking's transaction (booking.capacity); only which bays and hours apply
# may lag the edit by this much, as a booking already racing the edit could before.
CENTER_CACHE_SECONDS = 5.0
# Centers remembered per instance (a few KB each); the least recently used go first.
CENTER_CACHE_ENTRIES = 1_000
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

LIST_CENTERS_BY_NAME, LIST_CENTERS_FOR_SCAN = register(
    QueryShape(CENTERS, order=(("name", "ASCENDING"),), description="GET /centers"),
    QueryShape(CENTERS, description="suggestions: every center (bounded by a limit)"),
)


@dataclass(frozen=True)
class Center:
    """A stored center, with its calendar ready for the scheduler."""

    id: str
    data: dict[str, Any]
    calendar: CenterCalendar

    @property
    def name(self) -> str:
        return str(self.data.get("name", ""))

    @property
    def mechanic_ids(self) -> list[str]:
        return list(self.data.get("mechanic_ids") or [])

    def service(self, code: str) -> ServiceOffering | None:
        from booking.calendar_models import ServiceOffering

        for item in self.data.get("services") or []:
            if item.get("code") == code:
                return ServiceOffering.model_validate(item)
        return None

    def location(self) -> tuple[float, float] | None:
        loc = self.data.get("location")
        if isinstance(loc, Mapping) and "lat" in loc and "lng" in loc:
            return float(loc["lat"]), float(loc["lng"])
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.data.get("name"),
            "address": self.data.get("address"),
            "time_zone": self.calendar.time_zone,
            "opening_hours": self.calendar.opening_hours.model_dump(mode="json"),
            "bays": self.calendar.bays,
            "slot_step_minutes": self.calendar.slot_step_minutes,
            "services": list(self.data.get("services") or []),
            "mechanic_ids": self.mechanic_ids,
            "location": self.data.get("location"),
            "created_at": self.data.get("created_at"),
            "updated_at": self.data.get("updated_at"),
        }


def _hours_to_document(hours: OpeningHours) -> dict[str, list[dict[str, str]]]:
    return {
        day: [{"open": opens, "close": closes} for opens, closes in getattr(hours, day)]
        for day in _WEEKDAYS
    }


def _hours_from_document(stored: Mapping[str, Any]) -> OpeningHours:
    from booking.calendar_models import OpeningHours

    return OpeningHours.model_validate(
        {
            day: [(item["open"], item["close"]) for item in stored.get(day) or []]
            for day in _WEEKDAYS
        }
    )


def center_from_snapshot(center_id: str, data: Mapping[str, Any]) -> Center:
    from booking.calendar_models import CenterCalendar

    calendar = CenterCalendar(
        time_zone=data["time_zone"],
        opening_hours=_hours_from_document(data.get("opening_hours") or {}),
        bays=int(data["bays"]),
        slot_step_minutes=int(data.get("slot_step_minutes") or 30),
    )
    return Center(id=center_id, data=dict(data), calendar=calendar)


def _to_document(body: CenterCreate) -> dict[str, Any]:
    return {
        "name": body.name,
        "address": body.address,
        "time_zone": body.time_zone,
        "opening_hours": _hours_to_document(body.opening_hours),
        "bays": body.bays,
        "slot_step_minutes": body.slot_step_minutes,
        "services": [service.model_dump() for service in body.services],
        "mechanic_ids": body.mechanic_ids,
        "location": body.location.model_dump() if body.location else None,
    }


def create_center(body: CenterCreate) -> Center:
    now = clock.now()
    center_id = uuid.uuid4().hex
    document = {**_to_document(body), "created_at": now, "updated_at": now}
    get_client().collection(CENTERS).document(center_id).create(document)
    return center_from_snapshot(center_id, document)


def get_center(center_id: str) -> Center:
    """The center as stored now (one read); 404 when there is none."""
    if not is_document_id(center_id):
        raise NotFound("The service center does not exist.")
    snapshot = get_client().collection(CENTERS).document(center_id).get()
    if not snapshot.exists:
        raise NotFound("The service center does not exist.")
    return center_from_snapshot(snapshot.id, snapshot.to_dict() or {})


_recent = InstanceCache[Center](CENTER_CACHE_ENTRIES)


def recent_center(center_id: str) -> Center:
    """The center as read at most :data:`CENTER_CACHE_SECONDS` ago, for booking and
    availability (a missing center is never remembered: 404 reads again each time)."""
    cached = _recent.get(center_id, CENTER_CACHE_SECONDS)
    if cached is not None:
        return cached
    generation = _recent.generation()
    # Stamped before the read: the entry's age then covers the read's own duration.
    read_at = time.monotonic()
    center = get_center(center_id)
    _recent.put(center_id, center, read_at, generation)
    return center


def forget_recent_centers() -> None:
    """Make this instance read every center again (tests that edit centers directly)."""
    _recent.clear()


def update_center(center_id: str, patch: CenterPatch) -> Center:
    """Merge ``patch`` into the stored center and re-validate the whole center.

    Changing bays or hours does not touch existing bookings: they keep their slot cells,
    and a reduced bay count only limits new bookings.
    """
    from pydantic import ValidationError

    from booking.models import CenterCreate

    current = get_center(center_id)
    merged: dict[str, Any] = {
        key: value for key, value in current.to_json().items() if key in CenterCreate.model_fields
    }
    merged.update(patch.model_dump(exclude_unset=True, mode="json"))
    try:
        full = CenterCreate.model_validate(merged)
    except ValidationError as exc:
        raise ValidationFailed(
            "The updated center is not valid.", details=validation_details(exc, "body")
        ) from None
    document = {**_to_document(full), "updated_at": clock.now()}
    get_client().collection(CENTERS).document(center_id).update(document)
    _recent.forget(center_id)  # this instance books against the edit at once
    return center_from_snapshot(center_id, {**current.data, **document})


def list_centers(page: PageQuery) -> tuple[list[Center], str | None]:
    collection = get_client().collection(CENTERS)
    query = collection.order_by("name").order_by("__name__")
    snapshots, cursor = page_of(collection, query, ["name"], page)
    return [center_from_snapshot(s.id, s.to_dict() or {}) for s in snapshots], cursor


def team_of(center: Center) -> list[dict[str, Any]]:
    """The center's mechanics (``mechanic_ids``) as its staff may see them, by name.

    Only what assigning work needs: ``id``, ``full_name``, ``role`` and ``active``. A listed
    id whose account is no longer a mechanic of this center (or is gone) keeps its place with
    no name and no role — the center's list is what ``assign`` accepts, but a former
    colleague's name is not the staff's to read. One batched read of at most
    MAX_MECHANICS_PER_CENTER user documents.
    """
    client = get_client()
    listed = [user_id for user_id in center.mechanic_ids if is_document_id(user_id)]
    users = client.collection(USERS_COLLECTION)
    found = (
        {s.id: s.to_dict() or {} for s in client.get_all([users.document(i) for i in listed])}
        if listed
        else {}
    )
    team = []
    for user_id in listed:
        user = found.get(user_id) or {}
        member = (
            user.get("role") == Role.MECHANIC.value and user.get("service_center_id") == center.id
        )
        team.append(
            {
                "id": user_id,
                "full_name": user.get("full_name") if member else None,
                "role": Role.MECHANIC.value if member else None,
                "active": member and bool(user.get("is_active")),
            }
        )
    team.sort(
        key=lambda m: (not m["active"], m["full_name"] is None, m["full_name"] or "", m["id"])
    )
    return team


def all_centers(limit: int) -> list[Center]:
    """Up to ``limit`` centers (for the suggestion scan)."""
    snapshots = get_client().collection(CENTERS).limit(limit).stream()
    return [center_from_snapshot(s.id, s.to_dict() or {}) for s in snapshots]


@dataclass(frozen=True)
class AvailableSlot:
    """A slot and the bays still free for its whole length."""

    slot: Slot
    remaining: int

    def to_json(self) -> dict[str, Any]:
        return {**self.slot.to_json(), "remaining": self.remaining}


def availability(center: Center, day: date, duration_minutes: int) -> list[AvailableSlot]:
    """Every bookable slot of ``day`` with the bays still free for its whole length.

    A slot's remaining count is the bays minus the fullest grid cell it would hold, because
    a booking needs a free bay in every cell it covers. Full slots are listed with 0 so a
    client can show them as taken.
    """
    slots = bookable_slots_for_day(center.calendar, day, duration_minutes, now=clock.now())
    held = {slot: slot_keys_held(center.id, center.calendar, slot) for slot in slots}
    counts = capacity.counts(key for keys in held.values() for key in keys)
    result = []
    for slot in slots:
        fullest = max((counts.get(key, 0) for key in held[slot]), default=0)
        result.append(AvailableSlot(slot, max(center.calendar.bays - fullest, 0)))
    return result
