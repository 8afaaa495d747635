"""The two-stage recommender: candidate sources -> features -> LightGBM LambdaRank -> top 12, as one recipe.

Time discipline (the recipe for a target week starting at day `target`):
- label weeks: the `train_weeks` weeks before `target - 7` train the ranker; the week [target - 7, target) is the
  validation week that picks the number of boosting rounds (early stopping on MAP@12); the target week is never
  read (for the evaluation it is the held-out week; for the submission it is the week after the data).
- for every label week starting at `c`, candidates, features and the ALS factors come from purchases with day < c
  only (`Inputs.at(c)` refits ALS on them unless a fit for that cutoff is supplied); every `SourceData` refuses
  a history that reaches its cutoff.
- training rows: customers who bought in the label week and have at least one bought article among their
  candidates (LambdaRank learns nothing from an all-negative group), all positives and up to `max_negatives`
  sampled negatives each.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from hm_pipeline.recommend.candidates import rank_in_group
from hm_pipeline.recommend.candidate_sources import SOURCES, CandidateTable, SourceData, collect_candidates, popular
from hm_pipeline.recommend.features import pair_features
from hm_pipeline.recommend.history import PurchaseHistory
from hm_pipeline.recommend.ranking import AlsFactors
from hm_pipeline.training.als import AlsParams, fit_als
from hm_pipeline.training.baselines import fill_with
from hm_pipeline.training.interactions import build_interactions
from hm_pipeline.training.metrics import K
from hm_pipeline.training.split import Purchases

WEEK = 7


@dataclass(frozen=True)
class RankerConfig:
    """Settings of the recipe; `disabled_sources` / `disabled_features` (feature groups) give the ablations."""

    train_weeks: int = 1
    max_negatives: int = 50
    num_boost_round: int = 400
    early_stopping_rounds: int = 40
    learning_rate: float = 0.05
    num_leaves: int = 63
    min_data_in_leaf: int = 50
    feature_fraction: float = 0.8
    seed: int = 0
    chunk_customers: int = 50_000
    disabled_sources: frozenset[str] = frozenset()
    disabled_features: frozenset[str] = frozenset()
    als: AlsParams = field(default_factory=AlsParams)
    als_user_min: int = 5
    als_article_min: int = 5
    als_confidence: str = "recency"

    def sources(self) -> dict:
        unknown = set(self.disabled_sources) - set(SOURCES)
        if unknown:
            raise ValueError(f"unknown candidate source(s) {sorted(unknown)}; known: {list(SOURCES)}")
        return {name: s for name, s in SOURCES.items() if name not in self.disabled_sources}

    def lgb_params(self) -> dict:
        return {"objective": "lambdarank", "metric": "map", "eval_at": [K], "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves, "min_data_in_leaf": self.min_data_in_leaf,
                "feature_fraction": self.feature_fraction, "bagging_seed": self.seed, "feature_fraction_seed": self.seed,
                "seed": self.seed, "deterministic": True, "num_threads": 2, "verbosity": -1,
                "lambdarank_truncation_level": 20}


@dataclass
class Inputs:
    """Every purchase (with its price) plus what does not depend on time: article codes, age groups, SIMILAR."""

    purchases: Purchases
    price: np.ndarray
    similar: sp.csr_matrix
    product_code: np.ndarray
    department: np.ndarray
    index: np.ndarray
    age_group: np.ndarray
    config: RankerConfig = field(default_factory=RankerConfig)
    als_fits: dict[int, AlsFactors] = field(default_factory=dict)  # cutoff -> factors (pre-fitted ones are reused)

    def als_at(self, cutoff: int) -> AlsFactors:
        """ALS fit on purchases before `cutoff` (cached per cutoff)."""
        if cutoff not in self.als_fits:
            before = self.purchases.select(self.purchases.day < cutoff)
            c = self.config
            m = build_interactions(before, c.als_user_min, c.als_article_min, c.als_confidence, end_day=cutoff - 1)
            model, _ = fit_als(m.matrix, c.als)
            self.als_fits[cutoff] = AlsFactors.from_id_maps(model.user_factors, model.item_factors, m.user_ids,
                                                            m.item_ids, before.n_users, before.n_items)
        return self.als_fits[cutoff]

    def at(self, cutoff: int) -> SourceData:
        """Sources' and features' view of the data just before day `cutoff`."""
        keep = self.purchases.day < cutoff
        p = self.purchases
        history = PurchaseHistory.from_transactions(p.user[keep], p.item[keep], p.day[keep], p.n_users, p.n_items)
        als = self.als_at(cutoff) if "als" not in self.config.disabled_sources or \
            "als" not in self.config.disabled_features else None
        return SourceData(history, self.price[keep], cutoff, self.similar, self.product_code, self.department,
                          self.index, self.age_group, als)

    def week(self, cutoff: int) -> sp.csr_matrix:
        """Binary customers x articles of the purchases in [cutoff, cutoff + 7): the labels of that week."""
        p = self.purchases
        sel = (p.day >= cutoff) & (p.day < cutoff + WEEK)
        m = sp.csr_matrix((np.ones(int(sel.sum()), np.int8), (p.user[sel], p.item[sel])), shape=(p.n_users, p.n_items))
        m.sum_duplicates()
        m.data[:] = 1
        return m


def _labels(table: CandidateTable, bought: sp.csr_matrix) -> np.ndarray:
    """1 where the candidate was bought in the label week (`bought`: binary customers x articles)."""
    coo = bought.tocoo()
    keys = np.sort(coo.row.astype(np.int64) * bought.shape[1] + coo.col)
    query = table.customer.astype(np.int64) * bought.shape[1] + table.article
    pos = np.searchsorted(keys, query).clip(max=max(len(keys) - 1, 0))
    return (keys[pos] == query).astype(np.int8) if len(keys) else np.zeros(len(query), np.int8)


def _select_features(x: np.ndarray, names: list[str], groups: dict[str, list[str]], disabled: frozenset[str]
                     ) -> tuple[np.ndarray, list[str]]:
    off = {n for g in disabled for n in groups.get(g, [])}
    keep = [i for i, n in enumerate(names) if n not in off]
    return x[:, keep], [names[i] for i in keep]


@dataclass
class LabelWeek:
    """Training rows of one label week: features, labels, LambdaRank group sizes, plus candidate recall."""

    cutoff: int
    x: np.ndarray
    y: np.ndarray
    group: np.ndarray
    names: list[str]
    feature_groups: dict[str, list[str]]
    recall: dict[str, float]
    customers: int
    seconds: float


def candidate_recall(table: CandidateTable, y: np.ndarray, bought: sp.csr_matrix, customers: np.ndarray
                     ) -> dict[str, float]:
    """Share of the week's (customer, article) purchases of `customers` that each source (and all) proposed."""
    total = max(int(bought[customers].nnz), 1)
    out = {name: float(((~np.isnan(table.rank[:, s])) & (y > 0)).sum() / total) for s, name in enumerate(table.names)}
    out["all sources"] = float((y > 0).sum() / total)
    return out


def label_week(inputs: Inputs, cutoff: int, config: RankerConfig, sample: bool = True) -> LabelWeek:
    """Candidates, features and labels of the customers who bought in the week starting at `cutoff`."""
    started = time.perf_counter()
    data = inputs.at(cutoff)
    bought = inputs.week(cutoff)
    customers = np.flatnonzero(np.diff(bought.indptr)).astype(np.int32)
    table = collect_candidates(data, customers, config.sources())
    y = _labels(table, bought)
    recall = candidate_recall(table, y, bought, customers)
    positive_customers = np.unique(table.customer[y > 0])
    keep = np.isin(table.customer, positive_customers)
    if sample:
        rng = np.random.default_rng(config.seed + cutoff)
        noise = rng.random(len(table))
        # negatives: keep the `max_negatives` with the smallest random key per customer
        order = np.lexsort((noise, y == 0, table.customer))
        rank = np.empty(len(table), np.int64)
        rank[order] = rank_in_group(table.customer[order])
        n_pos = np.bincount(table.customer, weights=y, minlength=inputs.purchases.n_users)[table.customer]
        keep &= (y > 0) | (rank < n_pos + config.max_negatives)
    table, y = table.take(keep), y[keep]
    x, names, groups = pair_features(data, table)
    x, names = _select_features(x, names, groups, config.disabled_features)
    return LabelWeek(cutoff, x, y, table.per_customer(), names, groups, recall, len(customers),
                     time.perf_counter() - started)


@dataclass
class FittedRanker:
    """The LightGBM booster plus what the metadata shows: feature importance, validation curve, recall, rows."""

    booster: object
    names: list[str]
    best_iteration: int
    curve: dict[str, list[float]]
    importance: dict[str, float]
    weeks: list[dict]
    config: RankerConfig

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.booster.predict(x, num_iteration=self.best_iteration)


def fit_ranker(inputs: Inputs, target: int, config: RankerConfig | None = None) -> FittedRanker:
    """Train on the `train_weeks` label weeks before `target - 7`, early-stop on the week [target - 7, target)."""
    import lightgbm as lgb

    config = config or inputs.config
    train = [label_week(inputs, target - WEEK * (1 + w), config) for w in range(config.train_weeks, 0, -1)]
    valid = label_week(inputs, target - WEEK, config, sample=False)
    x = np.concatenate([w.x for w in train])
    y = np.concatenate([w.y for w in train])
    group = np.concatenate([w.group for w in train])
    names = valid.names
    dtrain = lgb.Dataset(x, y, group=group, feature_name=names, free_raw_data=True)
    dvalid = lgb.Dataset(valid.x, valid.y, group=valid.group, reference=dtrain)
    curve: dict = {}
    booster = lgb.train(config.lgb_params(), dtrain, config.num_boost_round, valid_sets=[dtrain, dvalid],
                        valid_names=["train", "validation"],
                        callbacks=[lgb.record_evaluation(curve),
                                   lgb.early_stopping(config.early_stopping_rounds, verbose=False)])
    gain = booster.feature_importance("gain")
    importance = {n: float(g / max(gain.sum(), 1e-12)) for n, g in sorted(zip(names, gain), key=lambda t: -t[1])}
    weeks = [{"role": role, "cutoff": w.cutoff, "customers_buying": w.customers, "rows": int(len(w.y)),
              "positives": int(w.y.sum()), "groups": int(len(w.group)), "seconds": round(w.seconds, 2),
              "recall": {k: round(v, 4) for k, v in w.recall.items()}}
             for role, w in [*(("train", t) for t in train), ("validation", valid)]]
    return FittedRanker(booster, names, booster.best_iteration or config.num_boost_round,
                        {f"{s} map@{K}": curve[s][f"map@{K}"] for s in curve}, importance, weeks, config)


@dataclass
class Ranked:
    """Top-k article_idx per customer (rows follow `customers`) and the candidate recall on the target week."""

    customers: np.ndarray
    items: np.ndarray
    candidates: int
    seconds: dict[str, float]


def recommend(inputs: Inputs, ranker: FittedRanker, target: int, customers: np.ndarray,
              data: SourceData | None = None, k: int = K,
              on_chunk: Callable[[CandidateTable, np.ndarray], None] | None = None) -> Ranked:
    """Rank every customer's candidates with features of the data before `target` (in chunks of customers) and keep
    the k best, topped up with the popularity list (k unique ids each). `on_chunk(table, scores)` sees each chunk."""
    config = ranker.config
    data = data or inputs.at(target)
    customers = np.asarray(customers, np.int32)
    fallback = popular(data, np.zeros(1, np.int32), 2 * k).article
    if len(fallback) < 2 * k:  # a thin last week: complete with all-time bestsellers
        extra = np.lexsort((np.arange(data.n_articles), -np.bincount(data.history.tx_article,
                                                                        minlength=data.n_articles)))
        fallback = np.r_[fallback, extra[~np.isin(extra, fallback)][: 2 * k]].astype(np.int32)
    out = np.full((len(customers), k), -1, np.int32)
    seconds = {"candidates": 0.0, "features": 0.0, "predict": 0.0}
    n_candidates = 0
    for start in range(0, len(customers), config.chunk_customers):
        chunk = np.sort(customers[start : start + config.chunk_customers])
        clock = time.perf_counter()
        table = collect_candidates(data, chunk, config.sources())
        seconds["candidates"] += time.perf_counter() - clock
        clock = time.perf_counter()
        x, names, groups = pair_features(data, table)
        x, names = _select_features(x, names, groups, config.disabled_features)
        if names != ranker.names:
            raise ValueError(f"features {names} differ from the ranker's {ranker.names}")
        seconds["features"] += time.perf_counter() - clock
        clock = time.perf_counter()
        score = ranker.predict(x)
        seconds["predict"] += time.perf_counter() - clock
        if on_chunk is not None:
            on_chunk(table, score)
        n_candidates += len(table)
        order = np.lexsort((-score, table.customer))
        cust, art = table.customer[order], table.article[order]
        rank = rank_in_group(cust)
        top = rank < k
        rows = np.searchsorted(customers, cust[top]) if _is_sorted(customers) else \
            _row_of(customers, cust[top])
        out[rows, rank[top]] = art[top]
    return Ranked(customers, fill_with(out, fallback), n_candidates, {k_: round(v, 2) for k_, v in seconds.items()})


def _is_sorted(a: np.ndarray) -> bool:
    return bool(np.all(a[1:] > a[:-1]))


def _row_of(customers: np.ndarray, query: np.ndarray) -> np.ndarray:
    order = np.argsort(customers)
    return order[np.searchsorted(customers[order], query)]


def with_changes(config: RankerConfig, **changes) -> RankerConfig:
    return replace(config, **changes)


def read_inputs(layout, similar_file, config: RankerConfig | None = None) -> Inputs:
    """`Inputs` from the ingest Parquet files (orphan transactions dropped), similar.parquet (missing file: no
    SIMILAR pairs) and the customers' ages (age groups as the graph buckets them)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from hm_pipeline.recommend import inputs as fusion_inputs
    from hm_pipeline.recommend.attribute_filter import encode_codes
    from hm_pipeline.recommend.offline import age_group_codes
    from hm_pipeline.training.split import purchases_from_table

    catalog = fusion_inputs.Catalog.read(layout)
    table = pq.read_table(layout.ingest_table("transactions"), columns=["t_dat", "customer_idx", "article_idx",
                                                                         "price"])
    purchases, _ = purchases_from_table(table, catalog.n_customers, catalog.n_articles,
                                        str(layout.ingest_table("transactions")))
    valid = pc.and_(pc.is_valid(table["customer_idx"]), pc.is_valid(table["article_idx"]))
    price = pc.fill_null(table.filter(valid)["price"], 0.0).to_numpy().astype(np.float32)
    similar = fusion_inputs.read_similar(similar_file, catalog) if similar_file.is_file() else \
        sp.csr_matrix((catalog.n_articles, catalog.n_articles), dtype=np.float32)
    product = pq.read_table(layout.ingest_table("articles"), columns=["product_code"])["product_code"].to_numpy()
    ages = pq.read_table(layout.ingest_table("customers"), columns=["age"])["age"]
    empty = np.empty(0, np.int64)
    return Inputs(purchases, price, similar, encode_codes(np.asarray(product), empty)[0],
                  encode_codes(catalog.department_no, empty)[0],
                  encode_codes(catalog.index_code, np.empty(0, catalog.index_code.dtype))[0],
                  age_group_codes(ages), config or RankerConfig())
