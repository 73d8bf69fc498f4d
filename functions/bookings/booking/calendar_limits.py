"""The bounds of a center's calendar and of a booking, in one place.

Pure constants: the calendar models (booking.calendar_models) validate a center against them,
the scheduler (booking.scheduling) a requested slot, and the API documents them, so the three
agree on what is valid.
"""

from __future__ import annotations

# Shortest and longest service we schedule: below 15 minutes nothing useful fits in a bay,
# above 8 hours the job spans a full shift and is planned by hand, not through slots.
MIN_SERVICE_MINUTES = 15
MAX_SERVICE_MINUTES = 480

# A center has at least one bay to be bookable; 50 is far above any real workshop and bounds
# the number of concurrent bookings a single slot document has to count.
MIN_BAYS = 1
MAX_BAYS = 50

# Slot starts every half hour unless a center says otherwise; 5..240 keeps the grid sensible
# and bounds a day to at most 288 starts per interval.
DEFAULT_SLOT_STEP_MINUTES = 30
MIN_SLOT_STEP_MINUTES = 5
MAX_SLOT_STEP_MINUTES = 240

# Bookings further ahead than this (in center-local calendar days) are refused: centers do not
# plan staff that far ahead, and it bounds the number of slot documents a client can create.
MAX_BOOKING_HORIZON_DAYS = 90
