"""The fused recommender fit on training data only, and its ablations, as candidates for the held-out evaluation.

Everything is built from the purchases before the held-out window: the history (repurchase, trending, co-purchase,
age popularity), the department/index filter (`AttributeFilter.from_history`: the pairs the graph's batched query
returns, restricted to training purchases; the graph itself holds the held-out week too), and the ALS model fit on
the train-only matrix (its top 12 per customer are the `als` source, `als_candidates`). SIMILAR comes from the images only and age groups from the customers' ages (no purchases).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from hm_pipeline.graph.age_groups import GROUP_NAMES, age_group_names
from hm_pipeline.recommend.attribute_filter import AttributeFilter, encode_codes
from hm_pipeline.recommend.candidate_sources import als_top_n
from hm_pipeline.recommend.candidates import Candidates
from hm_pipeline.recommend.config import FusionConfig, FusionData
from hm_pipeline.recommend.fusion import fuse
from hm_pipeline.recommend.history import PurchaseHistory
from hm_pipeline.recommend.ranking import AlsFactors
from hm_pipeline.training.split import Purchases

#: name -> FusionConfig changes; the first is the full recommender.
ABLATIONS: dict[str, dict] = {
    "fused": {},
    "fused without image candidates": {"disabled": frozenset({"image"})},
    "fused without ALS ranking": {"als_rank": frozenset()},
    "fused without repurchase / trending": {"disabled": frozenset({"repurchase", "trending"})},
}


def age_group_codes(ages: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Position in `GROUP_NAMES` of each customer's age bucket (the graph's AgeGroup, same bucketing)."""
    return pc.index_in(age_group_names(ages), value_set=pa.array(GROUP_NAMES)).to_numpy().astype(np.int8)


def train_only_data(
    train: Purchases,
    similar: sp.csr_matrix,
    department_no: np.ndarray,
    index_code: np.ndarray,
    als: AlsFactors | None,
    age_group: np.ndarray | None,
    customers: np.ndarray | None = None,
) -> FusionData:
    """The fusion's inputs from the training purchases; the `als` source is computed for `customers` only (the
    ones to be recommended for; None: every customer in the model)."""
    history = PurchaseHistory.from_transactions(train.user, train.item, train.day, train.n_users, train.n_items)
    department = encode_codes(department_no, np.empty(0, np.asarray(department_no).dtype))[0]
    index = encode_codes(index_code, np.empty(0, np.asarray(index_code).dtype))[0]
    return FusionData(history, similar, AttributeFilter.from_history(history, department, index), als, age_group,
                      als_candidates(history, als, customers=customers))


def als_candidates(history: PurchaseHistory, als: AlsFactors | None, n: int = 12, pool: int = 4096,
                   days: int = 28, customers: np.ndarray | None = None) -> Candidates | None:
    """The fusion's `als` source: each customer's ALS top-`n` among the `pool` articles with the most distinct
    buyers over the last `days` (of `customers`, default every customer in the model)."""
    if als is None:
        return None
    recent = history.last_day > history.last_date - days  # one entry per (customer, article): distinct buyers
    buyers = np.bincount(history.article[recent], minlength=history.n_articles)
    top = np.lexsort((np.arange(history.n_articles), -buyers))[:pool]
    customers = np.flatnonzero(als.user_row >= 0) if customers is None else np.asarray(customers)
    return als_top_n(als, customers, top[buyers[top] > 0].astype(np.int32), n)


def fused_candidates(
    data: FusionData, base: FusionConfig | None = None, ablations: dict[str, dict] = ABLATIONS
) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """name -> (customer_idx array -> (n, k) article_idx), for `evaluate_candidates(others=...)`."""
    base = base or FusionConfig()

    def recommender(config: FusionConfig) -> Callable[[np.ndarray], np.ndarray]:
        return lambda users: fuse(data, config, np.asarray(users)).items

    return {name: recommender(replace(base, **changes)) for name, changes in ablations.items()}
