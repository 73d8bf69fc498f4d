"""Merge every instance's metric buckets into the figures of /stats/performance (pure).

Each instance stored, per minute, function and route, its counts and a latency histogram
with the same fixed bounds (shared/metrics.py, shared/histogram.py). Figures over any set of
instances, minutes, functions or routes are sums of those counts; percentiles are read off
the summed histogram, so they are exact to within one bucket however many instances served
the traffic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from observability.models import (
    WINDOW_MINUTES,
    ErrorCounts,
    Figures,
    FunctionFigures,
    Latency,
    PerformanceReport,
    Series,
    Window,
)
from shared import histogram
from shared.metrics import Cell, StoredCell, merged

STEP_SECONDS = 60


def window_minutes(window: Window, now: datetime) -> tuple[int, int]:
    """The window's first and last minute (epoch minutes), the current one included."""
    current = int(now.timestamp() // 60)
    return current - WINDOW_MINUTES[window] + 1, current


def report(
    cells: Iterable[StoredCell],
    *,
    window: Window,
    now: datetime,
    function: str | None = None,
    route: str | None = None,
    documents_read: int = 0,
) -> PerformanceReport:
    """The window's figures from the stored cells (cells outside the window are ignored)."""
    first, last = window_minutes(window, now)
    chosen = [
        c
        for c in cells
        if first <= c.minute <= last
        and (function is None or c.function == function)
        and (route is None or c.route == route)
    ]
    by_function: dict[str, list[StoredCell]] = defaultdict(list)
    for stored in chosen:
        by_function[stored.function].append(stored)
    functions = {}
    for name in sorted(by_function):
        own = by_function[name]
        by_route: dict[str, list[Cell]] = defaultdict(list)
        for stored in own:
            by_route[stored.route].append(stored.cell)
        functions[name] = FunctionFigures(
            **dict(figures(merged(s.cell for s in own))),
            routes={path: figures(merged(by_route[path])) for path in sorted(by_route)},
            series=series(own, first, last),
        )
    return PerformanceReport(
        window=window,
        start=_at(first),
        end=_at(last + 1),
        step_seconds=STEP_SECONDS,
        function=function,
        route=route,
        read_at=now,
        cached=False,
        instances=len({c.instance for c in chosen}),
        documents_read=documents_read,
        latency_bounds_ms=[float(bound) for bound in histogram.LATENCY_BOUNDS_MS],
        totals=figures(merged(c.cell for c in chosen)),
        series=series(chosen, first, last),
        functions=functions,
    )


def figures(cell: Cell) -> Figures:
    requests = cell.requests
    return Figures(
        requests=requests,
        errors=ErrorCounts(
            total=cell.client_errors + cell.server_errors,
            client=cell.client_errors,
            server=cell.server_errors,
        ),
        rate_limited=cell.rate_limited,
        cold_starts=cell.cold_starts,
        error_rate=round(cell.server_errors / requests, 6) if requests else 0.0,
        latency_ms=Latency(
            p50=_rounded(histogram.percentile(cell.histogram, 0.50)),
            p95=_rounded(histogram.percentile(cell.histogram, 0.95)),
            p99=_rounded(histogram.percentile(cell.histogram, 0.99)),
            mean=round(cell.latency_ms_sum / requests, 3) if requests else None,
        ),
    )


def series(cells: Sequence[StoredCell], first: int, last: int) -> Series:
    """One entry per minute from ``first`` to ``last``, empty minutes as zeros and nulls."""
    per_minute: dict[int, Cell] = defaultdict(Cell)
    for stored in cells:
        per_minute[stored.minute].merge(stored.cell)
    columns = Series(
        t=[], requests=[], errors_4xx=[], errors_5xx=[], rate_limited=[], cold_starts=[],
        p50_ms=[], p95_ms=[], p99_ms=[],
    )  # fmt: skip
    for minute in range(first, last + 1):
        cell = per_minute.get(minute) or Cell()
        columns.t.append(minute * 60)
        columns.requests.append(cell.requests)
        columns.errors_4xx.append(cell.client_errors)
        columns.errors_5xx.append(cell.server_errors)
        columns.rate_limited.append(cell.rate_limited)
        columns.cold_starts.append(cell.cold_starts)
        columns.p50_ms.append(_rounded(histogram.percentile(cell.histogram, 0.50)))
        columns.p95_ms.append(_rounded(histogram.percentile(cell.histogram, 0.95)))
        columns.p99_ms.append(_rounded(histogram.percentile(cell.histogram, 0.99)))
    return columns


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _at(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=UTC)
