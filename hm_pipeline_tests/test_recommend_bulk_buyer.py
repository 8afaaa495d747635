"""Issue #13 item 5: one bulk buyer (10,000 purchases of one article) must not put it in everyone's list.
Popularity, trending and age-group popularity count distinct buyers — in the seed fusion's sources and in the
evaluation baselines."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from hm_pipeline.recommend.config import FusionConfig, FusionData
from hm_pipeline.recommend.history import PurchaseHistory
from hm_pipeline.recommend.sources import age_popular, popular, trending
from hm_pipeline.training.baselines import popularity, repurchase_then_trending
from hm_pipeline.training.split import Purchases

N_CUSTOMERS, N_ARTICLES, DAY = 40, 30, 1000
BULK = 0  # the article one customer buys 10,000 times


def purchases() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customer 0 buys article 0 10,000 times; customers 1..36 each buy one of articles 1..12 (3 buyers each)."""
    customer = np.r_[np.zeros(10_000, np.int32), np.arange(1, 37)]
    article = np.r_[np.full(10_000, BULK), 1 + np.arange(36) % 12].astype(np.int32)
    return customer, article, np.full(len(customer), DAY, np.int32)


def test_fusion_popularity_sources_count_buyers():
    customer, article, day = purchases()
    history = PurchaseHistory.from_transactions(customer, article, day, N_CUSTOMERS, N_ARTICLES)
    data = FusionData(history, sp.csr_matrix((N_ARTICLES, N_ARTICLES), dtype=np.float32),
                      age_group=np.zeros(N_CUSTOMERS, np.int8))
    config = FusionConfig(k=12)
    cold = np.array([37, 38, 39])  # no purchases: they get the popularity lists
    for source in (trending, popular, age_popular):
        c = source(data, cold, config)
        first = c.article[c.customer == 37][np.argsort(-c.score[c.customer == 37], kind="stable")][:12]
        assert BULK not in first, source.__name__


def test_evaluation_baselines_count_buyers():
    customer, article, day = purchases()
    train = Purchases(day, customer, article, N_CUSTOMERS, N_ARTICLES)
    users = np.array([37, 38])
    assert BULK not in popularity(train, users, k=12)
    assert BULK not in repurchase_then_trending(train, users, k=12)
