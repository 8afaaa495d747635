"""The two-stage recommender: candidate sources -> features -> LightGBM LambdaRank -> top 12, as one recipe.

Time discipline (the recipe for a target week starting at day `target`):
- label weeks: the `train_weeks` weeks before `target - 7` train the ranker; the week [target - 7, target) is the
  validation week that picks the number of boosting rounds (early stopping on MAP@12); the target week is never
  read (for the evaluation it is the held-out week; for the submission it is the week after the data).
- for every label week starting at `c`, candidates, features and the ALS factors come from purchases with day < c
  only (`Inputs.at(c)` refits ALS on them unless a fit for that cutoff is supplied); every `SourceData` refuses
  a history that reaches its cutoff.
- training rows: customers who bought in the label week (a seeded sample of `max_label_customers` when more did)
  and have at least one bought article among their candidates (LambdaRank learns nothing from an all-negative
  group), all positives and up to `max_negatives` sampled negatives each.
- ALS: a label week without a supplied fit (the pipeline supplies `als_model`'s two) is refit with
  `refit_iterations` (3, not the 15 of the project default: the compromise that keeps the full-scale cost in
  budget; its quality effect is measured in bench/RESULTS.md).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from dataclasses import dataclass, field, replace
from typing import Iterator

import numpy as np
import scipy.sparse as sp

from hm_pipeline.recommend.candidate_file import CandidateChunks, chunk_customers, n_chunks, ordered_results
from hm_pipeline.recommend.candidates import best_rows_per_group, rank_in_group
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
    """Settings of the recipe: training weeks, negative sampling, LightGBM, and the per-week ALS refits."""

    train_weeks: int = 1
    max_negatives: int = 50
    max_label_customers: int = 50_000  # buyers of a label week kept (a seeded sample when more bought)
    num_boost_round: int = 400
    early_stopping_rounds: int = 40
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_data_in_leaf: int = 50
    feature_fraction: float = 0.8
    seed: int = 0
    threads: int = 1  # LightGBM threads: OpenMP spin-waits make 2 threads far slower on a busy 2-core machine
    als: AlsParams = field(default_factory=AlsParams)
    refit_iterations: int = 3  # ALS iterations of the label-week refits (0: as `als`); supplied fits are used as-is
    als_user_min: int = 5
    als_article_min: int = 5
    als_confidence: str = "recency"

    def lgb_params(self) -> dict:
        return {"objective": "lambdarank", "metric": "map", "eval_at": [K], "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves, "min_data_in_leaf": self.min_data_in_leaf,
                "feature_fraction": self.feature_fraction, "bagging_seed": self.seed, "feature_fraction_seed": self.seed,
                "seed": self.seed, "deterministic": True, "num_threads": self.threads, "verbosity": -1,
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
            model, _ = fit_als(m.matrix, replace(c.als, iterations=c.refit_iterations or c.als.iterations))
            self.als_fits[cutoff] = AlsFactors.from_id_maps(model.user_factors, model.item_factors, m.user_ids,
                                                            m.item_ids, before.n_users, before.n_items)
        return self.als_fits[cutoff]

    def at(self, cutoff: int) -> SourceData:
        """Sources' and features' view of the data just before day `cutoff`."""
        keep = self.purchases.day < cutoff
        p = self.purchases
        history = PurchaseHistory.from_transactions(p.user[keep], p.item[keep], p.day[keep], p.n_users, p.n_items)
        return SourceData(history, self.price[keep], cutoff, self.similar, self.product_code, self.department,
                          self.index, self.age_group, self.als_at(cutoff))

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


@dataclass(frozen=True)
class Variant:
    """A recommender without some candidate sources and / or feature groups (the ablations). Sources and features
    of a pair do not depend on the other sources, so a variant is the full table minus the pairs only the disabled
    sources proposed and minus their columns: no recomputation."""

    disabled_sources: frozenset[str] = frozenset()
    disabled_features: frozenset[str] = frozenset()

    def rows(self, proposed: np.ndarray, source_names: tuple[str, ...]) -> np.ndarray:
        on = [i for i, n in enumerate(source_names) if n not in self.disabled_sources]
        return proposed[:, on].any(axis=1)

    def columns(self, names: list[str], groups: dict[str, list[str]]) -> np.ndarray:
        off = {n for g in self.disabled_features for n in groups.get(g, [])}
        off |= {f"{s}_{what}" for s in self.disabled_sources for what in ("rank", "score")}
        return np.array([i for i, n in enumerate(names) if n not in off], np.int64)


FULL = Variant()


@dataclass
class PairTable:
    """Candidates of a set of customers with every feature; `source_rank[i, s]`: pair i's rank in source s (NaN:
    not proposed by s)."""

    customer: np.ndarray
    article: np.ndarray
    x: np.ndarray
    source_rank: np.ndarray
    source_names: tuple[str, ...]
    names: list[str]
    groups: dict[str, list[str]]

    @staticmethod
    def source_names_of() -> tuple[str, ...]:
        return tuple(SOURCES)

    @classmethod
    def from_table(cls, data: SourceData, table: CandidateTable) -> "PairTable":
        x, names, groups = pair_features(data, table)
        return cls(table.customer, table.article, x, table.rank, table.names, names, groups)

    @classmethod
    def build(cls, data: SourceData, customers: np.ndarray) -> "PairTable":
        return cls.from_table(data, collect_candidates(data, customers))

    def take(self, rows: np.ndarray) -> "PairTable":
        return PairTable(self.customer[rows], self.article[rows], self.x[rows], self.source_rank[rows],
                         self.source_names, self.names, self.groups)

    def view(self, variant: Variant) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(row mask, feature matrix of those rows, feature names) of a variant."""
        proposed = ~np.isnan(self.source_rank)
        rows = variant.rows(proposed, self.source_names)
        cols = variant.columns(self.names, self.groups)
        if rows.all() and len(cols) == len(self.names):  # the full ranker: no copy
            return rows, self.x, list(self.names)
        x, names = self.x[np.ix_(rows, cols)], [self.names[i] for i in cols]
        if variant.disabled_sources and "n_sources" in names:  # count only the sources the variant keeps
            on = [i for i, n in enumerate(self.source_names) if n not in variant.disabled_sources]
            x[:, names.index("n_sources")] = proposed[rows][:, on].sum(axis=1)
        return rows, x, names


@dataclass
class LabelWeek:
    """Rows of one label week: every candidate of the week's (sampled) buyers who have a bought candidate, all
    sources and features (variants select from them), labels, the training sample's rows, and recall."""

    cutoff: int
    pairs: PairTable
    y: np.ndarray
    in_sample: np.ndarray  # bool: the pair is in the training sample (all positives + sampled negatives)
    recall: dict[str, float]
    customers: int
    seconds: float

    def sampled(self) -> "LabelWeek":
        """The week as a training week: only the sampled rows."""
        return replace(self, pairs=self.pairs.take(self.in_sample), y=self.y[self.in_sample],
                       in_sample=self.in_sample[self.in_sample])


def candidate_recall(table: CandidateTable, y: np.ndarray, bought: sp.csr_matrix, customers: np.ndarray
                     ) -> dict[str, float]:
    """Share of the week's distinct (customer, article) purchases of `customers` each source (and all) proposed."""
    total = max(int(bought[customers].nnz), 1)
    out = {name: float(((~np.isnan(table.rank[:, s])) & (y > 0)).sum() / total) for s, name in enumerate(table.names)}
    out["all sources"] = float((y > 0).sum() / total)
    return out


def label_week(inputs: Inputs, cutoff: int, config: RankerConfig) -> LabelWeek:
    """Candidates, features and labels of the customers who bought in the week starting at `cutoff` (a seeded
    sample of `max_label_customers` when more did); customers without a bought candidate are dropped, and
    `in_sample` marks all positives and up to `max_negatives` seeded random negatives per customer."""
    started = time.perf_counter()
    data = inputs.at(cutoff)
    bought = inputs.week(cutoff)
    customers = np.flatnonzero(np.diff(bought.indptr)).astype(np.int32)
    if len(customers) > config.max_label_customers:
        rng = np.random.default_rng(config.seed + cutoff)
        customers = np.sort(rng.choice(customers, config.max_label_customers, replace=False))
    table = collect_candidates(data, customers)
    y = _labels(table, bought)
    recall = candidate_recall(table, y, bought, customers)
    noise = np.random.default_rng(config.seed + cutoff).random(len(table))
    order = np.lexsort((noise, y == 0, table.customer))  # per customer: positives, then random negatives
    rank = np.empty(len(table), np.int64)
    rank[order] = rank_in_group(table.customer[order])
    n_pos = np.bincount(table.customer, weights=y, minlength=inputs.purchases.n_users)[table.customer]
    keep = np.isin(table.customer, np.unique(table.customer[y > 0]))
    table, y, in_sample = table.take(keep), y[keep], ((y > 0) | (rank < n_pos + config.max_negatives))[keep]
    return LabelWeek(cutoff, PairTable.from_table(data, table), y, in_sample, recall, len(customers),
                     time.perf_counter() - started)


def _groups(customer: np.ndarray) -> np.ndarray:
    return np.diff(np.r_[0, np.flatnonzero(np.diff(customer)) + 1, len(customer)]) if len(customer) else \
        np.zeros(0, np.int64)


def _rank_rows(week: LabelWeek, variant: Variant) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """A variant's rows of a label week, without customers left with no positive: x, y, group sizes, names."""
    rows, x, names = week.pairs.view(variant)
    customer, y = week.pairs.customer[rows], week.y[rows]
    useful = np.isin(customer, np.unique(customer[y > 0]))
    return x[useful], y[useful], _groups(customer[useful]), names


@dataclass
class FittedRanker:
    """The LightGBM booster plus what the metadata shows: feature importance, validation curve, weeks."""

    booster: object
    names: list[str]
    best_iteration: int
    curve: dict[str, list[float]]
    importance: dict[str, float]
    weeks: list[dict]
    variant: Variant = FULL
    compiled: object | None = None  # the trees as machine code (`compile_ranker`), else LightGBM predicts

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Scores of the rows of `x`, on one thread (`recommend` parallelizes over chunks instead)."""
        if self.compiled is None:
            return self.booster.predict(x, num_iteration=self.best_iteration, num_threads=1)
        out = np.empty(len(x), np.float64)
        for start in range(0, len(x), 65_536):  # row-major float64 blocks (what the compiled trees read): a
            rows = np.ascontiguousarray(x[start : start + 65_536], np.float64)  # cache-sized copy is 3x faster
            out[start : start + len(rows)] = self.compiled.predict(rows, n_jobs=1)  # than one strided copy
        return out


def compile_ranker(ranker: FittedRanker) -> FittedRanker:
    """`ranker` with its trees compiled to machine code by lleaves (LLVM): the same scores as LightGBM's predict
    (to ~1e-12) about 3x faster; worth its ~20 s compile when every customer is scored."""
    import lleaves

    with tempfile.TemporaryDirectory(prefix="hm-ranker-") as tmp:
        path = Path(tmp) / "ranker.txt"
        ranker.booster.save_model(str(path), num_iteration=ranker.best_iteration)
        model = lleaves.Model(model_file=str(path))
        model.compile()
    return replace(ranker, compiled=model)


def week_cutoffs(target: int, config: RankerConfig) -> tuple[list[int], int]:
    """First days of the recipe's training weeks (the `train_weeks` before target - 7) and of its validation week."""
    return [target - WEEK * (1 + w) for w in range(config.train_weeks, 0, -1)], target - WEEK


def label_cutoffs(targets: list[int], config: RankerConfig) -> list[int]:
    """First days of every label week the recipes of `targets` need, each once, in order."""
    return sorted({c for t in targets for c in (*week_cutoffs(t, config)[0], week_cutoffs(t, config)[1])})


def compute_weeks(inputs: Inputs, targets: list[int], config: RankerConfig | None = None, workers: int = 1
                  ) -> dict[int, LabelWeek]:
    """cutoff -> `label_week` for every week the recipes of `targets` need (a week two recipes share, e.g. one
    recipe's validation week that is the next one's training week, is computed once). The ALS refits run first,
    one at a time (each already uses every core, and OpenMP threads that share a core with other work spin);
    then `workers` threads build the weeks side by side (numpy and scipy.sparse release the GIL). Each week is
    the same whatever `workers`."""
    config = config or inputs.config
    cutoffs = label_cutoffs(targets, config)
    for cutoff in cutoffs:
        inputs.als_at(cutoff)
    return dict(zip(cutoffs, ordered_results(lambda i: label_week(inputs, cutoffs[i], config), len(cutoffs),
                                             workers)))


def recipe_weeks(weeks: dict[int, LabelWeek], target: int, config: RankerConfig) -> tuple[list[LabelWeek], LabelWeek]:
    """The recipe's training weeks (their sampled rows) and its validation week (every row), from `weeks`."""
    train, valid = week_cutoffs(target, config)
    return [weeks[c].sampled() for c in train], weeks[valid]


def label_weeks(inputs: Inputs, target: int, config: RankerConfig | None = None) -> tuple[list[LabelWeek], LabelWeek]:
    """The training weeks (sampled) and the validation week [target - 7, target) of the recipe for `target`."""
    config = config or inputs.config
    return recipe_weeks(compute_weeks(inputs, [target], config), target, config)


def fit_ranker(train: list[LabelWeek], valid: LabelWeek, config: RankerConfig, variant: Variant = FULL
               ) -> FittedRanker:
    """LambdaRank on the training weeks; the number of rounds is picked by MAP@12 on the validation week."""
    import lightgbm as lgb

    parts = [_rank_rows(w, variant) for w in train]
    x, y, group = (np.concatenate([p[i] for p in parts]) for i in range(3))
    vx, vy, vgroup, names = _rank_rows(valid, variant)
    dtrain = lgb.Dataset(x, y, group=group, feature_name=names, free_raw_data=True)
    dvalid = lgb.Dataset(vx, vy, group=vgroup, reference=dtrain)
    curve: dict = {}
    booster = lgb.train(config.lgb_params(), dtrain, config.num_boost_round, valid_sets=[dvalid],
                        valid_names=["validation week"],
                        callbacks=[lgb.record_evaluation(curve),
                                   lgb.early_stopping(config.early_stopping_rounds, verbose=False)])
    gain = booster.feature_importance("gain")
    importance = {n: round(float(g / max(gain.sum(), 1e-12)), 4)
                  for n, g in sorted(zip(names, gain), key=lambda t: -t[1])}
    weeks = [{"role": role, "first_day": w.cutoff, "customers_buying": w.customers, "rows": int(len(w.y)),
              "positives": int(w.y.sum()),
              "recall": {k: round(v, 4) for k, v in w.recall.items()}}
             for role, w in [*(("train", t) for t in train), ("validation", valid)]]
    curves = {f"{s} map@{K}": [round(float(v), 5) for v in curve[s][f"map@{K}"]] for s in curve}
    return FittedRanker(booster, names, booster.best_iteration or config.num_boost_round, curves, importance, weeks,
                        variant)


def fit_rankers(tasks: list[tuple[list[LabelWeek], LabelWeek, Variant]], config: RankerConfig, workers: int = 2
                ) -> Iterator[FittedRanker]:
    """`fit_ranker(train, valid, config, variant)` of every task, in order, `workers` fits side by side on threads
    (LightGBM releases the GIL while it boosts; each fit keeps `config.threads`, so each model is the one a
    sequential fit gives)."""
    return ordered_results(lambda i: fit_ranker(*tasks[i][:2], config, tasks[i][2]), len(tasks), workers)


def fallback_list(data: SourceData, k: int = K) -> np.ndarray:
    """The top-up list: last week's bestsellers by distinct buyers, completed by all-time ones (2k articles)."""
    top = popular(data, np.zeros(1, np.int32), 2 * k).article
    if len(top) < 2 * k:
        buyers = np.bincount(data.history.article, minlength=data.n_articles)
        extra = np.lexsort((np.arange(data.n_articles), -buyers))
        top = np.r_[top, extra[~np.isin(extra, top)][: 2 * k - len(top)]]
    return top.astype(np.int32)


def top_k(pairs: PairTable, ranker: FittedRanker, customers: np.ndarray, fallback: np.ndarray, k: int = K
          ) -> tuple[np.ndarray, np.ndarray]:
    """(len(customers), k) article_idx: each customer's k best-scored candidates, topped up from `fallback`
    (k unique ids per row), and the source of each (position in `pairs.source_names` of the source that ranked it
    best; -1: the top-up). `customers` must be sorted."""
    rows, x, names = pairs.view(ranker.variant)
    if names != ranker.names:
        raise ValueError(f"features {names} differ from the ranker's {ranker.names}")
    score = ranker.predict(x) if len(x) else np.zeros(0)
    rows = np.flatnonzero(rows)
    best = rows[best_rows_per_group(pairs.customer[rows], score, pairs.article[rows], k)]
    customer, article = pairs.customer[best], pairs.article[best]
    best_source = np.nan_to_num(pairs.source_rank[best], nan=np.inf).argmin(axis=1) if len(best) else customer
    out = np.full((len(customers), k), -1, np.int32)
    source = np.full((len(customers), k), -1, np.int8)
    at = np.searchsorted(customers, customer), rank_in_group(customer)
    out[at] = article
    source[at] = best_source
    return fill_with(out, fallback), source


def recommend(data: SourceData, rankers: dict[str, FittedRanker], candidates: CandidateChunks, k: int = K,
              bought: sp.csr_matrix | None = None, workers: int = 1, compiled: bool = False
              ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict]:
    """name -> ((len(customers), k) article_idx, their source positions) for every ranker (see `top_k`), from one
    feature pass per chunk of `candidates` (features of the data before `data.cutoff`, which must be the cutoff
    the candidates were collected at); rows follow `candidates.customers` (sorted). `workers` threads take chunks
    in turn (numpy, scipy.sparse, pyarrow and LightGBM release the GIL; the shared caches on `data` are filled by a
    one-customer pass first); `compiled`: rank with `compile_ranker`'s machine code (for large runs). Also returns
    timings (summed over workers), the number of candidates and, given the week's purchases `bought` (binary
    customers x articles), the candidates' recall per source and in total."""
    customers = candidates.customers
    fallback = fallback_list(data, k)
    clock = time.perf_counter()
    rankers = {name: compile_ranker(r) for name, r in rankers.items()} if compiled else rankers
    compile_seconds = time.perf_counter() - clock
    out = {name: (np.empty((len(customers), k), np.int32), np.empty((len(customers), k), np.int8))
           for name in rankers}
    names = [*PairTable.source_names_of(), "all sources"]
    stats = {"candidates": 0, "seconds_compile": round(compile_seconds, 1), "seconds_candidates_features": 0.0,
             "seconds_predict": 0.0}
    hits = np.zeros(len(names), np.int64)

    def run(i: int) -> tuple[int, dict, float, float, np.ndarray, int]:
        part = chunk_customers(candidates, i)
        clock = time.perf_counter()
        table = candidates.table(i)
        pairs = PairTable.from_table(data, table)
        built = time.perf_counter() - clock
        found = np.zeros(len(names), np.int64)
        if bought is not None:
            y = _labels(table, bought) > 0
            found[:] = np.r_[(~np.isnan(pairs.source_rank) & y[:, None]).sum(axis=0), y.sum()]
        clock = time.perf_counter()
        ranked = {name: top_k(pairs, ranker, part, fallback, k) for name, ranker in rankers.items()}
        return i * candidates.chunk, ranked, built, time.perf_counter() - clock, found, len(pairs.customer)

    if workers > 1 and len(customers):
        PairTable.build(data, customers[:1])  # fill the caches on `data` once, before threads share them
    for start, ranked, built, predicted, found, n_pairs in ordered_results(run, n_chunks(candidates), workers):
        for name, (items, source) in ranked.items():
            out[name][0][start : start + len(items)] = items
            out[name][1][start : start + len(items)] = source
        stats["seconds_candidates_features"] += built
        stats["seconds_predict"] += predicted
        stats["candidates"] += n_pairs
        hits += found
    stats["candidates_per_customer"] = round(stats["candidates"] / max(len(customers), 1), 1)
    if bought is not None and len(customers):
        total = max(int(bought[customers].nnz), 1)
        stats["recall"] = {n: round(float(h / total), 4) for n, h in zip(names, hits)}
    return out, stats


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


def why(data: SourceData, ranker: FittedRanker, customer: int, items: np.ndarray, top: int = 3) -> list[dict]:
    """For each of one customer's recommended `items`: the sources that proposed it and the `top` features that
    pushed its score up most (LightGBM's per-feature contributions, `pred_contrib`); top-up items have none."""
    pairs = PairTable.build(data, np.array([customer], np.int32))
    rows, x, names = pairs.view(ranker.variant)
    article = pairs.article[rows]
    contrib = ranker.booster.predict(x, num_iteration=ranker.best_iteration, pred_contrib=True)[:, :-1] \
        if len(x) else np.zeros((0, len(names)))
    out = []
    for item in np.asarray(items):
        hit = np.flatnonzero(article == item)
        if not len(hit):
            out.append({"sources": [], "features": []})
            continue
        i = hit[0]
        proposed = np.flatnonzero(~np.isnan(pairs.source_rank[rows][i]))
        best = [j for j in np.argsort(-contrib[i])[:top] if contrib[i, j] > 0]
        out.append({"sources": [pairs.source_names[s] for s in proposed],
                    "features": [(names[j], float(x[i, j]), float(contrib[i, j])) for j in best]})
    return out
