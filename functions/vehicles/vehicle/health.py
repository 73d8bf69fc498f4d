"""Evaluate one vehicle's health from stored data and publish the outcome.

Steps: read the last ``HEALTH_WINDOW`` (90 days) of telemetry — raw readings of the last
``RAW_DAYS`` days, the older days as per-day rollups (vehicle.telemetry_store
.evaluation_window: at most 92 day documents, only 8 of them with their readings) — and
the service records; forecast maintenance (intervals from the vehicle's overrides, average
daily km from the rollups' daily odometers); run the threshold rules (health_rules) and the
trend rules (trend_rules); then publish, in one transaction (vehicle.alert_store.publish),
the alerts and the vehicle's ``due_services``, ``last_services``, ``average_daily_km``,
``health_score`` and ``health_evaluated_at`` (the inputs a completed service needs to
re-forecast its own due services at once: shared.service_completion).

**Evidence after a service.** A finding whose service code was performed at time S counts
only on telemetry after S (health_rules.after_services): the rules are re-run on the later
readings and days alone. Otherwise a fresh battery would stay "weak" (or "falling") until
old readings aged out, and an alert resolved by the completed service would reopen at once.

**After ingest** evaluation is throttled (:func:`should_evaluate_after_ingest`): each
evaluation reads up to 91 day documents, more than the ingest itself, so it runs when the
last evaluation is older than ``INGEST_REFRESH_INTERVAL``, when there is none (never
evaluated, or cleared by a completed service), or when the batch carries an urgent signal
(a fault code, an overheating or a low resting voltage), and then at most once per
``URGENT_REFRESH_INTERVAL``. GET /health always evaluates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shared.maintenance import DueForecast, average_daily_km, forecast_all, intervals_for_vehicle
from shared.vehicle_documents import (
    current_km,
    due_service_entries,
    first_seen,
    last_service_entries,
)
from vehicle import alert_store, record_store, telemetry_store
from vehicle.health_rules import (
    COOLANT_HOT_C,
    RESTING_WEAK_V,
    RULES,
    HealthReport,
    VehicleSnapshot,
    after_services,
    evaluate_health,
)
from vehicle.telemetry_quality import Reading
from vehicle.trend_rules import TREND_RULES

HEALTH_WINDOW = timedelta(days=90)  # the longest look-back any rule needs, plus trend context
# Days decoded reading by reading: today and the 7 before it, which covers the coolant
# rule's 7-day look-back and the latest ignition cycles; older days are read as rollups.
RAW_DAYS = 8
INGEST_REFRESH_INTERVAL = timedelta(minutes=10)  # routine telemetry: fresh enough for alerts
URGENT_REFRESH_INTERVAL = timedelta(minutes=1)  # urgent signals: quick, but not every batch

ALL_RULES = (*RULES, *TREND_RULES)


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


def _forecasts(
    vehicle: Mapping[str, Any],
    last_points: Mapping[str, tuple[date, float]],
    average: float | None,
    now: datetime,
) -> list[DueForecast]:
    try:
        intervals = intervals_for_vehicle(vehicle.get("maintenance_overrides") or {})
    except ValueError:  # stored overrides were validated on PATCH; never fail a read on them
        intervals = intervals_for_vehicle()
    return forecast_all(
        intervals.values(),
        last_points,
        first_seen(vehicle, now.date()),
        now.date(),
        current_km(vehicle),
        average,
    )


def raw_window_start(now: datetime) -> datetime:
    """The UTC midnight from which an evaluation decodes raw readings."""
    first_day = now.astimezone(UTC).date() - timedelta(days=RAW_DAYS - 1)
    return datetime.combine(first_day, time(), tzinfo=UTC)


def evaluate(vehicle: Mapping[str, Any], now: datetime) -> HealthOutcome:
    """Evaluate, then publish alerts and the health fields (see the module docstring)."""
    raw_from = raw_window_start(now)
    # The service records and the telemetry are independent reads: run them side by side.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="service-records") as pool:
        pending_records = pool.submit(record_store.all_records, vehicle["id"])
        window = telemetry_store.evaluation_window(
            vehicle["id"], now - HEALTH_WINDOW, raw_from, now
        )
        records = pending_records.result()
    serviced = record_store.last_service_points(records)
    odometer_points = [(d.day, d.odometer_km) for d in window.days if d.odometer_km is not None]
    average = average_daily_km([first_seen(vehicle, now.date()), *odometer_points])
    forecasts = _forecasts(vehicle, record_store.as_dated_km(serviced), average, now)
    snapshot = VehicleSnapshot(window.readings, now, forecasts, days=window.days, raw_from=raw_from)
    report = evaluate_health(snapshot, ALL_RULES)
    report = after_services(report, snapshot, {c: at for c, (at, _) in serviced.items()}, ALL_RULES)

    alert_reads, writes = alert_store.publish(
        vehicle["id"],
        report.findings,
        {
            "due_services": due_service_entries(forecasts),
            "last_services": last_service_entries(serviced),
            "average_daily_km": average,
            "health_score": report.score,
            "health_evaluated_at": now,
        },
        now,
    )
    return HealthOutcome(
        report=report,
        forecasts=forecasts,
        readings_considered=len(window.readings)
        + sum(d.readings for d in window.days if d.day < raw_from.date()),
        evaluated_at=now,
        reads=window.reads + len(records) + alert_reads,
        writes=writes + window.writes,
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
