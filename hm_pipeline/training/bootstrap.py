"""95% bootstrap interval of a difference in MAP@12 between two recommenders, resampling customers (paired)."""

from __future__ import annotations

import numpy as np


def difference_interval(a: np.ndarray, b: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                        block: int = 100) -> tuple[float, float, float]:
    """mean(a - b) and its percentile bootstrap interval: customers are drawn with replacement (the same draw for
    both, as both scored the same customers), `n_boot` times, `block` resamples at a time (bounded memory)."""
    diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    if diff.ndim != 1 or not len(diff):
        raise ValueError("need two equally long, non-empty per-customer score vectors")
    rng = np.random.default_rng(seed)
    means = []
    for start in range(0, n_boot, block):
        draws = rng.integers(0, len(diff), size=(min(block, n_boot - start), len(diff)))
        means.append(diff[draws].mean(axis=1))
    means = np.concatenate(means)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(diff.mean()), float(low), float(high)
