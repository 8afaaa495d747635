"""Candidate sources of the two-stage recommender: one function each, one signature
`source(data: SourceData, customers: np.ndarray, n: int) -> Candidates` (at most `n` per customer, higher score =
better), vectorized over the whole batch of customers.

Everything reads `SourceData`, which holds only purchases strictly before `data.cutoff` (the first day of the week
being predicted): the sources cannot see the label week. Popularity counts distinct buyers, never transactions, so
one bulk buyer moves an article by one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from hm_pipeline.recommend import sources as fusion_sources
from hm_pipeline.recommend.attribute_filter import AttributeFilter
from hm_pipeline.recommend.candidates import Candidates, broadcast, rank_in_group, top_k_per_customer
from hm_pipeline.recommend.config import FusionConfig, FusionData
from hm_pipeline.recommend.history import PurchaseHistory
from hm_pipeline.recommend.ranking import AlsFactors


@dataclass
class SourceData:
    """Inputs of every source and feature, in index space, all from purchases before `cutoff` (a day number).

    `price`: one per transaction of `history` (aligned with `history.tx_*`). `product_code`, `department`,
    `index`: int codes per article_idx. `age_group`: int code per customer_idx. `als`: factors fit on purchases
    before `cutoff` (None: no ALS source / feature). `similar`: the image SIMILAR matrix (images only, no purchases).
    """

    history: PurchaseHistory
    price: np.ndarray
    cutoff: int
    similar: sp.csr_matrix
    product_code: np.ndarray
    department: np.ndarray
    index: np.ndarray
    age_group: np.ndarray
    als: AlsFactors | None = None
    attributes: AttributeFilter | None = None
    cache: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        h = self.history
        if len(self.price) != len(h.tx_day):
            raise ValueError(f"price has {len(self.price)} entries for {len(h.tx_day)} transactions")
        if len(h.tx_day) and int(h.tx_day.max()) >= self.cutoff:
            raise ValueError(f"history holds day {int(h.tx_day.max())} >= cutoff {self.cutoff}: label-week leak")
        for name in ("product_code", "department", "index"):
            if len(getattr(self, name)) != h.n_articles:
                raise ValueError(f"{name} has {len(getattr(self, name))} entries for {h.n_articles} articles")
        if len(self.age_group) != h.n_customers:
            raise ValueError(f"age_group has {len(self.age_group)} entries for {h.n_customers} customers")
        if self.attributes is None:
            self.attributes = AttributeFilter.from_history(h, self.department, self.index)

    @property
    def n_customers(self) -> int:
        return self.history.n_customers

    @property
    def n_articles(self) -> int:
        return self.history.n_articles

    def age(self, day: np.ndarray) -> np.ndarray:
        """Days between `day` and the cutoff (1 = the day before the cutoff)."""
        return (self.cutoff - np.asarray(day)).astype(np.float32)

    @functools.cached_property
    def fusion(self) -> FusionData:
        return FusionData(self.history, self.similar, self.attributes, self.als, self.age_group)


def distinct_buyers(data: SourceData, days: int, half_life: float | None = None,
                    group: np.ndarray | None = None, n_groups: int = 1) -> np.ndarray:
    """(n_groups x n_articles) float32: buyers of each article over the last `days` before the cutoff, each
    customer counted once per article (weighted by 0.5 ** (age of their last purchase / half_life) when given);
    `group` (per customer) splits the counts by customer group."""
    key = ("buyers", days, half_life, n_groups)
    if key not in data.cache:
        h = data.history
        recent = h.tx_day >= data.cutoff - days
        customer, article, day = h.tx_customer[recent], h.tx_article[recent], h.tx_day[recent]
        pair = customer.astype(np.int64) * h.n_articles + article
        order = np.lexsort((-day.astype(np.int64), pair))
        first = order[np.r_[True, pair[order][1:] != pair[order][:-1]]] if len(pair) else order  # newest per pair
        weight = np.ones(len(first), np.float32) if half_life is None else 0.5 ** (data.age(day[first]) / half_life)
        g = np.zeros(len(first), np.int64) if group is None else np.asarray(group, np.int64)[customer[first]]
        counts = np.bincount(g * h.n_articles + article[first], weights=weight, minlength=n_groups * h.n_articles)
        data.cache[key] = counts.reshape(n_groups, h.n_articles).astype(np.float32)
    return data.cache[key]


def _top_list(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The `n` best articles of a score vector (score desc, article_idx asc), articles with score 0 left out."""
    top = np.lexsort((np.arange(len(scores)), -scores))[:n]
    top = top[scores[top] > 0]
    return top.astype(np.int32), scores[top].astype(np.float32)


def image_similar(data: SourceData, customers: np.ndarray, n: int) -> Candidates:
    """The seed's story: SIMILAR neighbours of what the customer bought, own purchases excluded, kept only when the
    customer has bought from the candidate's department AND index; score = summed similarity."""
    c = fusion_sources.image_similar(data.fusion, customers, FusionConfig())
    return top_k_per_customer(c, n)


def repurchase(data: SourceData, customers: np.ndarray, n: int, half_life: float = 30.0) -> Candidates:
    """The customer's own articles over the whole history: (1 + log count) x 0.5 ** (days since last / half_life)."""
    h = data.history
    owner, flat = h.rows(customers)
    score = (1 + np.log(h.count[flat])) * 0.5 ** (data.age(h.last_day[flat]) / half_life)
    return top_k_per_customer(Candidates.build(np.asarray(customers)[owner], h.article[flat], score), n)


def trending(data: SourceData, customers: np.ndarray, n: int, days: int = 28, half_life: float = 7.0) -> Candidates:
    """Bestsellers of the last `days` by distinct buyers, each weighted by 0.5 ** (age / half_life): one list."""
    top, score = _top_list(distinct_buyers(data, days, half_life)[0], n)
    return broadcast(np.asarray(customers), top, score)


def popular(data: SourceData, customers: np.ndarray, n: int, days: int = 7) -> Candidates:
    """Bestsellers of the last `days` by distinct buyers: one list for everyone."""
    top, score = _top_list(distinct_buyers(data, days)[0], n)
    return broadcast(np.asarray(customers), top, score)


def age_popular(data: SourceData, customers: np.ndarray, n: int, days: int = 7) -> Candidates:
    """Bestsellers of the last `days` among the customer's age group, by distinct buyers."""
    n_groups = int(data.age_group.max(initial=0)) + 1
    counts = distinct_buyers(data, days, group=data.age_group, n_groups=n_groups)
    lists = [_top_list(counts[g], n) for g in range(n_groups)]
    customers = np.asarray(customers)
    group = data.age_group[customers]
    parts = [broadcast(customers[group == g], *lists[g]) for g in range(n_groups)]
    return fusion_sources.concat(parts)


def basket_matrix(data: SourceData, days: int = 56, neighbours: int = 20) -> sp.csr_matrix:
    """Article x article "bought together" counts: baskets are (customer, day) over the last `days`; each basket
    adds 1 to every pair of distinct articles in it; each article keeps its `neighbours` best partners. Cached."""
    key = ("baskets", days, neighbours)
    if key not in data.cache:
        h = data.history
        recent = h.tx_day >= data.cutoff - days
        basket = h.tx_customer[recent].astype(np.int64) * (days + 1) + (h.tx_day[recent] - (data.cutoff - days))
        _, basket = np.unique(basket, return_inverse=True)
        x = sp.csr_matrix((np.ones(len(basket), np.float32), (basket, h.tx_article[recent])),
                          shape=(int(basket.max(initial=-1)) + 1, h.n_articles))
        x.sum_duplicates()
        x.data[:] = 1.0  # binary basket x article
        co = (x.T.tocsr() @ x).tocoo()
        c = Candidates.build(co.row, co.col, co.data)
        c = top_k_per_customer(c.take(c.customer != c.article), neighbours)
        data.cache[key] = sp.csr_matrix((c.score, (c.customer, c.article)), shape=(h.n_articles, h.n_articles))
    return data.cache[key]


def _recent_weights(data: SourceData, customers: np.ndarray, half_life: float = 14.0) -> sp.csr_matrix:
    """customers x articles: 0.5 ** (days since the customer last bought the article / half_life)."""
    h = data.history
    owner, flat = h.rows(customers)
    w = 0.5 ** (data.age(h.last_day[flat]) / half_life)
    return sp.csr_matrix((w.astype(np.float32), (owner, h.article[flat])), shape=(len(customers), h.n_articles))


def bought_together(data: SourceData, customers: np.ndarray, n: int) -> Candidates:
    """Articles bought in the same basket as what the customer bought (recency-weighted), own articles excluded."""
    own = _recent_weights(data, customers)
    scores = fusion_sources._drop_bought(own @ basket_matrix(data), own)
    return top_k_per_customer(fusion_sources._coo_candidates(customers, scores), n)


def same_product_matrix(data: SourceData) -> sp.csr_matrix:
    """Article x article: 1 where two different articles share a product_code (other colours / variants)."""
    if "same_product" not in data.cache:
        _, code = np.unique(data.product_code, return_inverse=True)
        p = sp.csr_matrix((np.ones(len(code), np.float32), (np.arange(len(code)), code)))
        same = (p @ p.T).tocsr()
        same.setdiag(0)
        same.eliminate_zeros()
        data.cache["same_product"] = same
    return data.cache["same_product"]


def same_product(data: SourceData, customers: np.ndarray, n: int) -> Candidates:
    """Other articles of the product_codes the customer bought (recency-weighted), own articles excluded."""
    own = _recent_weights(data, customers)
    scores = fusion_sources._drop_bought(own @ same_product_matrix(data), own)
    return top_k_per_customer(fusion_sources._coo_candidates(customers, scores), n)


def als_pool(data: SourceData, size: int = 4096, days: int = 28) -> np.ndarray:
    """The article_idx ALS may propose: the `size` most-bought (distinct buyers, last `days`) articles in the model
    (scoring every customer against every article costs customers x articles; the tail is rarely bought)."""
    key = ("als_pool", size, days)
    if key not in data.cache:
        buyers = distinct_buyers(data, days)[0].copy()
        buyers[data.als.item_col < 0] = 0
        data.cache[key] = _top_list(buyers, size)[0]
    return data.cache[key]


def als_top_n(factors: AlsFactors, customers: np.ndarray, pool: np.ndarray, n: int, block: int = 8192
              ) -> Candidates:
    """ALS top-`n` (user . item factors) among the article_idx `pool` for each of `customers` in the model (others
    get none), scored in blocks of customers (one matrix product each)."""
    customers = np.asarray(customers)
    known = customers[factors.user_row[customers] >= 0]
    pool = pool[factors.item_col[pool] >= 0]
    n = min(n, len(pool))
    if not n:
        return Candidates.empty()
    items = factors.item_factors[factors.item_col[pool]]
    parts = []
    for start in range(0, len(known), block):
        chunk = known[start : start + block]
        scores = factors.user_factors[factors.user_row[chunk]] @ items.T
        top = np.argpartition(-scores, n - 1, axis=1)[:, :n]
        parts.append(Candidates.build(np.repeat(chunk, n), pool[top.ravel()],
                                      np.take_along_axis(scores, top, axis=1).ravel()))
    return fusion_sources.concat(parts)


def als(data: SourceData, customers: np.ndarray, n: int) -> Candidates:
    """ALS top-`n` among `als_pool` (factors fit before the cutoff), for the customers in the model."""
    if data.als is None:
        return Candidates.empty()
    return als_top_n(data.als, customers, als_pool(data), n)


CandidateSource = Callable[[SourceData, np.ndarray, int], Candidates]

#: name -> (source, candidates per customer). The order is the order of the source columns in the features.
SOURCES: dict[str, tuple[CandidateSource, int]] = {
    "repurchase": (repurchase, 30),
    "image": (image_similar, 20),
    "als": (als, 30),
    "bought_together": (bought_together, 20),
    "same_product": (same_product, 10),
    "trending": (trending, 30),
    "age_popular": (age_popular, 20),
    "popular": (popular, 12),
}


@dataclass(frozen=True)
class CandidateTable:
    """Unique (customer, article) candidates sorted by customer then article, with each source's rank (0 = its best;
    NaN: the source did not propose it) and score (NaN likewise), columns in `names` order."""

    customer: np.ndarray  # int32
    article: np.ndarray  # int32
    rank: np.ndarray  # float32, n x len(names)
    score: np.ndarray  # float32, n x len(names)
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.customer)

    def take(self, index: np.ndarray) -> "CandidateTable":
        return CandidateTable(self.customer[index], self.article[index], self.rank[index], self.score[index],
                              self.names)

    def per_customer(self) -> np.ndarray:
        return np.diff(np.r_[0, np.flatnonzero(np.diff(self.customer)) + 1, len(self.customer)]) if len(self) \
            else np.zeros(0, np.int64)


def _ranked_order(c: Candidates) -> bool:
    """Whether `c` is already sorted by (customer, score desc, article), as most sources return it."""
    if len(c) < 2:
        return True
    step = np.diff(c.customer.astype(np.int64))
    same = step == 0
    drop = np.diff(c.score)
    return bool((step >= 0).all() and (drop[same] <= 0).all()
                and (np.diff(c.article.astype(np.int64))[same & (drop == 0)] > 0).all())


def collect_candidates(data: SourceData, customers: np.ndarray,
                       sources: dict[str, tuple[CandidateSource, int]] | None = None) -> CandidateTable:
    """Run every source for `customers` and merge their lists into one table of unique pairs."""
    sources = SOURCES if sources is None else sources
    names = tuple(sources)
    keys, which, ranks, scores = [], [], [], []
    for s, (source, n) in enumerate(sources.values()):
        c = source(data, np.asarray(customers), n)
        if not _ranked_order(c):
            c = c.take(np.lexsort((c.article, -c.score, c.customer)))
        keys.append(c.customer.astype(np.int64) * data.n_articles + c.article)
        which.append(np.full(len(c), s, np.int8))
        ranks.append(rank_in_group(c.customer).astype(np.float32))
        scores.append(c.score)
    key = np.concatenate(keys) if keys else np.empty(0, np.int64)
    unique, pair = np.unique(key, return_inverse=True)
    rank = np.full((len(unique), len(names)), np.nan, np.float32)
    score = np.full((len(unique), len(names)), np.nan, np.float32)
    if len(key):
        which_all = np.concatenate(which)
        rank[pair, which_all] = np.concatenate(ranks)
        score[pair, which_all] = np.concatenate(scores)
    return CandidateTable((unique // data.n_articles).astype(np.int32), (unique % data.n_articles).astype(np.int32),
                          rank, score, names)
