"""The one vocabulary of service codes shared by vehicles and bookings.

Health findings name the service that addresses them, maintenance intervals name the
service that resets them, and centers offer services under the same codes — so a finding
or a due service can be matched to a center that can do the work.
"""

from __future__ import annotations

from typing import Final

# Maintenance (interval-driven) services.
OIL_CHANGE: Final = "oil_change"
TYRE_ROTATION: Final = "tyre_rotation"
BRAKE_INSPECTION: Final = "brake_inspection"
BATTERY_CHECK: Final = "battery_check"
COOLANT_FLUSH: Final = "coolant_flush"
AIR_FILTER: Final = "air_filter"
# Repair and diagnosis services that findings point to.
CHARGING_SYSTEM: Final = "charging_system"
COOLING_SYSTEM: Final = "cooling_system"
DIAGNOSTICS: Final = "diagnostics"

SERVICE_NAMES: Final[dict[str, str]] = {
    OIL_CHANGE: "Oil and filter change",
    TYRE_ROTATION: "Tyre rotation",
    BRAKE_INSPECTION: "Brake inspection",
    BATTERY_CHECK: "12 V battery check",
    COOLANT_FLUSH: "Coolant flush",
    AIR_FILTER: "Air filter replacement",
    CHARGING_SYSTEM: "Charging system check",
    COOLING_SYSTEM: "Cooling system repair",
    DIAGNOSTICS: "Fault-code diagnostics",
}

# A typical time each service needs in a bay; centers may set their own durations.
TYPICAL_DURATION_MINUTES: Final[dict[str, int]] = {
    OIL_CHANGE: 60,
    TYRE_ROTATION: 30,
    BRAKE_INSPECTION: 60,
    BATTERY_CHECK: 30,
    COOLANT_FLUSH: 60,
    AIR_FILTER: 30,
    CHARGING_SYSTEM: 60,
    COOLING_SYSTEM: 120,
    DIAGNOSTICS: 60,
}


def is_known(code: str) -> bool:
    return code in SERVICE_NAMES
