"""A latency histogram with fixed bucket bounds: counts that add up across instances.

Percentiles cannot be averaged: the p95 of two instances is not the mean of their p95s. Counts
per fixed latency bucket can simply be added, so every instance records into the same bounds
and a reader sums the counts of every instance and minute it wants, then reads percentiles
off the sum (the approach of Prometheus' classic histograms and Cloud Monitoring's
distribution values). The price is resolution: a percentile is known to lie in the same
bucket as the true value, and is estimated inside it by linear interpolation; neighbouring
bounds are 1.4–2× apart.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from typing import Final

# Upper bounds in milliseconds; bucket i holds latencies in (BOUNDS[i-1], BOUNDS[i]], bucket 0
# everything up to 1 ms, and one more bucket everything above the last bound (60 s is as long
# as Hosting lets a request run). 27 bounds: 28 counts per histogram.
LATENCY_BOUNDS_MS: Final[tuple[float, ...]] = (
    1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700,
    1_000, 1_500, 2_000, 3_000, 5_000, 7_000, 10_000, 15_000, 30_000, 60_000,
)  # fmt: skip
BUCKETS: Final = len(LATENCY_BOUNDS_MS) + 1


def bucket_of(milliseconds: float) -> int:
    """The index of the bucket ``milliseconds`` falls in."""
    return bisect_left(LATENCY_BOUNDS_MS, milliseconds)


def bucket_range(index: int) -> tuple[float, float]:
    """The (lower, upper] bounds of bucket ``index``; the last one's upper bound is infinity."""
    lower = LATENCY_BOUNDS_MS[index - 1] if index > 0 else 0.0
    upper = LATENCY_BOUNDS_MS[index] if index < len(LATENCY_BOUNDS_MS) else math.inf
    return float(lower), float(upper)


def empty() -> list[int]:
    return [0] * BUCKETS


def add_into(total: list[int], counts: Sequence[int]) -> None:
    """Add ``counts`` (possibly shorter: trailing zeros trimmed) into ``total``."""
    for index, count in enumerate(counts[:BUCKETS]):
        total[index] += int(count)


def trimmed(counts: Sequence[int]) -> list[int]:
    """``counts`` without trailing zeros: what is stored (most requests are fast)."""
    end = len(counts)
    while end and not counts[end - 1]:
        end -= 1
    return list(counts[:end])


def percentile(counts: Sequence[int], fraction: float) -> float | None:
    """The ``fraction`` (0 < f ≤ 1) percentile in milliseconds, or None without data.

    Nearest rank (the ⌈f·n⌉-th smallest latency), located in its bucket and interpolated
    linearly inside it; a rank in the overflow bucket reads as the last bound.
    """
    total = sum(counts)
    if total <= 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            lower, upper = bucket_range(index)
            if math.isinf(upper):
                return lower
            return lower + (upper - lower) * (rank - seen) / count
        seen += count
    return float(LATENCY_BOUNDS_MS[-1])  # pragma: no cover - the loop always reaches rank
