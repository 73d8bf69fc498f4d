"""The most Firestore work one request of the vehicles function can cause.

Every number is derived from the bounds the code enforces (each named where it is
enforced), so docs/vehicles.md ("Firestore work per request") and the tests that check the
``X-Firestore-Ops`` header read the same figures. Not counted here: the one user-document
read of authentication that every authenticated request costs.
"""

from __future__ import annotations

from shared.alerts import MAX_LISTED_ALERTS, MAX_OPEN_ALERTS_READ
from vehicle.alert_store import MAX_ALERTS_PER_EVALUATION
from vehicle.health import HEALTH_WINDOW, RAW_DAYS
from vehicle.record_store import MAX_RECORDS_FOR_FORECAST
from vehicle.telemetry_quality import MAX_DAYS_PER_BATCH
from vehicle.telemetry_store import MAX_ROLLUP_REPAIRS

# --- POST /{id}/telemetry: the ingest commit ------------------------------------------------
# The vehicle (its scope checked on it), every day document the batch may touch (none on
# the fast path: vehicle.telemetry_tail) and, once per vehicle without a tail, its newest
# day document; each touched day written once, and the vehicle once.
INGEST_READS = 1 + MAX_DAYS_PER_BATCH + 1
INGEST_WRITES = MAX_DAYS_PER_BATCH + 1

# --- POST /{id}/service-records: the completion (shared.service_completion) ---------------
# The vehicle, the record (already there?) and the vehicle's open alerts; the record
# created, the vehicle updated, and the open alerts of the serviced codes resolved. An
# evaluation follows.
COMPLETION_READS = 2 + MAX_OPEN_ALERTS_READ
COMPLETION_WRITES = 2 + MAX_OPEN_ALERTS_READ

# --- a health evaluation (GET /{id}/health; after ingest when due; after a service record) --
# Day documents of the window: 90 days back to today, and tomorrow (clocks run ahead).
WINDOW_DAYS = HEALTH_WINDOW.days + 2
# Older days read as rollups; a day without one (stored before rollups) is read again in
# full to summarise it, and at most MAX_ROLLUP_REPAIRS of those are written back.
REPAIR_READS = WINDOW_DAYS - RAW_DAYS - 1
EVALUATION_READS = (
    WINDOW_DAYS
    + REPAIR_READS
    + MAX_RECORDS_FOR_FORECAST
    + 1  # the vehicle, in the publishing transaction
    + MAX_ALERTS_PER_EVALUATION  # the alerts it may write, by id
    + MAX_OPEN_ALERTS_READ  # the open ones, to resolve those whose finding is gone
    + MAX_LISTED_ALERTS  # every alert, once, when the vehicle's alert list is rebuilt
)
EVALUATION_WRITES = MAX_ALERTS_PER_EVALUATION + MAX_OPEN_ALERTS_READ + 1 + MAX_ROLLUP_REPAIRS
