"""Request models of the vehicles API: every body and query string, validated by pydantic.

Bodies subclass ``BodyModel`` and queries ``QueryModel`` (shared.request_models), so an
unknown field is a 422 rather than silently ignored. Domain rules that need no database (VIN
format and check digit, year and mileage bounds, interval overrides) live here too, so they
surface as per-field 422 details.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    field_validator,
    model_validator,
)

from shared import clock, service_codes
from shared.maintenance import intervals_for_vehicle
from shared.mileage import MAX_MILEAGE_KM as MAX_MILEAGE
from shared.request_models import BodyModel, DocumentId, PageQuery
from vehicle.telemetry_quality import MAX_BATCH, Reading
from vehicle.vin import vin_problem

# 17-character VINs with a check digit exist since model year 1981 (ISO 3779 / FMVSS 115);
# older vehicles cannot be registered with a valid VIN anyway.
MIN_MODEL_YEAR = 1981
# Manufacturers sell next year's models from mid-year; two years ahead is a typing error.
MODEL_YEARS_AHEAD = 1
# Mileage bounds are one rule for every path (shared.mileage, where the figure is argued).
MAX_MILEAGE_KM = MAX_MILEAGE
# Interval limits: a km interval beyond 500,000 or a time interval beyond 20 years means
# "never" in practice — say that with null instead.
MAX_INTERVAL_KM = 500_000
MAX_INTERVAL_MONTHS = 240

FuelType = Literal[
    "petrol", "diesel", "hybrid", "plug_in_hybrid", "electric", "lpg", "cng", "hydrogen", "other"
]
ServiceCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
ShortText = Annotated[str, Field(min_length=1, max_length=60)]


def _latest_model_year() -> int:
    return clock.now().year + MODEL_YEARS_AHEAD


class VehicleCreate(BodyModel):
    """POST /api/vehicles."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "vin": "1HGCM82633A004352",
                    "make": "Honda",
                    "model": "Accord",
                    "year": 2019,
                    "mileage_km": 42000,
                    "plate": "B-PM 1001",
                    "fuel_type": "petrol",
                }
            ]
        }
    )

    vin: str = Field(max_length=40)
    make: ShortText
    model: ShortText
    year: int = Field(ge=MIN_MODEL_YEAR)
    mileage_km: float = Field(ge=0, le=MAX_MILEAGE_KM, allow_inf_nan=False)
    plate: str | None = Field(default=None, min_length=1, max_length=15)
    nickname: str | None = Field(default=None, min_length=1, max_length=40)
    fuel_type: FuelType | None = None

    @field_validator("vin")
    @classmethod
    def _valid_vin(cls, value: str) -> str:
        problem = vin_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value.strip().upper()

    @field_validator("year")
    @classmethod
    def _not_far_future(cls, value: int) -> int:
        latest = _latest_model_year()
        if value > latest:
            raise ValueError(f"model year must be at most {latest}")
        return value


class IntervalOverride(BodyModel):
    """One service's changed limits; null for a limit removes it."""

    name: str | None = Field(default=None, min_length=1, max_length=60)
    every_km: int | None = Field(default=None, ge=1, le=MAX_INTERVAL_KM)
    every_months: int | None = Field(default=None, ge=1, le=MAX_INTERVAL_MONTHS)


def overrides_as_data(
    overrides: dict[str, IntervalOverride | None] | None,
) -> dict[str, dict[str, Any] | None]:
    """The stored form: only the fields the client set (absent ≠ null for intervals)."""
    return {
        code: (None if change is None else change.model_dump(exclude_unset=True))
        for code, change in (overrides or {}).items()
    }


class VehiclePatch(BodyModel):
    """PATCH /api/vehicles/{id}: only these fields change; vin and owner are immutable."""

    plate: str | None = Field(default=None, min_length=1, max_length=15)
    nickname: str | None = Field(default=None, min_length=1, max_length=40)
    fuel_type: FuelType | None = None
    mileage_km: float | None = Field(default=None, ge=0, le=MAX_MILEAGE_KM, allow_inf_nan=False)
    # Replaces the vehicle's whole override map ({} restores the defaults).
    maintenance_overrides: dict[ServiceCode, IntervalOverride | None] | None = Field(
        default=None, max_length=30
    )

    @model_validator(mode="after")
    def _something_to_change(self) -> VehiclePatch:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        if "mileage_km" in self.model_fields_set and self.mileage_km is None:
            raise ValueError("mileage_km cannot be cleared")
        if self.maintenance_overrides is not None:
            # The maintenance module is the judge of a consistent schedule (e.g. a new
            # service needs at least one limit).
            intervals_for_vehicle(overrides_as_data(self.maintenance_overrides))
        return self


class VehicleListQuery(PageQuery):
    """GET /api/vehicles: exact-match filters (each combination has its index)."""

    make: str | None = Field(default=None, min_length=1, max_length=60)
    fuel_type: FuelType | None = None


# A page of telemetry may be bigger than a page of vehicles: readings are small and a day
# at one per 5 minutes is 288 of them.
MAX_TELEMETRY_PAGE = 500
DEFAULT_TELEMETRY_PAGE = 100
# Without ``from``, a telemetry listing starts this long before ``to``.
DEFAULT_TELEMETRY_SPAN_DAYS = 7


class TelemetryQuery(PageQuery):
    """GET /api/vehicles/{id}/telemetry?from&to: ISO 8601 with an offset (or Z)."""

    limit: int = Field(default=DEFAULT_TELEMETRY_PAGE, ge=1, le=MAX_TELEMETRY_PAGE)
    from_: AwareDatetime | None = Field(default=None, alias="from")
    to: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TelemetryQuery:
        if self.from_ is not None and self.to is not None and self.from_ > self.to:
            raise ValueError("'from' must not be after 'to'")
        return self


# Unknown reading fields listed per reading in the answer: enough to spot a misspelling,
# while a reading stuffed with thousands of names cannot make the answer huge.
MAX_IGNORED_FIELDS_LISTED = 10
MAX_IGNORED_NAME_CHARS = 64


def ignored_fields(raw_readings: Any) -> list[dict[str, Any]]:
    """Per reading, the fields :class:`Reading` does not know (accepted, not stored).

    A name close to a known field (``fault_codes`` for ``dtc_codes``) is paired with it in
    ``did_you_mean``, so a misspelt field is visible instead of silently dropped.
    """
    if not isinstance(raw_readings, list):
        return []
    known = list(Reading.model_fields)
    # A set, looked up once per batch: ``Reading.model_fields`` is a property (~2 µs a
    # lookup, 3,500 of them in a full batch otherwise).
    known_names = frozenset(known)
    found = []
    for index, raw in enumerate(raw_readings):
        if not isinstance(raw, dict) or raw.keys() <= known_names:
            continue
        unknown = sorted(str(name) for name in raw if name not in known_names)
        if not unknown:
            continue
        listed = [name[:MAX_IGNORED_NAME_CHARS] for name in unknown[:MAX_IGNORED_FIELDS_LISTED]]
        close = {
            name: match[0]
            for name in listed
            if (match := difflib.get_close_matches(name, known, n=1, cutoff=0.6))
        }
        found.append(
            {
                "index": index,
                "fields": listed,
                "did_you_mean": close,
                "more": len(unknown) - len(listed),
            }
        )
    return found


class TelemetryBatch(BodyModel):
    """POST /api/vehicles/{id}/telemetry: 1 to 500 readings.

    Each reading is validated on its own (types, physical ranges, DTC format): a malformed
    reading makes the whole batch a 422 with per-field details, because retrying it cannot
    help. Quality checks that need context (odometer order, future time, duplicates) are
    judged per reading and reported with a 207. Fields a reading has beyond the documented
    ones are accepted (newer firmware adds some) but not stored, and the answer lists them
    per reading in ``ignored_fields``.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "readings": [
                        {
                            "timestamp": "2026-11-28T07:30:00Z",
                            "odometer_km": 42131.5,
                            "battery_voltage": 12.55,
                            "engine_running": False,
                            "coolant_temp_c": 15.0,
                            "dtc_codes": [],
                            "ambient_temp_c": 4.5,
                        }
                    ]
                }
            ]
        }
    )

    readings: list[Reading] = Field(min_length=1, max_length=MAX_BATCH)
    # What the answer's ``ignored_fields`` says (computed from the raw body).
    _ignored: list[dict[str, Any]] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _note_ignored_fields(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        batch = handler(data)
        if isinstance(batch, TelemetryBatch) and isinstance(data, dict):
            batch._ignored = ignored_fields(data.get("readings"))
        return batch

    @property
    def ignored(self) -> list[dict[str, Any]]:
        return self._ignored


class ServiceRecordCreate(BodyModel):
    """POST /api/vehicles/{id}/service-records."""

    performed_at: AwareDatetime
    mileage_km: float = Field(ge=0, le=MAX_MILEAGE_KM, allow_inf_nan=False)
    service_codes: list[str] = Field(min_length=1, max_length=10)
    work_done: str = Field(default="", max_length=2000)
    cost: float | None = Field(default=None, ge=0, le=1_000_000, allow_inf_nan=False)
    # Center staff may send their own center (or leave it out: it is filled in); another
    # center, or any center from an owner, is refused by vehicle.service (422).
    center_id: DocumentId | None = None

    @field_validator("service_codes")
    @classmethod
    def _known_codes(cls, codes: list[str]) -> list[str]:
        unknown = [code for code in codes if not service_codes.is_known(code)]
        if unknown:
            raise ValueError(
                f"unknown service codes {unknown}; use one of {sorted(service_codes.SERVICE_NAMES)}"
            )
        return list(dict.fromkeys(codes))

    @field_validator("performed_at")
    @classmethod
    def _not_in_future(cls, value: datetime) -> datetime:
        if value > clock.now():
            raise ValueError("performed_at is in the future")
        return value.astimezone(UTC)


class AlertListQuery(PageQuery):
    """GET /api/vehicles/alerts."""

    status: Literal["open", "resolved"] = "open"
    severity: Literal["critical", "high"] | None = None


class MileageCorrection(BodyModel):
    """POST /api/vehicles/{id}/mileage-correction: lower a wrong mileage, with the reason."""

    mileage_km: float = Field(ge=0, le=MAX_MILEAGE_KM, allow_inf_nan=False)
    # Kept in the audit log: enough to tell later why the figure went down.
    reason: str = Field(min_length=10, max_length=500)

    @field_validator("reason")
    @classmethod
    def _meaningful(cls, value: str) -> str:
        value = value.strip()
        if len(value) < 10:
            raise ValueError("say in at least 10 characters why the mileage is wrong")
        return value


class VinClaimListQuery(PageQuery):
    """GET /api/vehicles/vin-claims: the caller's claims (admins: everyone's)."""

    status: Literal["pending", "approved", "rejected"] | None = "pending"


class VinClaimResolution(BodyModel):
    """POST /api/vehicles/vin-claims/{id}/resolve (admin)."""

    # approve: the claimant gets the VIN (the current registration is removed); reject: the
    # current registration stays and the claim is closed.
    decision: Literal["approve", "reject"]
    reason: str = Field(min_length=10, max_length=500)
