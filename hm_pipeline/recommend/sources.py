"""Candidate sources. Each has one signature, `source(data, customers, config) -> Candidates`, and works for the
whole batch `customers` (customer_idx, int) at once with numpy / scipy.sparse; higher score = better."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from hm_pipeline.recommend.candidates import Candidates, broadcast, sorted_unique, top_k_per_customer
from hm_pipeline.recommend.config import FusionConfig, FusionData

CandidateSource = Callable[[FusionData, np.ndarray, FusionConfig], Candidates]


def _drop_bought(scores: sp.csr_matrix, bought: sp.csr_matrix) -> sp.csr_matrix:
    """`scores` (customers x articles, positive) without the entries the customer bought (same rows as `bought`)."""
    scores = scores - scores.multiply(bought > 0)
    scores.eliminate_zeros()
    return scores


def _coo_candidates(customers: np.ndarray, matrix: sp.spmatrix) -> Candidates:
    """One candidate per stored entry, in (row, column) order (sorted columns: `top_k_per_customer`'s fast path)."""
    matrix = matrix.tocsr()
    matrix.sort_indices()
    coo = matrix.tocoo()
    return Candidates.build(np.asarray(customers)[coo.row], coo.col, coo.data)


def image_similar(data: FusionData, customers: np.ndarray, config: FusionConfig) -> Candidates:
    """SIMILAR neighbours of everything each customer bought (score: summed similarity over their purchases),
    own purchases excluded (`image_exclude_bought`), then kept only when the customer has bought from the
    candidate's department AND index (`department_index_filter`)."""
    bought = data.history.matrix(customers, "binary")
    scores = bought @ data.similar
    if config.image_exclude_bought:
        scores = _drop_bought(scores, bought)
    c = _coo_candidates(customers, scores)
    if config.department_index_filter and data.attributes is not None and len(c):
        c = c.take(data.attributes.keep(c.customer, c.article))
    return c


def repurchase(data: FusionData, customers: np.ndarray, config: FusionConfig) -> Candidates:
    """The customer's own articles bought in the last `repurchase_days`: most recent first, then most often."""
    h = data.history
    owner, flat = h.rows(customers)
    since = h.last_date - config.repurchase_days
    recent = h.last_day[flat] > since
    owner, flat = owner[recent], flat[recent]
    count = h.count[flat].astype(np.float32)
    score = (h.last_day[flat] - since).astype(np.float32) + count / (count + 1)  # day in window, then frequency
    return Candidates.build(np.asarray(customers)[owner], h.article[flat], score)


def _distinct_pairs(customer: np.ndarray, article: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each (customer, article) once: popularity counts buyers, so one bulk buyer moves an article by one."""
    if not len(customer):
        return customer, article
    key = sorted_unique(np.asarray(customer, np.int64) << 32 | np.asarray(article, np.int64))
    return (key >> 32).astype(np.int32), (key & 0xFFFFFFFF).astype(np.int32)


def _bestsellers(article: np.ndarray, group: np.ndarray, n_groups: int, n_articles: int, k: int):
    """Per group, the k most-bought articles (count desc, article_idx asc; unsold articles never listed):
    (n_groups x k) article_idx (-1 padded) and counts."""
    counts = np.bincount(np.asarray(group, np.int64) * n_articles + article, minlength=n_groups * n_articles)
    counts = counts.reshape(n_groups, n_articles)
    top = np.argsort(-counts, axis=1, kind="stable")[:, :k]  # stable: ties keep article_idx order
    top_counts = np.take_along_axis(counts, top, axis=1)
    return np.where(top_counts > 0, top, -1).astype(np.int32), top_counts.astype(np.float32)


def _grouped(customers: np.ndarray, group: np.ndarray, top: np.ndarray, counts: np.ndarray) -> Candidates:
    """Each customer gets the list of its group (rows of `top`), -1 padding dropped."""
    customers = np.asarray(customers)
    rows = top[group]
    keep = rows >= 0
    return Candidates.build(np.repeat(customers, top.shape[1])[keep.ravel()], rows[keep], counts[group][keep])


def _list_length(config: FusionConfig) -> int:
    return 2 * config.k  # enough to leave k after removing up to k-1 articles already taken by earlier sources


def trending(data: FusionData, customers: np.ndarray, config: FusionConfig) -> Candidates:
    """Last `trending_days` bestsellers by distinct buyers, the same for everyone (or per age group with
    `trending_per_age_group`)."""
    tx_customer, tx_article = _distinct_pairs(*data.history.window_counts(config.trending_days)[:2])
    k = _list_length(config)
    if config.trending_per_age_group and data.age_group is not None:
        n_groups = int(data.age_group.max(initial=0)) + 1
        top, counts = _bestsellers(tx_article, data.age_group[tx_customer], n_groups, data.n_articles, k)
        return _grouped(customers, data.age_group[customers], top, counts)
    top, counts = _bestsellers(tx_article, np.zeros(len(tx_article), np.int64), 1, data.n_articles, k)
    keep = top[0] >= 0
    return broadcast(np.asarray(customers), top[0][keep], counts[0][keep])


def age_popular(data: FusionData, customers: np.ndarray, config: FusionConfig) -> Candidates:
    """Cold start: for customers with no purchases, the last `age_popular_days` bestsellers (distinct buyers) of
    their age group."""
    if data.age_group is None:
        return Candidates.empty()
    customers = np.asarray(customers)
    cold = customers[~data.history.has_purchases()[customers]]
    tx_customer, tx_article = _distinct_pairs(*data.history.window_counts(config.age_popular_days)[:2])
    n_groups = int(data.age_group.max(initial=0)) + 1
    top, counts = _bestsellers(tx_article, data.age_group[tx_customer], n_groups, data.n_articles, _list_length(config))
    return _grouped(cold, data.age_group[cold], top, counts)


def popular(data: FusionData, customers: np.ndarray, config: FusionConfig) -> Candidates:
    """All-time bestsellers by distinct buyers, unsold articles included (count desc, article_idx asc): never short
    of articles."""
    counts = np.bincount(data.history.article, minlength=data.n_articles)  # one entry per (customer, article)
    top = np.lexsort((np.arange(data.n_articles), -counts))[: _list_length(config)]
    return broadcast(np.asarray(customers), top.astype(np.int32), counts[top].astype(np.float32))


def copurchase_matrix(data: FusionData, days: int | None, neighbours: int | None, block: int = 4096) -> sp.csr_matrix:
    """Article x article co-purchase counts C = P_W^T P_W over the last `days` (None: all history), P_W counting
    every transaction, diagonal dropped; with `neighbours`, only each article's top-`neighbours` co-purchases are
    kept (computed in blocks of articles to bound memory). Cached on `data`."""
    key = (days, neighbours)
    if key not in data.copurchase_cache:
        h = data.history
        c, a = (h.tx_customer, h.tx_article) if days is None else h.window_counts(days)[:2]
        p = sp.csr_matrix((np.ones(len(c), np.float32), (c, a)), shape=(h.n_customers, h.n_articles))
        p.sum_duplicates()
        pt = p.T.tocsr()
        blocks = []
        for start in range(0, h.n_articles, block):
            rows = np.arange(start, min(start + block, h.n_articles))
            part = _coo_candidates(rows, pt[rows] @ p)
            part = part.take(part.customer != part.article)
            if neighbours is not None:
                part = top_k_per_customer(part, neighbours)
            blocks.append(part)
        part = concat(blocks)
        data.copurchase_cache[key] = sp.csr_matrix(
            (part.score, (part.customer, part.article)), shape=(h.n_articles, h.n_articles)
        )
    return data.copurchase_cache[key]


def copurchase(data: FusionData, customers: np.ndarray, config: FusionConfig, block: int = 20_000) -> Candidates:
    """The seed's fallback, vectorized: articles bought by customers who bought what the customer bought, scored by
    the number of paths customer -[PURCHASED]-> p <-[PURCHASED]- other -[PURCHASED]-> article (every transaction
    counts, as in the Cypher), own purchases excluded; top `k` per customer. Score rows = P[customers] @ C with C the
    article co-purchase counts (`copurchase_matrix`): exactly the seed's count when `copurchase_days` and
    `copurchase_neighbours` are None (= `cypher/shared/co_purchase_scores.cypher`, cross-checked on Kuzu in the tests),
    a bounded-cost version otherwise."""
    matrix = copurchase_matrix(data, config.copurchase_days, config.copurchase_neighbours)
    customers = np.asarray(customers)
    parts = []
    for start in range(0, len(customers), block):
        chunk = customers[start : start + block]
        own = data.history.matrix(chunk, "count")
        c = _coo_candidates(chunk, _drop_bought(own @ matrix, own))
        parts.append(top_k_per_customer(c, config.k))
    return concat(parts)


def precomputed_als(data: FusionData, customers: np.ndarray, config: FusionConfig) -> Candidates:
    """Optional ALS top-k per customer computed by the training stage (`FusionData.als_candidates`)."""
    c = data.als_candidates
    if c is None:
        return Candidates.empty()
    customers = np.asarray(customers)
    lo, hi = np.searchsorted(c.customer, customers, "left"), np.searchsorted(c.customer, customers, "right")
    lengths = hi - lo
    flat = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths) + np.repeat(lo, lengths)
    return c.take(flat)


def concat(parts: list[Candidates]) -> Candidates:
    if not parts:
        return Candidates.empty()
    return Candidates(
        np.concatenate([p.customer for p in parts]),
        np.concatenate([p.article for p in parts]),
        np.concatenate([p.score for p in parts]),
    )


SOURCES: dict[str, CandidateSource] = {
    "image": image_similar,
    "repurchase": repurchase,
    "trending": trending,
    "als": precomputed_als,
    "copurchase": copurchase,
    "age_popular": age_popular,
    "popular": popular,
}
