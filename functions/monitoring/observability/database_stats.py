"""What the database holds, by Firestore ``count()`` and ``sum()`` aggregations: /stats/database.

An aggregation is answered from the index without sending a document, and billed one read
per batch of up to 1,000 index entries it counts (one read at least per query). One call runs
:data:`QUERY_COUNT` aggregation queries, so it costs ``QUERY_COUNT`` reads plus one more per
further 1,000 documents counted in a query (a million users: about 1,000 reads for that
figure). Routes cache the answer per instance (PMI_STATS_CACHE_SECONDS), so a dashboard
polling every 30 s costs that much at most once per cache period and instance, whatever the
number of dashboards.

Telemetry is stored per vehicle and UTC day (``vehicles/{id}/telemetry_days/{YYYY-MM-DD}``,
with the day's reading ``count``): the readings of the last 24 h are today's (a collection-
group sum over today's day documents, exact) plus yesterday's prorated to the hours of
yesterday still inside the window (exact per day, an estimate for the window).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from observability.models import DatabaseStats, Figure, TelemetryFigure
from shared import clock
from shared.alerts import ALERTS, OPEN
from shared.auth.principal import USERS_COLLECTION
from shared.auth.rbac import Role
from shared.firestore import get_client
from shared.query_shapes import QueryShape, register
from shared.vehicle_documents import TELEMETRY_DAYS, VEHICLES

# Owned by the bookings function (booking/store.py, booking/centers.py, booking/lifecycle.py);
# tests/test_monitoring_database.py checks these copies against the originals.
BOOKINGS: Final = "bookings"
CENTERS: Final = "centers"
BOOKING_STATES: Final = (
    "requested", "confirmed", "in_progress", "completed", "cancelled", "no_show",
)  # fmt: skip
# Alerts are opened at these severities only (vehicle/alert_store.py).
ALERT_SEVERITIES: Final = ("critical", "high")
COLLECTIONS: Final = (USERS_COLLECTION, VEHICLES, BOOKINGS, ALERTS, CENTERS)
NEW_USER_DAYS: Final = 7
# An aggregation over a large collection can take a while; it must not hang a request.
QUERY_TIMEOUT_SECONDS: Final = 10.0
PARALLEL_QUERIES: Final = 8

register(
    QueryShape(BOOKINGS, equality=("status",), description="bookings in one state (count)"),
    QueryShape(
        ALERTS, equality=("status", "severity"), description="open alerts of a severity (count)"
    ),
    QueryShape(USERS_COLLECTION, equality=("role",), description="users of a role (count)"),
    QueryShape(
        USERS_COLLECTION,
        order=(("created_at", "ASCENDING"),),
        description="users created since an instant (count)",
    ),
    # A sum() with a filter reads the aggregated field from the index too: (day, count).
    QueryShape(
        TELEMETRY_DAYS,
        equality=("day",),
        order=(("count", "ASCENDING"),),
        collection_group=True,
        description="every vehicle's day document of one UTC day (sum of count)",
    ),
)

QUERY_COUNT: Final = (
    len(COLLECTIONS) + len(BOOKING_STATES) + len(ALERT_SEVERITIES) + len(Role) + 1 + 2
)
READS_NOTE: Final = (
    f"{QUERY_COUNT} aggregation queries: {QUERY_COUNT} reads, plus one per further 1,000 "
    "documents a query counts; cached per instance for cache_seconds"
)


@dataclass(frozen=True)
class Counted:
    value: int
    read_at: datetime


def gather(now: datetime, cache_seconds: float) -> DatabaseStats:
    """Run every aggregation (in parallel) and assemble the answer."""
    today = now.astimezone(UTC).date()
    yesterday = today - timedelta(days=1)
    jobs: dict[tuple[str, str], Callable[[], Counted]] = {}
    client = get_client()
    from google.cloud.firestore_v1.base_query import FieldFilter

    for name in COLLECTIONS:
        jobs[("collections", name)] = _count_of(client.collection(name))
    for state in BOOKING_STATES:
        query = client.collection(BOOKINGS).where(filter=FieldFilter("status", "==", state))
        jobs[("bookings", state)] = _count_of(query)
    for severity in ALERT_SEVERITIES:
        query = (
            client.collection(ALERTS)
            .where(filter=FieldFilter("status", "==", OPEN))
            .where(filter=FieldFilter("severity", "==", severity))
        )
        jobs[("alerts", severity)] = _count_of(query)
    users = client.collection(USERS_COLLECTION)
    for role in Role:
        jobs[("roles", role.value)] = _count_of(
            users.where(filter=FieldFilter("role", "==", role.value))
        )
    since = now - timedelta(days=NEW_USER_DAYS)
    jobs[("new_users", "")] = _count_of(users.where(filter=FieldFilter("created_at", ">=", since)))
    for day in (yesterday, today):
        query = client.collection_group(TELEMETRY_DAYS).where(
            filter=FieldFilter("day", "==", day.isoformat())
        )
        jobs[("telemetry", day.isoformat())] = _sum_of(query, "count")

    with ThreadPoolExecutor(max_workers=PARALLEL_QUERIES) as pool:
        futures = {key: pool.submit(job) for key, job in jobs.items()}
        results = {key: future.result() for key, future in futures.items()}

    def group(kind: str) -> dict[str, Figure]:
        return {
            name: Figure(count=counted.value, read_at=counted.read_at)
            for (k, name), counted in results.items()
            if k == kind
        }

    today_count = results[("telemetry", today.isoformat())]
    yesterday_count = results[("telemetry", yesterday.isoformat())]
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    share_of_yesterday = max(0.0, 1.0 - (now - midnight).total_seconds() / 86_400)
    new_users = results[("new_users", "")]
    return DatabaseStats(
        read_at=now,
        cached=False,
        cache_seconds=cache_seconds,
        queries=len(jobs),
        reads_note=READS_NOTE,
        collections=group("collections"),
        bookings_by_status=group("bookings"),
        open_alerts_by_severity=group("alerts"),
        users_by_role=group("roles"),
        new_users_last_7_days=Figure(count=new_users.value, read_at=new_users.read_at),
        telemetry_readings_last_24h=TelemetryFigure(
            count=today_count.value + round(yesterday_count.value * share_of_yesterday),
            read_at=max(today_count.read_at, yesterday_count.read_at),
            days={
                yesterday.isoformat(): yesterday_count.value,
                today.isoformat(): today_count.value,
            },
            method=(
                "today's readings (UTC day, exact) plus yesterday's in proportion to the part "
                "of yesterday inside the last 24 h"
            ),
        ),
    )


def _count_of(query: Any) -> Callable[[], Counted]:
    return lambda: _aggregate(query.count(alias="value"))


def _sum_of(query: Any, field: str) -> Callable[[], Counted]:
    return lambda: _aggregate(query.sum(field, alias="value"))


def _aggregate(aggregation: Any) -> Counted:
    rows = aggregation.get(retry=None, timeout=QUERY_TIMEOUT_SECONDS)
    result = rows[0][0]
    read_at = getattr(result, "read_time", None) or clock.now()
    return Counted(int(result.value or 0), read_at)
