"""Exact top-k cosine neighbours (SIMILAR) by blocked float32 matrix products, with an exact incremental update.

Rows are indexed in ascending article-id order, so "ties broken by dst index" is "ties broken by dst article id".

Determinism: BLAS may round the same dot product differently depending on the block it sits in, and x·y vs y·x.
So BLAS float32 products only *select candidates* (everything within `score_margin` of the row's k-th best, a
bound on the float32 rounding error), and every candidate is re-scored by `exact_scores`: float64 products of the
float32 unit vectors (exact) summed in a fixed order, then rounded to float32. A pair's score is therefore a
function of the two embeddings alone, and the final order (score desc, dst id asc) is the same whichever blocks,
subsets or update path produced it. That is what makes the incremental update equal to a full rebuild, bit for bit.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DEFAULT_K = 10
DEFAULT_BLOCK = 1024
FULL_REBUILD_SHARE = 0.5  # incremental update falls back to a full rebuild above this share of lists to recompute
PRUNE_AT = 4_000_000  # the symmetric pass drops hopeless candidate pairs whenever this many new ones piled up


@dataclass
class Neighbours:
    """Top-k lists as flat arrays sorted by (src, rank): row indices, float32 cosine and 1-based rank."""

    src: np.ndarray
    dst: np.ndarray
    score: np.ndarray
    rank: np.ndarray


@dataclass(frozen=True)
class UpdateStats:
    mode: str  # "full" or "incremental"
    added: int
    changed: int
    removed: int
    lists_recomputed: int
    lists_merged: int


def score_margin(dim: int) -> float:
    """Twice the worst-case float32 rounding error of a `dim`-d unit-vector dot product, plus one float32 ulp at 1."""
    gamma = dim * 2.0**-24 / (1 - dim * 2.0**-24)
    return 2 * gamma + 2.0**-23


@contextlib.contextmanager
def blas_threads(threads: int | None = None) -> Iterator[None]:
    """Let BLAS use all cores inside the block (the process may cap it at 1 for `implicit`)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scipy/implicit installs
        yield
        return
    with threadpool_limits(limits=threads or os.cpu_count() or 1, user_api="blas"):
        yield


def normalize_rows(x: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Unit-length float32 rows, each computed from its own values only (float64 pairwise sum of squares), so a
    row normalizes identically whatever else is in `x`; all-zero rows stay zero. Chunked to stay in cache."""
    x = np.asarray(x, dtype=np.float32)
    out = np.empty(x.shape, dtype=np.float32)
    for start in range(0, len(x), chunk):
        x64 = x[start : start + chunk].astype(np.float64)
        norms = np.sqrt((x64 * x64).sum(axis=1))
        norms[norms == 0] = 1.0
        out[start : start + chunk] = x64 / norms[:, None]
    return out


def row_hashes(x: np.ndarray) -> np.ndarray:
    """16-byte hex digest of each float32 row: detects a changed embedding without keeping the old one."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    return np.array([hashlib.blake2b(row.tobytes(), digest_size=16).hexdigest() for row in x], dtype=object)


def exact_scores(xn: np.ndarray, src: np.ndarray, dst: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Canonical float32 cosine of each (src, dst) pair: float64 products summed in a fixed order, then rounded.

    Each row is summed on its own (numpy's pairwise sum over a contiguous row), so the value depends only on the two
    vectors: symmetric and independent of how the pairs were found (see module docstring).
    """
    out = np.empty(len(src), dtype=np.float32)
    a_buf = np.empty((chunk, xn.shape[1]), dtype=np.float64)
    b_buf = np.empty_like(a_buf)
    for start in range(0, len(src), chunk):
        s, d = src[start : start + chunk], dst[start : start + chunk]
        a, b = a_buf[: len(s)], b_buf[: len(s)]
        np.copyto(a, xn[s])
        np.copyto(b, xn[d])
        np.multiply(a, b, out=a)
        out[start : start + len(s)] = a.sum(axis=1)
    return out


def _coarse_candidates(
    scores: np.ndarray, kk: int, margin: float, group: int = 32
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, col, score) of a superset of each row's entries within `margin` of its kk-th best score.

    Long rows are split into column groups of `group` entries: the kk-th largest group maximum is <= the kk-th largest
    score (kk groups hold an entry >= it), so only groups whose maximum reaches that bound minus `margin` are looked
    into. Group j holds columns j, j + G, j + 2G, ... (G groups): their maxima are elementwise maxima of `group`
    contiguous column slices, one vectorized pass over `scores` instead of a full selection per row.
    """
    b, m = scores.shape
    if m < 8 * group * kk:
        kth = np.partition(scores, m - kk, axis=1)[:, m - kk]
        threshold = np.where(np.isfinite(kth), kth - margin, -3.0).astype(np.float32)  # cosines are >= -1
        rows, cols = np.nonzero(scores >= threshold[:, None])
        return rows, cols, scores[rows, cols]
    n_groups = m // group
    cut = n_groups * group
    groups = scores[:, :cut].reshape(b, group, n_groups)  # a view: groups[r, i, j] = scores[r, i * G + j]
    maxima = groups.max(axis=1)
    tail = scores[:, cut:]
    every = np.concatenate([maxima, tail.max(axis=1, keepdims=True)], axis=1) if cut < m else maxima
    c = every.shape[1]
    lower = np.partition(every, c - kk, axis=1)[:, c - kk]
    threshold = np.where(np.isfinite(lower), lower - margin, -3.0).astype(np.float32)
    group_rows, group_ids = np.nonzero(maxima >= threshold[:, None])
    values = groups[group_rows, :, group_ids]  # [hits, group]
    hit_r, hit_i = np.nonzero(values >= threshold[group_rows][:, None])
    rows, cols, vals = group_rows[hit_r], hit_i * n_groups + group_ids[hit_r], values[hit_r, hit_i]
    tail_r, tail_c = np.nonzero(tail >= threshold[:, None])
    return (
        np.concatenate([rows, tail_r]),
        np.concatenate([cols, tail_c + cut]),
        np.concatenate([vals, tail[tail_r, tail_c]]),
    )


def _candidates(scores: np.ndarray, k: int, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of every finite entry within `margin` of its row's k-th best score (-inf marks excluded entries).

    These include every true top-k entry whatever the float32 rounding of `scores` (see `score_margin`).
    """
    b, m = scores.shape
    kk = min(k, m)
    rows, cols, values = _coarse_candidates(scores, kk, margin)
    order = np.lexsort((-values, rows))  # per row, best first
    rows, cols, values = rows[order], cols[order], values[order]
    starts = np.searchsorted(rows, np.arange(b))
    counts = np.diff(np.append(starts, len(rows)))
    kth = np.full(b, -3.0, dtype=np.float32)
    has = counts > 0
    kth[has] = values[(starts + np.minimum(kk, counts) - 1)[has]]
    keep = (values >= np.where(np.isfinite(kth), kth - margin, -3.0)[rows]) & np.isfinite(values)
    return rows[keep], cols[keep]


def select_topk(src: np.ndarray, dst: np.ndarray, score: np.ndarray, k: int) -> Neighbours:
    """Keep the best `k` per src by (score desc, dst asc); duplicate pairs count once."""
    order = np.lexsort((dst, -score, src))
    src, dst, score = src[order], dst[order], score[order]
    if len(src):
        dup = np.zeros(len(src), dtype=bool)
        dup[1:] = (src[1:] == src[:-1]) & (dst[1:] == dst[:-1])
        src, dst, score = src[~dup], dst[~dup], score[~dup]
    new_group = np.ones(len(src), dtype=bool)
    new_group[1:] = src[1:] != src[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(src)), 0))
    rank = np.arange(len(src)) - group_start
    keep = rank < k
    return Neighbours(
        src[keep].astype(np.int64), dst[keep].astype(np.int64), score[keep], (rank[keep] + 1).astype(np.int8)
    )


def _query_rows(
    xn: np.ndarray,
    rows: np.ndarray,
    k: int,
    block: int,
    column_rows: np.ndarray | None = None,
    column_floor: np.ndarray | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Candidate pairs for the lists of `rows` (each against all rows, self excluded).

    With `column_rows` (rows not queried), the same products also yield candidates among the queried rows for
    their lists: pairs (c, queried row), only where the score can reach `column_floor[c]` (the score of the k-th
    entry c already has) — used by the incremental update.
    """
    margin = score_margin(xn.shape[1])
    srcs: list[np.ndarray] = []
    dsts: list[np.ndarray] = []
    buffer = np.empty((min(block, len(rows)), len(xn)), dtype=np.float32)  # reused: no fresh pages per block
    with blas_threads():
        for start in range(0, len(rows), block):
            q = rows[start : start + block]
            s = np.matmul(xn[q], xn.T, out=buffer[: len(q)])
            s[np.arange(len(q)), q] = -np.inf
            r, c = _candidates(s, k, margin)
            srcs.append(q[r])
            dsts.append(c)
            if column_rows is not None and len(column_rows):
                floor = np.full(len(column_rows), -3.0) if column_floor is None else column_floor - margin
                reach = s.max(axis=0)[column_rows] >= floor  # lists some queried row could enter
                cols, floor = column_rows[reach], floor[reach]
                sub = np.ascontiguousarray(s[:, cols].T)
                r, c = _candidates(sub, k, margin)
                ok = sub[r, c] >= floor[r]
                srcs.append(cols[r[ok]])
                dsts.append(q[c[ok]])
    return srcs, dsts


def _sample_floors(xn: np.ndarray, kk: int, sample: int, chunk: int = 8192) -> np.ndarray:
    """Per row, the kk-th best float32 score against an evenly spaced sample of rows (self excluded): a lower
    bound of the row's kk-th best score over all rows (-3 when the sample holds fewer than kk others)."""
    n = len(xn)
    picks = np.unique(np.linspace(0, n - 1, min(sample, n)).astype(np.int64))
    floor = np.full(n, -3.0, dtype=np.float32)
    if len(picks) <= kk:
        return floor
    ref = np.ascontiguousarray(xn[picks].T)
    for start in range(0, n, chunk):
        s = xn[start : start + chunk] @ ref
        rows, cols = np.nonzero((picks[None, :] - start == np.arange(len(s))[:, None]))
        s[rows, cols] = -np.inf
        floor[start : start + chunk] = np.partition(s, len(picks) - kk, axis=1)[:, len(picks) - kk]
    return np.where(np.isfinite(floor), floor, -3.0).astype(np.float32)


def _descending_keys(src: np.ndarray, val: np.ndarray) -> np.ndarray:
    """int64 keys ordering pairs by (src asc, float32 val desc): src in the high 32 bits, the value's bits mapped to
    an unsigned order-preserving integer and inverted in the low 32."""
    bits = val.astype(np.float32).view(np.int32).astype(np.int64)
    ordered = np.where(bits < 0, ~bits, bits | 0x80000000) & 0xFFFFFFFF  # float order == unsigned integer order
    return (src.astype(np.int64) << 32) | (0xFFFFFFFF - ordered)


def _prune(src: np.ndarray, dst: np.ndarray, val: np.ndarray, floor: np.ndarray, kk: int, margin: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raise `floor` (in place) to each src's kk-th best float32 value among the pairs (which are distinct), then
    drop the pairs below floor - margin (they cannot be in the exact top-kk; see `_candidates`).

    One sort of int64 keys (`_descending_keys`) finds the kk-th values; the pairs themselves are filtered in place,
    not reordered (the final order is `select_topk`'s)."""
    keys = np.sort(_descending_keys(src, val))
    key_src = keys >> 32
    starts = np.flatnonzero(np.r_[True, key_src[1:] != key_src[:-1]]) if len(keys) else np.empty(0, dtype=np.int64)
    counts = np.diff(np.r_[starts, len(keys)])
    full = counts >= kk
    at = starts[full] + kk - 1
    ordered = 0xFFFFFFFF - (keys[at] & 0xFFFFFFFF)
    bits = np.where(ordered >= 0x80000000, ordered - 0x80000000, ~ordered).astype(np.int32)
    rows = key_src[at]  # distinct
    floor[rows] = np.maximum(floor[rows], bits.view(np.float32))
    keep = val >= floor[src] - margin
    return src[keep], dst[keep], val[keep]


def _symmetric_candidates(xn: np.ndarray, k: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs for every row's top-k using each product x_i·x_j once (i < j): half the flops of
    `_query_rows` over all rows.

    Row block B is multiplied by the rows from B on. Its own rows take their candidates among those columns
    (`_candidates`); each later row c takes the entries of its column that reach floor[c] - margin, where floor[c]
    is a lower bound of c's k-th best float32 score (first from a sample of rows, then raised from the pairs c has
    collected). A true top-k entry of row r lies either at or after r's block (found by the row pass) or in an
    earlier block, where it reached floor[r] - margin (found by the column pass): the union is a superset.
    """
    n = len(xn)
    kk = min(k, n - 1)
    if kk <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    margin = score_margin(xn.shape[1])
    floor = _sample_floors(xn, kk, sample=max(256, min(2048, n // 32)))  # <= ~3% of the products
    buffer = np.empty(min(block, n) * n, dtype=np.float32)  # flat, so every block's product is contiguous
    src_parts: list[np.ndarray] = []
    dst_parts: list[np.ndarray] = []
    val_parts: list[np.ndarray] = []
    pending = 0
    with blas_threads():
        for start in range(0, n, block):
            stop = min(start + block, n)
            b = stop - start
            s = buffer[: b * (n - start)].reshape(b, n - start)
            np.matmul(xn[start:stop], xn[start:].T, out=s)
            s[np.arange(b), np.arange(b)] = -np.inf
            r, c = _candidates(s, kk, margin)
            src_parts.append(r + start)
            dst_parts.append(c + start)
            val_parts.append(s[r, c])
            if stop < n:
                tail = s[:, b:]
                rr, cc = np.nonzero(tail >= (floor[stop:] - margin)[None, :])
                src_parts.append(cc + stop)
                dst_parts.append(rr + start)
                val_parts.append(tail[rr, cc])
                pending += len(rr)
            if pending > PRUNE_AT:
                src, dst, val = _prune(np.concatenate(src_parts), np.concatenate(dst_parts),
                                       np.concatenate(val_parts), floor, kk, margin)
                src_parts, dst_parts, val_parts, pending = [src], [dst], [val], 0
    src, dst, _ = _prune(np.concatenate(src_parts), np.concatenate(dst_parts), np.concatenate(val_parts),
                         floor, kk, margin)
    return src, dst


def topk_full(x: np.ndarray, k: int = DEFAULT_K, block: int = DEFAULT_BLOCK, symmetric: bool = True) -> Neighbours:
    """Exact top-k cosine neighbours of every row of `x` (rows in article-id order), self excluded.

    `symmetric` (default) computes each pair's product once (`_symmetric_candidates`: 0.54x the wall time of
    querying every row against all rows at 105,000 x 2048, 0.65x at 40,000, 1.0x at 20,000; bench/RESULTS.md);
    False does the latter (`_query_rows`). Both give the same result, bit for bit: candidates are re-scored by `exact_scores`.
    """
    xn = normalize_rows(x)
    if symmetric:
        src, dst = _symmetric_candidates(xn, k, block)
        return select_topk(src, dst, exact_scores(xn, src, dst), k)
    srcs, dsts = _query_rows(xn, np.arange(len(xn)), k, block)
    src = np.concatenate(srcs) if srcs else np.empty(0, dtype=np.int64)
    dst = np.concatenate(dsts) if dsts else np.empty(0, dtype=np.int64)
    return select_topk(src, dst, exact_scores(xn, src, dst), k)


def diff_rows(
    prev_ids: np.ndarray, prev_hashes: np.ndarray, ids: np.ndarray, hashes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(added ids, changed ids, removed ids) between two (ids, row hashes) snapshots."""
    prev = dict(zip(prev_ids.tolist(), prev_hashes.tolist()))
    cur = dict(zip(ids.tolist(), hashes.tolist()))
    added = np.array(sorted(set(cur) - set(prev)), dtype=object)
    removed = np.array(sorted(set(prev) - set(cur)), dtype=object)
    changed = np.array(sorted(a for a in set(cur) & set(prev) if cur[a] != prev[a]), dtype=object)
    return added, changed, removed


def _as_strings(values: Sequence[str] | np.ndarray | pa.Array) -> pa.Array:
    return values if isinstance(values, pa.Array) else pa.array(np.asarray(values, dtype=object), type=pa.string())


def _index_of(ids: pa.Array, values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Positions of `values` in `ids` (hash lookup) and a mask of which were found (position 0 where not)."""
    index = pc.index_in(values, value_set=ids)
    return index.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64), index.is_valid().to_numpy(
        zero_copy_only=False
    )


def _kth_scores(n: int, src: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """Per row, the lowest score of its list if the list is full (k entries), else -3 (anything may enter)."""
    lowest = np.full(n, 3.0)
    np.minimum.at(lowest, src, score.astype(np.float64))
    full = np.bincount(src, minlength=n) >= k
    return np.where(full, lowest, -3.0)


def topk_update(
    x: np.ndarray,
    ids: np.ndarray | pa.Array,
    prev_src: np.ndarray | pa.Array,
    prev_dst: np.ndarray | pa.Array,
    prev_score: np.ndarray,
    added: Sequence[str],
    changed: Sequence[str],
    removed: Sequence[str],
    k: int = DEFAULT_K,
    block: int = DEFAULT_BLOCK,
) -> tuple[Neighbours, UpdateStats]:
    """Top-k lists for `x` (rows = sorted `ids`) from the previous lists (article ids) and what changed since.

    New or changed rows are compared with all rows. A previous list is recomputed in full when its src changed or it
    contains a changed or removed article (its membership may be wrong); every other previous list is still the
    exact top-k among unchanged rows, so it is merged with its best candidates among the new/changed rows. The
    result equals `topk_full(x)` exactly. Falls back to a full rebuild when most lists must be recomputed.
    """
    ids_arr = _as_strings(ids)
    ids = np.asarray(ids_arr.to_pylist(), dtype=object)
    if len(ids) > 1 and not np.all(ids[1:] > ids[:-1]):
        raise ValueError("ids must be unique and sorted ascending")
    n = len(ids)
    dirty_rows, _ = _index_of(ids_arr, _as_strings(list(added) + list(changed)))
    dirty_rows = np.unique(dirty_rows) if len(added) + len(changed) else np.empty(0, dtype=np.int64)
    prev_src, prev_dst = _as_strings(prev_src), _as_strings(prev_dst)
    src_pos, src_found = _index_of(ids_arr, prev_src)
    dst_pos, dst_found = _index_of(ids_arr, prev_dst)
    stale = _as_strings(list(changed) + list(removed))
    hits_stale = pc.is_in(prev_dst, value_set=stale).to_numpy(zero_copy_only=False) | ~dst_found
    affected = np.zeros(n, dtype=bool)
    affected[dirty_rows] = True
    affected[src_pos[src_found & hits_stale]] = True
    has_prev = np.zeros(n, dtype=bool)
    has_prev[src_pos[src_found]] = True
    affected |= ~has_prev & (n > 1)  # a present row without a previous list (should be in `added`) is rebuilt too
    counts = dict(added=len(added), changed=len(changed), removed=len(removed))
    if affected.sum() > FULL_REBUILD_SHARE * n:
        return topk_full(x, k, block), UpdateStats("full", lists_recomputed=n, lists_merged=0, **counts)

    xn = normalize_rows(x)
    query = np.flatnonzero(affected)
    keep_rows = np.flatnonzero(~affected)
    # Dirty rows first so that their products also give the column candidates for the kept lists.
    dirty_q = np.intersect1d(query, dirty_rows)
    other_q = np.setdiff1d(query, dirty_rows)
    prev_scores = np.asarray(prev_score, dtype=np.float32)
    floor = _kth_scores(n, src_pos[src_found], prev_scores[src_found], k)[keep_rows]
    srcs, dsts = _query_rows(xn, dirty_q, k, block, column_rows=keep_rows, column_floor=floor)
    s2, d2 = _query_rows(xn, other_q, k, block)
    src = np.concatenate(srcs + s2) if srcs + s2 else np.empty(0, dtype=np.int64)
    dst = np.concatenate(dsts + d2) if dsts + d2 else np.empty(0, dtype=np.int64)
    score = exact_scores(xn, src, dst)

    keep_prev = src_found & ~affected[src_pos] & dst_found
    src = np.concatenate([src, src_pos[keep_prev]])
    dst = np.concatenate([dst, dst_pos[keep_prev]])
    score = np.concatenate([score, prev_scores[keep_prev]])
    stats = UpdateStats("incremental", lists_recomputed=len(query), lists_merged=len(keep_rows), **counts)
    return select_topk(src, dst, score, k), stats
