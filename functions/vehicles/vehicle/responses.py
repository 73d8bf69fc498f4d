"""Response models of the vehicles routes: what a client receives (pure; the OpenAPI document).

Field names and units match the request models and the stored documents (``*_km``
kilometres, ``*_v`` volts, ``*_c`` degrees Celsius; times ISO 8601 with an offset, days
``YYYY-MM-DD``). Evidence of a finding is rule-specific and documented per rule in
docs/vehicles.md, so it is an open object here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from shared import service_codes
from shared.responses import Page, ResponseModel

Severity = Literal["critical", "high", "medium", "low"]
Urgency = Literal["overdue", "due_soon", "upcoming", "ok"]


class DueService(ResponseModel):
    """When a maintenance service falls due, by time or distance, whichever comes first."""

    code: str = Field(examples=[service_codes.OIL_CHANGE])
    name: str
    urgency: Urgency
    due_date: date | None = None
    due_km: float | None = Field(None, description="Odometer reading (km) it is due at.")
    # In a health report's forecast; a vehicle's stored due_services omit them.
    remaining_km: float | None = Field(None, description="Kilometres left; < 0 when overdue.")
    days_left: int | None = Field(None, description="Days left; negative when overdue.")
    basis: str | None = Field(None, description="Which limit made the due date: time or km.")


class Vehicle(ResponseModel):
    """A registered vehicle (viewers get no owner-identifying fields)."""

    id: str
    owner_id: str | None = Field(default=None, description="Absent for viewers.")
    vin: str | None = Field(default=None, description="ISO 3779 VIN; absent for viewers.")
    make: str
    model: str
    year: int
    mileage_km: float = Field(description="Odometer as last declared or recorded, km.")
    plate: str | None = Field(default=None, description="Absent for viewers.")
    nickname: str | None = Field(default=None, description="Absent for viewers.")
    fuel_type: str | None
    created_at: datetime | None
    updated_at: datetime | None
    center_ids: list[str] | None = Field(
        default=None, description="Service centers that may see it now; absent for viewers."
    )
    maintenance_overrides: dict[str, Any] | None
    odometer_km: float | None = Field(description="Latest telemetry odometer, km.")
    last_reading_at: datetime | None
    due_services: list[DueService] | None
    health_score: int | None = Field(description="0-100 from the last health evaluation.")
    health_evaluated_at: datetime | None


class VehiclePage(Page[Vehicle]):
    """One page of vehicles, newest first."""


class Alert(ResponseModel):
    """An open or resolved finding on a vehicle (one per vehicle and rule)."""

    id: str | None = Field(
        default=None, description="Absent for viewers (it embeds the vehicle's)."
    )
    vehicle_id: str | None = Field(default=None, description="Absent for viewers.")
    owner_id: str | None = Field(default=None, description="Absent for viewers.")
    rule_id: str
    severity: Severity
    status: Literal["open", "resolved"]
    title: str | None = None
    recommended_action: str | None = None
    service_code: str | None = None
    evidence: dict[str, Any] | None = None
    opened_at: datetime | None = None
    updated_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    book_by: date | None = None
    predicted_failure_date: date | None = None
    center_ids: list[str] | None = None


class AlertPage(Page[Alert]):
    """One page of alerts, newest first."""


class StoredReading(ResponseModel):
    """A stored telemetry reading (the fields of the request's reading, plus its flags)."""

    timestamp: datetime
    odometer_km: float
    battery_voltage: float
    engine_running: bool
    coolant_temp_c: float | None
    dtc_codes: list[str]
    dtc_pending: list[str]
    ambient_temp_c: float | None = None
    flags: list[str] = Field(description="Quality flags it was accepted with.")


class TelemetryPage(Page[StoredReading]):
    """Readings in a time range, oldest first."""

    from_: datetime = Field(alias="from")
    to: datetime


class ReadingFlagged(ResponseModel):
    index: int = Field(description="Position of the reading in the submitted batch.")
    flags: list[str] = Field(examples=[["implausible_odometer_step"]])
    details: list[str]


class ReadingRefused(ResponseModel):
    index: int = Field(description="Position of the reading in the submitted batch.")
    reason: str | None


class ReadingIgnoredFields(ResponseModel):
    """Fields of one reading that the API does not know and did not store."""

    index: int = Field(description="Position of the reading in the submitted batch.")
    fields: list[str] = Field(examples=[["fault_codes"]])
    did_you_mean: dict[str, str] = Field(
        description="For a name close to a known field: that field.",
        examples=[{"fault_codes": "dtc_codes"}],
    )
    more: int = Field(0, description="Further unknown fields, not listed.")


class IngestResult(ResponseModel):
    """What happened to each reading of a batch (201 stored, 200 all known, 207 some refused)."""

    received: int
    accepted: int
    flagged: list[ReadingFlagged]
    rejected: list[ReadingRefused]
    duplicates: list[ReadingRefused]
    ignored_fields: list[ReadingIgnoredFields] = Field(
        description=(
            "Unknown fields per reading. They are accepted (newer firmware may add fields) "
            "but not stored: check here for a misspelt field name."
        )
    )
    days: list[str] = Field(description="UTC days (YYYY-MM-DD) the stored readings fall on.")
    health_evaluated: bool = Field(description="Whether this batch refreshed the health score.")


class ServiceRecord(ResponseModel):
    """Completed work on a vehicle."""

    id: str | None = Field(
        default=None, description="Absent for viewers (a booking's record embeds the booking's)."
    )
    performed_at: datetime
    mileage_km: float
    service_codes: list[str]
    work_done: str | None = None
    cost: float | dict[str, Any] | None = Field(
        default=None, description="A number, or {amount, currency} when recorded by a booking."
    )
    source: str | None = None
    booking_id: str | None = None
    center_id: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None


class ServiceRecordPage(Page[ServiceRecord]):
    """One page of service records, newest first."""


class Finding(ResponseModel):
    """One explainable finding of the health evaluation."""

    rule_id: str
    severity: Severity
    title: str
    evidence: dict[str, Any] = Field(description="Rule-specific figures (docs/vehicles.md).")
    recommended_action: str
    service_code: str | None
    predicted_failure_date: date | None
    book_by: date | None


class HealthReport(ResponseModel):
    """Score and findings of a fresh evaluation, and the maintenance forecast."""

    vehicle_id: str | None = Field(default=None, description="Absent for viewers.")
    score: int = Field(ge=0, le=100)
    findings: list[Finding] = Field(description="Most severe first.")
    maintenance: list[DueService]
    readings_considered: int
    evaluated_at: datetime


class MileageCorrected(ResponseModel):
    """The vehicle after a mileage correction, and what the correction changed."""

    vehicle: Vehicle
    from_km: float = Field(description="The declared mileage before the correction, km.")
    to_km: float = Field(description="The corrected mileage, km.")
    records_adjusted: list[str] = Field(
        description="Ids of the service records above the corrected mileage, brought down to it."
    )


ClaimStatus = Literal["pending", "approved", "rejected"]


class CurrentRegistration(ResponseModel):
    """For an admin deciding a claim: the vehicle that holds the VIN now."""

    vehicle_id: str
    owner_id: str | None
    created_at: datetime | None
    last_reading_at: datetime | None


class VinClaim(ResponseModel):
    """A claim to a VIN registered already, which an admin approves or rejects.

    The claimant sees what they asked for and where it stands, never whose the current
    registration is; admins also get the claimant, the request and the decision's reason.
    """

    id: str
    vin: str
    status: ClaimStatus
    created_at: datetime | None
    resolved_at: datetime | None
    vehicle_id: str | None = Field(description="The vehicle registered by an approval.")
    claimant_id: str | None = Field(default=None, description="Admins only.")
    requested: dict[str, Any] | None = Field(
        default=None, description="Admins only: the registration the claimant sent."
    )
    resolved_by: str | None = Field(default=None, description="Admins only.")
    resolution_reason: str | None = Field(default=None, description="Admins only.")
    current_registration: CurrentRegistration | None = Field(
        default=None, description="Admins only, on a pending claim in a listing."
    )


class VinClaimPage(Page[VinClaim]):
    """One page of VIN claims, newest first."""


class VinClaimPending(ResponseModel):
    """The VIN is registered already: the registration became a claim an admin reviews."""

    status: Literal["pending_review"]
    message: str
    claim: VinClaim


class ResolvedVinClaim(VinClaim):
    """The claim after the decision."""

    removed_vehicle_id: str | None = Field(
        description="The registration an approval removed (null on a rejection or none)."
    )
