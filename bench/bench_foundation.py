"""Foundation benchmark: what the shared pipeline and the Firestore rate limit cost.

Measured in one run, against baselines from the same run:
- a bare functions-framework function (``bench/fixtures/hello``) — the floor;
- the shared pipeline on a public route with rate limiting off — the pipeline's own cost;
- the same route with the in-memory and the Firestore rate-limit backends — the limit's cost;
- cold start (spawn to first answer) of the bare function and of a PMI function.

Run: ``.venv/bin/python bench/bench_foundation.py`` (about a minute; writes the
"Foundation" section of docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "bench")]

from benchlib import LoadResult, machine_line, run_load, update_section  # noqa: E402
from emulator import FirestoreEmulator, stop_process_group  # noqa: E402
from stack import free_port, start_function, wait_http  # noqa: E402

HELLO = ROOT / "bench" / "fixtures" / "hello" / "main.py"
PROBE = ROOT / "tests" / "fixtures" / "probe_function" / "main.py"
MONITORING = ROOT / "functions" / "monitoring" / "main.py"
COMMAND = ".venv/bin/python bench/bench_foundation.py"


def start_server(
    source: Path, target: str, emulator: FirestoreEmulator, log_dir: Path, **env: str
) -> tuple[subprocess.Popen[bytes], str, float]:
    """Start one function server; return it, its URL and its cold start in seconds."""
    port = free_port()
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FIRESTORE_EMULATOR_HOST": emulator.address,
        "GOOGLE_CLOUD_PROJECT": emulator.project_id,
        "PMI_JWT_SECRET": "bench-signing-key-0123456789abcdef0123456789",
        "PMI_LOG_LEVEL": "WARNING",
        "PMI_RATE_LIMIT_PER_MINUTE": "100000",
        "PMI_RATE_LIMIT_BURST": "100000",
        # The load generator plays Google's front end: its X-Forwarded-For is the one hop.
        "PMI_TRUSTED_PROXY_HOPS": "1",
        "THREADS": "8",
        **env,
    }
    started = time.perf_counter()
    log = log_dir / f"{target}-{port}.log"
    process = start_function(target, source, port, environment, log)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/", 60, process)
    return process, url, time.perf_counter() - started


def load(name: str, url: str, clients: int, per_client: int) -> LoadResult:
    session = requests.Session()
    session.get(url, timeout=30)  # warm the connection pool and the instance

    def work(client: int, index: int) -> int:
        # A client IP per load client: every request takes a token from a real bucket.
        headers = {"X-Forwarded-For": f"198.51.100.{client + 1}"}
        return session.get(url, headers=headers, timeout=30).status_code

    return run_load(name, clients, per_client, work)


def bare_writes(emulator: FirestoreEmulator, clients: int, per_client: int) -> LoadResult:
    """The emulator's own floor: one document write per request, no HTTP at all."""
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.address
    from google.cloud import firestore

    client = firestore.Client(project=emulator.project_id)

    def work(number: int, index: int) -> int:
        client.collection("bench_writes").document(f"client-{number}").set(
            {"tokens": float(index), "updated": time.time()}
        )
        return 200

    return run_load("bare emulator document write (no HTTP)", clients, per_client, work)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=150, help="per client")
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-foundation-"))
    emulator = FirestoreEmulator(free_port(), log_path=log_dir / "emulator.log")
    emulator.start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        hello, hello_url, hello_cold = start_server(HELLO, "hello", emulator, log_dir)
        monitoring, monitoring_url, pmi_cold = start_server(
            MONITORING, "monitoring", emulator, log_dir
        )
        processes += [hello, monitoring]
        servers = {}
        for backend in ("off", "memory", "firestore"):
            process, url, _ = start_server(
                PROBE, "probe", emulator, log_dir, PMI_RATE_LIMIT_BACKEND=backend
            )
            processes.append(process)
            servers[backend] = url
        runs = [
            load("bare functions-framework (baseline)", hello_url, args.clients, args.requests),
            bare_writes(emulator, args.clients, args.requests),
            load(
                "PMI pipeline, health/live (no rate limit)",
                monitoring_url + "/health/live",
                args.clients,
                args.requests,
            ),
            load(
                "PMI pipeline, rate limit off",
                servers["off"] + "/items/1",
                args.clients,
                args.requests,
            ),
            load(
                "PMI pipeline, rate limit in memory",
                servers["memory"] + "/items/1",
                args.clients,
                args.requests,
            ),
            load(
                "PMI pipeline, rate limit in Firestore",
                servers["firestore"] + "/items/1",
                args.clients,
                args.requests,
            ),
        ]
    finally:
        for process in processes:
            stop_process_group(process)
        emulator.stop()

    failed = [run.name for run in runs if set(run.statuses) != {200}]
    if failed:
        print(f"requests failed in: {failed}; see {log_dir}", file=sys.stderr)
        return 1
    baseline = runs[0]
    rows = [
        "| scenario | requests | req/s | p50 ms | p95 ms | p99 ms | throughput vs bare |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        ratio = run.per_second / baseline.per_second if baseline.per_second else 0.0
        rows.append(
            f"| {run.name} | {run.count} | {run.per_second:,.0f} | {run.p(0.5):.1f} | "
            f"{run.p(0.95):.1f} | {run.p(0.99):.1f} | {ratio:.2f}× |"
        )
    writes, off, firestore = runs[1], runs[3], runs[5]
    limit_cost = firestore.p(0.5) - off.p(0.5)
    body = "\n".join(
        [
            f"Measured {machine_line()}, {args.clients} concurrent clients × {args.requests} "
            f"requests, client, servers and emulator on the same machine. Command: `{COMMAND}`",
            "",
            *rows,
            "",
            f"- Cold start (spawn to first answer): bare function {hello_cold:.2f} s, "
            f"PMI monitoring function {pmi_cold:.2f} s.",
            f"- The Firestore rate limit adds **{limit_cost:.1f} ms** at the median per request "
            f"(p50 {firestore.p(0.5):.1f} ms vs {off.p(0.5):.1f} ms with the limit off): one "
            "conditional write of the client's bucket document when this instance served the "
            "client last (a read and a write otherwise). The emulator itself sustains "
            f"{writes.per_second:,.0f} plain document writes/s from {args.clients} threads on "
            "this machine, so that write is what bounds the rate-limited throughput here. A "
            "client already refused is answered from the instance's memory until its bucket "
            "refills, so abuse costs no Firestore calls.",
            f"- Statuses: {', '.join(f'{r.name}: {dict(r.statuses)}' for r in runs)}",
        ]
    )
    print(body)
    update_section("Foundation", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
