"""Dependency checks behind the monitoring function's health routes.

Readiness asks one question — can this instance reach Firestore within a short deadline —
because every other route needs it. The checks return data; the routes decide the status.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from shared.firestore import get_client

# Cloud Run's default startup/readiness probe waits ~1 s per attempt; answer inside that.
READY_DEADLINE_SECONDS = 1.0
# An instance's first call also opens the gRPC channel (measured ~0.5 s on the emulator
# here), so it gets a longer allowance; every later check uses the deadline above.
FIRST_CHECK_DEADLINE_SECONDS = 5.0
HEALTH_COLLECTION = "_health"
_channel_open = False


@dataclass(frozen=True)
class DependencyStatus:
    name: str
    ok: bool
    latency_ms: float
    error: str | None = None


def check_firestore(deadline_seconds: float | None = None) -> DependencyStatus:
    """Read one (possibly missing) document, without retries, inside the deadline."""
    global _channel_open
    if deadline_seconds is None:
        deadline_seconds = READY_DEADLINE_SECONDS if _channel_open else FIRST_CHECK_DEADLINE_SECONDS
    # Creating the client (first call per instance) is set-up, not Firestore's latency.
    client = get_client()
    started = time.perf_counter()
    try:
        client.collection(HEALTH_COLLECTION).document("ping").get(
            retry=None, timeout=deadline_seconds
        )
    except Exception as exc:  # any failure means "not ready"; the kind goes to the log
        return DependencyStatus("firestore", False, _elapsed_ms(started), error=type(exc).__name__)
    elapsed = _elapsed_ms(started)
    _channel_open = True
    if elapsed > deadline_seconds * 1000:
        return DependencyStatus("firestore", False, elapsed, error="deadline exceeded")
    return DependencyStatus("firestore", True, elapsed)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
