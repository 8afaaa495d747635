"""Sanity figures for SIMILAR lists: score distribution, and how often neighbours share a group vs. chance."""

from __future__ import annotations

import numpy as np


def score_quantiles(score: np.ndarray) -> dict[str, float]:
    """min, p10, median, p90, max of the scores (empty dict if there are none)."""
    if len(score) == 0:
        return {}
    q = np.quantile(score.astype(np.float64), [0.0, 0.1, 0.5, 0.9, 1.0])
    return {name: round(float(v), 4) for name, v in zip(("min", "p10", "median", "p90", "max"), q)}


def same_group_share(src_group: np.ndarray, dst_group: np.ndarray, groups: np.ndarray) -> tuple[float, float]:
    """(share of pairs whose two ends share a group, share expected for random pairs of the same articles).

    `groups` holds the group of every article that has an embedding; chance = P(two distinct random articles share a group).
    Null groups must be encoded by the caller (e.g. -1) and count as a group of their own.
    """
    if len(src_group) == 0 or len(groups) == 0:
        return float("nan"), float("nan")
    observed = float(np.mean(src_group == dst_group))
    _, counts = np.unique(groups, return_counts=True)
    n = counts.sum()
    expected = float(np.sum(counts * (counts - 1)) / (n * (n - 1))) if n > 1 else float("nan")
    return observed, expected
