"""Non-personalised and repurchase baselines; each returns (len(users), k) int32 article_idx, -1 padded.

- `popularity`: the articles with the most distinct buyers in the last `window_days` of training (ties: lower
  article_idx first), the same list for everyone: one bulk buyer moves an article by one.
- `repurchase_then_trending`: the customer's own distinct past articles, most recent purchase first, then the
  popularity list minus what is already in the row.
"""

from __future__ import annotations

import numpy as np

from hm_pipeline.training.metrics import K
from hm_pipeline.training.split import Purchases

DEFAULT_WINDOW_DAYS = 7


def bestsellers(train: Purchases, n: int, window_days: int = DEFAULT_WINDOW_DAYS) -> np.ndarray:
    """The `n` article_idx with the most distinct buyers in the last `window_days` of `train` (may be shorter if few were sold)."""
    if window_days < 1:
        raise ValueError(f"window_days must be >= 1, got {window_days}")
    recent = train.day > train.last_day - window_days
    pairs = np.unique(train.user[recent].astype(np.int64) * train.n_items + train.item[recent])
    counts = np.bincount(pairs % train.n_items, minlength=train.n_items)  # distinct buyers, not transactions
    order = np.lexsort((np.arange(train.n_items), -counts))  # count desc, then article_idx asc
    top = order[:n]
    return top[counts[top] > 0].astype(np.int32)


def popularity(train: Purchases, users: np.ndarray, k: int = K, window_days: int = DEFAULT_WINDOW_DAYS) -> np.ndarray:
    top = bestsellers(train, k, window_days)
    out = np.full((len(users), k), -1, dtype=np.int32)
    out[:, : len(top)] = top
    return out


def recent_items(train: Purchases, users: np.ndarray, k: int = K) -> np.ndarray:
    """Each user's distinct past articles, most recent first (same day: lower article_idx first), -1 padded."""
    users = np.asarray(users, dtype=np.int64)
    out = np.full((len(users), k), -1, dtype=np.int32)
    slot = np.full(train.n_users, -1, dtype=np.int64)
    slot[users] = np.arange(len(users))
    pos = slot[train.user]
    mine = pos >= 0
    pos, day, item = pos[mine], train.day[mine], train.item[mine]
    order = np.lexsort((item, -day.astype(np.int64), pos))  # by user, newest first, then article
    pos, item = pos[order], item[order]
    key = pos * train.n_items + item
    _, first = np.unique(key, return_index=True)  # first occurrence in this order = latest purchase
    first.sort()
    pos, item = pos[first], item[first]
    starts = np.searchsorted(pos, pos, side="left")
    rank = np.arange(len(pos)) - starts
    take = rank < k
    out[pos[take], rank[take]] = item[take]
    return out


def fill_with(primary: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Fill each row's -1 slots (at its end) with `fallback` items (1-D, shared) not already in that row."""
    primary = np.asarray(primary, dtype=np.int32)
    k = primary.shape[1]
    fallback = np.asarray(fallback, dtype=np.int32)
    out = primary.copy()
    if not len(fallback):
        return out
    filled = (primary >= 0).sum(axis=1)
    taken = (primary[:, :, None] == fallback[None, None, :]).any(axis=1)  # (users, len(fallback))
    free = ~taken
    order = np.cumsum(free, axis=1) - 1 + filled[:, None]  # target slot of each free fallback item
    place = free & (order < k)
    r, c = np.nonzero(place)
    out[r, order[r, c]] = fallback[c]
    return out


def repurchase_then_trending(
    train: Purchases, users: np.ndarray, k: int = K, window_days: int = DEFAULT_WINDOW_DAYS
) -> np.ndarray:
    own = recent_items(train, users, k)
    return fill_with(own, bestsellers(train, 2 * k, window_days))
