"""Booking throughput, p95 latency and overbooking under 16 concurrent clients.

Runs everything itself: Google's Firestore emulator, the bookings and monitoring functions
as real functions-framework servers (scripts/stack.py), seeded users, vehicles and centers.
Then, with CLIENTS concurrent HTTP clients calling the bookings function's own port:

1. distinct slots — every request books a different free slot (no contention);
2. hot slot — every request races for the same 3-bay slot (maximal contention);
3. baseline — the monitoring function's ``/health/live`` (no I/O) and bare emulator
   transactions (one read + one write each) with the same concurrency, so the figures can
   be read as ratios on whatever machine runs this.

The bare transactions and the distinct-slot bookings alternate over ``--rounds`` rounds
(fresh customers and vehicles each round, so every round books the same way; a customer
makes no more bookings than the default active-booking limit, 3, so its holder and its
vehicle's center grants stay the size they reach in production); each round's
ratio pairs runs made under the same load, and the median of the rounds is the figure.
Each scenario also records the CPU time it cost the processes serving it (the emulator,
the function, and this process's clients), per operation: on a machine shared with other
work that is steadier than throughput.

Finally it counts overbooked slot cells (slot count > bays, or count ≠ active bookings
holding the cell): must be 0. Prints a markdown table and writes the "## Bookings" section
of docs/benchmarks.md. Usage: ``.venv/bin/python bench/bench_bookings.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "bench")]

from benchlib import (  # noqa: E402
    LoadResult,
    bench_user,
    machine_line,
    process_group_cpu_seconds,
    run_load,
    update_section,
)
from emulator import FirestoreEmulator  # noqa: E402
from stack import Stack, free_port  # noqa: E402

from shared.config import Settings  # noqa: E402

CLIENTS = 16
# Requests per client: enough for a stable p95 (>300 samples per scenario), small enough
# that the whole run stays well under two minutes on 2 cores.
DISTINCT_PER_CLIENT = 20
# The default active-booking limit (shared.config, max_active_bookings): how many bookings
# one bench customer makes, so the bench runs with the default settings.
BOOKINGS_PER_CUSTOMER = Settings().max_active_bookings
CUSTOMERS_PER_CLIENT = -(-DISTINCT_PER_CLIENT // BOOKINGS_PER_CUSTOMER)
HOT_PER_CLIENT = 10
BASELINE_PER_CLIENT = 20
HOT_BAYS = 3
SIGNING_KEY = "bench-signing-key-0123456789abcdef-not-for-production"
PROJECT = "demo-pmi"
ZONE = ZoneInfo("Europe/Berlin")
ROUNDS = 3  # bare transaction and distinct-slot bookings, alternating
COMMAND = ".venv/bin/python bench/bench_bookings.py"
FUNCTION_ENV = {
    "PMI_ENVIRONMENT": "test",
    "GOOGLE_CLOUD_PROJECT": PROJECT,
    "PMI_JWT_SECRET": SIGNING_KEY,
    # Measure bookings, not the rate limiter (it has its own benchmark).
    "PMI_RATE_LIMIT_BACKEND": "off",
    "PMI_LOG_LEVEL": "ERROR",
    "THREADS": str(CLIENTS),
}
ALL_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@dataclass
class Scenario:
    """One load run and the CPU it cost the processes serving it."""

    result: LoadResult
    # CPU seconds of this process's clients, the emulator and the bookings function.
    cpu_parts: tuple[float, float, float]

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu_parts)

    @property
    def cpu_ms_per_operation(self) -> float:
        return 1000 * self.cpu_seconds / max(1, self.result.count)

    def cpu_split(self) -> str:
        client, emulator, function = (
            1000 * part / max(1, self.result.count) for part in self.cpu_parts
        )
        return f"emulator {emulator:.1f}, function {function:.1f}, clients {client:.1f}"


def row(scenario: Scenario, ratio: str = "—", cpu_ratio: str = "—") -> str:
    result = scenario.result
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(result.statuses.items()))
    return (
        f"| {result.name} | {result.count} | {result.per_second:.0f} | "
        f"{result.median_ms:.1f} | {result.p(0.95):.1f} | {ratio} | "
        f"{scenario.cpu_ms_per_operation:.1f} | {cpu_ratio} | {statuses} |"
    )


def run_clients(name: str, per_client: int, call: Callable[[int, int], int]) -> LoadResult:
    """``per_client`` calls from each of CLIENTS clients, all starting together."""
    return run_load(name, CLIENTS, per_client, call)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="alternating rounds")
    args = parser.parse_args()
    os.environ.update(FUNCTION_ENV)
    log_dir = ROOT / ".dev" / "bench-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    emulator_port = free_port()
    emulator = FirestoreEmulator(
        emulator_port, project_id=PROJECT, log_path=log_dir / "firestore-emulator.log"
    )
    began = time.perf_counter()
    emulator.start()
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.address
    stack = Stack(
        emulator_port=emulator_port,
        gateway_port=free_port(),
        functions=("bookings", "monitoring"),
        reuse_emulator=emulator,
        log_dir=log_dir,
        env=FUNCTION_ENV,
    )
    try:
        stack.start(progress=lambda message: None)
        results, overbooked = measure(stack, emulator, args.rounds)
    finally:
        stack.stop()
        emulator.stop()
    report(results, overbooked, time.perf_counter() - began, args.rounds)
    return 0 if overbooked == 0 else 1


@dataclass
class Results:
    live: Scenario
    refused: Scenario  # HTTP, authentication and validation, no Firestore
    bare: list[Scenario]  # one per round
    distinct: list[Scenario]  # one per round, each after that round's bare run
    hot: Scenario


def measure(stack: Stack, emulator: FirestoreEmulator, rounds: int) -> tuple[Results, int]:
    from google.cloud import firestore

    db = firestore.Client(project=PROJECT)
    bookings_url = stack.function_url("bookings")
    sessions = [requests.Session() for _ in range(CLIENTS)]
    assert emulator.process is not None
    # Each runs in its own process group (started with a new session).
    serving = (emulator.process.pid, stack.processes["bookings"].pid)

    def measured(name: str, per_client: int, call: Callable[[int, int], int]) -> Scenario:
        # Fresh connections: the server closes keep-alive connections idle for 2 s (as while a
        # round seeds its customers on a loaded machine), and a POST sent on one of those
        # fails with "connection reset" instead of being answered.
        for session in sessions:
            session.close()
        before = [time.process_time(), *map(process_group_cpu_seconds, serving)]
        result = run_clients(name, per_client, call)
        after = [time.process_time(), *map(process_group_cpu_seconds, serving)]
        client, emulator_cpu, function = (b - a for a, b in zip(before, after, strict=True))
        return Scenario(result, (client, emulator_cpu, function))

    _, admin = bench_user(db, "admin")

    def center(bays: int) -> str:
        body: dict[str, Any] = {
            "name": f"Bench {bays}",
            "address": "Bench 1",
            "time_zone": "Europe/Berlin",
            "opening_hours": ALL_DAY,
            "bays": bays,
            "services": [{"code": "tyre_rotation", "name": "Tyres", "duration_minutes": 30}],
        }
        response = requests.post(f"{bookings_url}/centers", json=body, headers=admin, timeout=30)
        response.raise_for_status()
        return str(response.json()["id"])

    def customers(count: int = CLIENTS) -> list[tuple[str, dict[str, str]]]:
        """``count`` customers, each with a vehicle stored as registration stores one."""
        made = []
        for _ in range(count):
            customer_id, headers = bench_user(db)
            vehicle_id = uuid.uuid4().hex
            db.collection("vehicles").document(vehicle_id).set(
                {
                    "owner_id": customer_id,
                    "vin": vehicle_id[:17],
                    "make": "VW",
                    "model": "Golf",
                    "year": 2020,
                    "mileage_km": 1000,
                    "center_ids": [],
                    "center_access": {},
                    "center_grants": {},
                    "alert_ids": [],
                    "alert_ids_evaluated_at": None,
                    "health_evaluated_at": None,
                    "due_services": [],
                }
            )
            made.append((vehicle_id, headers))
        return made

    distinct_center, hot_center = center(1), center(HOT_BAYS)

    # Slots start tomorrow at 00:00 Berlin time, on the 30-minute grid.
    first = datetime.combine(
        datetime.now(ZONE).date() + timedelta(days=1), datetime.min.time(), ZONE
    )

    def book(
        who: list[tuple[str, dict[str, str]]],
        center_id: str,
        customer: int,
        start: datetime,
        client: int | None = None,
    ) -> int:
        """``who[customer]`` books ``start``, sent by bench client ``client`` (by default the
        client of the same number)."""
        vehicle_id, headers = who[customer]
        response = sessions[customer if client is None else client].post(
            f"{bookings_url}/",
            json={
                "vehicle_id": vehicle_id,
                "center_id": center_id,
                "service_type": "tyre_rotation",
                "start": start.astimezone(UTC).isoformat(),
            },
            headers=headers,
            timeout=60,
        )
        return response.status_code

    live_url = stack.function_url("monitoring") + "/health/live"

    def live(c: int, i: int) -> int:
        return sessions[c].get(live_url, timeout=30).status_code

    def bare_transaction(c: int, i: int) -> int:
        ref = db.collection("bench_counters").document(uuid.uuid4().hex)

        @firestore.transactional
        def work(transaction: Any) -> None:
            snapshot = ref.get(transaction=transaction)
            count = (snapshot.to_dict() or {}).get("n", 0) if snapshot.exists else 0
            transaction.set(ref, {"n": count + 1})

        work(db.transaction())
        return 200

    def refused(c: int, i: int) -> int:
        # Authenticated (the principal cached, as for the bookings), then refused by body
        # validation before any Firestore call: what the pipeline alone costs a booking.
        _, headers = pipeline_caller[0]
        return (
            sessions[c]
            .post(f"{bookings_url}/", json={"vehicle_id": "x"}, headers=headers, timeout=30)
            .status_code
        )

    pipeline_caller = customers()[:1]
    # Warm up connections and the function's Firestore channel outside the measurement.
    run_clients("warm-up", 1, live)
    run_clients("warm-up", 1, refused)
    live_result = measured("baseline: monitoring /health/live", BASELINE_PER_CLIENT, live)
    refused_result = measured(
        "floor: POST / refused by validation (HTTP + auth, no Firestore)",
        BASELINE_PER_CLIENT,
        refused,
    )
    bare_runs, distinct_runs = [], []
    for round_number in range(rounds):
        # Each client books as a new customer every BOOKINGS_PER_CUSTOMER bookings, so no
        # customer goes past the default active-booking limit: the holder and the vehicle
        # (one center grant per booking) stay the size they reach in production.
        who = customers(CLIENTS * CUSTOMERS_PER_CLIENT)
        offset = round_number * CLIENTS * DISTINCT_PER_CLIENT

        def distinct(
            c: int, i: int, who: list[tuple[str, dict[str, str]]] = who, offset: int = offset
        ) -> int:
            slot = offset + c * DISTINCT_PER_CLIENT + i
            customer = c * CUSTOMERS_PER_CLIENT + i // BOOKINGS_PER_CUSTOMER
            return book(who, distinct_center, customer, first + timedelta(minutes=30 * slot), c)

        bare_runs.append(
            measured("baseline: bare emulator transaction", BASELINE_PER_CLIENT, bare_transaction)
        )
        distinct_runs.append(
            measured("POST /bookings, distinct slots", DISTINCT_PER_CLIENT, distinct)
        )
        print(
            f"round {round_number + 1}/{rounds}: bare {bare_runs[-1].result.per_second:.0f}/s, "
            f"bookings {distinct_runs[-1].result.per_second:.0f}/s",
            flush=True,
        )
    racers = customers()

    def hot(c: int, i: int) -> int:
        return book(racers, hot_center, c, first + timedelta(hours=10))

    hot_result = measured(f"POST /bookings, one hot slot ({HOT_BAYS} bays)", HOT_PER_CLIENT, hot)
    results = Results(live_result, refused_result, bare_runs, distinct_runs, hot_result)
    return results, count_overbooked(db, {distinct_center: 1, hot_center: HOT_BAYS})


def count_overbooked(db: Any, bays: dict[str, int]) -> int:
    """Slot cells over capacity or disagreeing with the active bookings that hold them."""
    holders: Counter[str] = Counter()
    for booking in db.collection("bookings").stream():
        if booking.get("status") in ("requested", "confirmed", "in_progress"):
            holders.update(booking.get("slot_keys"))
    bad = 0
    cells = {s.id: s.to_dict() for s in db.collection("slots").stream()}
    for key in set(cells) | set(holders):
        cell = cells.get(key) or {"count": 0, "center_id": key.rsplit("_", 1)[0]}
        if cell["count"] > bays[cell["center_id"]] or cell["count"] != holders[key]:
            bad += 1
    return bad


def combined(name: str, runs: list[Scenario]) -> Scenario:
    """Several rounds of one scenario as one row (all their requests, all their CPU)."""
    total = LoadResult(name, sum(r.result.seconds for r in runs))
    for run in runs:
        total.latencies.extend(run.result.latencies)
        total.statuses.update(run.result.statuses)
    parts = tuple(sum(r.cpu_parts[i] for r in runs) for i in range(3))
    return Scenario(total, (parts[0], parts[1], parts[2]))


def report(results: Results, overbooked: int, total_seconds: float, rounds: int) -> None:
    bare = combined("baseline: bare emulator transaction", results.bare)
    distinct = combined("POST /bookings, distinct slots", results.distinct)
    # Each round's ratio pairs a booking run with the bare run just before it (same load).
    time_ratios = [
        b.result.per_second / d.result.per_second
        for b, d in zip(results.bare, results.distinct, strict=True)
    ]
    cpu_ratios = [
        d.cpu_ms_per_operation / b.cpu_ms_per_operation
        for b, d in zip(results.bare, results.distinct, strict=True)
    ]
    time_ratio, cpu_ratio = statistics.median(time_ratios), statistics.median(cpu_ratios)
    hot_ratio = bare.result.per_second / results.hot.result.per_second
    hot_cpu = results.hot.cpu_ms_per_operation / bare.cpu_ms_per_operation
    hot = results.hot.result
    # The refused POST's function and client CPU (the emulator idles meanwhile) on top of the
    # bare transaction's.
    refused_client, _, refused_function = results.refused.cpu_parts
    floor = bare.cpu_ms_per_operation + 1000 * (refused_client + refused_function) / max(
        1, results.refused.result.count
    )
    lines = [
        f"Measured {machine_line()}, {CLIENTS} concurrent clients, Firestore emulator, "
        f"functions-framework server (THREADS={CLIENTS}), {rounds} alternating rounds of "
        f"bare transactions and distinct-slot bookings (load average "
        f"{os.getloadavg()[0]:.1f} at the end). Whole run: {total_seconds:.0f} s.",
        "",
        f"Command: `{COMMAND}" + (f" --rounds {rounds}`" if rounds != ROUNDS else "`"),
        "",
        "| scenario | requests | req/s | p50 ms | p95 ms | slower than bare txn "
        "| CPU ms per operation | CPU vs bare txn | statuses |",
        "|---|---|---|---|---|---|---|---|---|",
        row(results.live),
        row(results.refused),
        row(bare),
        row(distinct, f"{time_ratio:.1f}×", f"{cpu_ratio:.1f}×"),
        row(results.hot, f"{hot_ratio:.1f}×", f"{hot_cpu:.1f}×"),
        "",
        "Distinct slots, per round (bare transactions / bookings, req/s, and the ratio; the "
        "table's ratios are the medians of these): "
        + "; ".join(
            f"{b.result.per_second:.0f} / {d.result.per_second:.0f} = {t:.1f}× (CPU {c:.1f}×)"
            for b, d, t, c in zip(
                results.bare, results.distinct, time_ratios, cpu_ratios, strict=True
            )
        )
        + ".",
        "",
        f"CPU ms per operation, by process: bare transaction {bare.cpu_split()}; booking on "
        f"distinct slots {distinct.cpu_split()}; refused POST {results.refused.cpu_split()} "
        "(the bare transactions run in this process, so their client side counts as "
        "clients).",
        "",
        f"The floor of a booking here — the refused POST's HTTP, authentication and "
        f"validation plus the bare transaction's own work — is {floor:.1f} ms of CPU, "
        f"{floor / bare.cpu_ms_per_operation:.1f}× the bare transaction; a booking costs "
        f"{distinct.cpu_ms_per_operation:.1f} ms, {distinct.cpu_ms_per_operation - floor:.1f} ms "
        "above that floor.",
        "",
        f"**Overbooked slot cells: {overbooked}** (cells whose count exceeds the bays or "
        "differs from the active bookings holding them; must be 0).",
        f"Hot slot: {hot.statuses.get(201, 0)} × 201 for {HOT_BAYS} bays, "
        f"{hot.statuses.get(409, 0)} × 409.",
        "",
        "Reading the figures: a booking with a fresh principal and center in the instance's "
        "caches is one transaction — begin, one read of the slot cells, the holder and the "
        "vehicle (the vehicle lists its alerts, so none are queried), and a commit of the "
        "booking, the cells, the holder and the vehicle's center link: the same three "
        "emulator round trips as the bare read+write transaction, plus HTTP, authentication, "
        'validation and more documents to encode and write. "CPU per operation" is the CPU '
        "time the emulator, the function and this process's clients used during the "
        "scenario, divided by its requests. The hot slot is served one transaction at a time "
        "per instance (shared/locks.py), so its requests queue instead of aborting one "
        "another in the emulator. Each bench customer makes at most "
        f"{BOOKINGS_PER_CUSTOMER} bookings (the default active-booking limit); until "
        "2026-11-29 15:00 UTC one customer made all 20 of a client's, under a raised limit, "
        "so its holder and its vehicle's center grants grew to sizes production never "
        "reaches (the runs either side of the change, 14:57 and 15:01 UTC: 11.1 and "
        "10.1 ms of CPU per booking, against 5.3 and 4.3 ms per bare transaction).",
        "",
        "Where a booking's cost goes: bookings on different slots no longer wait for one "
        "another in an instance (they took the emulator's alerts query lock even when the "
        "vehicle lists its alerts and nothing is queried; now only a transaction that does "
        "query takes it), and their documents are written and read without the Firestore "
        "library's proto-plus wrappers and deep copies (shared/fast_writes.py, "
        "shared/fast_reads.py, compared with the library's own messages and dicts by "
        "tests/test_fast_writes.py and tests/test_fast_reads.py). What is left is the "
        "floor above (HTTP, authentication, validation and one transaction's three round "
        "trips) plus the booking's own documents: three read instead of one and four written "
        "instead of one, which is most of the emulator's extra CPU, and their decoding, the "
        "capacity and link rules and the response in the function. The emulator takes no "
        "index configuration (its launcher has no such flag; firestore.indexes.json is only "
        "deployed), so single-field index exemptions cannot be measured here. Which "
        "documents a booking writes is its behaviour (capacity, the active-booking limit, "
        "the center's access to the vehicle), so 1.5× the bare transaction is out of reach "
        "on this machine: the floor alone is within a few tenths of it.",
    ]
    body = "\n".join(lines)
    print(body)
    update_section("Bookings", body)


if __name__ == "__main__":
    raise SystemExit(main())
