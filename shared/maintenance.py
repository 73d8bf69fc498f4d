"""Forecast when each maintenance service falls due, from intervals kept as data.

Pure (no Firestore, no HTTP) and in ``shared`` because two functions forecast: the vehicles
function on every health evaluation, and the completion of a service
(shared.service_completion, run by vehicles and bookings alike), which re-forecasts the
services just done so ``vehicles.due_services`` is right the moment the work is recorded.

A service is due at whichever comes first: a distance since the last service, or a number of
months since it. When a vehicle has no recorded service, the day and odometer at which PMI
first saw it stand in for the last service (we cannot know what happened before, and this
avoids flagging every newly added vehicle as overdue).

Distance-based due dates are turned into calendar dates with the vehicle's own average daily
distance (:func:`average_daily_km`), so a car driven 100 km a day is due much sooner than one
driven 10 km a day. Urgency bands (first that matches wins):

* ``overdue``  - the due date has passed or the due distance has been exceeded;
* ``due_soon`` - due within ``DUE_SOON_DAYS`` (7) days or ``DUE_SOON_KM`` (500) km;
* ``upcoming`` - due within ``UPCOMING_DAYS`` (30) days or ``UPCOMING_KM`` (1,500) km;
* ``ok``       - otherwise.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import TypeAlias

from shared import service_codes as codes

# A dated odometer value: (calendar day, odometer in km). Plain tuples so callers can pass
# Firestore values without wrapping them.
DatedKm: TypeAlias = tuple[date, float]

# Urgency thresholds. 7 days matches the default booking lead time (a workshop slot within
# a week); 500 km is roughly a week of typical driving. "Upcoming" gives a month's notice.
DUE_SOON_DAYS = 7
DUE_SOON_KM = 500.0
UPCOMING_DAYS = 30
UPCOMING_KM = 1500.0

# Fewer days of history than this give an average dominated by one trip or one idle week.
MIN_HISTORY_DAYS_FOR_AVERAGE = 7


class Urgency(StrEnum):
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    UPCOMING = "upcoming"
    OK = "ok"


class DueBasis(StrEnum):
    """Which limit produced the due date, so the explanation can say "by distance" or not."""

    DISTANCE = "distance"
    TIME = "time"
    UNKNOWN = "unknown"  # km-only interval and no driving average: no date can be estimated


@dataclass(frozen=True)
class ServiceInterval:
    """How often one service is needed; at least one of the two limits must be set."""

    code: str
    name: str
    every_km: int | None
    every_months: int | None

    def __post_init__(self) -> None:
        if self.every_km is None and self.every_months is None:
            raise ValueError(f"interval {self.code!r} needs every_km or every_months")
        for label, value in (("every_km", self.every_km), ("every_months", self.every_months)):
            # bool is an int subclass; True as "1 month" would be a data-entry accident.
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{label} of {self.code!r} must be a whole number or null")
            if value is not None and value <= 0:
                raise ValueError(f"{label} of {self.code!r} must be positive")


def _default(code: str, every_km: int | None, every_months: int | None) -> ServiceInterval:
    return ServiceInterval(code, codes.SERVICE_NAMES[code], every_km, every_months)


# Typical manufacturer schedules for a modern petrol/diesel car; vehicles override per model.
_DEFAULTS = (
    _default(codes.OIL_CHANGE, every_km=15_000, every_months=12),
    _default(codes.TYRE_ROTATION, every_km=10_000, every_months=6),
    _default(codes.BRAKE_INSPECTION, every_km=20_000, every_months=12),
    _default(codes.BATTERY_CHECK, every_km=None, every_months=24),
    _default(codes.COOLANT_FLUSH, every_km=60_000, every_months=48),
    _default(codes.AIR_FILTER, every_km=30_000, every_months=24),
)
DEFAULT_INTERVALS: Mapping[str, ServiceInterval] = MappingProxyType(
    {interval.code: interval for interval in _DEFAULTS}
)

_OVERRIDABLE_FIELDS = frozenset({"name", "every_km", "every_months"})


def intervals_for_vehicle(
    overrides: Mapping[str, Mapping[str, object] | None] | None = None,
) -> dict[str, ServiceInterval]:
    """Merge per-vehicle overrides over the defaults.

    ``overrides`` maps a service code to the fields to change, e.g.
    ``{codes.OIL_CHANGE: {"every_km": 30000}}``. A value of None removes the service (an electric
    car has no oil change). A code that is not a default adds a vehicle-specific service; it
    must then give at least one limit (its name defaults to the code). Raises ValueError for
    unknown fields or invalid values.
    """
    merged = dict(DEFAULT_INTERVALS)
    for code, changes in (overrides or {}).items():
        if changes is None:
            merged.pop(code, None)
            continue
        unknown = set(changes) - _OVERRIDABLE_FIELDS
        if unknown:
            raise ValueError(f"unknown interval fields for {code!r}: {sorted(unknown)}")
        base = merged.get(code)
        # A new, vehicle-specific service has no limits until the override gives them.
        current_name = base.name if base else code
        current_km = base.every_km if base else None
        current_months = base.every_months if base else None
        name = changes.get("name", current_name)
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"name of {code!r} must be a non-empty string")
        merged[code] = ServiceInterval(
            code=code,
            name=name,
            every_km=_limit(changes, "every_km", current_km, code),
            every_months=_limit(changes, "every_months", current_months, code),
        )
    return merged


def _limit(changes: Mapping[str, object], field: str, current: int | None, code: str) -> int | None:
    if field not in changes:
        return current
    value = changes[field]
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise ValueError(f"{field} of {code!r} must be a whole number or null")


@dataclass(frozen=True)
class DueForecast:
    """When one service is next due for one vehicle, and how urgent that is."""

    code: str
    name: str
    due_date: date | None  # None only for a km-only interval with no driving average
    due_km: float | None  # None for a time-only interval
    remaining_km: float | None  # negative when the distance limit has been passed
    days_left: int | None  # negative when overdue; None when due_date is None
    urgency: Urgency
    basis: DueBasis

    def as_json(self) -> dict[str, str | float | int | None]:
        """JSON-safe dict (dates as ISO strings) for HTTP responses and Firestore."""
        return {
            "code": self.code,
            "name": self.name,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "due_km": self.due_km,
            "remaining_km": self.remaining_km,
            "days_left": self.days_left,
            "urgency": self.urgency.value,
            "basis": self.basis.value,
        }


def add_months(start: date, months: int) -> date:
    """Calendar months later, clamping the day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def _date_when_km_reached(
    remaining_km: float, today: date, avg_daily_km: float | None
) -> date | None:
    if avg_daily_km is None or avg_daily_km <= 0:
        return None
    # Round towards today when overdue and away from it when not, so "due in 0.3 days"
    # becomes tomorrow rather than a day that has already begun.
    days = remaining_km / avg_daily_km
    return today + timedelta(days=math.ceil(days) if days >= 0 else math.floor(days))


def _urgency(days_left: int | None, remaining_km: float | None) -> Urgency:
    if (days_left is not None and days_left < 0) or (remaining_km is not None and remaining_km < 0):
        return Urgency.OVERDUE
    if (days_left is not None and days_left <= DUE_SOON_DAYS) or (
        remaining_km is not None and remaining_km <= DUE_SOON_KM
    ):
        return Urgency.DUE_SOON
    if (days_left is not None and days_left <= UPCOMING_DAYS) or (
        remaining_km is not None and remaining_km <= UPCOMING_KM
    ):
        return Urgency.UPCOMING
    return Urgency.OK


def forecast_due(
    interval: ServiceInterval,
    last_service: DatedKm | None,
    vehicle_first_seen: DatedKm,
    today: date,
    current_km: float,
    avg_daily_km: float | None,
) -> DueForecast:
    """Forecast the next due point of ``interval``; see the module docstring for the rules."""
    baseline_date, baseline_km = last_service if last_service is not None else vehicle_first_seen

    due_km: float | None = None
    remaining_km: float | None = None
    km_date: date | None = None
    if interval.every_km is not None:
        due_km = baseline_km + interval.every_km
        remaining_km = due_km - current_km
        km_date = _date_when_km_reached(remaining_km, today, avg_daily_km)

    time_date = (
        add_months(baseline_date, interval.every_months)
        if interval.every_months is not None
        else None
    )

    candidates = [
        (candidate, basis)
        for candidate, basis in ((km_date, DueBasis.DISTANCE), (time_date, DueBasis.TIME))
        if candidate is not None
    ]
    if candidates:
        # Earliest wins; on a tie, the time limit is named because it is exact, not estimated.
        due_date, basis = min(candidates, key=lambda c: (c[0], c[1] is DueBasis.DISTANCE))
        days_left: int | None = (due_date - today).days
    else:
        due_date, basis, days_left = None, DueBasis.UNKNOWN, None

    return DueForecast(
        code=interval.code,
        name=interval.name,
        due_date=due_date,
        due_km=due_km,
        remaining_km=remaining_km,
        days_left=days_left,
        urgency=_urgency(days_left, remaining_km),
        basis=basis,
    )


def forecast_all(
    intervals: Iterable[ServiceInterval],
    last_services: Mapping[str, DatedKm],
    vehicle_first_seen: DatedKm,
    today: date,
    current_km: float,
    avg_daily_km: float | None,
) -> list[DueForecast]:
    """Forecast every interval; ``last_services`` maps service code to its last (date, km)."""
    return [
        forecast_due(
            interval,
            last_services.get(interval.code),
            vehicle_first_seen,
            today,
            current_km,
            avg_daily_km,
        )
        for interval in intervals
    ]


def average_daily_km(points: Sequence[DatedKm]) -> float | None:
    """The vehicle's average distance per day from its own odometer history.

    Uses a least-squares slope of km over days rather than first-to-last, so one bad
    odometer value at either end does not dominate. Returns None when the history spans
    fewer than ``MIN_HISTORY_DAYS_FOR_AVERAGE`` days; a negative slope (inconsistent data)
    counts as 0 km/day.
    """
    if len(points) < 2:
        return None
    origin = min(day for day, _ in points)
    xs = [float((day - origin).days) for day, _ in points]
    ys = [float(km) for _, km in points]
    if max(xs) < MIN_HISTORY_DAYS_FOR_AVERAGE:
        return None
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return max(0.0, covariance / spread)
