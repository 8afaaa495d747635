"""Small random worlds for the recommend tests (index space, seeded)."""

from __future__ import annotations

import numpy as np

from hm_pipeline.recommend.attribute_filter import AttributeFilter
from hm_pipeline.recommend.config import FusionData, similar_matrix
from hm_pipeline.recommend.history import PurchaseHistory
from hm_pipeline.recommend.ranking import AlsFactors

DAY0 = 19_000


def random_world(seed: int = 0, n: int = 400, m: int = 120, t: int = 3000, cold_every: int = 7, factors: int = 4) -> FusionData:
    """Customers with repeat purchases over 60 days, every `cold_every`-th customer with none, top-5 SIMILAR for
    4 out of 5 articles (the rest have no image), 4 departments x 3 indexes, ALS for every other customer and
    two thirds of the articles, 7 age groups."""
    rng = np.random.default_rng(seed)
    customer = rng.integers(0, n, t)
    customer = np.where(customer % cold_every == 0, (customer + 1) % n, customer)
    article = rng.integers(0, m, t)
    repeat = rng.random(t) < 0.2  # repeat purchases of the previous row's pair
    article[1:][repeat[1:]] = article[:-1][repeat[1:]]
    customer[1:][repeat[1:]] = customer[:-1][repeat[1:]]
    day = DAY0 + rng.integers(0, 60, t)
    history = PurchaseHistory.from_transactions(customer, article, day, n, m)
    with_image = np.flatnonzero(np.arange(m) % 5 != 4)
    src = np.repeat(with_image, 5)
    dst = np.concatenate([rng.choice(np.setdiff1d(with_image, [a]), 5, replace=False) for a in with_image])
    similar = similar_matrix(src, dst, rng.random(len(src)).astype(np.float32), m)
    attributes = AttributeFilter.from_history(history, rng.integers(0, 4, m), rng.integers(0, 3, m))
    als = AlsFactors.from_id_maps(
        rng.standard_normal((n // 2, factors)), rng.standard_normal((2 * m // 3, factors)),
        np.arange(0, n, 2), rng.permutation(m)[: 2 * m // 3], n, m,
    )
    return FusionData(history, similar, attributes, als, age_group=rng.integers(0, 7, n).astype(np.int8))
