"""What a vehicle's mileage may be, and how far someone other than its owner may raise it.

Pure rules (no Firestore), used wherever mileage enters the platform: registration and
PATCH (vehicles), service records (vehicles) and completed bookings (bookings) through
shared.service_completion, and the owner's correction.

Two bounds:

* **Absolute**: :data:`MAX_MILEAGE_KM` for every writer. The few cars on record beyond it
  are museum pieces of a handful worldwide; on this platform a larger number is an extra
  digit or a unit mix-up far more often than a real vehicle.
* **Plausible jump**: a figure written by someone other than the owner — center staff on a
  service record, a mechanic completing a booking, an admin — may raise the mileage by at
  most :data:`MAX_KM_PER_DAY` per day since the mileage was last known, plus
  :data:`MILEAGE_SLACK_KM`. That bounds what a careless or hostile workshop can do to a
  car it merely serviced (the forecasts, the resale story), while the owner, who knows the
  car, may still raise it as far as the absolute bound (and correct it downward through the
  audited correction, docs/vehicles.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

# See the module docstring: beyond two million km a figure is an error far more often than a
# vehicle (the highest-mileage cars known are a handful of record holders).
MAX_MILEAGE_KM: Final = 2_000_000.0

# A car driven around the clock by relay drivers at motorway speed covers roughly 1,500 km a
# day; a long-haul truck with two drivers about the same. Sustained over weeks no vehicle
# averages more, so a bigger jump per elapsed day is not a reading of a real odometer.
MAX_KM_PER_DAY: Final = 1_500.0

# Room for a figure read off the dashboard at the workshop after a same-day drive, and for a
# registration mileage the owner rounded down.
MILEAGE_SLACK_KM: Final = 1_000.0

SECONDS_PER_DAY: Final = 86_400


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def known_mileage(vehicle: Mapping[str, Any]) -> tuple[float, datetime | None]:
    """The vehicle's highest known mileage and the latest time a mileage was established.

    The mileage is the higher of the declared one and the trusted odometer reading; the
    time is the latest of when the declared mileage was set (``mileage_updated_at``, else
    ``created_at``) and the last reading. Taking the latest time keeps the bound tight:
    "known at" never reaches back further than it must.
    """
    km = max(float(vehicle.get("mileage_km") or 0), float(vehicle.get("odometer_km") or 0))
    moments = [
        _instant(vehicle.get("mileage_updated_at")) or _instant(vehicle.get("created_at")),
        _instant(vehicle.get("last_reading_at")),
    ]
    known = [m for m in moments if m is not None]
    return km, (max(known) if known else None)


def plausible_ceiling(vehicle: Mapping[str, Any], now: datetime) -> float:
    """The highest mileage someone other than the owner may record for ``vehicle`` now."""
    km, known_at = known_mileage(vehicle)
    days = 0.0 if known_at is None else max(0.0, (now - known_at).total_seconds() / SECONDS_PER_DAY)
    return min(MAX_MILEAGE_KM, km + MILEAGE_SLACK_KM + MAX_KM_PER_DAY * days)


def implausible_jump(vehicle: Mapping[str, Any], mileage_km: float, now: datetime) -> str | None:
    """Why ``mileage_km`` is not a plausible next mileage for ``vehicle``, or None."""
    ceiling = plausible_ceiling(vehicle, now)
    if mileage_km <= ceiling:
        return None
    km, known_at = known_mileage(vehicle)
    since = f" on {known_at.date().isoformat()}" if known_at else ""
    return (
        f"must be at most {ceiling:,.0f} km: the vehicle was last known at {km:,.0f} km{since}, "
        f"and no vehicle covers more than {MAX_KM_PER_DAY:,.0f} km a day "
        f"(plus {MILEAGE_SLACK_KM:,.0f} km); the owner can update the mileage first"
    )
