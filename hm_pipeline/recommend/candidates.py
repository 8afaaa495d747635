"""Candidate lists in COO form (customer_idx, article_idx, score), the source codes, and per-customer grouping."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class Source(IntEnum):
    """Where a recommended article came from (stored as int8)."""

    IMAGE = 0
    REPURCHASE = 1
    TRENDING = 2
    ALS = 3
    COPURCHASE = 4
    AGE_POPULAR = 5
    POPULAR = 6

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


SOURCE_LABELS: tuple[str, ...] = tuple(s.label for s in Source)


@dataclass(frozen=True)
class Candidates:
    """One row per (customer, article) candidate with a source-specific score (higher is better)."""

    customer: np.ndarray  # int32 customer_idx
    article: np.ndarray  # int32 article_idx
    score: np.ndarray  # float32

    def __post_init__(self) -> None:
        if not (len(self.customer) == len(self.article) == len(self.score)):
            raise ValueError("customer, article and score must have the same length")

    def __len__(self) -> int:
        return len(self.customer)

    @classmethod
    def build(cls, customer: np.ndarray, article: np.ndarray, score: np.ndarray) -> "Candidates":
        return cls(
            np.asarray(customer, dtype=np.int32),
            np.asarray(article, dtype=np.int32),
            np.asarray(score, dtype=np.float32),
        )

    @classmethod
    def empty(cls) -> "Candidates":
        return cls.build(np.empty(0), np.empty(0), np.empty(0))

    def take(self, index: np.ndarray) -> "Candidates":
        return Candidates(self.customer[index], self.article[index], self.score[index])


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort + neighbour compare: several times faster than np.unique on large int arrays)."""
    values = np.sort(np.asarray(values), kind="stable")
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def rank_in_group(sorted_groups: np.ndarray) -> np.ndarray:
    """0-based position of each row within its run of equal values (`sorted_groups` must be grouped)."""
    n = len(sorted_groups)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    lengths = np.diff(np.r_[starts, n])
    return np.arange(n, dtype=np.int64) - np.repeat(starts, lengths)


def top_k_per_customer(c: Candidates, k: int) -> Candidates:
    """The `k` best-scored candidates of each customer (score desc, then article_idx asc), grouped by customer."""
    order = np.lexsort((c.article, -c.score, c.customer))
    sorted_c = c.take(order)
    return sorted_c.take(rank_in_group(sorted_c.customer) < k)


def broadcast(customers: np.ndarray, articles: np.ndarray, scores: np.ndarray) -> Candidates:
    """The same ranked list (articles, scores) for every customer in `customers`."""
    n, m = len(customers), len(articles)
    return Candidates.build(np.repeat(customers, m), np.tile(articles, n), np.tile(scores, n))
