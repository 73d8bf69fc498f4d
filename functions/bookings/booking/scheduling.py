"""Service-center calendars: which appointment slots exist, and whether a requested start is one.

Pure domain logic for the bookings function: no HTTP, no Firestore. The HTTP layer parses
requests into the calendar models (:mod:`booking.calendar_models`, which this module names in
annotations only: the slot arithmetic below needs no pydantic; the bounds both check are in
:mod:`booking.calendar_limits`) and maps
`SlotError.reason` to a 4xx response; the Firestore layer
uses `slot_key` / `slot_keys_held` as document ids so bay capacity can be checked in a
transaction.

Daylight-saving policy (decided here, relied on by the slot documents):

* Opening hours are wall-clock times in the center's IANA zone ("08:00" means 08:00 local on
  every date, summer or winter).
* All arithmetic happens on UTC instants, then results are shown in the center's zone. Python
  adds timedeltas to zone-aware datetimes on the *wall clock* and compares datetimes that share
  a tzinfo by wall clock (ignoring `fold`), which is exactly wrong around DST changes.
* Slot starts are stepped every `slot_step_minutes` of real elapsed time from the interval's
  opening instant, and a slot lasts `duration_minutes` of real elapsed time. So a 60-minute slot
  starting 01:30 on the spring-forward night ends at 03:30 local: one real hour, although the
  wall clock moved two. A nonexistent local time is never produced because every slot time is
  a real instant converted to local time. On a normal day this grid is identical to stepping
  the wall clock.
* In the autumn fold the repeated hour is a real hour of opening, so it yields slots twice
  (e.g. 02:00+02:00 and 02:00+01:00). They are different instants with different `slot_key`s.
* An opening or closing wall time that falls in the spring gap (e.g. "02:30" in Berlin on
  2026-03-29) is moved to the instant the clocks jump (03:00 summer time); one that occurs twice
  in the autumn fold means its first occurrence. Both rules keep the wall-to-instant mapping
  monotonic, so intervals that do not overlap on the wall clock never overlap in real time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from booking.calendar_limits import (
    MAX_BOOKING_HORIZON_DAYS,
    MAX_SERVICE_MINUTES,
    MIN_SERVICE_MINUTES,
)

if TYPE_CHECKING:
    from booking.calendar_models import CenterCalendar

# Strict calendar date: date.fromisoformat alone would also take "20260329" or "2026-W13-7".
_DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")

_UTC_KEY_FORMAT = "%Y%m%dT%H%M%SZ"


class SlotErrorReason(StrEnum):
    """Why a slot request was refused; stable strings the HTTP layer can return to clients."""

    INVALID_DURATION = "invalid_duration"
    INVALID_DATE = "invalid_date"
    INVALID_DATETIME = "invalid_datetime"
    NAIVE_DATETIME = "naive_datetime"
    NONEXISTENT_LOCAL_TIME = "nonexistent_local_time"
    IN_PAST = "in_past"
    BEYOND_HORIZON = "beyond_horizon"
    OUTSIDE_OPENING_HOURS = "outside_opening_hours"
    ENDS_AFTER_CLOSING = "ends_after_closing"
    NOT_A_SLOT_START = "not_a_slot_start"


class SlotError(ValueError):
    """A requested date, start or duration cannot be booked; `reason` says which rule failed."""

    def __init__(self, reason: SlotErrorReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True, eq=False)
class Slot:
    """A bookable time range; start and end are aware, shown in the center's zone.

    Equality and hashing use the UTC instants: the default would compare two datetimes that
    share a tzinfo by wall clock, making 02:30+02:00 and 02:30+01:00 "equal" in the autumn fold.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if not (_is_aware(self.start) and _is_aware(self.end)):
            raise ValueError("slot start and end must be timezone-aware")
        if self.end_utc <= self.start_utc:
            raise ValueError("slot must end after it starts")

    @property
    def start_utc(self) -> datetime:
        return self.start.astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        return self.end.astimezone(UTC)

    @property
    def duration_minutes(self) -> int:
        """Real elapsed minutes (subtracting same-zone datetimes would give wall-clock time)."""
        return int((self.end_utc - self.start_utc).total_seconds()) // 60

    def to_json(self) -> dict[str, str]:
        """ISO 8601 with the local offset, e.g. {"start": "2026-03-29T08:00:00+02:00", ...}."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Slot):
            return NotImplemented
        return (self.start_utc, self.end_utc) == (other.start_utc, other.end_utc)

    def __hash__(self) -> int:
        return hash((self.start_utc, self.end_utc))


# --------------------------------------------------------------------------- time helpers


def _is_aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() is not None


def _require_aware(moment: datetime, what: str) -> None:
    # A naive `now` is a programming error in the caller, not bad client input.
    if not _is_aware(moment):
        raise ValueError(f"{what} must be timezone-aware")


def _is_nonexistent(moment: datetime) -> bool:
    """True for a wall time inside a spring-forward gap of its own zone (e.g. 02:30 Berlin)."""
    zone: tzinfo | None = moment.tzinfo
    round_trip = moment.astimezone(UTC).astimezone(zone)
    return round_trip.replace(tzinfo=None) != moment.replace(tzinfo=None)


def _instant_of_jump(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The UTC instant between `before` and `after` where the zone's offset changes.

    zoneinfo has no public transition list, so bisect on whole seconds (tzdata transitions are
    whole seconds; a gap is at most a day, so this takes about 17 steps).
    """
    late_offset = after.astimezone(zone).utcoffset()
    low, high = int(before.timestamp()), int(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == late_offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _wall_to_utc(day: date, minute_of_day: int, zone: ZoneInfo) -> datetime:
    """The real instant of a local wall time on `day` (minute 1440 = next midnight).

    Ambiguous (autumn) wall times mean their first occurrence; nonexistent (spring) ones mean
    the instant the clocks jump. See the module docstring for why.
    """
    # Naive arithmetic is correct here: no zone is attached yet.
    wall = datetime.combine(day, time()) + timedelta(minutes=minute_of_day)
    first_reading = wall.replace(tzinfo=zone, fold=0)
    if not _is_nonexistent(first_reading):
        return first_reading.astimezone(UTC)
    # In a gap, fold=0 applies the pre-jump offset (an instant after the jump) and fold=1 the
    # post-jump offset (an instant before it), so the jump lies between the two readings.
    return _instant_of_jump(
        zone,
        before=wall.replace(tzinfo=zone, fold=1).astimezone(UTC),
        after=first_reading.astimezone(UTC),
    )


def _opening_instants(calendar: CenterCalendar, day: date) -> Iterator[tuple[datetime, datetime]]:
    """The day's opening intervals as real UTC (open, close) instants, in order."""
    zone = calendar.zone
    for open_minute, close_minute in calendar.opening_hours.minutes_on(day):
        opens = _wall_to_utc(day, open_minute, zone)
        closes = _wall_to_utc(day, close_minute, zone)
        # An interval entirely inside a spring gap (e.g. 02:10-02:50) has no real time.
        if opens < closes:
            yield opens, closes


def _check_duration(duration_minutes: int) -> None:
    if (
        isinstance(duration_minutes, bool)
        or not isinstance(duration_minutes, int)
        or not MIN_SERVICE_MINUTES <= duration_minutes <= MAX_SERVICE_MINUTES
    ):
        raise SlotError(
            SlotErrorReason.INVALID_DURATION,
            f"duration must be {MIN_SERVICE_MINUTES}..{MAX_SERVICE_MINUTES} minutes, "
            f"got {duration_minutes!r}",
        )


# --------------------------------------------------------------------------- public API


def parse_local_date(text: str) -> date:
    """Parse a center-local calendar date "YYYY-MM-DD" (e.g. from a ?date= query)."""
    if not isinstance(text, str) or _DATE_PATTERN.fullmatch(text) is None:
        raise SlotError(SlotErrorReason.INVALID_DATE, f"expected YYYY-MM-DD, got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise SlotError(SlotErrorReason.INVALID_DATE, f"no such date {text!r}") from exc


def parse_start(text: str) -> datetime:
    """Parse an ISO 8601 start with an explicit offset or "Z"; any offset is accepted."""
    if not isinstance(text, str):
        raise SlotError(SlotErrorReason.INVALID_DATETIME, f"expected a string, got {text!r}")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SlotError(SlotErrorReason.INVALID_DATETIME, f"not ISO 8601: {text!r}") from exc
    if not _is_aware(moment):
        raise SlotError(SlotErrorReason.NAIVE_DATETIME, f"{text!r} has no UTC offset")
    return moment


def center_today(calendar: CenterCalendar, now: datetime) -> date:
    """Today's date on the center's wall clock."""
    _require_aware(now, "now")
    return now.astimezone(calendar.zone).date()


def local_day_bounds(calendar: CenterCalendar, day: date) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of the center-local calendar ``day``.

    Midnight to the next midnight on the center's wall clock: 23 hours on a spring-forward
    day, 25 on an autumn one, and a midnight that does not exist (zones that jump at 00:00)
    is the instant the clocks jump, as everywhere in this module.
    """
    zone = calendar.zone
    return _wall_to_utc(day, 0, zone), _wall_to_utc(day + timedelta(days=1), 0, zone)


def latest_bookable_day(calendar: CenterCalendar, now: datetime) -> date:
    """The last center-local date that may be booked (today + MAX_BOOKING_HORIZON_DAYS)."""
    return center_today(calendar, now) + timedelta(days=MAX_BOOKING_HORIZON_DAYS)


def slots_for_day(calendar: CenterCalendar, day: date, duration_minutes: int) -> list[Slot]:
    """Every slot of `duration_minutes` on center-local `day`, ignoring bookings, past and horizon.

    Starts are every `slot_step_minutes` (real time) from each opening instant, as long as the
    slot ends by closing; times are shown in the center's zone. Closed days give [].
    """
    _check_duration(duration_minutes)
    zone = calendar.zone
    return [
        Slot(start.astimezone(zone), end.astimezone(zone))
        for start, end in _slot_instants(calendar, day, duration_minutes)
    ]


def _slot_instants(
    calendar: CenterCalendar, day: date, duration_minutes: int
) -> Iterator[tuple[datetime, datetime]]:
    """The UTC (start, end) of every slot of :func:`slots_for_day`, in order."""
    step = timedelta(minutes=calendar.slot_step_minutes)
    length = timedelta(minutes=duration_minutes)
    for opens, closes in _opening_instants(calendar, day):
        start = opens
        while start + length <= closes:
            yield start, start + length
            start += step


def bookable_slots_for_day(
    calendar: CenterCalendar, day: date, duration_minutes: int, *, now: datetime
) -> list[Slot]:
    """`slots_for_day` minus slots already started and days beyond the booking horizon.

    Bay capacity is not considered here: that needs the slot documents (see `slot_keys_held`).
    """
    slots = slots_for_day(calendar, day, duration_minutes)
    if not center_today(calendar, now) <= day <= latest_bookable_day(calendar, now):
        return []
    now_utc = now.astimezone(UTC)
    return [slot for slot in slots if slot.start_utc >= now_utc]


def validate_start(
    calendar: CenterCalendar, start: datetime, duration_minutes: int, *, now: datetime
) -> Slot:
    """Return the slot beginning at `start`, or raise SlotError saying why it cannot be booked.

    `start` may carry any UTC offset; it is judged as an instant and returned in the center's
    zone. Checks, in order: duration, aware, real local time, not past, within horizon, inside
    opening hours, ends by closing, on the slot grid.
    """
    _check_duration(duration_minutes)
    _require_aware(now, "now")
    if not _is_aware(start):
        raise SlotError(SlotErrorReason.NAIVE_DATETIME, "start must carry a UTC offset")
    if _is_nonexistent(start):
        raise SlotError(
            SlotErrorReason.NONEXISTENT_LOCAL_TIME,
            f"{start.replace(tzinfo=None).isoformat()} does not exist in {start.tzinfo}",
        )
    start_utc = start.astimezone(UTC)
    if start_utc < now.astimezone(UTC):
        raise SlotError(SlotErrorReason.IN_PAST, f"{start.isoformat()} has already begun")

    local_day = start.astimezone(calendar.zone).date()
    latest = latest_bookable_day(calendar, now)
    if local_day > latest:
        raise SlotError(
            SlotErrorReason.BEYOND_HORIZON,
            f"bookings open at most {MAX_BOOKING_HORIZON_DAYS} days ahead (until {latest})",
        )

    # Stops at the start it looks for, and builds only that slot (a booking's hot path).
    for slot_start, slot_end in _slot_instants(calendar, local_day, duration_minutes):
        if slot_start == start_utc:
            zone = calendar.zone
            return Slot(slot_start.astimezone(zone), slot_end.astimezone(zone))

    # Not a slot: say which rule it broke so the client can correct the right thing.
    length = timedelta(minutes=duration_minutes)
    for opens, closes in _opening_instants(calendar, local_day):
        if opens <= start_utc < closes:
            if start_utc + length > closes:
                raise SlotError(
                    SlotErrorReason.ENDS_AFTER_CLOSING,
                    f"a {duration_minutes}-minute service from {start.isoformat()} "
                    "runs past closing",
                )
            raise SlotError(
                SlotErrorReason.NOT_A_SLOT_START,
                f"slots start every {calendar.slot_step_minutes} minutes from opening",
            )
    raise SlotError(
        SlotErrorReason.OUTSIDE_OPENING_HOURS, f"the center is closed at {start.isoformat()}"
    )


def slot_key(center_id: str, start: datetime) -> str:
    """Deterministic Firestore document id for a slot, e.g. "c123_20260329T060000Z".

    Built from the UTC instant so the same slot gets the same id whatever offset the client
    sent, and the two 02:30s of an autumn fold get different ids.
    """
    if not center_id or "/" in center_id:
        # "/" would turn the id into a sub-path in Firestore.
        raise ValueError(f"center_id must be non-empty and contain no '/': {center_id!r}")
    _require_aware(start, "start")
    return f"{center_id}_{start.astimezone(UTC).strftime(_UTC_KEY_FORMAT)}"


def slot_keys_held(center_id: str, calendar: CenterCalendar, slot: Slot) -> list[str]:
    """Ids of every slot-grid start a booking of `slot` occupies (its own start first).

    A 60-minute booking on a 30-minute grid holds two grid cells. Counting bookings per cell,
    and refusing when any held cell already has `bays` bookings, stops overlapping bookings of
    different lengths from exceeding the bays. Since all starts lie on the grid, two bookings
    overlap exactly when they share a held cell.
    """
    step = timedelta(minutes=calendar.slot_step_minutes)
    keys = []
    cell = slot.start_utc
    while cell < slot.end_utc:
        keys.append(slot_key(center_id, cell))
        cell += step
    return keys
