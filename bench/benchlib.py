"""What every benchmark here shares: percentiles, concurrent load, and docs/benchmarks.md.

Benchmarks run client, server and emulator on one small machine, so each compares against
a bare baseline measured in the same run and reports the ratio as the figure that matters.
"""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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
    import os

    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the name: state, ppid, pgrp, ...; utime and stime are the 12th and 13th.
        if fields[2] == str(group):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total
