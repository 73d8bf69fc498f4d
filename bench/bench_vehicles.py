"""Benchmark the vehicles function: telemetry ingest and health evaluation.

Run: ``.venv/bin/python bench/bench_vehicles.py`` (about a minute; 2 cores are enough).

It starts its own Firestore emulator and the vehicles function as a real functions-framework
server (scripts/stack.py), then measures:

* ingest throughput (readings/s) posting batches of 500 readings (one per 5 minutes) one
  after another, against a bare baseline in the same run: the same readings written straight
  to the emulator as batched writes of the same day documents (no HTTP, no validation, no
  transaction, no rollup); API and baseline alternate over ``ROUNDS`` rounds, each on fresh
  vehicles, and the medians are compared (the machine is shared: alternating spreads its
  load over both), after ``WARMUP_ROUNDS`` unmeasured rounds of both (the emulator is a JVM
  that compiles each path it serves over its first thousands of operations);
* Firestore operations per 1,000 readings, summed from the function's ``X-Firestore-Ops``
  response header (counted in the store code), plus the one user-document read per request
  that authentication costs;
* health computation time (GET /{id}/health, median of several) for a vehicle with 90 days
  of readings at one per 5 minutes (25,920 readings), against a bare read of the same 91 day
  documents (alternating), and against a bare read of what the evaluation reads (the older
  days projected to their rollup, the last 8 in full); plus the first evaluation of a
  vehicle whose day documents were stored before rollups existed (summarised and written
  back on the way).

Prints a markdown table and writes the "## Vehicles" section of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [
    str(ROOT),
    str(ROOT / "scripts"),
    str(ROOT / "bench"),
    str(ROOT / "functions" / "vehicles"),
]

SIGNING_KEY = "bench-signing-key-0123456789abcdef-not-for-production"
ENV = {
    "PMI_ENVIRONMENT": "test",
    "GOOGLE_CLOUD_PROJECT": "demo-pmi",
    "PMI_JWT_SECRET": SIGNING_KEY,
    "PMI_RATE_LIMIT_BACKEND": "memory",
    "PMI_RATE_LIMIT_PER_MINUTE": "100000",
    "PMI_RATE_LIMIT_BURST": "100000",
    "PMI_LOG_LEVEL": "WARNING",
}
os.environ.update(ENV)

import requests  # noqa: E402
from benchlib import (  # noqa: E402
    BENCHMARKS_DOC,
    bench_user,
    machine_line,
    process_group_cpu_seconds,
    update_section,
    vehicle_body,
)
from stack import Stack, free_port  # noqa: E402

BATCH = 500  # the API's maximum batch
INGEST_BATCHES = 16  # 8,000 readings (~28 days: inside the 30-day ingest horizon)
STEP = timedelta(minutes=5)  # one reading per 5 minutes, as the issue specifies
# A device sampling fast: day documents of up to 4,320 readings (the cap is 5,000), where
# reading a batch's day documents costs the most (vehicle.telemetry_tail: the fast path).
FAST_STEP = timedelta(seconds=20)
FAST_ROUNDS = 5
HEALTH_DAYS = 90
HEALTH_RUNS = 15
# Rounds of each are ~1 s here, and one round's ratio swings from ~0.35x to ~0.75x on this
# shared machine: 5 rounds gave run medians from 0.47x to 0.54x; more rounds, steadier.
ROUNDS = 11
# Unmeasured rounds of both the API and the baseline first: the emulator (a JVM) compiles
# the paths it serves as it goes, and without them the first round measured its warm-up
# (the API's batched reads and conditional commits more than the baseline's blind writes).
WARMUP_ROUNDS = 2
# Below this ratio a met goal is reported as met narrowly (run-to-run spread here).
NARROW_MARGIN = 0.6
COMMAND = ".venv/bin/python bench/bench_vehicles.py"


def reading_json(when: datetime, km: float, running: bool) -> dict[str, Any]:
    return {
        "timestamp": when.isoformat(),
        "odometer_km": round(km, 1),
        "battery_voltage": 14.1 if running else 12.6,
        "engine_running": running,
        "coolant_temp_c": 90.0 if running else 20.0,
        "dtc_codes": [],
    }


def synthetic(
    start: datetime, count: int, km0: float = 10_000.0, step: timedelta = STEP
) -> list[dict[str, Any]]:
    """A car driven 1 hour in every 4 (about 40 km a day at one reading per 5 minutes)."""
    readings = []
    km = km0
    per_hour = max(1, int(timedelta(hours=1) / step))
    for i in range(count):
        running = (i // per_hour) % 4 == 0
        if running:
            km += 0.8 * (step / STEP)  # the same speed at any sampling rate
        readings.append(reading_json(start + i * step, km, running))
    return readings


def create_vehicle(base: str, headers: dict[str, str], serial: int) -> str:
    body = vehicle_body(serial)
    response = requests.post(f"{base}/api/vehicles", json=body, headers=headers, timeout=30)
    response.raise_for_status()
    vehicle_id: str = response.json()["id"]
    return vehicle_id


def parse_ops(header: str) -> tuple[int, int]:
    found = dict(re.findall(r"(reads|writes)=(\d+)", header))
    return int(found.get("reads", 0)), int(found.get("writes", 0))


@dataclass
class IngestRounds:
    """Each API round's figures, with the baseline round made right after it."""

    api: list[dict[str, float]] = field(default_factory=list)
    raw_rates: list[float] = field(default_factory=list)
    raw_cpus: list[float] = field(default_factory=list)

    def ratios(self) -> tuple[list[float], list[float]]:
        """Per round: throughput and CPU efficiency against the paired baseline round."""
        return (
            [i["readings_per_s"] / r for i, r in zip(self.api, self.raw_rates, strict=True)],
            [r / i["cpu_ms_per_batch"] for i, r in zip(self.api, self.raw_cpus, strict=True)],
        )


def bench_ingest(
    base: str,
    headers: dict[str, str],
    vehicle_id: str,
    readings: list[dict[str, Any]],
    cpu: Callable[[], float],
) -> dict[str, float]:
    reads = writes = requests_made = 0
    session = requests.Session()
    cpu_before = cpu()
    started = time.perf_counter()
    for offset in range(0, len(readings), BATCH):
        response = session.post(
            f"{base}/api/vehicles/{vehicle_id}/telemetry",
            json={"readings": readings[offset : offset + BATCH]},
            headers=headers,
            timeout=60,
        )
        if response.status_code != 201:
            raise RuntimeError(f"ingest answered {response.status_code}: {response.text[:300]}")
        r, w = parse_ops(response.headers.get("X-Firestore-Ops", ""))
        reads, writes, requests_made = reads + r, writes + w, requests_made + 1
    elapsed = time.perf_counter() - started
    cpu_spent = cpu() - cpu_before
    per_k = 1000 / len(readings)
    return {
        "readings_per_s": len(readings) / elapsed,
        "cpu_ms_per_batch": 1000 * cpu_spent / requests_made,
        "reads_per_1000": reads * per_k,
        "writes_per_1000": writes * per_k,
        "auth_reads_per_1000": requests_made * per_k,
    }


def bench_raw_writes(
    client: Any, vehicle_id: str, readings: list[dict[str, Any]], cpu: Callable[[], float]
) -> tuple[float, float]:
    """Baseline: the same day documents written straight to the emulator, batch by batch.

    (readings per second, CPU ms per batch)"""
    from vehicle.codec import day_of, pack, reading_key
    from vehicle.telemetry_quality import Reading

    days_ref = client.collection("vehicles").document(vehicle_id).collection("telemetry_days")
    parsed = [Reading.model_validate(r) for r in readings]  # not timed: the API parses too,
    cpu_before = cpu()  # but the baseline is storage only
    started = time.perf_counter()
    for offset in range(0, len(parsed), BATCH):
        grouped: dict[str, dict[str, Any]] = {}
        for reading in parsed[offset : offset + BATCH]:
            grouped.setdefault(day_of(reading.timestamp), {})[reading_key(reading.timestamp)] = (
                pack(reading)
            )
        batch = client.batch()
        for day, entries in grouped.items():
            batch.set(days_ref.document(day), {"day": day, "readings": entries}, merge=True)
        batch.commit()
    rate = len(parsed) / (time.perf_counter() - started)
    return rate, 1000 * (cpu() - cpu_before) / -(-len(parsed) // BATCH)


def seed_days(
    client: Any,
    vehicle_id: str,
    readings: list[dict[str, Any]],
    now: datetime,
    *,
    with_rollups: bool = True,
) -> None:
    """Store readings directly in the function's format, rollups as evaluations leave them
    (on the days before the raw window; docs/vehicles.md, Per-day rollups), or none: day
    documents as stored before rollups existed."""
    from vehicle import rollups
    from vehicle.codec import day_of, pack, reading_key
    from vehicle.health import raw_window_start
    from vehicle.telemetry_quality import Reading

    first_raw_day = raw_window_start(now).date()

    days_ref = client.collection("vehicles").document(vehicle_id).collection("telemetry_days")
    grouped: dict[str, list[Reading]] = {}
    for raw in readings:
        reading = Reading.model_validate(raw)
        grouped.setdefault(day_of(reading.timestamp), []).append(reading)
    for day, day_readings in grouped.items():
        entries = {reading_key(r.timestamp): pack(r) for r in day_readings}
        document: dict[str, Any] = {"day": day, "readings": entries, "count": len(entries)}
        if with_rollups and date.fromisoformat(day) < first_raw_day:
            summary = rollups.summarize_day(
                date.fromisoformat(day), day_readings, [False] * len(day_readings)
            )
            document["rollup"] = rollups.encode(summary)
        days_ref.document(day).set(document)
    last = readings[-1]
    client.collection("vehicles").document(vehicle_id).update(
        {"odometer_km": last["odometer_km"], "mileage_km": last["odometer_km"]}
    )


def bare_read_of_what_health_reads(client: Any, vehicle_id: str, now: datetime) -> None:
    """The evaluation's two queries with nothing done with the result: older days projected
    to their rollup, the last days in full."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    from vehicle.health import HEALTH_WINDOW, raw_window_start

    days_ref = client.collection("vehicles").document(vehicle_id).collection("telemetry_days")
    first_raw = raw_window_start(now).date()
    older = (
        days_ref.where(filter=FieldFilter("day", ">=", (now - HEALTH_WINDOW).date().isoformat()))
        .where(filter=FieldFilter("day", "<", first_raw.isoformat()))
        .order_by("day")
        .select(["day", "rollup"])
    )
    recent = days_ref.where(filter=FieldFilter("day", ">=", first_raw.isoformat())).order_by("day")
    list(older.stream())
    list(recent.stream())


def bench_health(
    base: str, headers: dict[str, str], client: Any, vehicle_id: str, now: datetime
) -> dict[str, float]:
    session = requests.Session()
    api_times: list[float] = []
    raw_times: list[float] = []
    needed_times: list[float] = []
    considered = 0
    days_ref = client.collection("vehicles").document(vehicle_id).collection("telemetry_days")
    docs: list[Any] = []
    for _ in range(HEALTH_RUNS):
        started = time.perf_counter()
        response = session.get(
            f"{base}/api/vehicles/{vehicle_id}/health", headers=headers, timeout=60
        )
        api_times.append(time.perf_counter() - started)
        response.raise_for_status()
        considered = response.json()["readings_considered"]
        started = time.perf_counter()
        docs = list(days_ref.stream())
        raw_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        bare_read_of_what_health_reads(client, vehicle_id, now)
        needed_times.append(time.perf_counter() - started)
    return {
        "health_ms": statistics.median(api_times) * 1000,
        "raw_read_ms": statistics.median(raw_times) * 1000,
        "needed_read_ms": statistics.median(needed_times) * 1000,
        "readings": float(considered),
        "days": float(len(docs)),
    }


def bench_first_evaluation_of_old_data(
    base: str, headers: dict[str, str], vehicle_id: str
) -> tuple[float, str]:
    started = time.perf_counter()
    response = requests.get(f"{base}/api/vehicles/{vehicle_id}/health", headers=headers, timeout=60)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed * 1000, response.headers.get("X-Firestore-Ops", "")


def ingest_goal(ratio: float, cpu_ratio: float) -> str:
    """Met, met narrowly (see :func:`ingest_verdict`) or not met, for the goals line."""
    if ratio < 0.5:
        return "**not met**"
    if cpu_ratio < 0.5 or min(ratio, cpu_ratio) < NARROW_MARGIN:
        return "met narrowly (not in every run)"
    return "met"


def ingest_verdict(ratio: float, cpu_ratio: float) -> str:
    """The opening sentence of the ingest analysis, true to this run's figures."""
    if ratio >= 0.5 and cpu_ratio >= 0.5:
        met = (
            f"Ingest reaches its goal in this run ({ratio:.2f}x throughput, {cpu_ratio:.2f}x "
            "the baseline's CPU efficiency)"
        )
        if min(ratio, cpu_ratio) >= NARROW_MARGIN:
            return met + "."
        return (
            met + ", narrowly: single rounds on this shared machine range widely (above), "
            "and a run's median below 0.5x is possible."
        )
    if ratio >= 0.5:
        return (
            f"Ingest reaches its goal on throughput in this run ({ratio:.2f}x), but its CPU "
            f"efficiency, {cpu_ratio:.2f}x the baseline's, is below 0.5x: the goal is met "
            "only narrowly, and not in every run."
        )
    return (
        f"Ingest does not reach its goal in this run ({ratio:.2f}x throughput, "
        f"{cpu_ratio:.2f}x the baseline's CPU efficiency)."
    )


def main() -> None:
    log_dir = Path(tempfile.mkdtemp(prefix="bench-vehicles-"))
    stack = Stack(
        emulator_port=free_port(),
        gateway_port=free_port(),
        functions=("vehicles",),
        log_dir=log_dir,
        env={**ENV, "THREADS": "4"},
    )
    print("starting the emulator and the vehicles function ...", flush=True)
    stack.start(progress=lambda message: None)
    try:
        assert stack.emulator is not None
        os.environ["FIRESTORE_EMULATOR_HOST"] = stack.emulator.address
        from shared.firestore import get_client

        client = get_client()
        base = stack.function_url("vehicles")
        _, headers = bench_user(client)
        now = datetime.now(UTC).replace(microsecond=0)

        count = BATCH * INGEST_BATCHES
        readings = synthetic(now - count * STEP - timedelta(hours=1), count)
        # CPU of the processes an operation keeps busy: this one (client or baseline
        # writer), the emulator and the function, each in its own process group.
        assert stack.emulator.process is not None
        groups = (stack.emulator.process.pid, stack.processes["vehicles"].pid)

        def cpu() -> float:
            return time.process_time() + sum(map(process_group_cpu_seconds, groups))

        def ingest_rounds(
            readings: list[dict[str, Any]], rounds: int, first_serial: int, what: str
        ) -> IngestRounds:
            """API rounds, each paired with a baseline round right after it, each on fresh
            vehicles."""
            found = IngestRounds()
            for round_number in range(rounds):
                print(
                    f"{what} round {round_number + 1}/{rounds}: ingesting {len(readings)} "
                    f"readings in batches of {BATCH}, then the bare baseline ...",
                    flush=True,
                )
                serial = first_serial + 10 * round_number
                found.api.append(
                    bench_ingest(
                        base, headers, create_vehicle(base, headers, serial), readings, cpu
                    )
                )
                rate, raw_cpu = bench_raw_writes(
                    client, create_vehicle(base, headers, serial + 1), readings, cpu
                )
                found.raw_rates.append(rate)
                found.raw_cpus.append(raw_cpu)
            return found

        ingest_rounds(readings, WARMUP_ROUNDS, 899_001, "warm-up (not measured)")
        # Serials below 901_001: the health vehicles.
        main_rounds = ingest_rounds(readings, ROUNDS, 900_001, "ingest")
        fast_readings = synthetic(
            now - count * FAST_STEP - timedelta(hours=1), count, step=FAST_STEP
        )
        fast_rounds = ingest_rounds(fast_readings, FAST_ROUNDS, 902_001, "fast-sampling ingest")
        ingests, raw_rates, raw_cpus = main_rounds.api, main_rounds.raw_rates, main_rounds.raw_cpus
        ingest = {key: statistics.median(i[key] for i in ingests) for key in ingests[0]}
        raw_rate = statistics.median(raw_rates)

        print(f"health on {HEALTH_DAYS} days of readings ...", flush=True)
        per_day = int(timedelta(days=1) / STEP)
        health_vehicle = create_vehicle(base, headers, 901_001)
        history = synthetic(now - timedelta(days=HEALTH_DAYS) + STEP, HEALTH_DAYS * per_day)
        seed_days(client, health_vehicle, history, now)
        health = bench_health(base, headers, client, health_vehicle, now)
        old_vehicle = create_vehicle(base, headers, 901_002)
        seed_days(client, old_vehicle, history, now, with_rollups=False)
        first_old_ms, first_old_ops = bench_first_evaluation_of_old_data(base, headers, old_vehicle)
    finally:
        stack.stop()

    # Each round pairs an API run with a baseline run made right after it, under the same
    # load; the median of the rounds' ratios is the figure (a ratio of medians would pair
    # rounds made under different load).
    round_ratios, cpu_ratios = main_rounds.ratios()
    ratio = statistics.median(round_ratios)
    rounds_text = ", ".join(f"{r:.2f}x" for r in round_ratios)
    cpu_ratio = statistics.median(cpu_ratios)
    fast_ratios, fast_cpu_ratios = fast_rounds.ratios()
    fast_reads = statistics.median(i["reads_per_1000"] for i in fast_rounds.api)
    health_ratio = health["health_ms"] / health["raw_read_ms"]
    rows = [
        (
            f"Ingest throughput, batches of {BATCH} (API, end to end; median of {ROUNDS} rounds "
            f"after {WARMUP_ROUNDS} unmeasured)",
            f"{ingest['readings_per_s']:,.0f} readings/s",
            f"API at **{ratio:.2f}x** the baseline (median of the rounds: {rounds_text}; "
            "goal ≥ 0.5x)",
        ),
        (
            "Bare baseline: same day documents, batched writes to the emulator",
            f"{raw_rate:,.0f} readings/s",
            "",
        ),
        (
            f"CPU per batch of {BATCH}: API (client, function, emulator) / baseline "
            "(writer, emulator); median of the rounds",
            f"{ingest['cpu_ms_per_batch']:.0f} ms / {statistics.median(raw_cpus):.0f} ms",
            f"API at {cpu_ratio:.2f}x the baseline's CPU efficiency (rounds: "
            + ", ".join(f"{r:.2f}x" for r in cpu_ratios)
            + ")",
        ),
        (
            f"Ingest, a device sampling every {FAST_STEP.seconds} s (day documents of up to "
            f"{int(timedelta(days=1) / FAST_STEP):,} readings); median of {FAST_ROUNDS} rounds",
            f"{statistics.median(fast_ratios):.2f}x throughput, "
            f"{statistics.median(fast_cpu_ratios):.2f}x CPU efficiency",
            "rounds: "
            + ", ".join(
                f"{t:.2f}x / {c:.2f}x" for t, c in zip(fast_ratios, fast_cpu_ratios, strict=True)
            )
            + f"; {fast_reads:.1f} reads per 1,000 readings",
        ),
        (
            "Firestore reads per 1,000 readings (store code, incl. health refresh)",
            f"{ingest['reads_per_1000']:.1f}",
            f"+ {ingest['auth_reads_per_1000']:.0f} user-document reads (auth)",
        ),
        ("Firestore writes per 1,000 readings", f"{ingest['writes_per_1000']:.1f}", ""),
        (
            f"Health, {int(health['readings']):,} readings over {int(health['days'])} days "
            "(GET /health, median)",
            f"{health['health_ms']:,.0f} ms",
            f"health at **{health_ratio:.2f}x** the bare read (goal ≤ 1.5x)",
        ),
        (
            "Bare baseline: read the same day documents",
            f"{health['raw_read_ms']:,.0f} ms",
            "",
        ),
        (
            "Bare read of what the evaluation reads (older days' rollups, last 8 days in full)",
            f"{health['needed_read_ms']:,.0f} ms",
            f"health at {health['health_ms'] / health['needed_read_ms']:.2f}x this read",
        ),
        (
            "First evaluation of days stored before rollups (summarised, 30 written back)",
            f"{first_old_ms:,.0f} ms",
            f"`X-Firestore-Ops: {first_old_ops}`",
        ),
    ]
    table = "| measure | value | comparison |\n|---|---|---|\n" + "\n".join(
        f"| {a} | {b} | {c} |" for a, b, c in rows
    )
    goals = (
        f"Goals (issue: the hot path): health over 90 days ≤ 1.5x a bare read of the same "
        f"documents — {health_ratio:.2f}x, {'met' if health_ratio <= 1.5 else '**not met**'}; "
        f"telemetry ingest ≥ 0.5x raw batched writes — {ratio:.2f}x, "
        f"{ingest_goal(ratio, cpu_ratio)}."
    )
    print()
    print(table)
    body = (
        f"Measured {machine_line()} (Google's Firestore emulator, the vehicles function "
        "under functions-framework with THREADS=4). Command:\n\n"
        f"    {COMMAND}\n\n"
        f"{table}\n\n"
        f"{goals}\n\n"
        f"Ingest: {INGEST_BATCHES} sequential batches of {BATCH} readings one per 5 minutes "
        "(~1.7 days per batch, so each batch touches 2–3 day documents; ~28 days in all, "
        "inside the 30-day ingest horizon), on a fresh vehicle per round, alternating with the "
        f"baseline, after {WARMUP_ROUNDS} unmeasured round(s) of both: the emulator is a JVM that "
        "compiles each path it serves over its first thousands of operations, and without a "
        "warm-up the first measured round was mostly that (the API's batched reads and "
        "conditional commits warm up later than the baseline's blind writes: its first-round "
        "ratio was 0.17–0.37x in runs of 2026-11-29 whose later rounds gave 0.4–0.9x; the "
        "medians of 5 rounds without a warm-up were 0.40–0.62x). The first batch also runs a "
        "health evaluation (later ones are inside the "
        "10-minute refresh interval). A batch newer than everything stored (every batch here "
        "but a vehicle's first) reads the vehicle alone: its telemetry tail — the newest "
        "stored reading's key and that day's count — stands in for the day documents "
        "(docs/vehicles.md, the fast path); the first batch reads the vehicle, then its day "
        "documents and the newest one. Then one atomic commit of the new readings, the counts "
        "and the vehicle's baseline and tail, conditional on the documents as read "
        "(optimistic concurrency; a lost race is read and judged again); rollups are not "
        "recomputed at ingest (docs/vehicles.md, Per-day rollups). Operation counts come "
        "from the store code's `X-Firestore-Ops` header; by design a batch on the fast path "
        "costs 1 read and days + 1 writes. The fast-sampling row repeats the ingest with one "
        "reading every 20 s, where the day documents a batch would otherwise read hold "
        "thousands of readings. The baseline writes the same day documents through the "
        "client library's "
        "`set(..., merge=True)`, one batch per 500 readings; the function builds the "
        "byte-identical write protobuf itself (functions/vehicles/vehicle/day_writes.py), "
        "which saves it about 4 ms of CPU per batch (measured alone, best case) that the "
        "baseline still spends. CPU per batch is the CPU time of the processes the operation "
        "keeps busy (this process's client or baseline writer, the function, the emulator), "
        "which on a machine shared with other work is steadier than throughput. Times are "
        "noisy on 2 cores shared with other work: compare the ratios.\n\n"
        "Health: the evaluation decodes raw readings of the last 8 days only (~2,300, "
        "summarising them on the way) and reads the 83 older days as per-day rollups through "
        "a projection query (their readings are not transferred), so it costs about what a "
        "bare read of the 91 day documents costs. The seeded days carry rollups as "
        "evaluations leave them (the days before the raw window). Before rollups the same "
        "measure was 905 ms against a 206 ms bare read (4.4x, 2026-11-26). How much the "
        "projected read saves varies from run to run here (the emulator loads whole documents "
        "to project them); Firestore bills a projection as one read per document either "
        "way.\n\n"
        f"{ingest_verdict(ratio, cpu_ratio)} The throughput is bound by CPU on this 2-core "
        "machine, so the CPU ratio is the steadier figure. Where a steady batch's CPU goes "
        "(per process, measured apart from this run on the same machine, 2026-11-29 14:37 "
        "UTC, before the fast path: client 2.6–3.0 ms, function 12–14 ms, emulator 26–39 ms "
        "per batch, against the baseline's writer 8–10.5 ms and emulator 15–19 ms): the "
        "client about 6%, the function about a quarter (HTTP, JSON, the Firestore client's "
        "calls; validating the 500 readings, the quality checks and packing take ~1, ~1 and "
        "~0.6 ms of it when measured alone), the emulator the rest, 1.5–2x the baseline's "
        "emulator CPU (the conditional commit, the vehicle's read and write, the first "
        "batch's health evaluation, and, before the fast path, the day documents' read). "
        "The fast path (2026-11-29 16:03–16:15 UTC, A/B of the code before and after it, 5 runs "
        "each of this script, interleaved): reads per 1,000 readings 8.4 → 3.5; at one "
        "reading per 5 minutes, where a day document holds at most 288 readings, throughput "
        "0.50–0.52x before and 0.50–0.54x after, within the spread; at one reading per 20 s "
        "(4 runs each) 0.48–0.51x before and 0.53–0.57x after, CPU efficiency 0.49–0.51x "
        "before and 0.52–0.57x after: the larger the day documents, the more a read of them "
        "cost. Reading a day document's stored readings without decoding them "
        "(shared.fast_reads.read_raw) saves ~3.9 ms of the function's CPU for three full "
        "day documents off the fast path. A read mask naming the batch's keys was tried and "
        "dropped: with 500 field paths the emulator spent more CPU on the read (~9–18 ms "
        "against ~4–11 ms), not less. Earlier (2026-11-29; before: 0.34x throughput, 66 ms "
        "against 21 ms of CPU, 0.37x): the day-document merge built as a raw protobuf "
        "instead of through the library's proto-plus encoding (~4 ms per 500 readings alone, "
        "~12 ms under load); the read-write transaction replaced by one batched read and one "
        "conditional commit (no BeginTransaction round trip, no server-side locks: on the "
        "emulator alone ~15 ms of its CPU per batch against ~19 ms, blind writes ~12.5 ms); "
        "the unknown-field listing no longer reads a pydantic property 3,500 times per "
        "batch.\n"
    )
    update_section("Vehicles", body)
    print(f"\nwrote the Vehicles section of {BENCHMARKS_DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
