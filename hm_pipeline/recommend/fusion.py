"""The collector: merge every source's ranked candidates into exactly `k` unique articles per customer.

Per chunk of customers (Python loops only over chunks and sources): each source's candidates are ordered within
the customer (ALS score first where configured, `ranking.rank_order`), one table (customer, article, tier, rank)
is de-duplicated keeping each article's best tier, quotas split it into two passes, and one lexsort by
(customer, pass, tier, rank) gives the first `k` per customer. `popular` guarantees nobody is short.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import pyarrow as pa

from hm_pipeline.recommend.candidates import SOURCE_LABELS, Candidates, Source, rank_in_group, sorted_unique
from hm_pipeline.recommend.config import FusionConfig, FusionData
from hm_pipeline.recommend.ranking import rank_order
from hm_pipeline.recommend.sources import SOURCES


class Path(IntEnum):
    """Which story served a customer: the first of these that applies."""

    COLD_START = 0  # no purchases: age-group popularity
    IMAGE_ALS = 1  # at least one image candidate ranked by ALS
    IMAGE = 2  # image candidates, none with an ALS score (source-score / random top-up)
    COPURCHASE = 3  # no image candidate: the co-purchase fallback
    REPURCHASE = 4  # only own recent items and popularity
    ALS = 5  # precomputed ALS candidates and popularity
    POPULARITY = 6  # bought before, but only popularity lists apply
    RANKED = 7  # the two-stage recommender: every source's candidates ranked by the learned model

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


@dataclass(frozen=True)
class Recommendations:
    """`items[i]` = the k article_idx for `customers[i]` (rank = column + 1), `source[i]` their `Source` codes,
    `path[i]` the customer's `Path`."""

    customers: np.ndarray  # int32 customer_idx
    items: np.ndarray  # int32, n x k
    source: np.ndarray  # int8, n x k
    path: np.ndarray  # int8, n

    def path_shares(self) -> dict[str, float]:
        counts = np.bincount(self.path, minlength=len(Path))
        return {p.label: float(counts[p] / max(len(self.path), 1)) for p in Path}

    def source_mix(self) -> dict[str, int]:
        counts = np.bincount(self.source.ravel(), minlength=len(Source))
        return {label: int(counts[i]) for i, label in enumerate(SOURCE_LABELS)}

    def to_table(self) -> pa.Table:
        """Long form for Parquet: customer_idx, rank (1..k), article_idx, source (int8 `Source` code)."""
        n, k = self.items.shape
        return pa.table({
            "customer_idx": pa.array(np.repeat(self.customers, k), pa.int32()),
            "rank": pa.array(np.tile(np.arange(1, k + 1, dtype=np.int8), n), pa.int8()),
            "article_idx": pa.array(self.items.ravel(), pa.int32()),
            "source": pa.array(self.source.ravel(), pa.int8()),
        })

    def report(self) -> dict:
        return {"customers": len(self.customers), "path_shares": self.path_shares(), "source_mix": self.source_mix()}


@dataclass(frozen=True)
class _Ranked:
    customer: np.ndarray
    article: np.ndarray
    tier: np.ndarray
    rank: np.ndarray
    has_als: np.ndarray


def _ranked(c: Candidates, tier: int, name: str, data: FusionData, config: FusionConfig) -> _Ranked:
    """Order one source's candidates within each customer; keep the first 2k (enough after de-duplication)."""
    als = data.als.scores(c.customer, c.article) if data.als is not None and name in config.als_rank else None
    order = rank_order(c.customer, c.article, c.score, als, config.unscored, config.seed)
    customer = c.customer[order]
    rank = rank_in_group(customer)
    keep = rank < 2 * config.k
    has_als = ~np.isnan(als[order][keep]) if als is not None else np.zeros(int(keep.sum()), bool)
    return _Ranked(customer[keep], c.article[order][keep], np.full(int(keep.sum()), tier, np.int8), rank[keep], has_als)


def _distinct_per_customer(parts: list[_Ranked], customers: np.ndarray, n_articles: int) -> np.ndarray:
    """Number of distinct articles per customer (aligned with sorted `customers`) over `parts`."""
    if not parts:
        return np.zeros(len(customers), np.int64)
    keys = sorted_unique(np.concatenate([p.customer.astype(np.int64) * n_articles + p.article for p in parts]))
    return np.bincount(np.searchsorted(customers, keys // n_articles), minlength=len(customers))


def _merge(parts: list[_Ranked], quotas: np.ndarray, k: int, n_articles: int) -> _Ranked:
    """De-duplicate (best tier wins), re-rank within tier, split by quota, and keep the first k per customer.
    Sorts use one composite int64 key each (several times faster than a multi-key lexsort)."""
    customer = np.concatenate([p.customer for p in parts]).astype(np.int64)
    article = np.concatenate([p.article for p in parts])
    tier = np.concatenate([p.tier for p in parts]).astype(np.int64)
    rank = np.concatenate([p.rank for p in parts])
    has_als = np.concatenate([p.has_als for p in parts])
    n_tiers, n_ranks = len(quotas), 2 * k  # tier < n_tiers, rank < n_ranks (see _ranked)
    pair = customer * n_articles + article
    order = np.argsort((pair * n_tiers + tier) * n_ranks + rank)
    first = order[np.r_[True, pair[order][1:] != pair[order][:-1]]]
    customer, article, tier, rank, has_als = customer[first], article[first], tier[first], rank[first], has_als[first]
    order = np.argsort((customer * n_tiers + tier) * n_ranks + rank)
    customer, article, tier, has_als = customer[order], article[order], tier[order], has_als[order]
    rank = rank_in_group(customer * n_tiers + tier)
    second_pass = (rank >= quotas[tier]).astype(np.int64)
    order = np.argsort(((customer * 2 + second_pass) * n_tiers + tier) * n_ranks + rank)
    customer, article, tier, has_als = customer[order], article[order], tier[order], has_als[order]
    slot = rank_in_group(customer)
    keep = slot < k
    return _Ranked(customer[keep], article[keep], tier[keep].astype(np.int8), slot[keep], has_als[keep])


def _paths(customers: np.ndarray, source: np.ndarray, image_als: np.ndarray, warm: np.ndarray) -> np.ndarray:
    has = lambda s: (source == s).any(axis=1)  # noqa: E731
    conditions = [
        ~warm,
        image_als.any(axis=1),
        has(Source.IMAGE),
        has(Source.COPURCHASE),
        has(Source.REPURCHASE),
        has(Source.ALS),
    ]
    return np.select(conditions, [Path.COLD_START, Path.IMAGE_ALS, Path.IMAGE, Path.COPURCHASE, Path.REPURCHASE, Path.ALS],
                     Path.POPULARITY).astype(np.int8)


def fuse(data: FusionData, config: FusionConfig | None = None, customers: np.ndarray | None = None) -> Recommendations:
    """Exactly `config.k` unique article_idx for every customer in `customers` (default: all), in that order."""
    config = config or FusionConfig()
    customers = np.arange(data.n_customers, dtype=np.int32) if customers is None else np.asarray(customers, np.int32)
    if len(sorted_unique(customers)) != len(customers):
        raise ValueError("customers must be unique")
    k, active = config.k, config.active
    codes = np.array([Source[name.upper()] for name in active], np.int8)
    quotas = np.array([config.quota(name) for name in active], np.int64)
    items = np.empty((len(customers), k), np.int32)
    source = np.empty((len(customers), k), np.int8)
    image_als = np.zeros((len(customers), k), bool)
    for start in range(0, len(customers), config.chunk_customers):
        given = customers[start : start + config.chunk_customers]
        sorted_to_given = np.argsort(given, kind="stable")
        chunk = given[sorted_to_given]
        parts: list[_Ranked] = []
        for tier, name in enumerate(active):
            batch = chunk
            if name == "copurchase":  # the fallback: only customers the earlier sources leave short
                personal = _distinct_per_customer(parts, chunk, data.n_articles)
                short = (personal < config.copurchase_when_fewer_than) & data.history.has_purchases()[chunk]
                batch = chunk[short]
            c = SOURCES[name](data, batch, config)
            if len(c):
                parts.append(_ranked(c, tier, name, data, config))
        merged = _merge(parts, quotas, k, data.n_articles)
        filled = np.bincount(np.searchsorted(chunk, merged.customer), minlength=len(chunk))
        if (filled != k).any():
            raise RuntimeError(f"{int((filled != k).sum())} customers got fewer than {k} articles")
        out_row = start + sorted_to_given[np.searchsorted(chunk, merged.customer)]
        items[out_row, merged.rank] = merged.article
        source[out_row, merged.rank] = codes[merged.tier]
        image_als[out_row, merged.rank] = merged.has_als & (codes[merged.tier] == Source.IMAGE)
    warm = data.history.has_purchases()[customers]
    return Recommendations(customers, items, source, _paths(customers, source, image_als, warm))
