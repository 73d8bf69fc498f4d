"""Hot-path benchmark: an authenticated GET of one object against one bare document read.

Measured in one run, on one Firestore emulator:

- throughput and latency (wrk, 8 connections, one customer's token) of ``GET /{vehicle_id}``
  on the vehicles function's own URL, for each rate-limit backend (``local-first``, the
  default; ``firestore``, exact, the former default; ``off``) with and without the principal
  cache, against the floor: a bare functions-framework function reading one document of the
  same size (``bench/fixtures/floor``);
- cold start of each function, process start to its first authenticated 200 (monitoring has
  no authenticated route: its first ``/health/ready`` 200, which checks Firestore), against
  the floor's process start to its first 200, interleaved over several rounds;
- Firestore operations per request for each configuration, counted in process at the
  client library's RPC layer, for 1,000 requests of one busy client.

Run: ``.venv/bin/python bench/bench_hot_path.py`` (about 12 minutes; writes the "Hot path"
section of docs/benchmarks.md). ``--quick`` runs shorter loads and fewer cold starts;
``--skip-other-paths`` leaves out today's figures of the other hot paths
(vehicle health, telemetry ingest, bookings), which come from bench_vehicles.py and
bench_bookings.py run into a scratch file. ``--only cold-start`` measures only the cold starts
and the import costs (a few minutes) and prints their tables without touching the docs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "bench")]

from benchlib import (  # noqa: E402
    bench_user,
    machine_line,
    run_for,
    tree_cpu_seconds,
    update_section,
    vehicle_body,
)
from emulator import FirestoreEmulator, stop_process_group  # noqa: E402
from stack import free_port, start_function  # noqa: E402

FLOOR = ROOT / "bench" / "fixtures" / "floor" / "main.py"
COMMAND = ".venv/bin/python bench/bench_hot_path.py"
SIGNING_KEY = "bench-signing-key-0123456789abcdef0123456789"
PROJECT = "demo-pmi"
# Limits high enough that the busy client is never refused: the figures are the limiter's
# cost, not its refusals.
BENCH_ENV = {
    "PMI_JWT_SECRET": SIGNING_KEY,
    "PMI_LOG_LEVEL": "WARNING",
    "PMI_RATE_LIMIT_PER_MINUTE": "100000",
    "PMI_RATE_LIMIT_BURST": "100000",
    "GOOGLE_CLOUD_PROJECT": PROJECT,
    "THREADS": "8",
}
os.environ.update(BENCH_ENV)

GOALS = {
    "throughput": 0.7,  # × the floor's req/s, at least
    "p99": 1.5,  # × the floor's p99, at most
    "p95_ms": 200.0,  # at 8 connections, below
    "cold": 1.25,  # × the floor's cold start, at most
    "writes": 20.0,  # Firestore writes per 1,000 requests of one busy client, at most
}


@dataclass(frozen=True)
class Config:
    """One way of running the vehicles function."""

    label: str
    limiter: str  # PMI_RATE_LIMIT_BACKEND
    cache_seconds: float  # PMI_PRINCIPAL_CACHE_SECONDS

    @property
    def env(self) -> dict[str, str]:
        return {
            "PMI_RATE_LIMIT_BACKEND": self.limiter,
            "PMI_PRINCIPAL_CACHE_SECONDS": str(self.cache_seconds),
        }


CONFIGS = (
    Config("PMI default: local-first limit, principal cache 5 s", "local-first", 5.0),
    Config("local-first limit, no principal cache", "local-first", 0.0),
    Config("Firestore limit (exact), principal cache 5 s", "firestore", 5.0),
    Config("Firestore limit, no principal cache (the former default)", "firestore", 0.0),
    Config("rate limit off, principal cache 5 s", "off", 5.0),
    Config("rate limit off, no principal cache", "off", 0.0),
)


# --- processes ------------------------------------------------------------------------------


def server_env(emulator: FirestoreEmulator, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FIRESTORE_EMULATOR_HOST": emulator.address,
        **BENCH_ENV,
        **(extra or {}),
    }


def spawn(
    source: Path, target: str, emulator: FirestoreEmulator, log_dir: Path, **env: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = log_dir / f"{target}-{port}.log"
    process = start_function(target, source, port, server_env(emulator, env), log)
    return process, f"http://127.0.0.1:{port}"


def first_ok(
    url: str, headers: dict[str, str], process: subprocess.Popen[bytes], timeout: float = 60
) -> float:
    """Poll ``url`` every 5 ms until it answers 200; return the monotonic time it did."""
    request = urllib.request.Request(url, headers=headers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                if response.status == 200:
                    return time.monotonic()
        except urllib.error.HTTPError as exc:
            if exc.code not in (404, 503):
                raise RuntimeError(f"{url} answered {exc.code}: {exc.read()[:300]!r}") from None
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{url} gave no 200 within {timeout:.0f} s")


@contextmanager
def serving(
    source: Path,
    target: str,
    emulator: FirestoreEmulator,
    log_dir: Path,
    probe: str,
    headers: dict[str, str],
    **env: str,
) -> Iterator[str]:
    process, base = spawn(source, target, emulator, log_dir, **env)
    try:
        first_ok(base + probe, headers, process)
        yield base
    finally:
        stop_process_group(process)


# --- the world: one customer, one vehicle, one floor document -------------------------------


@dataclass
class World:
    headers: dict[str, str]
    vehicle_id: str
    center_headers: dict[str, str] = field(default_factory=dict)


def seed(emulator: FirestoreEmulator, log_dir: Path) -> World:
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.address
    from shared.firestore import get_client

    db = get_client()
    _, headers = bench_user(db, full_name="Bench Customer", password_hash="!")
    sys.path.insert(0, str(ROOT / "functions" / "vehicles"))
    body = vehicle_body(4352)
    vehicles = ROOT / "functions" / "vehicles" / "main.py"
    with serving(vehicles, "vehicles", emulator, log_dir, "/health", {}) as base:
        request = urllib.request.Request(
            base + "/",
            data=json.dumps(body).encode(),
            headers={**headers, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            vehicle_id = str(json.loads(response.read())["id"])
    # The floor reads a document of the same size as the vehicle.
    stored = db.collection("vehicles").document(vehicle_id).get().to_dict() or {}
    db.collection("bench_floor").document("doc").set(stored)
    return World(headers=headers, vehicle_id=vehicle_id)


# --- cold start -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ColdTarget:
    name: str
    source: Path
    target: str
    path: Callable[[World], str]
    authenticated: bool = True


COLD_TARGETS = (
    ColdTarget("floor (bare function + 1 read)", FLOOR, "floor", lambda w: "/doc", False),
    ColdTarget("auth: GET /me", ROOT / "functions/auth/main.py", "auth", lambda w: "/me"),
    ColdTarget(
        "vehicles: GET /{id}",
        ROOT / "functions/vehicles/main.py",
        "vehicles",
        lambda w: f"/{w.vehicle_id}",
    ),
    ColdTarget(
        "bookings: GET / (own list)", ROOT / "functions/bookings/main.py", "bookings", lambda w: "/"
    ),
    ColdTarget(
        "monitoring: GET /health/ready (public)",
        ROOT / "functions/monitoring/main.py",
        "monitoring",
        lambda w: "/health/ready",
        False,
    ),
)


@dataclass
class ColdStart:
    wall: list[float] = field(default_factory=list)  # seconds, process start to first 200
    cpu: list[float] = field(default_factory=list)  # CPU seconds the server used until then


def cold_starts(
    emulator: FirestoreEmulator, log_dir: Path, world: World, rounds: int
) -> dict[str, ColdStart]:
    """Process start to first 200, each target once per round, rounds interleaved."""
    found = {t.name: ColdStart() for t in COLD_TARGETS}
    for _ in range(rounds):
        for target in COLD_TARGETS:
            headers = world.headers if target.authenticated else {}
            started = time.monotonic()
            process, base = spawn(target.source, target.target, emulator, log_dir)
            try:
                answered = first_ok(base + target.path(world), headers, process)
                cpu = tree_cpu_seconds(process.pid)
            finally:
                stop_process_group(process)
            found[target.name].wall.append(answered - started)
            found[target.name].cpu.append(cpu)
    return found


IMPORT_STEPS = """
import sys, time
import functions_framework
from google.cloud import firestore  # what the floor imports too
steps = []
# pydantic first, alone, when the function's cold start imports it at all (argv[1] == "1")
for label, names in (
    ("pydantic", ("pydantic.main",) if sys.argv[1] == "1" else ()),
    ("shared", ("shared.http", "shared.pagination", "shared.startup")),
    ("function", ("main",)),
):
    started = time.process_time()
    for name in names:
        __import__(name)
    steps.append(time.process_time() - started)
print(*steps, int("pydantic.main" in sys.modules))
"""


def import_costs(
    emulator: FirestoreEmulator, repeats: int = 5
) -> dict[str, tuple[list[float], bool]]:
    """CPU milliseconds each function's imports add on top of the floor's (the least of runs),
    and whether its cold start imports pydantic at all (request and response models are
    imported on a route's first use, shared/model_refs.py)."""
    costs: dict[str, tuple[list[float], bool]] = {}
    for target in COLD_TARGETS[1:]:
        _, uses_pydantic = _import_run(emulator, target, preload=False)
        runs = [_import_run(emulator, target, uses_pydantic)[0] for _ in range(repeats)]
        costs[target.target] = ([min(r[i] for r in runs) for i in range(3)], uses_pydantic)
    return costs


def _import_run(
    emulator: FirestoreEmulator, target: ColdTarget, preload: bool
) -> tuple[list[float], bool]:
    """One fresh interpreter's import steps: CPU ms each, and whether pydantic got loaded."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_STEPS, "1" if preload else "0"],
        cwd=target.source.parent,
        env={**server_env(emulator), "PYTHONPATH": f"{ROOT}:{target.source.parent}"},
        capture_output=True,
        text=True,
        check=True,
    )
    *values, loaded = done.stdout.split()
    return [float(x) * 1000 for x in values], loaded == "1"


def byte_compile() -> None:
    """Compile the sources once, as a deploy bundle ships them (scripts/build_bundles.py).

    Without it every server start here would compile every module again (this machine
    sets PYTHONDONTWRITEBYTECODE), which a deployed function does not do.
    """
    import compileall

    for folder in ("shared", "functions", "bench/fixtures"):
        compileall.compile_dir(ROOT / folder, quiet=1)


# --- load -----------------------------------------------------------------------------------

WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,"p50":%d,"p95":%d,"p99":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


@dataclass
class Load:
    """One load run: requests per second and latency percentiles in milliseconds."""

    rps: float
    p50: float
    p95: float
    p99: float
    failures: int


def ensure_wrk() -> str | None:
    """wrk if installed (or installable with apt-get as root), else None."""
    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("==> installing wrk with apt-get", flush=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            capture_output=True,
            check=False,
        )
        found = shutil.which("wrk")
    return found


def wrk_load(
    wrk: str, url: str, headers: dict[str, str], seconds: float, connections: int, script: Path
) -> Load:
    argv = [
        wrk,
        "-t2",
        f"-c{connections}",
        f"-d{seconds:.0f}s",
        "-s",
        str(script),
        "--timeout",
        "10s",
    ]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    output = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    report = json.loads(output.strip().splitlines()[-1])
    return Load(
        rps=report["requests"] / (report["duration_us"] / 1e6),
        p50=report["p50"] / 1000,
        p95=report["p95"] / 1000,
        p99=report["p99"] / 1000,
        failures=report["errors"] + report["non2xx"],
    )


def python_load(url: str, headers: dict[str, str], seconds: float, connections: int) -> Load:
    import requests

    local = threading.local()

    def work(client: int, index: int) -> int:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return int(local.session.get(url, headers=headers, timeout=30).status_code)

    result = run_for("load", connections, seconds, work)
    return Load(
        rps=result.per_second,
        p50=result.p(0.50),
        p95=result.p(0.95),
        p99=result.p(0.99),
        failures=sum(n for status, n in result.statuses.items() if status != 200),
    )


def combine(runs: list[Load]) -> Load:
    """Rounds together: mean throughput, median of each percentile (robust to one bad round)."""
    return Load(
        rps=statistics.fmean(r.rps for r in runs),
        p50=statistics.median(r.p50 for r in runs),
        p95=statistics.median(r.p95 for r in runs),
        p99=statistics.median(r.p99 for r in runs),
        failures=sum(r.failures for r in runs),
    )


# --- Firestore operations per request (in a child process, at the RPC layer) ----------------


def count_operations_child(
    config: Config, vehicle_id: str, token: str, requests_total: int
) -> None:
    """Serve ``requests_total`` GETs in process and print the Firestore operations they cost."""
    import functions_framework
    from google.cloud.firestore_v1.services.firestore.client import FirestoreClient

    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def add(kind: str, amount: int) -> None:
        with lock:
            counts[kind] += amount

    def streamed(name: str, documents: Callable[[Any], bool]) -> None:
        real = getattr(FirestoreClient, name)

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            found = 0
            try:
                for response in real(self, *args, **kwargs):
                    if documents(response):
                        found += 1
                        add("reads", 1)
                    yield response  # a single get stops after its document: count as we go
            finally:
                if found == 0:
                    add("reads", 1)  # a query or get that finds nothing still bills one read

        setattr(FirestoreClient, name, wrapper)

    streamed("batch_get_documents", lambda r: bool(r._pb.HasField("found")))
    streamed("run_query", lambda r: bool(r._pb.HasField("document")))
    real_commit = FirestoreClient.commit

    def commit(self: Any, *args: Any, **kwargs: Any) -> Any:
        request = kwargs.get("request") or (args[0] if args else None)
        if request is None:
            return real_commit(self, *args, **kwargs)
        writes = request.get("writes", []) if isinstance(request, dict) else request.writes
        response = real_commit(self, *args, **kwargs)
        add("writes", len(writes))  # only commits that succeeded are billed
        return response

    FirestoreClient.commit = commit  # type: ignore[method-assign]

    app = functions_framework.create_app(  # type: ignore[no-untyped-call]
        target="vehicles", source=str(ROOT / "functions" / "vehicles" / "main.py")
    )
    headers = {"Authorization": f"Bearer {token}"}
    per_thread = requests_total // 8
    statuses: Counter[int] = Counter()

    def client() -> None:
        test_client = app.test_client()
        for _ in range(per_thread):
            status = test_client.get(f"/{vehicle_id}", headers=headers).status_code
            with lock:
                statuses[status] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    # The reconcile thread publishes on its timer; let it, then publish the remainder.
    limiter = sys.modules["main"].app.rate_limiter
    backend = getattr(limiter, "backend", None)
    if backend is not None and hasattr(backend, "sync"):
        backend.sync(full=True)
    print(json.dumps({"counts": dict(counts), "statuses": dict(statuses), "seconds": seconds}))


def count_operations(
    emulator: FirestoreEmulator, config: Config, world: World, requests_total: int
) -> dict[str, Any]:
    token = world.headers["Authorization"].split(" ", 1)[1]
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--count-ops",
        json.dumps(
            {
                "label": config.label,
                "limiter": config.limiter,
                "cache": config.cache_seconds,
                "vehicle": world.vehicle_id,
                "token": token,
                "requests": requests_total,
            }
        ),
    ]
    done = subprocess.run(
        argv, env=server_env(emulator, config.env), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"operation count failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- the other hot paths, against their own baselines ----------------------------------------

BASELINES = (
    # (script, what, pattern of the ratio in its section, goal: "≤ x×" or "≥ x×"); the
    # sections set their headline ratios in bold, and ingest also has a CPU ratio: the
    # patterns take the headline one.
    (
        "bench_vehicles.py",
        "vehicle health over 90 days vs a bare read of the same documents",
        r"health at \**([\d.]+)x\** the bare read",
        "≤ 1.5×",
    ),
    (
        "bench_vehicles.py",
        "telemetry ingest vs raw batched writes (throughput)",
        r"API at \**([\d.]+)x\** the baseline \(",
        "≥ 0.5×",
    ),
    (
        "bench_bookings.py",
        "booking on distinct slots vs one bare transaction (time)",
        r"\| POST /bookings, distinct slots \|[^\n]*?\| ([\d.]+)× \|",
        "≤ 1.5×",
    ),
)


def goal_met(ratio: float, goal: str) -> bool:
    """Whether ``ratio`` meets a goal written as ``"≤ 1.5×"`` or ``"≥ 0.5×"``."""
    bound = float(goal[1:].strip().rstrip("×"))
    return ratio <= bound if goal.startswith("≤") else ratio >= bound


# A goal met by less than this share of its bound is reported as met narrowly: one run's
# ratio on this shared 2-core machine moves by more than that from run to run.
NARROW_MARGIN = 0.10


def goal_verdict(ratio: float, goal: str) -> str:
    """The verdict on a ratio against its goal: yes, yes narrowly, or no (in bold)."""
    if not goal_met(ratio, goal):
        return "**no**"
    bound = float(goal[1:].strip().rstrip("×"))
    return "yes, narrowly" if abs(ratio - bound) < NARROW_MARGIN * bound else "yes"


def other_hot_paths(log_dir: Path) -> list[tuple[str, str, str, str]]:
    """Run the vehicles and bookings benchmarks into a scratch file; quote their ratios."""
    import re

    scratch = log_dir / "baselines.md"
    for script in sorted({entry[0] for entry in BASELINES}):
        print(f"==> {script} (its figures only; its own section is left as it is)", flush=True)
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / script)],
            env={**os.environ, "BENCH_DOC": str(scratch)},
            stdout=subprocess.DEVNULL,
            check=True,
        )
    text = scratch.read_text()
    rows = []
    for script, what, pattern, goal in BASELINES:
        found = re.search(pattern, text)
        if found:
            met = goal_verdict(float(found.group(1)), goal)
            rows.append((what, f"{found.group(1)}×", f"{goal} | {met}", script))
        else:
            rows.append((what, "not found", f"{goal} | –", script))
    return rows


# --- the run --------------------------------------------------------------------------------


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}×"


def worst_cold_ratios(cold: dict[str, ColdStart]) -> tuple[float, float, float]:
    """The slowest function's cold start against the floor's: median, fastest round, CPU."""
    floor = cold[COLD_TARGETS[0].name]
    functions = [cold[t.name] for t in COLD_TARGETS[1:]]
    return (
        max(statistics.median(f.wall) / statistics.median(floor.wall) for f in functions),
        max(min(f.wall) / min(floor.wall) for f in functions),
        max(statistics.median(f.cpu) / statistics.median(floor.cpu) for f in functions),
    )


def cold_start_lines(
    args: argparse.Namespace,
    cold: dict[str, ColdStart],
    imports: dict[str, tuple[list[float], bool]],
) -> list[str]:
    """The cold-start table and the import-cost table beneath it."""
    lines: list[str] = []
    floor_values = cold[COLD_TARGETS[0].name]
    floor_cold, floor_best = statistics.median(floor_values.wall), min(floor_values.wall)
    floor_cpu = statistics.median(floor_values.cpu)
    lines += [
        "Cold start, process start to the first 200 (authenticated where the function has an "
        "authenticated route), default settings, sources byte-compiled as in a deploy bundle, "
        f"{args.cold_rounds} interleaved rounds. On a machine shared with other work the wall "
        "times swing with its load; the fastest round and the CPU time the server process and "
        "its gunicorn worker used until then are the steadier measures:",
        "",
        "| function | median s | fastest s | slowest s | median vs floor | fastest vs floor "
        "| CPU s (median) | CPU vs floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for target in COLD_TARGETS:
        values = cold[target.name]
        median, cpu = statistics.median(values.wall), statistics.median(values.cpu)
        lines.append(
            f"| {target.name} | {median:.2f} | {min(values.wall):.2f} | {max(values.wall):.2f} "
            f"| {fmt_ratio(median / floor_cold)} | {fmt_ratio(min(values.wall) / floor_best)} "
            f"| {cpu:.2f} | {fmt_ratio(cpu / floor_cpu)} |"
        )

    lines += [
        "",
        "Where a function's cold start goes beyond the floor's: CPU milliseconds its imports "
        "add on top of the floor's own (functions-framework and the Firestore client), the "
        "least of 5 runs; pydantic is counted apart where the function's start imports it at "
        "all (– where it does not: its models load on a route's first use):",
        "",
        "| function | pydantic | shared pipeline | the function's modules | total |",
        "|---|---|---|---|---|",
    ]
    for name, ((pydantic_ms, shared_ms, own_ms), uses_pydantic) in imports.items():
        pydantic = f"{pydantic_ms:.0f}" if uses_pydantic else "–"
        lines.append(
            f"| {name} | {pydantic} | {shared_ms:.0f} | {own_ms:.0f} "
            f"| {pydantic_ms + shared_ms + own_ms:.0f} |"
        )

    return lines


def report(
    args: argparse.Namespace,
    loader: str,
    floor: Load,
    loads: dict[str, Load],
    cold: dict[str, ColdStart],
    ops: dict[str, dict[str, Any]],
    floor_ops: dict[str, Any] | None,
    baselines: list[tuple[str, str, str, str]],
    imports: dict[str, tuple[list[float], bool]],
) -> str:
    lines = [
        f"Measured {machine_line()}, client, servers and Firestore emulator on the same machine "
        f"(load average {os.getloadavg()[0]:.1f} at the end). Command:",
        "",
        "    " + " ".join([COMMAND, *(a for a in sys.argv[1:] if a != "--no-doc")]),
        "",
        f"`GET /{{vehicle_id}}` on the vehicles function's own URL with one customer's token, "
        f"{loader}, {args.connections} connections, {args.seconds:.0f} s per run, "
        f"{args.rounds} interleaved round(s) (req/s: their mean; latencies: their median), "
        "functions-framework with "
        "THREADS=8, limits high enough that nothing is refused. The floor is a bare "
        "functions-framework function reading one document of the same size "
        "(`bench/fixtures/floor`). Firestore operations are counted in process at the client "
        f"library's RPC layer over {args.ops_requests} requests of the same client from 8 threads "
        "(reads include the reconcile passes' queries; writes only successful commits).",
        "",
        "| configuration | req/s | p50 ms | p95 ms | p99 ms | req/s vs floor | p99 vs floor "
        "| reads/request | writes/1,000 requests |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def row(label: str, load: Load, counted: dict[str, Any] | None) -> str:
        if counted:
            total = sum(counted["statuses"].values()) or 1
            reads = f"{counted['counts'].get('reads', 0) / total:.2f}"
            writes = f"{1000 * counted['counts'].get('writes', 0) / total:.1f}"
        else:
            reads = writes = "–"
        return (
            f"| {label} | {load.rps:.0f} | {load.p50:.1f} | {load.p95:.1f} | {load.p99:.1f} "
            f"| {fmt_ratio(load.rps / floor.rps)} | {fmt_ratio(load.p99 / floor.p99)} "
            f"| {reads} | {writes} |"
        )

    lines.append(row("floor: bare function + 1 document read", floor, floor_ops))
    for config in CONFIGS:
        lines.append(row(config.label, loads[config.label], ops.get(config.label)))
    failures = {label: load.failures for label, load in loads.items() if load.failures}
    if failures or floor.failures:
        lines += ["", f"Failed or non-200 responses: floor {floor.failures}, {failures}."]

    lines += ["", *cold_start_lines(args, cold, imports)]

    default = loads[CONFIGS[0].label]
    default_ops = ops.get(CONFIGS[0].label)
    worst_median, worst_best, worst_cpu = worst_cold_ratios(cold)
    writes = (
        1000
        * default_ops["counts"].get("writes", 0)
        / max(1, sum(default_ops["statuses"].values()))
        if default_ops
        else float("nan")
    )
    goals = [
        (
            "authenticated GET throughput",
            f"≥ {GOALS['throughput']}× floor",
            fmt_ratio(default.rps / floor.rps),
            default.rps / floor.rps >= GOALS["throughput"],
        ),
        (
            "authenticated GET p99",
            f"≤ {GOALS['p99']}× floor",
            fmt_ratio(default.p99 / floor.p99),
            default.p99 / floor.p99 <= GOALS["p99"],
        ),
        (
            "p95 at 8 connections",
            f"< {GOALS['p95_ms']:.0f} ms",
            f"{default.p95:.1f} ms",
            default.p95 < GOALS["p95_ms"],
        ),
        (
            "cold start, slowest function (median / fastest round / CPU)",
            f"≤ {GOALS['cold']}× floor",
            f"{fmt_ratio(worst_median)} / {fmt_ratio(worst_best)} / {fmt_ratio(worst_cpu)}",
            max(worst_median, worst_best, worst_cpu) <= GOALS["cold"],
        ),
        (
            "Firestore writes, 1,000 requests of one busy client",
            f"≤ {GOALS['writes']:.0f}",
            f"{writes:.1f}",
            writes <= GOALS["writes"],
        ),
    ]
    lines += [
        "",
        "The hot path's goals, for the default configuration:",
        "",
        "| goal | target | measured | met |",
        "|---|---|---|---|",
    ]
    for goal_name, bound, measured, met in goals:
        lines.append(f"| {goal_name} | {bound} | {measured} | {'yes' if met else '**no**'} |")
    former = loads[CONFIGS[3].label]
    uncached_ops = ops.get(CONFIGS[1].label)
    if default_ops and uncached_ops:
        per_request = {
            name: result["counts"].get("reads", 0) / max(1, sum(result["statuses"].values()))
            for name, result in (("cached", default_ops), ("uncached", uncached_ops))
        }
        mean_imports = statistics.fmean(sum(v) for v, _ in imports.values())
        lines += [
            "",
            "Reading the figures: the principal cache takes the user-document read off the "
            f"request ({per_request['cached']:.2f} reads per request with it, "
            f"{per_request['uncached']:.2f} without: the vehicle's own read is what remains); "
            f"the local-first limiter takes the bucket write off ({writes:.1f} writes per "
            "1,000 requests, one shard write per reconcile interval, against 1,000 with the "
            "Firestore limiter, whose retries on one hot bucket also cost reads). Together "
            f"they move the authenticated GET from {fmt_ratio(former.rps / floor.rps)} of the "
            f"floor's throughput (the former default) to {fmt_ratio(default.rps / floor.rps)}. "
            "Every configuration verifies a token's signature and claims once per instance "
            "(shared/auth/tokens.py; expiry is still judged on every request): ~43 µs of CPU "
            "per request before, ~0.7 µs after (the same measure gave 0.71× for the "
            "default before it, 0.79–0.83× in the runs since, on a machine that was busier "
            "before). "
            + (
                "Cold start meets its goal in this run. "
                if max(worst_median, worst_best, worst_cpu) <= GOALS["cold"]
                else "Cold start does not meet its goal. "
            )
            + f"What a function imports beyond the floor costs {mean_imports:.0f} ms of CPU "
            "on average. Neither the request pipeline nor the settings import pydantic, and "
            "routes name their request and response models by reference "
            "(shared/model_refs.py): a cold start whose first request validates no body or "
            "query (the probes, GET /me, GET /{id}) loads neither pydantic nor the function's "
            "models; the first request that does pays that import then (about 60 ms of CPU "
            "here). The bookings function's first request in this measure, its own list, "
            "validates a query model, so its cold start still includes pydantic. Request "
            "models build their validators on first use, werkzeug compiles URL builders only "
            "if a URL is built (shared/url_rules.py), the vehicles function loads its health "
            "evaluation on first use.",
        ]
    if baselines:
        lines += [
            "",
            "The other hot paths, against their own bare baselines, from the same scripts "
            "as their own sections, run in this run (their sections say why a goal is not "
            f"met; a goal met by less than {NARROW_MARGIN:.0%} of its bound is marked "
            "narrowly, as one run's ratio here moves by more than that from run to run):",
            "",
            "| hot path | measured | goal | met | from |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {what} | {value} | {goal} | `bench/{src}` |" for what, value, goal, src in baselines
        ]
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--count-ops":
        spec = json.loads(sys.argv[2])
        config = Config(spec["label"], spec["limiter"], float(spec["cache"]))
        count_operations_child(config, spec["vehicle"], spec["token"], int(spec["requests"]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per load run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved load rounds")
    parser.add_argument("--cold-rounds", type=int, default=7)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--ops-requests", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="4 s runs, 1 round, 3 cold starts")
    parser.add_argument("--no-doc", action="store_true", help="print only")
    parser.add_argument(
        "--skip-other-paths",
        action="store_true",
        help="do not run bench_vehicles.py and bench_bookings.py for the other hot paths",
    )
    parser.add_argument(
        "--only",
        choices=("cold-start",),
        help="run only this part and print its tables and goal (docs/benchmarks.md untouched)",
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.cold_rounds = 4.0, 1, 3
    log_dir = Path(tempfile.mkdtemp(prefix="bench-hot-path-"))
    emulator = FirestoreEmulator(free_port(), project_id=PROJECT, log_path=log_dir / "emulator.log")
    print(f"==> Firestore emulator (logs in {log_dir})", flush=True)
    emulator.start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        byte_compile()
        world = seed(emulator, log_dir)
        print(f"==> cold starts: {args.cold_rounds} rounds × {len(COLD_TARGETS)}", flush=True)
        cold = cold_starts(emulator, log_dir, world, args.cold_rounds)
        for name, values in cold.items():
            print(
                f"    {name}: median {statistics.median(values.wall):.2f} s, "
                f"CPU {statistics.median(values.cpu):.2f} s",
                flush=True,
            )
        imports = import_costs(emulator)
        print(f"    import CPU ms (pydantic, shared, function): {imports}", flush=True)
        if args.only == "cold-start":
            print()
            print("\n".join(cold_start_lines(args, cold, imports)))
            worst = worst_cold_ratios(cold)
            met = "met" if max(worst) <= GOALS["cold"] else "not met"
            print(
                "\ncold start, slowest function (median / fastest round / CPU): "
                + " / ".join(fmt_ratio(ratio) for ratio in worst)
                + f" (goal ≤ {GOALS['cold']}× floor: {met})"
            )
            return 0

        wrk = ensure_wrk()
        loader = "wrk" if wrk else "Python threads (wrk not found)"
        servers: dict[str, str] = {}
        floor_process, servers["floor"] = spawn(FLOOR, "floor", emulator, log_dir)
        processes.append(floor_process)
        first_ok(servers["floor"] + "/doc", {}, floor_process)
        vehicles = ROOT / "functions" / "vehicles" / "main.py"
        for config in CONFIGS:
            process, base = spawn(vehicles, "vehicles", emulator, log_dir, **config.env)
            processes.append(process)
            first_ok(f"{base}/{world.vehicle_id}", world.headers, process)
            servers[config.label] = base
        script = log_dir / "report.lua"
        script.write_text(WRK_REPORT)
        targets: list[tuple[str, str, dict[str, str]]] = [
            ("floor", servers["floor"] + "/doc", {})
        ] + [(c.label, f"{servers[c.label]}/{world.vehicle_id}", world.headers) for c in CONFIGS]
        runs: dict[str, list[Load]] = {label: [] for label, _, _ in targets}
        for round_number in range(args.rounds):
            for label, url, headers in targets:
                if wrk:
                    wrk_load(wrk, url, headers, 1, args.connections, script)  # warm-up
                    load = wrk_load(wrk, url, headers, args.seconds, args.connections, script)
                else:
                    python_load(url, headers, 1, args.connections)
                    load = python_load(url, headers, args.seconds, args.connections)
                runs[label].append(load)
                print(
                    f"    round {round_number + 1} {label}: {load.rps:.0f} req/s, "
                    f"p50 {load.p50:.1f} p95 {load.p95:.1f} p99 {load.p99:.1f} ms",
                    flush=True,
                )
        for process in processes:
            stop_process_group(process)
        processes.clear()
        floor = combine(runs.pop("floor"))
        loads = {label: combine(values) for label, values in runs.items()}

        print("==> Firestore operations per request (in process)", flush=True)
        ops = {}
        for config in CONFIGS:
            ops[config.label] = count_operations(emulator, config, world, args.ops_requests)
            print(f"    {config.label}: {ops[config.label]}", flush=True)
        baselines = [] if args.skip_other_paths else other_hot_paths(log_dir)
        # The floor's code does one get() per request and writes nothing.
        floor_ops = {"counts": {"reads": 1}, "statuses": {"200": 1}}
        body = report(args, loader, floor, loads, cold, ops, floor_ops, baselines, imports)
    finally:
        for process in processes:
            stop_process_group(process)
        emulator.stop()
    print()
    print(body)
    if not args.no_doc:
        update_section("Hot path", body)
        print("\n(written to docs/benchmarks.md, section 'Hot path')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
