"""Service-center calendars: slot generation, DST behaviour, start validation and slot ids."""

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from booking import scheduling
from booking.calendar_limits import MAX_BOOKING_HORIZON_DAYS
from booking.calendar_models import CenterCalendar, OpeningHours, ServiceOffering
from booking.scheduling import Slot, SlotError, SlotErrorReason

BERLIN = ZoneInfo("Europe/Berlin")
SPRING_FORWARD = date(2026, 3, 29)  # Berlin: 02:00 CET -> 03:00 CEST (a Sunday)
FALL_BACK = date(2026, 10, 25)  # Berlin: 03:00 CEST -> 02:00 CET (a Sunday)
A_MONDAY = date(2026, 6, 15)
# "now" a little before each group of test days: not past, and within the booking horizon.
MARCH_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
JUNE_NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OCTOBER_NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def weekday_calendar(**overrides: object) -> CenterCalendar:
    """A typical workshop: Mon-Fri 08:00-12:00 and 13:00-17:00, Sat 09:00-13:00, Sun closed."""
    workday = [["08:00", "12:00"], ["13:00", "17:00"]]
    data: dict[str, object] = {
        "time_zone": "Europe/Berlin",
        "bays": 3,
        "opening_hours": {
            "mon": workday,
            "tue": workday,
            "wed": workday,
            "thu": workday,
            "fri": workday,
            "sat": [["09:00", "13:00"]],
        },
    }
    data.update(overrides)
    return CenterCalendar.model_validate(data)


def night_calendar(day_name: str) -> CenterCalendar:
    """Open 00:00-06:00 on one weekday, so the DST change falls inside opening hours."""
    return CenterCalendar.model_validate(
        {
            "time_zone": "Europe/Berlin",
            "bays": 1,
            "opening_hours": {day_name: [["00:00", "06:00"]]},
        }
    )


def starts(slots: list[Slot]) -> list[str]:
    return [slot.start.isoformat() for slot in slots]


# --------------------------------------------------------------------------- models


def test_opening_hours_are_sorted_and_days_default_to_closed() -> None:
    hours = OpeningHours.model_validate({"mon": [["13:00", "17:00"], ["08:00", "12:00"]]})
    assert hours.mon == (("08:00", "12:00"), ("13:00", "17:00"))
    assert hours.tue == ()


def test_opening_hours_allow_touching_intervals_and_closing_at_midnight() -> None:
    hours = OpeningHours.model_validate({"fri": [["08:00", "12:00"], ["12:00", "24:00"]]})
    assert hours.minutes_on(date(2026, 6, 19)) == ((480, 720), (720, 1440))


@pytest.mark.parametrize(
    "intervals",
    [
        [["12:00", "08:00"]],  # closes before it opens
        [["08:00", "08:00"]],  # empty interval
        [["08:00", "12:00"], ["11:30", "14:00"]],  # overlap
        [["08:00", "12:00"], ["09:00", "10:00"]],  # nested
        [["8:00", "12:00"]],  # not HH:MM
        [["08:00", "12:60"]],  # no such minute
        [["24:00", "24:00"]],  # 24:00 only closes
        [["08:00", "25:00"]],
        [["08:00"]],  # not a pair
    ],
)
def test_opening_hours_refuse_malformed_or_overlapping_intervals(intervals: object) -> None:
    with pytest.raises(ValidationError):
        OpeningHours.model_validate({"wed": intervals})


def test_opening_hours_refuse_unknown_weekday_names() -> None:
    with pytest.raises(ValidationError):
        OpeningHours.model_validate({"monday": [["08:00", "12:00"]]})


def test_service_offering_accepts_durations_between_15_and_480_minutes() -> None:
    assert ServiceOffering(code="oil_change", name="Oil change", duration_minutes=15)
    assert ServiceOffering(code="engine-rebuild", name="Engine", duration_minutes=480)


@pytest.mark.parametrize(
    "fields",
    [
        {"duration_minutes": 14},
        {"duration_minutes": 481},
        {"duration_minutes": "45"},  # strict: no silent string casting
        {"duration_minutes": True},
        {"code": "Oil Change"},
        {"code": ""},
        {"name": "   "},
    ],
)
def test_service_offering_refuses_invalid_fields(fields: dict[str, object]) -> None:
    data: dict[str, object] = {"code": "oil_change", "name": "Oil change", "duration_minutes": 45}
    data.update(fields)
    with pytest.raises(ValidationError):
        ServiceOffering.model_validate(data)


@pytest.mark.parametrize(
    "name", ["Europe/Berlin ", "Mars/Olympus", "", "Europe", "../etc/passwd", "localtime"]
)
def test_calendar_refuses_unknown_or_host_dependent_time_zones(name: str) -> None:
    with pytest.raises(ValidationError):
        weekday_calendar(time_zone=name)


def test_calendar_accepts_iana_zones_and_defaults_to_half_hour_slots() -> None:
    calendar = weekday_calendar(time_zone="America/New_York")
    assert calendar.zone == ZoneInfo("America/New_York")
    assert calendar.slot_step_minutes == 30


@pytest.mark.parametrize(
    "overrides",
    [{"bays": 0}, {"bays": 51}, {"bays": "3"}, {"slot_step_minutes": 4}, {"extra": 1}],
)
def test_calendar_refuses_out_of_range_settings(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        weekday_calendar(**overrides)


def test_calendar_is_immutable() -> None:
    calendar = weekday_calendar()
    with pytest.raises(ValidationError):
        calendar.bays = 5


# --------------------------------------------------------------------------- slots on normal days


def test_slots_start_every_step_and_end_by_closing_in_each_interval() -> None:
    slots = scheduling.slots_for_day(weekday_calendar(), A_MONDAY, 60)
    assert starts(slots) == [
        "2026-06-15T08:00:00+02:00",
        "2026-06-15T08:30:00+02:00",
        "2026-06-15T09:00:00+02:00",
        "2026-06-15T09:30:00+02:00",
        "2026-06-15T10:00:00+02:00",
        "2026-06-15T10:30:00+02:00",
        "2026-06-15T11:00:00+02:00",
        "2026-06-15T13:00:00+02:00",
        "2026-06-15T13:30:00+02:00",
        "2026-06-15T14:00:00+02:00",
        "2026-06-15T14:30:00+02:00",
        "2026-06-15T15:00:00+02:00",
        "2026-06-15T15:30:00+02:00",
        "2026-06-15T16:00:00+02:00",
    ]
    assert slots[-1].to_json() == {
        "start": "2026-06-15T16:00:00+02:00",
        "end": "2026-06-15T17:00:00+02:00",
    }
    assert all(slot.duration_minutes == 60 for slot in slots)


def test_slots_are_shown_in_the_centers_zone() -> None:
    slots = scheduling.slots_for_day(weekday_calendar(), date(2026, 1, 12), 60)
    assert slots[0].start.tzinfo == BERLIN
    assert slots[0].start.isoformat() == "2026-01-12T08:00:00+01:00"


def test_closed_day_has_no_slots() -> None:
    sunday = date(2026, 6, 14)
    assert scheduling.slots_for_day(weekday_calendar(), sunday, 30) == []


def test_duration_longer_than_any_interval_has_no_slots() -> None:
    # The longest interval is 4 hours; a 5-hour service cannot fit without spanning lunch.
    assert scheduling.slots_for_day(weekday_calendar(), A_MONDAY, 300) == []


def test_duration_exactly_filling_an_interval_gives_one_slot_per_interval() -> None:
    slots = scheduling.slots_for_day(weekday_calendar(), A_MONDAY, 240)
    assert starts(slots) == ["2026-06-15T08:00:00+02:00", "2026-06-15T13:00:00+02:00"]


def test_custom_step_sets_the_grid() -> None:
    calendar = weekday_calendar(slot_step_minutes=45)
    slots = scheduling.slots_for_day(calendar, date(2026, 6, 20), 60)  # Saturday 09-13
    assert starts(slots) == [
        "2026-06-20T09:00:00+02:00",
        "2026-06-20T09:45:00+02:00",
        "2026-06-20T10:30:00+02:00",
        "2026-06-20T11:15:00+02:00",
        "2026-06-20T12:00:00+02:00",
    ]


def test_center_open_until_midnight_offers_the_last_slot_ending_at_midnight() -> None:
    calendar = weekday_calendar(opening_hours={"mon": [["22:00", "24:00"]]})
    slots = scheduling.slots_for_day(calendar, A_MONDAY, 60)
    assert [slot.to_json() for slot in slots][-1] == {
        "start": "2026-06-15T23:00:00+02:00",
        "end": "2026-06-16T00:00:00+02:00",
    }


@pytest.mark.parametrize("duration", [14, 481, 0, -30])
def test_slots_refuse_durations_outside_15_to_480_minutes(duration: int) -> None:
    with pytest.raises(SlotError) as error:
        scheduling.slots_for_day(weekday_calendar(), A_MONDAY, duration)
    assert error.value.reason is SlotErrorReason.INVALID_DURATION


# --------------------------------------------------------------------------- daylight saving


def test_daytime_slots_keep_wall_clock_times_across_spring_change_but_change_offset() -> None:
    calendar = weekday_calendar(
        opening_hours={"sat": [["08:00", "10:00"]], "sun": [["08:00", "10:00"]]}
    )
    saturday = scheduling.slots_for_day(calendar, SPRING_FORWARD - timedelta(days=1), 60)
    sunday = scheduling.slots_for_day(calendar, SPRING_FORWARD, 60)
    assert starts(saturday)[0] == "2026-03-28T08:00:00+01:00"
    assert starts(sunday)[0] == "2026-03-29T08:00:00+02:00"
    # Same wall clock, different instants: 07:00Z on Saturday, 06:00Z on Sunday.
    assert scheduling.slot_key("c1", saturday[0].start) == "c1_20260328T070000Z"
    assert scheduling.slot_key("c1", sunday[0].start) == "c1_20260329T060000Z"


def test_spring_forward_skips_nonexistent_times_and_switches_offset_to_plus_two() -> None:
    slots = scheduling.slots_for_day(night_calendar("sun"), SPRING_FORWARD, 60)
    assert [slot.to_json() for slot in slots] == [
        {"start": "2026-03-29T00:00:00+01:00", "end": "2026-03-29T01:00:00+01:00"},
        {"start": "2026-03-29T00:30:00+01:00", "end": "2026-03-29T01:30:00+01:00"},
        # Spans the jump: one real hour, although the wall clock moves from 01:00 to 03:00.
        {"start": "2026-03-29T01:00:00+01:00", "end": "2026-03-29T03:00:00+02:00"},
        {"start": "2026-03-29T01:30:00+01:00", "end": "2026-03-29T03:30:00+02:00"},
        {"start": "2026-03-29T03:00:00+02:00", "end": "2026-03-29T04:00:00+02:00"},
        {"start": "2026-03-29T03:30:00+02:00", "end": "2026-03-29T04:30:00+02:00"},
        {"start": "2026-03-29T04:00:00+02:00", "end": "2026-03-29T05:00:00+02:00"},
        {"start": "2026-03-29T04:30:00+02:00", "end": "2026-03-29T05:30:00+02:00"},
        {"start": "2026-03-29T05:00:00+02:00", "end": "2026-03-29T06:00:00+02:00"},
    ]
    # Durations are real elapsed time, never wall-clock differences.
    assert all(slot.duration_minutes == 60 for slot in slots)
    # No slot time reads 02:xx local: that hour does not exist in Berlin on this date.
    assert not any(moment.hour == 2 for slot in slots for moment in (slot.start, slot.end))


def test_spring_forward_day_has_one_hour_fewer_of_slots() -> None:
    # Open 00:00-06:00 wall clock = 5 real hours on the spring-forward night, 6 the week before.
    short_night = scheduling.slots_for_day(night_calendar("sun"), SPRING_FORWARD, 30)
    normal_night = scheduling.slots_for_day(
        night_calendar("sun"), SPRING_FORWARD - timedelta(days=7), 30
    )
    assert (len(normal_night), len(short_night)) == (12, 10)


def test_fall_back_repeats_the_two_oclock_hour_with_distinct_instants() -> None:
    slots = scheduling.slots_for_day(night_calendar("sun"), FALL_BACK, 60)
    assert starts(slots) == [
        "2026-10-25T00:00:00+02:00",
        "2026-10-25T00:30:00+02:00",
        "2026-10-25T01:00:00+02:00",
        "2026-10-25T01:30:00+02:00",
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:00:00+01:00",  # the same wall clock again, one real hour later
        "2026-10-25T02:30:00+01:00",
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T03:30:00+01:00",
        "2026-10-25T04:00:00+01:00",
        "2026-10-25T04:30:00+01:00",
        "2026-10-25T05:00:00+01:00",
    ]
    assert slots[4].to_json() == {
        "start": "2026-10-25T02:00:00+02:00",
        "end": "2026-10-25T02:00:00+01:00",
    }
    assert all(slot.duration_minutes == 60 for slot in slots)
    keys = [scheduling.slot_key("c1", slot.start) for slot in slots]
    assert len(set(keys)) == len(keys)
    assert keys[4:7] == ["c1_20261025T000000Z", "c1_20261025T003000Z", "c1_20261025T010000Z"]
    # Slots compare by instant, so the two 02:00s are different slots.
    assert slots[4] != slots[6]
    assert len(set(slots)) == len(slots)


def test_daytime_slots_after_fall_back_use_plus_one() -> None:
    slots = scheduling.slots_for_day(
        weekday_calendar(opening_hours={"sun": [["08:00", "09:00"]]}), FALL_BACK, 60
    )
    assert [slot.to_json() for slot in slots] == [
        {"start": "2026-10-25T08:00:00+01:00", "end": "2026-10-25T09:00:00+01:00"}
    ]


def test_opening_time_inside_the_spring_gap_opens_when_clocks_jump() -> None:
    calendar = weekday_calendar(opening_hours={"sun": [["02:30", "04:00"]]})
    slots = scheduling.slots_for_day(calendar, SPRING_FORWARD, 30)
    assert starts(slots) == [
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T03:30:00+02:00",
    ]


def test_intervals_touching_inside_the_spring_gap_do_not_overlap() -> None:
    calendar = weekday_calendar(opening_hours={"sun": [["01:00", "02:30"], ["02:30", "04:00"]]})
    slots = scheduling.slots_for_day(calendar, SPRING_FORWARD, 30)
    assert starts(slots) == [
        "2026-03-29T01:00:00+01:00",
        "2026-03-29T01:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T03:30:00+02:00",
    ]
    assert len(set(slots)) == len(slots)


def test_interval_entirely_inside_the_spring_gap_has_no_slots() -> None:
    calendar = weekday_calendar(opening_hours={"sun": [["02:00", "02:45"]]})
    assert scheduling.slots_for_day(calendar, SPRING_FORWARD, 15) == []


def test_other_zones_follow_their_own_dst_rules() -> None:
    # New York springs forward on 2026-03-08, three weeks before Berlin.
    calendar = weekday_calendar(
        time_zone="America/New_York", opening_hours={"sun": [["09:00", "10:00"]]}
    )
    before = scheduling.slots_for_day(calendar, date(2026, 3, 1), 60)
    after = scheduling.slots_for_day(calendar, date(2026, 3, 8), 60)
    assert starts(before) == ["2026-03-01T09:00:00-05:00"]
    assert starts(after) == ["2026-03-08T09:00:00-04:00"]


# --------------------------------------------------------------------------- validate_start


def test_validate_start_returns_the_matching_slot_in_center_time() -> None:
    slot = scheduling.validate_start(
        weekday_calendar(), datetime(2026, 6, 15, 9, 0, tzinfo=BERLIN), 60, now=JUNE_NOW
    )
    assert slot.to_json() == {
        "start": "2026-06-15T09:00:00+02:00",
        "end": "2026-06-15T10:00:00+02:00",
    }


@pytest.mark.parametrize(
    "text",
    [
        "2026-06-15T07:00:00Z",
        "2026-06-15T07:00:00+00:00",
        "2026-06-15T03:00:00-04:00",
        "2026-06-15T12:30:00+05:30",
        "2026-06-15T09:00:00+02:00",
    ],
)
def test_validate_start_accepts_the_same_instant_with_any_offset(text: str) -> None:
    slot = scheduling.validate_start(
        weekday_calendar(), scheduling.parse_start(text), 60, now=JUNE_NOW
    )
    assert slot.start.isoformat() == "2026-06-15T09:00:00+02:00"
    assert slot.start.tzinfo == BERLIN


def test_validate_start_takes_the_second_two_oclock_of_the_autumn_fold() -> None:
    slot = scheduling.validate_start(
        night_calendar("sun"),
        scheduling.parse_start("2026-10-25T02:30:00+01:00"),
        60,
        now=OCTOBER_NOW,
    )
    assert slot.to_json() == {
        "start": "2026-10-25T02:30:00+01:00",
        "end": "2026-10-25T03:30:00+01:00",
    }
    first = scheduling.validate_start(
        night_calendar("sun"),
        datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=0),
        60,
        now=OCTOBER_NOW,
    )
    assert first.start.isoformat() == "2026-10-25T02:30:00+02:00"


def test_validate_start_accepts_a_slot_spanning_the_spring_gap() -> None:
    slot = scheduling.validate_start(
        night_calendar("sun"),
        scheduling.parse_start("2026-03-29T01:30:00+01:00"),
        60,
        now=MARCH_NOW,
    )
    assert slot.end.isoformat() == "2026-03-29T03:30:00+02:00"


def test_validate_start_refuses_a_nonexistent_local_time() -> None:
    # 02:30 never happens in Berlin on this date; guessing what was meant would be worse.
    with pytest.raises(SlotError) as error:
        scheduling.validate_start(
            night_calendar("sun"),
            datetime(2026, 3, 29, 2, 30, tzinfo=BERLIN),
            30,
            now=MARCH_NOW,
        )
    assert error.value.reason is SlotErrorReason.NONEXISTENT_LOCAL_TIME


def test_validate_start_refuses_naive_datetimes() -> None:
    with pytest.raises(SlotError) as error:
        scheduling.validate_start(weekday_calendar(), datetime(2026, 6, 15, 9, 0), 60, now=JUNE_NOW)
    assert error.value.reason is SlotErrorReason.NAIVE_DATETIME


def test_validate_start_refuses_past_starts() -> None:
    now = datetime(2026, 6, 15, 9, 10, tzinfo=BERLIN)
    with pytest.raises(SlotError) as error:
        scheduling.validate_start(
            weekday_calendar(), datetime(2026, 6, 15, 9, 0, tzinfo=BERLIN), 60, now=now
        )
    assert error.value.reason is SlotErrorReason.IN_PAST


def test_validate_start_refuses_past_starts_whatever_offset_now_has() -> None:
    now = datetime(2026, 6, 15, 7, 0, 1, tzinfo=UTC)  # one second after 09:00 Berlin
    with pytest.raises(SlotError) as error:
        scheduling.validate_start(
            weekday_calendar(), scheduling.parse_start("2026-06-15T09:00:00+02:00"), 60, now=now
        )
    assert error.value.reason is SlotErrorReason.IN_PAST


def test_validate_start_accepts_a_start_exactly_now() -> None:
    start = datetime(2026, 6, 15, 9, 0, tzinfo=BERLIN)
    assert scheduling.validate_start(weekday_calendar(), start, 60, now=start).start == start


def test_validate_start_refuses_beyond_the_booking_horizon() -> None:
    now = datetime(2026, 6, 1, 10, 0, tzinfo=BERLIN)
    last_day = date(2026, 6, 1) + timedelta(days=MAX_BOOKING_HORIZON_DAYS)  # 2026-08-30, Sunday
    calendar = weekday_calendar(opening_hours={"sun": [["08:00", "12:00"]]})
    allowed = datetime.combine(last_day, datetime.min.time()).replace(hour=8, tzinfo=BERLIN)
    assert scheduling.validate_start(calendar, allowed, 60, now=now).start == allowed
    with pytest.raises(SlotError) as error:
        scheduling.validate_start(calendar, allowed + timedelta(days=7), 60, now=now)
    assert error.value.reason is SlotErrorReason.BEYOND_HORIZON


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        # Sunday: closed all day.
        (datetime(2026, 6, 14, 10, 0, tzinfo=BERLIN), SlotErrorReason.OUTSIDE_OPENING_HOURS),
        # Lunch break.
        (datetime(2026, 6, 15, 12, 0, tzinfo=BERLIN), SlotErrorReason.OUTSIDE_OPENING_HOURS),
        (datetime(2026, 6, 15, 7, 30, tzinfo=BERLIN), SlotErrorReason.OUTSIDE_OPENING_HOURS),
        (datetime(2026, 6, 15, 17, 0, tzinfo=BERLIN), SlotErrorReason.OUTSIDE_OPENING_HOURS),
        # Inside hours but a 60-minute service would run past 12:00 / 17:00.
        (datetime(2026, 6, 15, 11, 30, tzinfo=BERLIN), SlotErrorReason.ENDS_AFTER_CLOSING),
        (datetime(2026, 6, 15, 16, 30, tzinfo=BERLIN), SlotErrorReason.ENDS_AFTER_CLOSING),
        # Inside hours but off the 30-minute grid.
        (datetime(2026, 6, 15, 9, 15, tzinfo=BERLIN), SlotErrorReason.NOT_A_SLOT_START),
        (datetime(2026, 6, 15, 9, 0, 30, tzinfo=BERLIN), SlotErrorReason.NOT_A_SLOT_START),
        (datetime(2026, 6, 15, 9, 0, 0, 1, tzinfo=BERLIN), SlotErrorReason.NOT_A_SLOT_START),
    ],
)
def test_validate_start_says_why_a_start_is_not_a_slot(
    start: datetime, reason: SlotErrorReason
) -> None:
    with pytest.raises(SlotError) as error:
        scheduling.validate_start(weekday_calendar(), start, 60, now=JUNE_NOW)
    assert error.value.reason is reason
    assert str(error.value).startswith(reason.value)


def test_validate_start_refuses_durations_that_fit_nowhere() -> None:
    with pytest.raises(SlotError) as error:
        scheduling.validate_start(
            weekday_calendar(), datetime(2026, 6, 15, 8, 0, tzinfo=BERLIN), 300, now=JUNE_NOW
        )
    assert error.value.reason is SlotErrorReason.ENDS_AFTER_CLOSING


def test_validate_start_refuses_invalid_durations() -> None:
    with pytest.raises(SlotError) as error:
        scheduling.validate_start(
            weekday_calendar(), datetime(2026, 6, 15, 8, 0, tzinfo=BERLIN), 10, now=JUNE_NOW
        )
    assert error.value.reason is SlotErrorReason.INVALID_DURATION


def test_validate_start_requires_an_aware_now() -> None:
    with pytest.raises(ValueError, match="now"):
        scheduling.validate_start(
            weekday_calendar(),
            datetime(2026, 6, 15, 8, 0, tzinfo=BERLIN),
            60,
            now=datetime(2026, 6, 1),
        )


# --------------------------------------------------------------------------- bookable slots


def test_bookable_slots_drop_started_slots_today() -> None:
    now = datetime(2026, 6, 15, 15, 10, tzinfo=BERLIN)
    slots = scheduling.bookable_slots_for_day(weekday_calendar(), A_MONDAY, 60, now=now)
    assert starts(slots) == [
        "2026-06-15T15:30:00+02:00",
        "2026-06-15T16:00:00+02:00",
    ]


def test_bookable_slots_are_empty_for_past_days_and_beyond_the_horizon() -> None:
    now = datetime(2026, 6, 15, 6, 0, tzinfo=BERLIN)
    calendar = weekday_calendar()
    assert scheduling.bookable_slots_for_day(calendar, date(2026, 6, 12), 60, now=now) == []
    beyond = date(2026, 6, 15) + timedelta(days=MAX_BOOKING_HORIZON_DAYS + 1)
    assert scheduling.bookable_slots_for_day(calendar, beyond, 60, now=now) == []
    last = date(2026, 6, 15) + timedelta(days=MAX_BOOKING_HORIZON_DAYS)  # a Sunday: closed
    last_open = last - timedelta(days=1)
    assert scheduling.bookable_slots_for_day(calendar, last_open, 60, now=now) != []


def test_center_today_uses_the_centers_wall_clock() -> None:
    # 23:30 UTC on 14 June is already 15 June in Berlin.
    now = datetime(2026, 6, 14, 23, 30, tzinfo=UTC)
    assert scheduling.center_today(weekday_calendar(), now) == date(2026, 6, 15)
    assert scheduling.latest_bookable_day(weekday_calendar(), now) == date(2026, 9, 13)


# --------------------------------------------------------------------------- slot ids


def test_slot_key_is_the_utc_instant_whatever_offset_is_given() -> None:
    berlin = datetime(2026, 3, 29, 10, 0, tzinfo=BERLIN)
    assert scheduling.slot_key("c123", berlin) == "c123_20260329T080000Z"
    same_instant = datetime(2026, 3, 29, 4, 0, tzinfo=timezone(timedelta(hours=-4)))
    assert scheduling.slot_key("c123", same_instant) == "c123_20260329T080000Z"


@pytest.mark.parametrize("center_id", ["", "a/b"])
def test_slot_key_refuses_ids_that_would_break_a_firestore_path(center_id: str) -> None:
    with pytest.raises(ValueError, match="center_id"):
        scheduling.slot_key(center_id, datetime(2026, 6, 15, 8, 0, tzinfo=BERLIN))


def test_slot_key_refuses_naive_starts() -> None:
    with pytest.raises(ValueError, match="aware"):
        scheduling.slot_key("c1", datetime(2026, 6, 15, 8, 0))


def test_slot_keys_held_cover_every_grid_cell_the_booking_overlaps() -> None:
    calendar = weekday_calendar()
    slot = scheduling.validate_start(
        calendar, datetime(2026, 6, 15, 9, 0, tzinfo=BERLIN), 90, now=JUNE_NOW
    )
    assert scheduling.slot_keys_held("c1", calendar, slot) == [
        "c1_20260615T070000Z",
        "c1_20260615T073000Z",
        "c1_20260615T080000Z",
    ]


def test_overlapping_bookings_of_different_lengths_share_a_held_key() -> None:
    calendar = weekday_calendar()
    long_job = scheduling.validate_start(
        calendar, datetime(2026, 6, 15, 9, 0, tzinfo=BERLIN), 45, now=JUNE_NOW
    )
    overlapping = scheduling.validate_start(
        calendar, datetime(2026, 6, 15, 9, 30, tzinfo=BERLIN), 30, now=JUNE_NOW
    )
    after = scheduling.validate_start(
        calendar, datetime(2026, 6, 15, 10, 0, tzinfo=BERLIN), 30, now=JUNE_NOW
    )
    held = set(scheduling.slot_keys_held("c1", calendar, long_job))
    assert held & set(scheduling.slot_keys_held("c1", calendar, overlapping))
    assert not held & set(scheduling.slot_keys_held("c1", calendar, after))


def test_slot_keys_held_across_the_spring_gap_are_real_half_hours() -> None:
    calendar = night_calendar("sun")
    slot = scheduling.validate_start(
        calendar, scheduling.parse_start("2026-03-29T01:30:00+01:00"), 60, now=MARCH_NOW
    )
    assert scheduling.slot_keys_held("c1", calendar, slot) == [
        "c1_20260329T003000Z",
        "c1_20260329T010000Z",
    ]


# --------------------------------------------------------------------------- parsing


def test_parse_local_date_accepts_only_yyyy_mm_dd() -> None:
    assert scheduling.parse_local_date("2026-03-29") == SPRING_FORWARD


@pytest.mark.parametrize("text", ["20260329", "2026-W13-7", "2026-02-30", "29.03.2026", ""])
def test_parse_local_date_refuses_other_formats_and_impossible_dates(text: str) -> None:
    with pytest.raises(SlotError) as error:
        scheduling.parse_local_date(text)
    assert error.value.reason is SlotErrorReason.INVALID_DATE


def test_parse_start_accepts_z_and_offsets() -> None:
    assert scheduling.parse_start("2026-03-29T08:00:00Z") == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    assert scheduling.parse_start("2026-03-29T10:00:00+02:00").utcoffset() == timedelta(hours=2)


def test_parse_start_refuses_missing_offsets_and_garbage() -> None:
    with pytest.raises(SlotError) as naive:
        scheduling.parse_start("2026-03-29T08:00:00")
    assert naive.value.reason is SlotErrorReason.NAIVE_DATETIME
    with pytest.raises(SlotError) as garbage:
        scheduling.parse_start("tomorrow at eight")
    assert garbage.value.reason is SlotErrorReason.INVALID_DATETIME


def test_slot_refuses_naive_or_backwards_times() -> None:
    start = datetime(2026, 6, 15, 8, 0, tzinfo=BERLIN)
    with pytest.raises(ValueError, match="aware"):
        Slot(datetime(2026, 6, 15, 8, 0), start)
    with pytest.raises(ValueError, match="end after"):
        Slot(start, start)
