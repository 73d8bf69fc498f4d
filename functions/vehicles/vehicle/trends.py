"""Robust straight-line trends over daily points: Theil–Sen with a rank-based confidence
interval, and when a trend crosses a threshold.

Pure (no Firestore), pure Python: at most 30 daily points, so the O(n²) pairwise slopes
are ≤ 435 numbers, ~0.1 ms per fit; importing numpy alone costs 80–140 ms of cold start
(measured with ``python -X importtime``), more than it could ever save here.

* **Slope**: Sen's estimator, the median of the slopes between every pair of points. Up to
  ~29% of the points can be wild without moving it (a least-squares line follows any one
  outlier), and it assumes no distribution for the noise.
* **Confidence interval for the slope**: Sen (1968) / Gilbert (1987, §16.4): with
  N = n(n−1)/2 ordered pairwise slopes and Var(S) = n(n−1)(2n+5)/18 (Kendall's S, no ties),
  C = z·√Var(S); the bounds are the slopes of rank (N − C)/2 and (N + C)/2 + 1, linearly
  interpolated between neighbouring ranks.
* **Level now**: the line through the median of ``y − slope·x`` (Conover's intercept),
  evaluated at ``x = 0``; callers put ``x = 0`` at the evaluation instant.
* **Scatter**: 1.4826 × the median absolute residual, an estimate of the noise's standard
  deviation that a few outliers do not inflate.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# A two-sided 90 % interval: each bound is a one-sided 95 % statement ("the decline is at
# least this steep with 95 % confidence").
CONFIDENCE = 0.90
Z_90 = statistics.NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)
# 1 / Φ⁻¹(0.75): turns a median absolute deviation into a standard deviation for normal noise.
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class TrendFit:
    """A Theil–Sen line: units of y per unit of x (the trend rules use days)."""

    slope: float
    slope_low: float  # confidence interval of the slope
    slope_high: float
    level_now: float  # the line's value at x = 0
    scatter: float  # robust standard deviation of the residuals
    points: int
    span: float  # max(x) − min(x)

    def value_at(self, x: float) -> float:
        return self.level_now + self.slope * x


def _rank_value(ordered: Sequence[float], rank: float) -> float:
    """The value at a 1-based, possibly fractional, rank (clamped to the ends)."""
    rank = min(max(rank, 1.0), float(len(ordered)))
    below = math.floor(rank)
    fraction = rank - below
    if fraction == 0 or below >= len(ordered):
        return ordered[below - 1]
    return ordered[below - 1] + fraction * (ordered[below] - ordered[below - 1])


def theil_sen(xs: Sequence[float], ys: Sequence[float], z: float = Z_90) -> TrendFit | None:
    """The Theil–Sen fit of ``ys`` over ``xs``; None for fewer than 3 points or one x."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys must have the same length")
    n = len(xs)
    if n < 3:
        return None
    slopes = sorted(
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i in range(n)
        for j in range(i + 1, n)
        if xs[j] != xs[i]
    )
    if not slopes:
        return None
    slope = statistics.median(slopes)
    pairs = len(slopes)
    spread = z * math.sqrt(n * (n - 1) * (2 * n + 5) / 18)
    low = _rank_value(slopes, (pairs - spread) / 2)
    high = _rank_value(slopes, (pairs + spread) / 2 + 1)
    intercept = statistics.median(y - slope * x for x, y in zip(xs, ys, strict=True))
    residuals = [y - (intercept + slope * x) for x, y in zip(xs, ys, strict=True)]
    scatter = MAD_TO_SD * statistics.median(abs(r) for r in residuals)
    return TrendFit(
        slope=slope,
        slope_low=low,
        slope_high=high,
        level_now=intercept,
        scatter=scatter,
        points=n,
        span=max(xs) - min(xs),
    )


def time_to_cross(level: float, slope: float, threshold: float) -> float | None:
    """Units of x until a line at ``level`` moving by ``slope`` reaches ``threshold``: 0 when
    it is there, None when it is flat or moving away (also when it is already past it,
    moving on: callers check the level first)."""
    gap = threshold - level
    if gap == 0:
        return 0.0
    if slope == 0 or (gap > 0) != (slope > 0):
        return None
    return gap / slope
