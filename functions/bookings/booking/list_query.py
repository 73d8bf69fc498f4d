"""The query of ``GET /`` (the bookings list): its filters on top of cursor pagination.

Apart from :mod:`booking.models` because the list is many a cold
instance's first request: validating it imports pydantic and this model, not every booking
model. Unknown fields are a 422, as for every query (:class:`shared.request_models.QueryModel`).
"""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from shared.request_models import DocumentId, PageQuery


class BookingListQuery(PageQuery):
    """``GET /``: filters on top of cursor pagination.

    Either ``date`` — one calendar day on the center's own wall clock (staff: their center;
    everyone else names it with ``center_id``) — or ``from``/``to``, UTC calendar days.
    """

    status: str | None = Field(
        default=None,
        pattern=r"^(requested|confirmed|in_progress|completed|cancelled|no_show)$",
    )
    center_id: DocumentId | None = None
    # Inclusive first day and exclusive last day of the range of booking starts (UTC).
    from_date: date | None = Field(default=None, alias="from")
    to_date: date | None = Field(default=None, alias="to")
    # The center-local day whose bookings (by start) are listed: DST-correct, 23-25 hours.
    local_date: date | None = Field(default=None, alias="date")

    @model_validator(mode="after")
    def _one_kind_of_day(self) -> BookingListQuery:
        if self.local_date is not None and (self.from_date or self.to_date):
            raise ValueError(
                "send either date (a day in the center's zone) or from/to (UTC days), not both"
            )
        return self
