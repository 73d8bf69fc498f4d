"""The platform's one source of "now".

Every rule that depends on the current instant — no booking in the past, the booking
horizon, a reading from the future, when an alert opened, when a session was rotated —
reads it here, so a test can pin the whole platform to a chosen instant (the night of a
daylight-saving change, for example) with :func:`set_clock`, and production code never
calls ``datetime.now`` or ``time.time`` itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The machine's clock, timezone-aware in UTC."""
    return datetime.now(UTC)


_clock: Clock = system_clock


def now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    moment = _clock()
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive instant would silently compare wrongly with stored (aware) timestamps.
        raise ValueError("the clock must return a timezone-aware datetime")
    return moment.astimezone(UTC)


def timestamp() -> float:
    """The current instant as seconds since the Unix epoch (for counters and tokens)."""
    if _clock is system_clock:
        # The same instant without building a datetime: every request's metrics read this.
        return time.time()
    return now().timestamp()


def set_clock(clock: Clock | None) -> None:
    """Replace the source of "now" (``None`` restores the system clock)."""
    global _clock
    _clock = clock or system_clock
