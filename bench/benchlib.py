"""What every benchmark here shares: percentiles, concurrent load, CPU time from /proc, a
signed-in user and a vehicle to call the functions with, and docs/benchmarks.md.

Benchmarks run client, server and emulator on one small machine, so each compares against
a bare baseline measured in the same run and reports the ratio as the figure that matters.
"""

from __future__ import annotations

import re
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_DOC = ROOT / "docs" / "benchmarks.md"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


@dataclass
class LoadResult:
    """Latencies (seconds) and statuses of one load run."""

    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def p(self, fraction: float) -> float:
        """A latency percentile in milliseconds."""
        return percentile(self.latencies, fraction) * 1000

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else 0.0


def run_load(
    name: str,
    clients: int,
    requests_per_client: int,
    work: Callable[[int, int], int],
) -> LoadResult:
    """Run ``work(client, i) -> status`` from ``clients`` threads, timing each call."""
    return _drive(name, clients, work, lambda index: index < requests_per_client)


def run_for(
    name: str,
    clients: int,
    seconds: float,
    work: Callable[[int, int], int],
) -> LoadResult:
    """Like :func:`run_load`, but each thread calls ``work`` until ``seconds`` have passed.

    For work as slow as a bcrypt check, where a fixed duration keeps interleaved runs
    comparable and a fixed count would not.
    """
    deadline = time.perf_counter() + seconds
    return _drive(name, clients, work, lambda _index: time.perf_counter() < deadline)


def _drive(
    name: str,
    clients: int,
    work: Callable[[int, int], int],
    more: Callable[[int], bool],
) -> LoadResult:
    """Each of ``clients`` threads calls ``work(client, i)`` while ``more(i)`` holds."""
    result = LoadResult(name, 0.0)
    lock = threading.Lock()
    # Every thread waits here, so the clients load the server at once instead of ramping up
    # as threads are created (it matters when they race for the same resource).
    start_line = threading.Barrier(clients)

    def client(number: int) -> None:
        latencies, statuses = [], Counter[int]()
        start_line.wait()
        index = 0
        while more(index):
            started = time.perf_counter()
            statuses[work(number, index)] += 1
            latencies.append(time.perf_counter() - started)
            index += 1
        with lock:
            result.latencies.extend(latencies)
            result.statuses.update(statuses)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def update_section(title: str, body: str, path: Path | None = None) -> None:
    """Replace (or append) the ``## title`` section of docs/benchmarks.md.

    ``BENCH_DOC`` in the environment names another file (a benchmark run by another one
    for its figures only).
    """
    import os

    path = path or Path(os.environ.get("BENCH_DOC") or BENCHMARKS_DOC)
    section = f"## {title}\n\n{body.strip()}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def machine_line() -> str:
    import os
    import platform

    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()} × "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )


def process_group_cpu_seconds(group: int) -> float:
    """CPU time (user + system) of the live processes of one process group, from /proc.

    On a machine shared with other work, the CPU an operation costs the processes that
    serve it is a steadier measure than its wall time (which others' load stretches).
    """
    # After the name: state, ppid, pgrp, ...
    return _cpu_seconds(lambda _pid, fields: fields[2] == str(group))


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children, from /proc."""
    return _cpu_seconds(lambda process, fields: process == str(pid) or fields[1] == str(pid))


def _cpu_seconds(selected: Callable[[str, list[str]], bool]) -> float:
    """CPU seconds of the live processes that ``selected(pid, stat fields after the name)``
    picks."""
    import os

    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime and stime are the 12th and 13th fields after the name.
        if selected(stat.parent.name, fields):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


# --- a signed-in user and a vehicle, for the benchmarks that call the functions -------------


def bench_user(
    db: Any, role: str = "customer", *, email_prefix: str = "bench", **fields: Any
) -> tuple[str, dict[str, str]]:
    """A user stored the way the auth function stores one, with a live session; returns its
    id and the ``Authorization`` header of an access token for it (no sign-in to measure).

    ``fields`` are added to the user document. Needs ``PMI_JWT_SECRET`` set as the
    functions under test see it.
    """
    from shared.auth import tokens

    user_id, session_id = uuid.uuid4().hex, uuid.uuid4().hex
    db.collection("users").document(user_id).set(
        {
            "email": f"{email_prefix}-{user_id[:8]}@example.test",
            "role": role,
            "is_active": True,
            "session_ids": [session_id],
            "service_center_id": None,
            **fields,
        }
    )
    issued = tokens.issue(
        tokens.TokenKind.ACCESS, user_id=user_id, role=role, session_id=session_id
    )
    return user_id, {"Authorization": f"Bearer {issued.token}"}


def vehicle_body(serial: int, make: str = "Bench", model: str = "Car") -> dict[str, Any]:
    """A ``POST /api/vehicles`` body with a valid US VIN (check digit computed) for ``serial``.

    Needs functions/vehicles on ``sys.path`` (the vehicles function's ``vehicle.vin``).
    """
    from vehicle.vin import CHECK_DIGIT_INDEX, compute_check_digit

    draft = f"1HGCM82630A{serial:06d}"
    vin = draft[:CHECK_DIGIT_INDEX] + compute_check_digit(draft) + draft[CHECK_DIGIT_INDEX + 1 :]
    return {"vin": vin, "make": make, "model": model, "year": 2020, "mileage_km": 10_000}
