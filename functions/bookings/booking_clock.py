"""The bookings function's one source of "now".

Every rule that depends on the current instant (no booking in the past, the booking horizon,
which slots are still bookable) reads the time here, so tests can pin the clock to a chosen
day (the spring daylight-saving change, for example) by replacing :func:`utc_now`.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)
