"""Health rules on synthetic telemetry: each rule fires when it should and only then."""

import json
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from shared.maintenance import DueBasis, DueForecast, Urgency
from vehicle.health_rules import (
    MAX_CODES_IN_EVIDENCE,
    RULES,
    SEVERITY_PENALTY,
    Finding,
    Severity,
    VehicleSnapshot,
    evaluate_health,
    is_misfire_code,
    score_for,
)
from vehicle.telemetry_quality import Reading

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HEALTHY_REST_V = 12.6
HEALTHY_RUN_V = 14.2


def at(offset: timedelta) -> datetime:
    return NOW - offset


def rest(
    when: datetime,
    volts: float = HEALTHY_REST_V,
    coolant_temp_c: float | None = None,
    dtc_codes: list[str] | None = None,
) -> Reading:
    return Reading(
        timestamp=when,
        odometer_km=1000.0,
        battery_voltage=volts,
        engine_running=False,
        coolant_temp_c=coolant_temp_c,
        dtc_codes=dtc_codes or [],
    )


def run(
    when: datetime,
    volts: float = HEALTHY_RUN_V,
    coolant: float | None = 90.0,
    codes: list[str] | None = None,
    pending: list[str] | None = None,
) -> Reading:
    return Reading(
        timestamp=when,
        odometer_km=1000.0,
        battery_voltage=volts,
        engine_running=True,
        coolant_temp_c=coolant,
        dtc_codes=codes or [],
        dtc_pending=pending or [],
    )


def report_for(
    readings: list[Reading],
    forecasts: list[DueForecast] | None = None,
    lead_days: int = 7,
) -> list[Finding]:
    snapshot = VehicleSnapshot(readings, NOW, forecasts or [], lead_days)
    return evaluate_health(snapshot).findings


def only(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id.startswith(rule_id)]


def codes_of(finding: Finding) -> list[str]:
    """The fault codes a grouped dtc.* finding lists, in its order."""
    entries = finding.evidence["codes"]
    assert isinstance(entries, list)
    return [str(entry["code"]) for entry in entries if isinstance(entry, dict)]


def code_entry(finding: Finding, code: str) -> dict[str, Any]:
    entries = finding.evidence["codes"]
    assert isinstance(entries, list)
    return next(e for e in entries if isinstance(e, dict) and e["code"] == code)


# --- battery at rest ----------------------------------------------------------------------


def parked_series(last_three: list[float], drive_codes: list[str] | None = None) -> list[Reading]:
    """A drive ending 5 h ago, then resting readings; the last three carry the given volts."""
    readings = [run(at(timedelta(hours=5, minutes=m)), codes=drive_codes) for m in range(30, 0, -5)]
    readings += [rest(at(timedelta(hours=h))) for h in (4, 3)]
    readings += [
        rest(at(timedelta(minutes=m)), v) for m, v in zip((30, 20, 10), last_three, strict=True)
    ]
    return readings


@pytest.mark.parametrize(
    ("volts", "expected"),
    [
        (12.41, None),
        (12.40, None),
        (12.39, Severity.MEDIUM),
        (12.21, Severity.MEDIUM),
        (12.19, Severity.HIGH),
        (12.01, Severity.HIGH),
        (11.99, Severity.CRITICAL),
    ],
)
def test_resting_voltage_bands(volts: float, expected: Severity | None) -> None:
    findings = only(report_for(parked_series([volts] * 3)), "battery.resting_voltage")
    assert [f.severity for f in findings] == ([expected] if expected else [])


def test_resting_voltage_evidence_names_median_and_service() -> None:
    (finding,) = only(report_for(parked_series([12.3, 12.35, 12.5])), "battery.resting")
    assert finding.evidence["median_resting_voltage_v"] == 12.35
    assert len(finding.evidence["readings"]) == 3  # type: ignore[arg-type]
    assert finding.service_code == "battery_check"


def test_single_low_resting_reading_is_outvoted_by_median() -> None:
    assert only(report_for(parked_series([12.6, 11.5, 12.6])), "battery.resting") == []


def test_resting_voltage_needs_three_readings() -> None:
    readings = [rest(at(timedelta(minutes=m)), 11.5) for m in (20, 10)]
    assert only(report_for(readings), "battery.resting") == []


def test_surface_charge_after_driving_is_ignored() -> None:
    weak_overnight = [rest(at(timedelta(hours=h)), 12.3) for h in (10, 9, 8)]
    drive = [run(at(timedelta(minutes=m))) for m in (60, 50, 40)]
    just_parked = [rest(at(timedelta(minutes=m)), 12.9) for m in (20, 10)]
    (finding,) = only(report_for(weak_overnight + drive + just_parked), "battery.resting")
    assert finding.severity is Severity.MEDIUM
    assert finding.evidence["median_resting_voltage_v"] == 12.3


def test_cranking_dip_is_not_mistaken_for_resting_voltage() -> None:
    start = at(timedelta(minutes=5))
    readings = [rest(at(timedelta(hours=h))) for h in (3, 2, 1)]
    readings += [
        rest(start - timedelta(seconds=30), 9.9),
        rest(start - timedelta(seconds=10), 9.6),
        run(start, 14.0),
    ]
    assert only(report_for(readings), "battery.resting") == []


# --- cranking trend -----------------------------------------------------------------------


def starts_series(minima: list[float], days_ago: list[float]) -> list[Reading]:
    """One engine start per entry: a dip sampled while cranking, then a running reading."""
    readings: list[Reading] = []
    for low, ago in sorted(zip(minima, days_ago, strict=True), key=lambda p: -p[1]):
        start = at(timedelta(days=ago))
        readings += [
            rest(start - timedelta(minutes=30)),
            rest(start - timedelta(seconds=2), low),
            run(start, 13.8),
            run(start + timedelta(seconds=30)),
            run(start + timedelta(minutes=20)),
            rest(start + timedelta(minutes=25)),
        ]
    return readings


def declining_starts(days_until_crossing: float, rate_per_day: float = 0.05) -> list[Reading]:
    days_ago = [float(d) for d in range(10, 0, -1)]
    minima = [9.6 + rate_per_day * (d + days_until_crossing) for d in days_ago]
    return starts_series(minima, days_ago)


def test_crank_voltage_crossing_within_lead_time_is_high() -> None:
    (finding,) = only(report_for(declining_starts(5)), "battery.cranking_trend")
    assert finding.severity is Severity.HIGH
    assert finding.evidence["starts"] == 10
    assert finding.evidence["slope_v_per_day"] == pytest.approx(-0.05, abs=1e-4)
    assert (
        finding.evidence["projected_crossing_date"] == (NOW + timedelta(days=5)).date().isoformat()
    )
    assert finding.service_code == "battery_check"


def test_crank_voltage_crossing_after_lead_time_is_not_reported() -> None:
    assert only(report_for(declining_starts(10)), "battery.cranking_trend") == []


def test_longer_booking_lead_time_catches_later_crossing() -> None:
    findings = only(report_for(declining_starts(10), lead_days=14), "battery.cranking_trend")
    assert [f.severity for f in findings] == [Severity.HIGH]


def test_crank_voltage_already_below_threshold_is_critical() -> None:
    days_ago = [float(d) for d in range(8, 0, -1)]
    readings = starts_series([9.5, 9.45, 9.5, 9.4, 9.45, 9.4, 9.35, 9.4], days_ago)
    (finding,) = only(report_for(readings), "battery.cranking_trend")
    assert finding.severity is Severity.CRITICAL
    assert finding.evidence["projected_crossing_date"] is None


def test_flat_healthy_cranking_is_not_reported() -> None:
    days_ago = [float(d) for d in range(10, 0, -1)]
    assert only(report_for(starts_series([10.5] * 10, days_ago)), "battery.cranking") == []


def test_rising_cranking_voltage_is_not_reported() -> None:
    days_ago = [float(d) for d in range(10, 0, -1)]
    minima = [9.7 + 0.05 * i for i in range(10)]  # new battery fitted
    assert only(report_for(starts_series(minima, days_ago)), "battery.cranking") == []


def test_too_few_starts_give_no_trend() -> None:
    days_ago = [4.0, 3.0, 2.0, 1.0]
    readings = starts_series([10.0, 9.9, 9.8, 9.7], days_ago)
    assert only(report_for(readings), "battery.cranking") == []


def test_starts_older_than_trend_window_are_ignored() -> None:
    days_ago = [float(d) for d in range(50, 40, -1)]
    readings = starts_series([9.4] * 10, days_ago)
    assert only(report_for(readings), "battery.cranking") == []


def test_five_minute_sampling_yields_no_crank_events() -> None:
    # Without samples inside the start window the running voltage is not a cranking dip.
    readings = []
    for day in range(10, 0, -1):
        start = at(timedelta(days=day))
        readings += [
            rest(start - timedelta(minutes=5)),
            run(start, 9.0),
            run(start + timedelta(minutes=5)),
        ]
    snapshot = VehicleSnapshot(readings, NOW)
    assert snapshot.crank_events == []
    assert only(evaluate_health(snapshot).findings, "battery.cranking") == []


# --- charging voltage ---------------------------------------------------------------------


def driving(volts: list[float]) -> list[Reading]:
    count = len(volts)
    return [run(at(timedelta(minutes=5 * (count - i))), v) for i, v in enumerate(volts)]


@pytest.mark.parametrize(
    ("volts", "expected_title_word"),
    [(13.69, "not charging"), (14.71, "overcharging")],
)
def test_charging_voltage_just_outside_band_is_high(volts: float, expected_title_word: str) -> None:
    (finding,) = only(report_for(driving([volts] * 5)), "battery.charging_voltage")
    assert finding.severity is Severity.HIGH
    assert expected_title_word in finding.title
    assert finding.evidence["readings_out_of_band"] == 5
    assert finding.service_code == "charging_system"


@pytest.mark.parametrize("volts", [13.7, 13.71, 14.2, 14.69, 14.7])
def test_charging_voltage_inside_band_is_fine(volts: float) -> None:
    assert only(report_for(driving([volts] * 5)), "battery.charging") == []


def test_readings_exactly_at_band_edge_do_not_count_as_out_of_band() -> None:
    # median 14.75 is above the band, but only two readings are strictly above 14.7 V
    assert only(report_for(driving([14.7, 14.7, 14.8, 14.8])), "battery.charging") == []


def test_two_low_charging_readings_are_not_persistent_enough() -> None:
    assert only(report_for(driving([13.2, 13.2])), "battery.charging") == []


def test_three_low_charging_readings_are_persistent() -> None:
    assert len(only(report_for(driving([13.2, 13.2, 13.2])), "battery.charging")) == 1


def test_minority_of_low_readings_does_not_move_median() -> None:
    volts = [14.2] * 6 + [13.0] * 4
    assert only(report_for(driving(volts)), "battery.charging") == []


def test_only_recent_running_readings_count() -> None:
    old_low = driving([12.8] * 20)
    shifted = [r.model_copy(update={"timestamp": r.timestamp - timedelta(days=2)}) for r in old_low]
    assert only(report_for([*shifted, *driving([14.1] * 10)]), "battery.charging") == []


# --- coolant ------------------------------------------------------------------------------


def hot_drive(temps: list[float], codes: list[str] | None = None) -> list[Reading]:
    count = len(temps)
    return [
        run(at(timedelta(minutes=5 * (count - i))), coolant=t, codes=codes)
        for i, t in enumerate(temps)
    ]


def test_coolant_above_107_twice_is_high() -> None:
    (finding,) = only(report_for(hot_drive([95, 107.1, 108.5])), "cooling.coolant")
    assert finding.severity is Severity.HIGH
    assert finding.evidence["max_coolant_temp_c"] == 108.5
    assert finding.evidence["hot_readings"] == 2
    assert finding.service_code == "cooling_system"


def test_coolant_at_exactly_107_is_fine() -> None:
    assert only(report_for(hot_drive([107.0, 107.0, 107.0])), "cooling.coolant") == []


def test_single_hot_reading_without_fault_code_is_treated_as_glitch() -> None:
    assert only(report_for(hot_drive([95, 115, 95])), "cooling.coolant") == []


def test_hot_reading_with_overheat_code_is_critical() -> None:
    (finding,) = only(report_for(hot_drive([95, 112], codes=["P0217"])), "cooling.coolant")
    assert finding.severity is Severity.CRITICAL
    assert finding.evidence["overheat_code_active"] is True


def test_overheat_code_without_hot_reading_is_not_a_coolant_finding() -> None:
    findings = report_for(hot_drive([95, 96], codes=["P0217"]))
    assert only(findings, "cooling.coolant") == []
    # the code itself is still reported, routed to the cooling system
    (code_finding,) = only(findings, "dtc.")
    assert code_finding.service_code == "cooling_system"


def test_overheat_code_cleared_before_latest_cycle_does_not_escalate() -> None:
    earlier = cycles((["P0217"], []))  # a cycle a day ago reported P0217
    (finding,) = only(report_for(earlier + hot_drive([108, 109])), "cooling.coolant")
    assert finding.severity is Severity.HIGH
    assert finding.evidence["overheat_code_active"] is False


def test_hot_readings_older_than_a_week_are_ignored() -> None:
    old = [run(at(timedelta(days=8, minutes=m)), coolant=115.0) for m in (10, 5)]
    assert only(report_for(old), "cooling.coolant") == []


def test_hot_coolant_with_engine_off_is_heat_soak_not_overheat() -> None:
    soak = [rest(at(timedelta(minutes=m)), coolant_temp_c=112.0) for m in (15, 10, 5)]
    assert only(report_for(soak), "cooling.coolant") == []


# --- fault codes --------------------------------------------------------------------------


def cycles(*per_cycle: tuple[list[str], list[str]]) -> list[Reading]:
    """One ignition cycle (3 running readings) per (confirmed, pending) pair, a day apart."""
    readings: list[Reading] = []
    count = len(per_cycle)
    for n, (codes, pending) in enumerate(per_cycle):
        base = at(timedelta(days=count - n))
        readings += [
            run(base + timedelta(minutes=m), codes=codes, pending=pending) for m in (0, 5, 10)
        ]
        readings.append(rest(base + timedelta(minutes=15)))
    return readings


@pytest.mark.parametrize(
    ("code", "rule_id", "severity"),
    [
        ("P0300", "dtc.misfire", Severity.CRITICAL),
        ("P0301", "dtc.misfire", Severity.CRITICAL),
        ("P0312", "dtc.misfire", Severity.CRITICAL),
        ("P0313", "dtc.powertrain", Severity.HIGH),
        ("P030A", "dtc.powertrain", Severity.HIGH),
        ("P0171", "dtc.powertrain", Severity.HIGH),
        ("B1234", "dtc.body_chassis_network", Severity.LOW),
        ("C0035", "dtc.body_chassis_network", Severity.LOW),
        ("U0100", "dtc.body_chassis_network", Severity.LOW),
    ],
)
def test_confirmed_code_tiers(code: str, rule_id: str, severity: Severity) -> None:
    (finding,) = only(report_for(cycles(([code], []))), "dtc.")
    assert (finding.rule_id, finding.severity) == (rule_id, severity)
    assert codes_of(finding) == [code]


def test_misfire_code_is_critical() -> None:
    assert is_misfire_code("P0304")
    assert not is_misfire_code("P0420")


def test_pending_powertrain_code_is_medium() -> None:
    (finding,) = only(report_for(cycles(([], ["P0420"]))), "dtc.")
    assert (finding.rule_id, finding.severity) == ("dtc.pending", Severity.MEDIUM)
    assert code_entry(finding, "P0420")["status"] == "pending"


def test_pending_network_code_stays_low() -> None:
    (finding,) = only(report_for(cycles(([], ["U0100"]))), "dtc.")
    assert finding.severity is Severity.LOW


def test_code_both_confirmed_and_pending_is_reported_once_as_confirmed() -> None:
    (finding,) = only(report_for(cycles((["P0171"], ["P0171"]))), "dtc.")
    assert code_entry(finding, "P0171")["status"] == "confirmed"


def test_code_missing_from_latest_cycle_is_cleared() -> None:
    readings = cycles((["P0301"], []), (["P0301"], []), ([], []))
    assert only(report_for(readings), "dtc.") == []


def test_persistence_counts_ignition_cycles_reporting_code() -> None:
    readings = cycles((["P0171"], []), ([], []), ([], ["P0171"]), (["P0171"], []))
    (finding,) = only(report_for(readings), "dtc.")
    entry = code_entry(finding, "P0171")
    assert entry["ignition_cycles_reporting"] == 3
    assert finding.evidence["ignition_cycles_total"] == 4
    assert entry["first_reported_at"] == at(timedelta(days=4)).isoformat()


def test_codes_on_engine_off_readings_do_not_form_a_cycle() -> None:
    readings = [rest(at(timedelta(minutes=5)), dtc_codes=["P0301"])]
    assert only(report_for(readings), "dtc.") == []


def test_each_active_code_is_reported_in_its_tiers_finding() -> None:
    findings = only(report_for(cycles((["P0301", "P0171"], ["P0420"]))), "dtc.")
    assert {f.rule_id: codes_of(f) for f in findings} == {
        "dtc.misfire": ["P0301"],
        "dtc.powertrain": ["P0171"],
        "dtc.pending": ["P0420"],
    }


def test_codes_of_one_tier_share_one_finding_listing_them() -> None:
    misfires = [f"P030{n}" for n in range(1, 5)]
    (finding,) = only(report_for(cycles((misfires, []))), "dtc.")
    assert finding.rule_id == "dtc.misfire" and finding.severity is Severity.CRITICAL
    assert codes_of(finding) == misfires
    assert finding.evidence["codes_total"] == 4 and finding.evidence["codes_not_listed"] == 0
    assert finding.title == "Engine misfires P0301, P0302, P0303 and 1 more"


def test_a_flood_of_codes_gives_one_finding_per_tier_with_bounded_evidence() -> None:
    confirmed = [f"P{n:04X}" for n in range(0x100, 0x100 + 60)]  # powertrain, not misfire
    findings = only(report_for(cycles((confirmed, []))), "dtc.")
    assert [f.rule_id for f in findings] == ["dtc.powertrain"]
    (finding,) = findings
    assert len(codes_of(finding)) == MAX_CODES_IN_EVIDENCE
    assert finding.evidence["codes_total"] == 60
    assert finding.evidence["codes_not_listed"] == 60 - MAX_CODES_IN_EVIDENCE
    assert len(json.dumps(finding.as_json())) < 6_000


def test_overheat_code_is_grouped_apart_for_the_cooling_service() -> None:
    findings = only(report_for(cycles((["P0217", "P0171"], []))), "dtc.")
    assert sorted((f.service_code, tuple(codes_of(f))) for f in findings) == [
        ("cooling_system", ("P0217",)),
        ("diagnostics", ("P0171",)),
    ]


# --- maintenance --------------------------------------------------------------------------


def forecast(urgency: Urgency, code: str = "oil_change") -> DueForecast:
    return DueForecast(
        code=code,
        name="Oil and filter change",
        due_date=date(2025, 6, 5),
        due_km=55_000.0,
        remaining_km=300.0,
        days_left=4,
        urgency=urgency,
        basis=DueBasis.TIME,
    )


@pytest.mark.parametrize(
    ("urgency", "severity"),
    [(Urgency.OVERDUE, Severity.HIGH), (Urgency.DUE_SOON, Severity.MEDIUM),
     (Urgency.UPCOMING, Severity.LOW)],
)  # fmt: skip
def test_maintenance_urgency_maps_to_severity(urgency: Urgency, severity: Severity) -> None:
    (finding,) = report_for([], [forecast(urgency)])
    assert finding.rule_id == "maintenance.due"
    assert finding.severity is severity
    assert finding.service_code == "oil_change"
    assert finding.evidence["due_date"] == "2025-06-05"


@pytest.mark.parametrize(
    ("name", "action"),
    [
        ("Oil and filter change", "Book oil and filter change."),
        ("12 V battery check", "Book 12 V battery check."),
        ("VW inspection", "Book VW inspection."),
        ("TÜV", "Book TÜV."),
    ],
)
def test_maintenance_recommendation_keeps_the_services_own_capitals(name: str, action: str) -> None:
    (finding,) = report_for([], [replace(forecast(Urgency.DUE_SOON), name=name)])
    assert finding.recommended_action == action


def test_maintenance_ok_gives_no_finding() -> None:
    assert report_for([], [forecast(Urgency.OK)]) == []


# --- score and report ---------------------------------------------------------------------


def test_healthy_vehicle_scores_100() -> None:
    readings = parked_series([12.6] * 3)
    report = evaluate_health(VehicleSnapshot(readings, NOW))
    assert report.findings == []
    assert report.score == 100


def test_score_subtracts_documented_penalties() -> None:
    findings = report_for(
        cycles((["P0301"], ["P0420"])),  # critical + medium
        [forecast(Urgency.OVERDUE, "air_filter"), forecast(Urgency.UPCOMING, "tyre_rotation")],
    )
    assert sorted(f.severity.value for f in findings) == ["critical", "high", "low", "medium"]
    assert score_for(findings) == 100 - 40 - 20 - 8 - 3


def test_score_never_goes_below_zero() -> None:
    # A misfire (40), an overheat with P0217 (40), a failing battery (40), the overheat
    # code itself (20) and a declining crank voltage (40): 180 points of penalties.
    readings = (
        declining_starts(-3)
        + cycles((["P0301", "P0217"], []))
        + hot_drive([112, 113], codes=["P0301", "P0217"])
    )
    readings += [rest(NOW - timedelta(minutes=m), 11.5) for m in (5, 4, 3)]
    report = evaluate_health(VehicleSnapshot(readings, NOW))
    assert sum(SEVERITY_PENALTY[f.severity] for f in report.findings) > 100
    assert report.score == 0


def test_findings_are_ordered_most_severe_first() -> None:
    findings = report_for(cycles((["B1234", "P0301"], [])), [forecast(Urgency.DUE_SOON)])
    assert [f.severity for f in findings] == [Severity.CRITICAL, Severity.MEDIUM, Severity.LOW]


def test_report_is_json_serialisable() -> None:
    readings = declining_starts(3) + parked_series([11.9] * 3, drive_codes=["P0217"])
    report = evaluate_health(VehicleSnapshot(readings, NOW, [forecast(Urgency.OVERDUE)]))
    decoded = json.loads(json.dumps(report.as_json()))
    assert decoded["score"] == report.score
    assert {f["rule_id"] for f in decoded["findings"]} >= {
        "battery.resting_voltage",
        "battery.cranking_trend",
        "dtc.powertrain",
        "maintenance.due",
    }


def test_unordered_readings_give_the_same_report() -> None:
    readings = declining_starts(4) + cycles((["P0171"], []))
    ordered = evaluate_health(VehicleSnapshot(sorted(readings, key=lambda r: r.timestamp), NOW))
    shuffled = list(readings)
    random.Random(7).shuffle(shuffled)
    assert evaluate_health(VehicleSnapshot(shuffled, NOW)) == ordered
    assert ordered.findings  # the comparison above is not between two empty reports


def test_every_rule_is_registered() -> None:
    names = {rule.__name__ for rule in RULES}
    assert names == {
        "battery_resting_voltage",
        "battery_cranking_trend",
        "charging_voltage",
        "coolant_temperature",
        "fault_codes",
        "maintenance_due",
    }


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        VehicleSnapshot([], datetime(2025, 6, 1))


def test_ninety_days_at_five_minute_sampling_evaluates_correctly() -> None:
    """Sanity check on a realistic volume (~26,000 readings); deliberately not timed."""
    start = NOW - timedelta(days=90)
    readings = []
    for i in range(90 * 288):
        when = start + timedelta(minutes=5 * i)
        driving_now = when.hour in (8, 17)
        readings.append(
            Reading.model_construct(
                timestamp=when,
                odometer_km=i * 0.1,
                battery_voltage=HEALTHY_RUN_V if driving_now else 12.3,
                engine_running=driving_now,
                coolant_temp_c=90.0 if driving_now else 20.0,
                dtc_codes=["P0302"] if driving_now and when.day % 2 else [],
                dtc_pending=[],
            )
        )
    snapshot = VehicleSnapshot(readings, NOW)
    assert len(snapshot.ignition_cycles) == 180
    report = evaluate_health(snapshot)
    by_rule = {f.rule_id: f for f in report.findings}
    assert by_rule["battery.resting_voltage"].severity is Severity.MEDIUM
    misfire = by_rule["dtc.misfire"]
    reporting = code_entry(misfire, "P0302")["ignition_cycles_reporting"]
    assert isinstance(reporting, int)
    assert 80 <= reporting <= 100  # odd days of the month over ~3 months
