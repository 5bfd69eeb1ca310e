"""Paired comparisons over sequences: mean difference with a percentile bootstrap interval.

On a few dozen sequences one AO difference says little: runs diverge, and a few sequences decide the mean.
Resampling the *sequences* (with replacement, both trackers' values kept together) gives the interval
the difference would move in if the sequences had been drawn again. Fixed seed: reruns give the same interval.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PairedDifference:
    """mean(a - b) over n paired items, with its [lo, hi] bootstrap interval at `level`."""

    mean: float
    lo: float
    hi: float
    n: int
    level: float = 0.95

    def __str__(self) -> str:
        return f"{self.mean:+.3f} [{self.lo:+.3f}, {self.hi:+.3f}]"

    @property
    def excludes_zero(self) -> bool:
        return self.lo > 0 or self.hi < 0


def bootstrap_interval(values, n_resamples: int = 10000, level: float = 0.95, seed: int = 0
                       ) -> tuple[float, float, float]:
    """(mean, lo, hi): the mean of `values` and its percentile bootstrap interval at `level`."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"bootstrap needs finite values, got {v.size} values ({np.sum(~np.isfinite(v))} not finite)")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, (n_resamples, v.size))].mean(axis=1)
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(means, [tail, 100.0 - tail])
    return float(v.mean()), float(lo), float(hi)


def paired_difference(a, b, n_resamples: int = 10000, level: float = 0.95, seed: int = 0) -> PairedDifference:
    """a - b item by item (same items, same order), its mean and bootstrap interval over items."""
    a, b = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"paired values must match one to one: {a.size} vs {b.size}")
    mean, lo, hi = bootstrap_interval(a - b, n_resamples, level, seed)
    return PairedDifference(mean, lo, hi, int(a.size), level)
