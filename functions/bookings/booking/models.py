"""Request models of the bookings function.

Bodies and query strings subclass ``BodyModel`` / ``QueryModel`` (shared.request_models) so
unknown fields are a 422, not silently dropped. Calendar rules themselves (hours, grid, zones)
live in ``booking.scheduling`` and ``booking.calendar_models``; these models only shape the
input and reuse their validators. ``BookingListQuery`` lives in ``booking.list_query``: GET /
(the list) validates only its query, so the list's first request builds no other model.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from booking.calendar_limits import DEFAULT_SLOT_STEP_MINUTES, MIN_BAYS
from booking.calendar_models import (
    Bays,
    CenterCalendar,
    OpeningHours,
    ServiceOffering,
    SlotStepMinutes,
)
from shared import service_codes
from shared.mileage import MAX_MILEAGE_KM
from shared.request_models import BodyModel, DocumentId, QueryModel

# A center offers a handful of services and employs a few dozen mechanics at most; the caps
# keep one center document far below Firestore's 1 MiB limit and a suggestion scan bounded.
MAX_SERVICES_PER_CENTER = 50
MAX_MECHANICS_PER_CENTER = 200
# Free-text limits: long enough for a real note, short enough to keep documents small.
MAX_NOTES_CHARS = 2000
MAX_WORK_DONE_CHARS = 4000
MAX_CANCEL_REASON_CHARS = 500


class Location(BaseModel):
    """A point on Earth in degrees (WGS 84)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


def _known_codes(services: list[ServiceOffering]) -> list[ServiceOffering]:
    codes = [service.code for service in services]
    unknown = sorted({code for code in codes if not service_codes.is_known(code)})
    if unknown:
        known = ", ".join(sorted(service_codes.SERVICE_NAMES))
        raise ValueError(f"unknown service codes {unknown}; use one of: {known}")
    if len(set(codes)) != len(codes):
        raise ValueError("each service code may appear once")
    return services


class CenterCreate(BodyModel):
    """``POST /centers``: a full service-center description."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "PMI Werkstatt Berlin Mitte",
                    "address": "Invalidenstraße 1, Berlin",
                    "time_zone": "Europe/Berlin",
                    "opening_hours": {
                        "mon": [["08:00", "17:00"]],
                        "tue": [["08:00", "17:00"]],
                        "wed": [["08:00", "17:00"]],
                        "thu": [["08:00", "17:00"]],
                        "fri": [["08:00", "16:00"]],
                    },
                    "bays": 3,
                    "services": [
                        {
                            "code": service_codes.OIL_CHANGE,
                            "name": "Oil and filter change",
                            "duration_minutes": 60,
                        }
                    ],
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=120)
    address: str = Field(min_length=1, max_length=300)
    time_zone: str = Field(min_length=1, max_length=64)
    opening_hours: OpeningHours
    bays: Bays
    slot_step_minutes: SlotStepMinutes = DEFAULT_SLOT_STEP_MINUTES
    services: list[ServiceOffering] = Field(min_length=1, max_length=MAX_SERVICES_PER_CENTER)
    mechanic_ids: list[DocumentId] = Field(
        default_factory=list, max_length=MAX_MECHANICS_PER_CENTER
    )
    location: Location | None = None

    @field_validator("time_zone")
    @classmethod
    def _zone_is_iana(cls, name: str) -> str:
        # Reuse the calendar's own check so the API and the scheduler agree on what is valid.
        CenterCalendar.model_validate(
            {"time_zone": name, "opening_hours": OpeningHours(), "bays": MIN_BAYS}
        )
        return name

    @field_validator("services")
    @classmethod
    def _services_known(cls, services: list[ServiceOffering]) -> list[ServiceOffering]:
        return _known_codes(services)

    @field_validator("mechanic_ids")
    @classmethod
    def _mechanic_ids_unique(cls, ids: list[str]) -> list[str]:
        return list(dict.fromkeys(ids))


class CenterPatch(BodyModel):
    """``PATCH /centers/{id}``: any subset of the fields; the merged center is re-validated."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    address: str | None = Field(default=None, min_length=1, max_length=300)
    time_zone: str | None = Field(default=None, min_length=1, max_length=64)
    opening_hours: OpeningHours | None = None
    bays: Bays | None = None
    slot_step_minutes: SlotStepMinutes | None = None
    services: list[ServiceOffering] | None = Field(
        default=None, min_length=1, max_length=MAX_SERVICES_PER_CENTER
    )
    mechanic_ids: list[DocumentId] | None = Field(default=None, max_length=MAX_MECHANICS_PER_CENTER)
    location: Location | None = None


class AvailabilityQuery(QueryModel):
    """``GET /centers/{id}/availability?date=YYYY-MM-DD&service=<code>``."""

    date: str = Field(min_length=10, max_length=10)
    service: str = Field(min_length=1, max_length=64)


class BookingCreate(BodyModel):
    """``POST /``: book ``service_type`` for ``vehicle_id`` at ``center_id`` from ``start``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "vehicle_id": "8b1ca650643b45a397bcb36ff39829e4",
                    "center_id": "c98988b1ab21418d8ffbaf712a75828b",
                    "service_type": service_codes.OIL_CHANGE,
                    "start": "2026-12-03T09:00:00+01:00",
                    "notes": "Please check the wipers too.",
                }
            ]
        }
    )

    vehicle_id: DocumentId
    center_id: DocumentId
    service_type: str = Field(min_length=1, max_length=64)
    # ISO 8601 with an offset; parsed by scheduling.parse_start for precise error reasons.
    start: str = Field(min_length=1, max_length=64)
    notes: str | None = Field(default=None, max_length=MAX_NOTES_CHARS)


class AssignBody(BodyModel):
    """``POST /{id}/assign``: a mechanic of the booking's center."""

    mechanic_id: DocumentId


class RescheduleBody(BodyModel):
    """``POST /{id}/reschedule``: the new start (same service, same center)."""

    start: str = Field(min_length=1, max_length=64)


class CancelBody(BodyModel):
    """POST /{id}/cancel, optional: why the booking is cancelled (kept in its history)."""

    reason: str | None = Field(default=None, max_length=MAX_CANCEL_REASON_CHARS)


class Money(BaseModel):
    """An amount in a currency (ISO 4217); stored as given, never converted."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    amount: float = Field(ge=0, le=1_000_000)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class CompleteBody(BodyModel):
    """``POST /{id}/complete``: what was done, at what mileage, for what cost."""

    # 2 million km is beyond any road vehicle; it rejects typos with extra digits.
    mileage_km: int = Field(strict=True, ge=0, le=int(MAX_MILEAGE_KM))
    work_done: str = Field(min_length=1, max_length=MAX_WORK_DONE_CHARS)
    cost: Money


class SuggestionsQuery(QueryModel):
    """``GET /suggestions``: optional caller location to sort centers nearest first."""

    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
