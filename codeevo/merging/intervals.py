"""Bootstrap intervals over zoos: a method's mean score and the paired difference of two methods.

Zoos differ more from each other than good methods do (one setting scored 74 on one zoo and 85
on another), so a single mean per method misleads. Scores here are per zoo; the interval is
the percentile bootstrap of the mean, resampling zoos with replacement. A paired difference
resamples the per-zoo differences, so what zoos share (their difficulty) cancels out. The
resampling is seeded: the same scores always give the same interval.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

RESAMPLES = 10_000
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean over `n` zoos with its bootstrap interval [low, high] at `level`."""

    mean: float
    low: float
    high: float
    n: int
    level: float = LEVEL

    @property
    def excludes_zero(self) -> bool:
        """The whole interval lies on one side of zero."""
        return self.low > 0 or self.high < 0

    def as_json(self) -> dict[str, float]:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n,
                "level": self.level}


def bootstrap_mean(values: Sequence[float], *, resamples: int = RESAMPLES,
                   level: float = LEVEL, seed: int = 0) -> Interval:
    """The mean of `values` with its percentile-bootstrap interval."""
    xs = [float(v) for v in values]
    n = len(xs)
    if n == 0:
        raise ValueError("bootstrap_mean: no values")
    if not 0 < level < 1:
        raise ValueError(f"bootstrap_mean: level must be in (0, 1), got {level}")
    mean = sum(xs) / n
    if n == 1 or min(xs) == max(xs):
        return Interval(mean, mean, mean, n, level)
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(xs, k=n)) / n for _ in range(resamples))
    tail = (1 - level) / 2
    low = means[int(tail * (resamples - 1))]
    high = means[int(round((1 - tail) * (resamples - 1)))]
    return Interval(mean, low, high, n, level)


def paired_difference(a: Sequence[float], b: Sequence[float], *, resamples: int = RESAMPLES,
                      level: float = LEVEL, seed: int = 0) -> Interval:
    """Mean of a − b over the same zoos (in the same order), with its bootstrap interval."""
    if len(a) != len(b):
        raise ValueError(f"paired_difference: {len(a)} scores against {len(b)}; "
                         "a paired difference needs the same zoos")
    return bootstrap_mean([x - y for x, y in zip(a, b, strict=True)], resamples=resamples,
                          level=level, seed=seed)
