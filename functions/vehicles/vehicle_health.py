"""Evaluate one vehicle's health from stored data and publish the outcome.

Steps: read the last ``HEALTH_WINDOW`` (90 days) of telemetry day documents (at most 91
reads) and the service records; forecast maintenance (intervals from the vehicle's
overrides, average daily km from its own odometer history); run the rules of health_rules;
then upsert alerts (alerts.sync_alerts) and refresh ``due_services``, ``health_score`` and
``health_evaluated_at`` on the vehicle document.

**Evidence after a service.** A finding whose service code was performed at time S counts
only on readings after S: the rules are re-run on that later telemetry alone. Otherwise a
fresh battery would stay "weak" until 90 days of old readings aged out, and an alert
resolved by the completed service would reopen at once.

**After ingest** evaluation is throttled (:func:`should_evaluate_after_ingest`): each
evaluation reads up to 91 day documents, more than the ingest itself, so it runs when the
last evaluation is older than ``INGEST_REFRESH_INTERVAL`` or when the batch carries an
urgent signal (a fault code, an overheating or a low resting voltage), and then at most
once per ``URGENT_REFRESH_INTERVAL``. GET /health always evaluates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import alerts
import service_records
import telemetry_store
from google.api_core import exceptions as google_exceptions
from health_rules import (
    COOLANT_HOT_C,
    RESTING_WEAK_V,
    RULES,
    Finding,
    HealthReport,
    VehicleSnapshot,
    evaluate_health,
    maintenance_due,
    score_for,
)
from maintenance import DueForecast, Urgency, average_daily_km, forecast_all, intervals_for_vehicle
from telemetry_quality import Reading
from vehicle_store import VEHICLES

from shared.firestore import get_client

HEALTH_WINDOW = timedelta(days=90)  # the longest look-back any rule needs, plus trend context
INGEST_REFRESH_INTERVAL = timedelta(minutes=10)  # routine telemetry: fresh enough for alerts
URGENT_REFRESH_INTERVAL = timedelta(minutes=1)  # urgent signals: quick, but not every batch

_TELEMETRY_RULES = tuple(rule for rule in RULES if rule is not maintenance_due)


@dataclass(frozen=True)
class HealthOutcome:
    report: HealthReport
    forecasts: list[DueForecast]
    readings_considered: int
    evaluated_at: datetime
    reads: int
    writes: int

    def as_json(self, vehicle_id: str) -> dict[str, Any]:
        return {
            "vehicle_id": vehicle_id,
            "score": self.report.score,
            "findings": [f.as_json() for f in self.report.findings],
            "maintenance": [f.as_json() for f in self.forecasts],
            "readings_considered": self.readings_considered,
            "evaluated_at": self.evaluated_at.isoformat(),
        }


def due_services(forecasts: Sequence[DueForecast]) -> list[dict[str, Any]]:
    """The contract's ``vehicles.due_services``: every forecast that is not ``ok``."""
    return [
        {
            "code": f.code,
            "name": f.name,
            "due_date": f.due_date.isoformat() if f.due_date else None,
            "due_km": f.due_km,
            "urgency": f.urgency.value,
        }
        for f in forecasts
        if f.urgency is not Urgency.OK
    ]


def _forecasts(
    vehicle: Mapping[str, Any],
    last_points: Mapping[str, tuple[date, float]],
    odometer_points: list[tuple[date, float]],
    now: datetime,
) -> list[DueForecast]:
    created = vehicle.get("created_at")
    first_seen_day = created.date() if isinstance(created, datetime) else now.date()
    initial_km = float(vehicle.get("initial_mileage_km", vehicle.get("mileage_km")) or 0)
    current_km = max(float(vehicle.get("mileage_km") or 0), float(vehicle.get("odometer_km") or 0))
    try:
        intervals = intervals_for_vehicle(vehicle.get("maintenance_overrides") or {})
    except ValueError:  # stored overrides were validated on PATCH; never fail a read on them
        intervals = intervals_for_vehicle()
    history = [(first_seen_day, initial_km), *odometer_points]
    return forecast_all(
        intervals.values(),
        last_points,
        (first_seen_day, initial_km),
        now.date(),
        current_km,
        average_daily_km(history),
    )


def _after_services(
    report: HealthReport,
    readings: Sequence[Reading],
    serviced_at: Mapping[str, datetime],
    now: datetime,
) -> HealthReport:
    """Drop telemetry evidence older than the last service that addresses the finding."""
    findings = list(report.findings)
    for code in {f.service_code for f in findings if f.rule_id != "maintenance.due"}:
        if code is None or code not in serviced_at:
            continue
        since = serviced_at[code]
        later = VehicleSnapshot([r for r in readings if r.timestamp > since], now)
        rechecked = [
            f for f in evaluate_health(later, _TELEMETRY_RULES).findings if f.service_code == code
        ]
        findings = [
            f for f in findings if f.service_code != code or f.rule_id == "maintenance.due"
        ] + rechecked
    if findings == report.findings:
        return report
    # Findings hold dicts (unhashable), so order by identity: keep the report's order.
    order = {id(f): i for i, f in enumerate(report.findings)}
    findings.sort(key=lambda f: (_rank(f), order.get(id(f), len(order))))
    return HealthReport(score=score_for(findings), findings=findings)


def _rank(finding: Finding) -> int:
    return ["critical", "high", "medium", "low"].index(finding.severity.value)


def evaluate(vehicle: Mapping[str, Any], now: datetime | None = None) -> HealthOutcome:
    """Evaluate, then publish alerts and due services (see the module docstring)."""
    now = now or datetime.now(UTC)
    readings, odometer_points, day_reads = telemetry_store.recent_readings(
        vehicle["id"], now - HEALTH_WINDOW
    )
    records = service_records.all_records(vehicle["id"])
    last_points, serviced_at = service_records.last_service_points(records)
    forecasts = _forecasts(vehicle, last_points, odometer_points, now)
    report = evaluate_health(VehicleSnapshot(readings, now, forecasts))
    report = _after_services(report, readings, serviced_at, now)

    alert_reads, alert_writes = alerts.sync_alerts(vehicle, report.findings, now)
    vehicle_writes = 0
    try:
        get_client().collection(VEHICLES).document(vehicle["id"]).update(
            {
                "due_services": due_services(forecasts),
                "health_score": report.score,
                "health_evaluated_at": now,
            }
        )
        vehicle_writes = 1
    except google_exceptions.NotFound:  # deleted while we evaluated: nothing to refresh
        pass
    return HealthOutcome(
        report=report,
        forecasts=forecasts,
        readings_considered=len(readings),
        evaluated_at=now,
        reads=day_reads + len(records) + alert_reads,
        writes=alert_writes + vehicle_writes,
    )


def has_urgent_signal(readings: Sequence[Reading]) -> bool:
    """A reading that may open a high or critical alert right away."""
    return any(
        r.dtc_codes
        or (r.engine_running and r.coolant_temp_c is not None and r.coolant_temp_c > COOLANT_HOT_C)
        or (not r.engine_running and r.battery_voltage < RESTING_WEAK_V)
        for r in readings
    )


def should_evaluate_after_ingest(
    vehicle: Mapping[str, Any], accepted: Sequence[Reading], now: datetime
) -> bool:
    if not accepted:
        return False
    last = vehicle.get("health_evaluated_at")
    if not isinstance(last, datetime):
        return True
    age = now - last
    if age >= INGEST_REFRESH_INTERVAL:
        return True
    return age >= URGENT_REFRESH_INTERVAL and has_urgent_signal(accepted)
