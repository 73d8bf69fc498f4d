"""Response models of the bookings routes: what a client receives (pure; the OpenAPI document).

Times of a booking and of slots are ISO 8601 in the center's own zone (``time_zone``, an
IANA name), so a client shows them as the workshop sees them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shared import service_codes
from shared.responses import Page, ResponseModel

BookingStatus = Literal[
    "requested", "confirmed", "in_progress", "completed", "cancelled", "no_show"
]


class Service(ResponseModel):
    """A bookable service of a center."""

    code: str = Field(examples=[service_codes.OIL_CHANGE])
    name: str
    duration_minutes: int


class Coordinates(ResponseModel):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class Center(ResponseModel):
    """A service center: calendar, bays and services."""

    id: str
    name: str | None
    address: str | None
    time_zone: str = Field(examples=["Europe/Berlin"])
    opening_hours: dict[str, list[list[str]]] = Field(
        description='Per weekday (mon..sun), ["HH:MM", "HH:MM"] open-close pairs; [] closed.'
    )
    bays: int = Field(description="Vehicles it can work on at once.")
    slot_step_minutes: int
    services: list[Service]
    mechanic_ids: list[str] | None = Field(default=None, description="Absent for viewers.")
    location: Coordinates | None
    created_at: datetime | None
    updated_at: datetime | None


class CenterPage(Page[Center]):
    """One page of centers, by name."""


class Slot(ResponseModel):
    start: datetime
    end: datetime
    remaining: int = Field(description="Bays still free for the whole slot; 0 = taken.")


class Availability(ResponseModel):
    """Slots of one day for one service."""

    center_id: str
    date: str = Field(examples=["2026-12-03"])
    service: str
    time_zone: str
    slots: list[Slot]


class HistoryEntry(ResponseModel):
    """One step of a booking's life (viewers get no actor_id or reason)."""

    action: str
    from_state: str | None
    to_state: str
    actor_role: str | None = None
    actor_id: str | None = None
    at: datetime | None


class Booking(ResponseModel):
    """A booking as the caller may see it (viewers get no customer or free text)."""

    id: str
    customer_id: str | None = Field(default=None, description="Absent for viewers.")
    vehicle_id: str | None = Field(default=None, description="Absent for viewers.")
    center_id: str
    center_name: str | None
    service_type: str
    service_name: str | None
    duration_minutes: int
    start: datetime
    end: datetime
    time_zone: str
    status: BookingStatus
    mechanic_id: str | None = Field(default=None, description="Absent for viewers.")
    notes: str | None = None
    source: str | None = Field(description="direct or suggestion.")
    suggestion_id: str | None = Field(default=None, description="Absent for viewers.")
    completion: dict[str, Any] | None = Field(
        description="What was done, at what mileage and cost (completed bookings)."
    )
    history: list[HistoryEntry]
    created_at: datetime | None
    updated_at: datetime | None


class BookingPage(Page[Booking]):
    """One page of bookings, by start."""


class SuggestedCenter(ResponseModel):
    id: str
    name: str | None
    address: str | None
    distance_km: float | None = Field(description="From the lat/lng sent; null without.")


class Suggestion(ResponseModel):
    """A free slot for a service one of the caller's vehicles needs."""

    id: str = Field(description="Opaque; POST /api/bookings/suggestions/{id}/accept books it.")
    vehicle_id: str
    service_code: str
    service_name: str
    reason: dict[str, Any] = Field(
        description="The most urgent reason (an alert or a due service)."
    )
    reasons: list[dict[str, Any]]
    center: SuggestedCenter
    start: datetime
    end: datetime
    remaining: int
    book_before: str | None = Field(
        default=None, description="When a failure is predicted: book before this day."
    )
    before_predicted_date: bool | None = None


class Suggestions(ResponseModel):
    suggestions: list[Suggestion]


class TeamMember(ResponseModel):
    """A mechanic on the center's list, as its staff may see them.

    A listed id whose account is no longer a mechanic of this center keeps its place (the
    list is what ``assign`` accepts) with no name and no role.
    """

    id: str
    full_name: str | None
    role: Literal["mechanic"] | None
    active: bool


class CenterTeam(ResponseModel):
    """The center's mechanics, for assigning work."""

    center_id: str
    items: list[TeamMember]


class SuggestedVehicle(ResponseModel):
    make: str | None
    model: str | None
    year: int | None
    plate: str | None


class CenterSuggestion(ResponseModel):
    """A need of a vehicle the center may see, with the center's own soonest free slots."""

    vehicle_id: str
    vehicle: SuggestedVehicle
    service_code: str = Field(examples=[service_codes.OIL_CHANGE])
    service_name: str
    offered: bool = Field(description="Whether this center offers the service (else no slots).")
    reason: dict[str, Any] = Field(
        description="The most urgent reason (an alert or a due service)."
    )
    reasons: list[dict[str, Any]]
    slots: list[Slot] = Field(description="Soonest free slots, before book_before if possible.")
    book_before: str | None = Field(
        default=None, description="When a failure is predicted: book before this day."
    )
    before_predicted_date: bool | None = Field(
        default=None, description="Whether the slots are before the predicted failure."
    )


class CenterSuggestions(ResponseModel):
    """What the vehicles the center may see need, most urgent first."""

    center_id: str
    time_zone: str = Field(examples=["Europe/Berlin"])
    suggestions: list[CenterSuggestion]
