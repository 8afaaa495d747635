"""Kaggle's MAP@12, precision@12 and recall@12, vectorized over users.

Exactly the competition's definition: the evaluated customers are those with >= 1 purchase in the held-out
window; each purchase set is de-duplicated (buying an article twice counts once); AP@12 = sum over ranks k of
precision@k at each hit, divided by min(12, #relevant); a prediction repeated within a list scores only at its
first position; -1 is padding and never hits. MAP@12 averages AP@12 over all evaluated customers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

K = 12


def relevant_matrix(user: np.ndarray, item: np.ndarray, n_users: int, n_items: int) -> sp.csr_matrix:
    """Binary users x items CSR of held-out purchases (duplicates counted once)."""
    matrix = sp.csr_matrix(
        (np.ones(len(user), dtype=np.int8), (user, item)), shape=(n_users, n_items), dtype=np.int8
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix


def evaluated_users(relevant: sp.csr_matrix) -> np.ndarray:
    """customer_idx of every customer with at least one held-out purchase, ascending."""
    return np.flatnonzero(np.diff(relevant.indptr)).astype(np.int32)


def hit_matrix(recommendations: np.ndarray, users: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """bool (len(users), k): recommendation j of user i is relevant and not a repeat of an earlier position."""
    recs = np.asarray(recommendations)
    if recs.ndim != 2 or recs.shape[0] != len(users):
        raise ValueError(f"recommendations must be (n_users={len(users)}, k), got {recs.shape}")
    n_items = relevant.shape[1]
    if recs.size and recs.max() >= n_items:
        raise ValueError(f"recommended article_idx {int(recs.max())} outside [0, {n_items})")
    sub = relevant[users]
    sub.sort_indices()
    row = np.repeat(np.arange(len(users), dtype=np.int64), np.diff(sub.indptr))
    relevant_keys = row * n_items + sub.indices  # sorted: row-major with sorted columns
    rec_keys = np.arange(len(users), dtype=np.int64)[:, None] * n_items + recs
    pos = np.searchsorted(relevant_keys, rec_keys).clip(max=max(len(relevant_keys) - 1, 0))
    hits = (recs >= 0) & (relevant_keys[pos] == rec_keys) if len(relevant_keys) else np.zeros(recs.shape, bool)
    for j in range(1, recs.shape[1]):  # loop over the k positions, vectorized over users
        hits[:, j] &= ~(recs[:, :j] == recs[:, j : j + 1]).any(axis=1)
    return hits


@dataclass(frozen=True)
class RankingScores:
    map_at_k: float
    precision_at_k: float
    recall_at_k: float
    users: int
    k: int = K

    def as_dict(self) -> dict:
        return {
            f"map@{self.k}": self.map_at_k,
            f"precision@{self.k}": self.precision_at_k,
            f"recall@{self.k}": self.recall_at_k,
            "users_evaluated": self.users,
        }


def ranking_scores(recommendations: np.ndarray, users: np.ndarray, relevant: sp.csr_matrix) -> RankingScores:
    """MAP@k / P@k / R@k of `recommendations` (one row per entry of `users`, k = its width, -1 padded)."""
    users = np.asarray(users)
    recs = np.asarray(recommendations)
    k = recs.shape[1] if recs.ndim == 2 else K
    n_relevant = np.diff(relevant.indptr)[users] if len(users) else np.zeros(0, np.int64)
    if len(users) and n_relevant.min() == 0:
        raise ValueError("every evaluated user needs >= 1 relevant item (use evaluated_users)")
    if not len(users):
        return RankingScores(0.0, 0.0, 0.0, 0, k)
    ap, n_hits = per_user_scores(recs, users, relevant)
    return RankingScores(
        map_at_k=float(ap.mean()),
        precision_at_k=float((n_hits / k).mean()),
        recall_at_k=float((n_hits / n_relevant).mean()),
        users=len(users),
        k=k,
    )


def per_user_scores(recommendations: np.ndarray, users: np.ndarray, relevant: sp.csr_matrix
                    ) -> tuple[np.ndarray, np.ndarray]:
    """AP@k and the number of hits of each user's row (for MAP and its bootstrap interval over customers)."""
    recs = np.asarray(recommendations)
    k = recs.shape[1]
    n_relevant = np.diff(relevant.indptr)[np.asarray(users)]
    hits = hit_matrix(recs, users, relevant)
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    return (precision_at * hits).sum(axis=1) / np.minimum(n_relevant, k), hits.sum(axis=1)
