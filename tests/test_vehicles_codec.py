"""The stored reading format (vehicle.codec): one packed string per reading, exact round trips,
and the vehicle document's quality baseline in the same form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from vehicles_testkit import (
    API,
    MINUTE,
    client_fixture,  # noqa: F401 - provides the "client" fixture
    owner_fixture,  # noqa: F401 - provides the "owner" fixture
    reading,
    recent,
    vehicle_fixture,  # noqa: F401 - provides the "vehicle" fixture
)

from vehicle.codec import (
    PACKED_LIST_SEPARATOR,
    PACKED_SEPARATOR,
    as_json,
    baseline,
    decode,
    from_baseline,
    pack,
    reading_key,
    unpack,
)
from vehicle.telemetry_quality import DTC_PATTERN, QualityFlag, Reading
from vehicle.telemetry_store import MAX_READINGS_PER_DAY

# Firestore counts a string as its UTF-8 bytes + 1 and a document as its fields plus 32 bytes
# and its name; this margin covers the name and the day, count and updated_at fields.
DOCUMENT_OVERHEAD_BYTES = 1024
FIRESTORE_DOCUMENT_LIMIT_BYTES = 1024 * 1024

FULL = Reading.model_validate(
    {
        "timestamp": "2024-05-01T10:15:30.123456+02:00",
        "odometer_km": 123456.7,
        "battery_voltage": 0.1 + 0.2,  # not a short decimal: must still read back exactly
        "engine_running": True,
        "coolant_temp_c": -12.5,
        "dtc_codes": ["P0301", "P0420"],
        "dtc_pending": ["P0171"],
    }
)
BARE = Reading.model_validate(
    {
        "timestamp": "2024-05-01T00:00:00Z",
        "odometer_km": 42000,
        "battery_voltage": 12,
        "engine_running": False,
    }
)
FLAGS = (QualityFlag.IMPLAUSIBLE_STEP, QualityFlag.IMPLAUSIBLE_SPEED)
WITH_AMBIENT = FULL.model_copy(update={"ambient_temp_c": -3.5})


@pytest.mark.parametrize(
    "original", [FULL, BARE, WITH_AMBIENT], ids=["all-fields", "no-optional-fields", "ambient"]
)
@pytest.mark.parametrize("flags", [(), FLAGS], ids=["unflagged", "flagged"])
def test_packed_reading_reads_back_exactly(
    original: Reading, flags: tuple[QualityFlag, ...]
) -> None:
    key = reading_key(original.timestamp)
    packed = pack(original, flags)
    assert decode(key, packed) == original
    assert as_json(key, packed)["timestamp"] == original.timestamp.isoformat()
    assert unpack(packed).flags == [str(flag) for flag in flags]


@pytest.mark.parametrize("original", [FULL, BARE], ids=["all-fields", "no-optional-fields"])
def test_baseline_keeps_the_reading_in_the_packed_form(original: Reading) -> None:
    stored = baseline(original, FLAGS)
    assert stored == {"key": reading_key(original.timestamp), "reading": pack(original, FLAGS)}
    assert from_baseline(stored) == original
    assert from_baseline(None) is None


def test_packed_form_is_compact_and_readable() -> None:
    assert pack(BARE) == "42000|12|0||||"
    assert pack(FULL, FLAGS) == (
        "123456.7|0.30000000000000004|1|-12.5|P0301,P0420|P0171|"
        "implausible_odometer_step,implausible_speed"
    )


def test_fields_appended_by_a_later_version_are_ignored() -> None:
    key = reading_key(FULL.timestamp)
    assert decode(key, pack(WITH_AMBIENT) + PACKED_SEPARATOR + "future") == WITH_AMBIENT


def test_the_ambient_temperature_is_appended_only_when_reported() -> None:
    assert pack(WITH_AMBIENT) == pack(FULL) + PACKED_SEPARATOR + "-3.5"
    key = reading_key(FULL.timestamp)
    assert decode(key, pack(WITH_AMBIENT)).ambient_temp_c == -3.5
    # A reader of the 7-field form (an instance still running the older code) ignores it.
    assert pack(WITH_AMBIENT).split(PACKED_SEPARATOR)[:7] == pack(FULL).split(PACKED_SEPARATOR)


def test_a_truncated_packed_reading_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="7 fields"):
        unpack("42000|12.6|0")


def test_separators_cannot_occur_inside_a_value() -> None:
    for separator in (PACKED_SEPARATOR, PACKED_LIST_SEPARATOR):
        assert not DTC_PATTERN.fullmatch(f"P0{separator}01")
        assert all(separator not in flag.value for flag in QualityFlag)


def test_a_full_day_of_busy_packed_readings_fits_a_document() -> None:
    size = DOCUMENT_OVERHEAD_BYTES
    start = datetime(2024, 5, 1, tzinfo=UTC)
    for i in range(MAX_READINGS_PER_DAY):
        busy = FULL.model_copy(update={"timestamp": start + timedelta(seconds=17 * i)})
        size += len(reading_key(busy.timestamp)) + 1 + len(pack(busy, FLAGS)) + 1
    assert size < FIRESTORE_DOCUMENT_LIMIT_BYTES  # ~0.58 MB: all fields, flags, 3 codes


def test_trusted_reading_equals_a_validated_one() -> None:
    trusted = Reading.trusted(
        FULL.timestamp,
        FULL.odometer_km,
        FULL.battery_voltage,
        FULL.engine_running,
        FULL.coolant_temp_c,
        list(FULL.dtc_codes),
        list(FULL.dtc_pending),
    )
    assert trusted == FULL
    assert trusted.model_dump() == FULL.model_dump()
    assert trusted.model_fields_set == set(Reading.model_fields)
    with pytest.raises(ValueError):
        trusted.odometer_km = 1.0  # frozen like any other Reading


def test_stored_readings_are_packed_strings_listed_evaluated_and_deduplicated(
    client: Any, owner: Any, vehicle: dict[str, Any], db: Any
) -> None:
    # Five weak resting voltages an hour apart (so the battery rule has evidence).
    start = recent(6 * 60)
    sent = [reading(start + i * 60 * MINUTE, 42000 + i, volts=12.1) for i in range(5)]
    response = client.post(
        f"{API}/{vehicle['id']}/telemetry", json={"readings": sent}, headers=owner.headers
    )
    assert response.status_code == 201, response.get_json()
    days_ref = db.collection("vehicles").document(vehicle["id"]).collection("telemetry_days")
    stored: dict[str, Any] = {}
    for snapshot in days_ref.stream():
        stored.update(snapshot.to_dict()["readings"])
    assert len(stored) == 5 and all(isinstance(value, str) for value in stored.values())
    good = db.collection("vehicles").document(vehicle["id"]).get().get("last_good_reading")
    assert set(good) == {"key", "reading"} and isinstance(good["reading"], str)

    # A re-sent reading is recognised by its key: reported, not stored twice.
    again = client.post(
        f"{API}/{vehicle['id']}/telemetry", json={"readings": [sent[0]]}, headers=owner.headers
    )
    assert again.status_code == 200 and len(again.get_json()["duplicates"]) == 1

    listed = client.get(
        f"{API}/{vehicle['id']}/telemetry",
        query_string={"from": (start - MINUTE).isoformat()},
        headers=owner.headers,
    )
    assert listed.status_code == 200, listed.get_json()
    items = listed.get_json()["items"]
    assert [item["odometer_km"] for item in items] == [42000, 42001, 42002, 42003, 42004]
    assert all(item["battery_voltage"] == 12.1 and item["flags"] == [] for item in items)

    health = client.get(f"{API}/{vehicle['id']}/health", headers=owner.headers).get_json()
    assert health["readings_considered"] == 5
    assert "battery.resting_voltage" in {f["rule_id"] for f in health["findings"]}
