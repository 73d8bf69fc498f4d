"""The mixed load test (bench/bench_load.py) in miniature: its workload runs for a few seconds
against the test stack, every action reaches its route, and nothing answers a 5xx.

No figures here (tests never time things): `make load` runs the real one and writes
docs/benchmarks.md.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import bench_load  # noqa: E402

pytestmark = pytest.mark.e2e


def test_the_mixed_workload_runs_every_action_without_a_server_error(
    stack: Any, emulator: Any
) -> None:
    emulator.reset()
    world = bench_load.seed(stack.gateway_url, customers=2)
    tally, seconds = bench_load.run_mixed(world, clients=2, seconds=3.0)
    routes = {route for routes in bench_load.ROUTES.values() for route in routes}
    assert set(tally.latencies) <= routes
    # Every frequent action ran (logins are 2 % of the mix: a 3 s run may draw none).
    assert {"GET /api/vehicles", "POST /api/vehicles/{id}/telemetry", "POST /api/bookings"} <= set(
        tally.latencies
    )
    statuses = {s for counts in tally.statuses.values() for s in counts}
    assert all(0 < s < 500 for s in statuses), tally.statuses
    telemetry = tally.statuses["POST /api/vehicles/{id}/telemetry"]
    assert set(telemetry) == {201}, telemetry  # each batch is new data: all stored
    rps, _, _, _, errors = bench_load.summary(tally, seconds)
    assert rps > 0 and errors == 0
