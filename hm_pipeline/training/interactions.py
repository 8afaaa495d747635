"""The thresholded customer x article interaction matrix (CSR) and its id maps.

Duplicate (customer, article) purchases are summed into one cell. k-core thresholding keeps the largest set of
customers and articles in which every customer has >= `user_min` distinct articles and every article >=
`article_min` distinct customers (the seed's "knock out users, then models, until things stabilize"); that set
does not depend on the order of removals, so each pass drops every under-threshold customer and article at once,
with `np.bincount` over the surviving cells. The matrix keeps only surviving rows/columns: row r is customer
`user_ids[r]` (customer_idx), column c is article `item_ids[c]` (article_idx).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from hm_pipeline.training.confidence import DEFAULT_HALF_LIFE_DAYS, confidence_weights
from hm_pipeline.training.split import Purchases, to_date

MATRIX_FILE = "matrix.npz"
USERS_FILE = "users.parquet"
ITEMS_FILE = "items.parquet"
STATS_FILE = "stats.json"


class EmptyKCore(ValueError):
    """The k-core thresholds remove every customer (or every article): nothing left to train on."""


@dataclass(frozen=True)
class KCore:
    """Surviving cells (row, col, value in the original idx space) and the number of passes until stable."""

    rows: np.ndarray
    cols: np.ndarray
    data: np.ndarray
    passes: int


def k_core(matrix: sp.csr_matrix, user_min: int, article_min: int) -> KCore:
    """Iterate: drop rows with < user_min stored cells and columns with < article_min, until nothing changes."""
    if user_min < 1 or article_min < 1:
        raise ValueError(f"user_min and article_min must be >= 1, got {user_min}, {article_min}")
    matrix = matrix.tocsr()
    matrix.sum_duplicates()
    n_rows, n_cols = matrix.shape
    rows = np.repeat(np.arange(n_rows, dtype=np.int32), np.diff(matrix.indptr))
    cols = matrix.indices.astype(np.int32, copy=False)
    data = matrix.data
    passes = 0
    while True:
        passes += 1
        row_low = np.bincount(rows, minlength=n_rows) < user_min
        col_low = np.bincount(cols, minlength=n_cols) < article_min
        drop = row_low[rows] | col_low[cols]
        if not drop.any():
            return KCore(rows, cols, data, passes)
        keep = ~drop
        rows, cols, data = rows[keep], cols[keep], data[keep]


@dataclass(frozen=True)
class InteractionMatrix:
    """`matrix` (users x items, float32 confidence) with `user_ids` / `item_ids` (int32 idx of each row / column)."""

    matrix: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray
    stats: dict = field(default_factory=dict)

    def rows_of(self, customer_idx: np.ndarray) -> np.ndarray:
        """Matrix row of each customer_idx, -1 for customers not in the matrix."""
        return _positions(self.user_ids, customer_idx)

    def save(self, folder: str | os.PathLike[str]) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        sp.save_npz(folder / MATRIX_FILE, self.matrix, compressed=False)
        pq.write_table(pa.table({"row": np.arange(len(self.user_ids), dtype=np.int32), "customer_idx": self.user_ids}),
                       folder / USERS_FILE)
        pq.write_table(pa.table({"col": np.arange(len(self.item_ids), dtype=np.int32), "article_idx": self.item_ids}),
                       folder / ITEMS_FILE)
        (folder / STATS_FILE).write_text(json.dumps(self.stats, indent=2, sort_keys=True))

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> "InteractionMatrix":
        folder = Path(folder)
        matrix = sp.load_npz(folder / MATRIX_FILE).tocsr()
        users = pq.read_table(folder / USERS_FILE, columns=["customer_idx"])["customer_idx"].to_numpy()
        items = pq.read_table(folder / ITEMS_FILE, columns=["article_idx"])["article_idx"].to_numpy()
        if matrix.shape != (len(users), len(items)):
            raise ValueError(f"{folder}: matrix shape {matrix.shape} != id maps ({len(users)}, {len(items)})")
        stats = json.loads((folder / STATS_FILE).read_text()) if (folder / STATS_FILE).exists() else {}
        return cls(matrix, users.astype(np.int32), items.astype(np.int32), stats)


def _positions(sorted_ids: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index of each query value in the sorted unique array `sorted_ids`, -1 where absent."""
    query = np.asarray(query)
    if not len(sorted_ids):
        return np.full(len(query), -1, dtype=np.int32)
    pos = np.searchsorted(sorted_ids, query).clip(max=len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == query, pos, -1).astype(np.int32)


def purchase_matrix(purchases: Purchases, weights: np.ndarray) -> sp.csr_matrix:
    """n_users x n_items CSR (float32) of summed weights; duplicates (same customer, article) are added up."""
    matrix = sp.csr_matrix(
        (weights.astype(np.float32, copy=False), (purchases.user, purchases.item)),
        shape=(purchases.n_users, purchases.n_items),
        dtype=np.float32,
    )
    matrix.sum_duplicates()
    return matrix


def build_interactions(
    purchases: Purchases,
    user_min: int = 5,
    article_min: int = 5,
    confidence: str = "binary",
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    end_day: int | None = None,
) -> InteractionMatrix:
    """Weight, sum duplicates, k-core threshold and compact. `end_day` defaults to the last purchase day."""
    end_day = purchases.last_day if end_day is None else end_day
    weights = confidence_weights(purchases.day, end_day, confidence, half_life_days)
    full = purchase_matrix(purchases, weights)
    core = k_core(full, user_min, article_min)

    if len(core.rows) == 0:
        users = int(np.count_nonzero(np.diff(full.indptr)))
        items = int(np.count_nonzero(np.bincount(full.indices, minlength=purchases.n_items)))
        raise EmptyKCore(
            f"the k-core (user_min={user_min}, article_min={article_min}) leaves no customers: {users:,} customers "
            f"x {items:,} articles with purchases before, 0 x 0 after {core.passes} passes. Lower `user_min` "
            "and/or `article_min` (run config ops.interaction_matrix.config, e.g. `hm-pipeline run --config "
            "FILE.yaml`)"
        )
    user_ids = np.flatnonzero(np.bincount(core.rows, minlength=purchases.n_users)).astype(np.int32)
    item_ids = np.flatnonzero(np.bincount(core.cols, minlength=purchases.n_items)).astype(np.int32)
    col_of = np.full(purchases.n_items, -1, dtype=np.int32)
    col_of[item_ids] = np.arange(len(item_ids), dtype=np.int32)
    counts = np.bincount(core.rows, minlength=purchases.n_users)[user_ids]
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    # cells stay in row-major order with sorted columns through filtering and the monotone column remap
    matrix = sp.csr_matrix((core.data, col_of[core.cols], indptr), shape=(len(user_ids), len(item_ids)))

    users_before = int(np.count_nonzero(np.diff(full.indptr)))
    items_before = int(np.count_nonzero(np.bincount(full.indices, minlength=purchases.n_items)))
    stats = {
        "purchases": len(purchases),
        "first_date": to_date(purchases.first_day).isoformat(),
        "end_date": to_date(end_day).isoformat(),
        "confidence": confidence,
        "half_life_days": float(half_life_days),
        "user_min": user_min,
        "article_min": article_min,
        "users_before": users_before,
        "items_before": items_before,
        "nnz_before": int(full.nnz),
        "density_before": _density(full.nnz, users_before, items_before),
        "users": len(user_ids),
        "items": len(item_ids),
        "nnz": int(matrix.nnz),
        "density": _density(matrix.nnz, len(user_ids), len(item_ids)),
        "users_lost_share": _share_lost(len(user_ids), users_before),
        "items_lost_share": _share_lost(len(item_ids), items_before),
        "kcore_passes": core.passes,
    }
    return InteractionMatrix(matrix, user_ids, item_ids, stats)


def _density(nnz: int, n_rows: int, n_cols: int) -> float:
    return float(nnz) / (n_rows * n_cols) if n_rows and n_cols else 0.0


def _share_lost(kept: int, before: int) -> float:
    return 1.0 - kept / before if before else 0.0
