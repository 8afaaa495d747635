"""Fusion knobs (one frozen dataclass) and the inputs every candidate source reads (`FusionData`)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from hm_pipeline.recommend.attribute_filter import AttributeFilter
from hm_pipeline.recommend.candidates import Candidates, Source
from hm_pipeline.recommend.history import PurchaseHistory
from hm_pipeline.recommend.ranking import AlsFactors

SOURCE_NAMES: tuple[str, ...] = tuple(s.name.lower() for s in Source)

#: Default merge order: personal sources first (each up to its quota), then popularity fills the rest.
DEFAULT_PRIORITY = ("repurchase", "image", "als", "copurchase", "age_popular", "trending", "popular")
DEFAULT_QUOTAS = {"repurchase": 4, "image": 6, "als": 4, "copurchase": 6}


@dataclass(frozen=True)
class FusionConfig:
    """How candidates are generated and merged into `k` articles per customer.

    Merge policy: sources are taken in `priority` order, each first up to its quota (sources without a quota: up
    to `k`); if that leaves free slots, the candidates beyond the quotas follow, again in priority order.
    `popular` (all-time bestsellers, never empty) closes every list, so every customer gets exactly `k`.
    Switching a source off (`disabled`) or emptying `als_rank` gives the ablations.
    """

    k: int = 12
    priority: tuple[str, ...] = DEFAULT_PRIORITY
    quotas: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))
    disabled: frozenset[str] = frozenset()
    als_rank: frozenset[str] = frozenset({"image", "copurchase"})  # sources re-ordered by ALS score
    unscored: str = "score"  # order of candidates without ALS score: "score" (source score) or "random" (seeded)
    seed: int = 0
    image_exclude_bought: bool = True  # own purchases are the repurchase source's job
    department_index_filter: bool = True
    repurchase_days: int = 28
    trending_days: int = 7
    trending_per_age_group: bool = False
    age_popular_days: int = 7
    copurchase_days: int | None = 28  # window of the co-buyers' purchases; None = all history (the seed's query)
    copurchase_neighbours: int | None = 20  # top co-purchased articles kept per article; None = all (the seed's)
    copurchase_when_fewer_than: int = 6  # run co-purchase for customers with fewer personal candidates than this
    chunk_customers: int = 100_000

    def __post_init__(self) -> None:
        unknown = (set(self.priority) | set(self.quotas) | set(self.disabled) | set(self.als_rank)) - set(SOURCE_NAMES)
        if unknown:
            raise ValueError(f"unknown source name(s) {sorted(unknown)}; known: {SOURCE_NAMES}")
        if "popular" not in self.priority or "popular" in self.disabled:
            raise ValueError("the 'popular' source closes every list and cannot be left out")
        if len(set(self.priority)) != len(self.priority):
            raise ValueError(f"priority lists a source twice: {self.priority}")
        if self.k < 1 or self.chunk_customers < 1:
            raise ValueError("k and chunk_customers must be >= 1")
        if self.unscored not in ("score", "random"):
            raise ValueError(f"unscored must be 'score' or 'random', got {self.unscored!r}")

    @property
    def active(self) -> tuple[str, ...]:
        return tuple(name for name in self.priority if name not in self.disabled)

    def quota(self, name: str) -> int:
        return min(self.quotas.get(name, self.k), self.k)


def similar_matrix(src: np.ndarray, dst: np.ndarray, score: np.ndarray, n_articles: int) -> sp.csr_matrix:
    """The SIMILAR relationships (src -> dst with score) as an n_articles x n_articles CSR."""
    src, dst = np.asarray(src, np.int64), np.asarray(dst, np.int64)
    for name, values in (("src", src), ("dst", dst)):
        if len(values) and (values.min() < 0 or values.max() >= n_articles):
            raise ValueError(f"SIMILAR {name} article_idx outside [0, {n_articles})")
    return sp.csr_matrix((np.asarray(score, np.float32), (src, dst)), shape=(n_articles, n_articles))


@dataclass
class FusionData:
    """Everything the sources read, in index space (customer_idx, article_idx).

    `similar`: n_articles x n_articles CSR of SIMILAR scores (see `similar_matrix`). `attributes`: the department /
    index filter (None: no filter). `als`: factors and id maps (None: no ALS ranking). `age_group`: int code per
    customer_idx (any small non-negative codes, unknown included as its own code) or None. `als_candidates`:
    optional precomputed ALS top-k per customer (source "als").
    """

    history: PurchaseHistory
    similar: sp.csr_matrix
    attributes: AttributeFilter | None = None
    als: AlsFactors | None = None
    age_group: np.ndarray | None = None
    als_candidates: Candidates | None = None

    def __post_init__(self) -> None:
        n, m = self.history.n_customers, self.history.n_articles
        if self.similar.shape != (m, m):
            raise ValueError(f"similar matrix shape {self.similar.shape} != ({m}, {m})")
        if m < 2 * 12:
            raise ValueError(f"need at least 24 articles to fill 12 unique recommendations, got {m}")
        if self.age_group is not None and len(self.age_group) != n:
            raise ValueError(f"age_group has {len(self.age_group)} entries for {n} customers")
        if self.als is not None and (len(self.als.user_row) != n or len(self.als.item_col) != m):
            raise ValueError("ALS id maps do not cover the customer / article index spaces")
        if self.als_candidates is not None:
            order = np.argsort(self.als_candidates.customer, kind="stable")
            self.als_candidates = self.als_candidates.take(order)

    @property
    def n_customers(self) -> int:
        return self.history.n_customers

    @property
    def n_articles(self) -> int:
        return self.history.n_articles

    @functools.cached_property
    def copurchase_cache(self) -> dict[tuple[int | None, int | None], sp.csr_matrix]:
        """(window days, neighbours) -> article co-purchase matrix (see `sources.copurchase_matrix`)."""
        return {}
