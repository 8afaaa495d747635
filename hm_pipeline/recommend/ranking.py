"""ALS ranking of each customer's own candidates: score = user_factors[row] . item_factors[col], vectorized in chunks.

Customers or articles outside the ALS matrix (k-core filtered) have no score (NaN); callers order those by the
source's own score. The order is produced by an explicit sort, never by CSR column order (the seed's bug).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_CHUNK = 1 << 20


def position_map(ids: np.ndarray, size: int) -> np.ndarray:
    """Inverse of an id map: out[id] = position of id in `ids`, -1 where absent (int32, length `size`)."""
    out = np.full(size, -1, dtype=np.int32)
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) and (ids.min() < 0 or ids.max() >= size):
        raise ValueError(f"id map holds ids outside [0, {size})")
    out[ids] = np.arange(len(ids), dtype=np.int32)
    return out


@dataclass(frozen=True)
class AlsFactors:
    """ALS factors plus customer_idx -> matrix row and article_idx -> matrix column maps (-1: not in the model)."""

    user_factors: np.ndarray  # float32, n_rows x f
    item_factors: np.ndarray  # float32, n_cols x f
    user_row: np.ndarray  # int32, length n_customers
    item_col: np.ndarray  # int32, length n_articles

    def __post_init__(self) -> None:
        if self.user_factors.shape[1] != self.item_factors.shape[1]:
            raise ValueError(f"factor widths differ: {self.user_factors.shape} vs {self.item_factors.shape}")
        if self.user_row.max(initial=-1) >= len(self.user_factors) or self.item_col.max(initial=-1) >= len(self.item_factors):
            raise ValueError("id maps point past the factor matrices")

    @classmethod
    def from_id_maps(
        cls,
        user_factors: np.ndarray,
        item_factors: np.ndarray,
        row_customer_idx: np.ndarray,
        col_article_idx: np.ndarray,
        n_customers: int,
        n_articles: int,
    ) -> "AlsFactors":
        """From the training stage's maps (matrix row -> customer_idx, matrix column -> article_idx)."""
        return cls(
            np.ascontiguousarray(user_factors, dtype=np.float32),
            np.ascontiguousarray(item_factors, dtype=np.float32),
            position_map(row_customer_idx, n_customers),
            position_map(col_article_idx, n_articles),
        )

    def scores(self, customer: np.ndarray, article: np.ndarray, chunk: int = DEFAULT_CHUNK) -> np.ndarray:
        """float32 ALS score of each (customer, article) pair, NaN where either is outside the model."""
        rows, cols = self.user_row[customer], self.item_col[article]
        out = np.full(len(rows), np.nan, dtype=np.float32)
        ok = np.flatnonzero((rows >= 0) & (cols >= 0))
        for start in range(0, len(ok), chunk):
            sel = ok[start : start + chunk]
            out[sel] = np.einsum("ij,ij->i", self.user_factors[rows[sel]], self.item_factors[cols[sel]])
        return out


def tiebreak_hash(customer: np.ndarray, article: np.ndarray, seed: int) -> np.ndarray:
    """Deterministic pseudo-random uint64 per (seed, customer, article) (splitmix64): a random order that does not
    depend on chunking or on the order rows arrive in."""
    with np.errstate(over="ignore"):
        x = (np.asarray(customer, np.uint64) << np.uint64(32)) ^ np.asarray(article, np.uint64)
        x = x + np.uint64((seed * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def rank_order(
    customer: np.ndarray,
    article: np.ndarray,
    source_score: np.ndarray,
    als_score: np.ndarray | None,
    unscored: str = "score",
    seed: int = 0,
) -> np.ndarray:
    """Permutation sorting candidates by customer, then ALS-scored first by ALS score desc, then the rest by source
    score desc (`unscored="score"`) or in a seeded random order (`"random"`, the seed's top-up), ties by article_idx."""
    if unscored not in ("score", "random"):
        raise ValueError(f"unscored must be 'score' or 'random', got {unscored!r}")
    n = len(customer)
    if als_score is None:
        als_score = np.full(n, np.nan, np.float32)
    has_als = ~np.isnan(als_score)
    if unscored == "random":
        rest = (tiebreak_hash(customer, article, seed) >> np.uint64(11)).astype(np.float64) * 2.0**-53  # [0, 1)
    else:
        rest = -np.asarray(source_score, np.float64)
    # one float64 key: ALS-scored rows by -score, then the rest shifted above every ALS key
    als_key = -als_score[has_als].astype(np.float64)
    rest_key = rest[~has_als]
    key = np.empty(n, np.float64)
    key[has_als] = als_key
    if len(rest_key):
        top = als_key.max() + 1.0 if len(als_key) else 0.0
        key[~has_als] = rest_key - rest_key.min() + top
    return np.lexsort((article, key, customer))
