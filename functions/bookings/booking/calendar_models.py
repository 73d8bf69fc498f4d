"""A service center's calendar as validated models: weekly hours, offerings, zone, bays, grid.

The pydantic half of :mod:`booking.scheduling`, apart so that a cold start whose first request
touches no center imports no pydantic: the slot arithmetic there names these classes in
annotations only. The clock times and IANA zones a calendar may hold are checked here; the
ranges are :mod:`booking.calendar_limits`, which the scheduler checks too, so the API and the
scheduler agree on what is valid.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from itertools import pairwise
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from booking.calendar_limits import (
    DEFAULT_SLOT_STEP_MINUTES,
    MAX_BAYS,
    MAX_SERVICE_MINUTES,
    MAX_SLOT_STEP_MINUTES,
    MIN_BAYS,
    MIN_SERVICE_MINUTES,
    MIN_SLOT_STEP_MINUTES,
)

MINUTES_PER_DAY = 24 * 60

# Names that load through zoneinfo but are not real IANA zones: "localtime" is whatever the
# host is set to (UTC on Cloud Functions, something else on a laptop), "Factory" is a
# placeholder with no meaningful offset.
_HOST_DEPENDENT_ZONE_NAMES = frozenset({"localtime", "Factory", "posixrules"})

# "HH:MM" on a 24-hour clock; "24:00" is allowed only as a closing time (open until midnight).
_CLOCK_PATTERN = re.compile(r"^(?P<hour>[01]\d|2[0-3]):(?P<minute>[0-5]\d)$")
_END_OF_DAY = "24:00"

_WEEKDAY_FIELDS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock_to_minutes(text: str, *, may_be_end_of_day: bool) -> int:
    """Minutes since local midnight for "HH:MM" (1440 for "24:00" when allowed)."""
    if may_be_end_of_day and text == _END_OF_DAY:
        return MINUTES_PER_DAY
    match = _CLOCK_PATTERN.fullmatch(text)
    if match is None:
        allowed = '"HH:MM" (00:00..23:59, or "24:00" to close at midnight)'
        raise ValueError(f"{text!r} is not a clock time; expected {allowed}")
    return int(match["hour"]) * 60 + int(match["minute"])


@lru_cache(maxsize=256)
def _load_zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


# The two numbers of a calendar, as every model that carries them validates them. strict: a
# Firestore/JSON "3" string or True should be a data bug, not a silent cast.
Bays = Annotated[int, Field(strict=True, ge=MIN_BAYS, le=MAX_BAYS)]
SlotStepMinutes = Annotated[
    int, Field(strict=True, ge=MIN_SLOT_STEP_MINUTES, le=MAX_SLOT_STEP_MINUTES)
]


class OpeningHours(BaseModel):
    """Weekly opening hours: per weekday, (open "HH:MM", close "HH:MM") pairs; empty = closed.

    Intervals are stored sorted by opening time; they may touch but not overlap.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    mon: tuple[tuple[str, str], ...] = ()
    tue: tuple[tuple[str, str], ...] = ()
    wed: tuple[tuple[str, str], ...] = ()
    thu: tuple[tuple[str, str], ...] = ()
    fri: tuple[tuple[str, str], ...] = ()
    sat: tuple[tuple[str, str], ...] = ()
    sun: tuple[tuple[str, str], ...] = ()

    @field_validator(*_WEEKDAY_FIELDS)
    @classmethod
    def _intervals_are_ordered_and_disjoint(
        cls, intervals: tuple[tuple[str, str], ...]
    ) -> tuple[tuple[str, str], ...]:
        as_minutes = []
        for opens, closes in intervals:
            open_minute = _clock_to_minutes(opens, may_be_end_of_day=False)
            close_minute = _clock_to_minutes(closes, may_be_end_of_day=True)
            if open_minute >= close_minute:
                raise ValueError(f"opening {opens} must be before closing {closes}")
            as_minutes.append((open_minute, close_minute, (opens, closes)))
        as_minutes.sort()
        for earlier, later in pairwise(as_minutes):
            if later[0] < earlier[1]:
                raise ValueError(f"intervals {earlier[2]} and {later[2]} overlap")
        return tuple(pair for _, _, pair in as_minutes)

    def minutes_on(self, day: date) -> tuple[tuple[int, int], ...]:
        """The day's intervals as (open, close) minutes since local midnight, in order."""
        intervals: tuple[tuple[str, str], ...] = getattr(self, _WEEKDAY_FIELDS[day.weekday()])
        return tuple(
            (
                _clock_to_minutes(opens, may_be_end_of_day=False),
                _clock_to_minutes(closes, may_be_end_of_day=True),
            )
            for opens, closes in intervals
        )


class ServiceOffering(BaseModel):
    """One bookable service of a center, e.g. code ``oil_change``, 45 minutes."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=True, defer_build=True
    )

    # Lower-case slug: it ends up in URLs and booking documents, so keep it boring.
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1, max_length=120)
    # strict: a Firestore/JSON "45" string or True should be a data bug, not a silent cast.
    duration_minutes: int = Field(strict=True, ge=MIN_SERVICE_MINUTES, le=MAX_SERVICE_MINUTES)


class CenterCalendar(BaseModel):
    """Everything needed to compute a center's slots: zone, weekly hours, bays, slot grid."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    time_zone: str
    opening_hours: OpeningHours
    bays: Bays
    slot_step_minutes: SlotStepMinutes = DEFAULT_SLOT_STEP_MINUTES

    @field_validator("time_zone")
    @classmethod
    def _is_iana_zone(cls, name: str) -> str:
        if name in _HOST_DEPENDENT_ZONE_NAMES:
            raise ValueError(f"{name!r} is not a fixed IANA time zone")
        try:
            _load_zone(name)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown IANA time zone {name!r}") from exc
        return name

    @property
    def zone(self) -> ZoneInfo:
        return _load_zone(self.time_zone)
