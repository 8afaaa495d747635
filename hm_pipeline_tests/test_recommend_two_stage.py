"""The two-stage recipe end to end on a small random world: no label-week or target-week purchase reaches a
candidate, feature or fit used for that week, and every customer gets 12 unique valid articles."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from hm_pipeline.recommend import two_stage
from hm_pipeline.recommend.candidate_file import ComputedCandidates
from hm_pipeline.training.als import AlsParams
from hm_pipeline.training.split import Purchases

N_CUSTOMERS, N_ARTICLES, DAYS = 300, 80, 42
CONFIG = two_stage.RankerConfig(num_boost_round=15, early_stopping_rounds=5, max_negatives=10,
                                als=AlsParams(factors=4, iterations=2), als_user_min=1, als_article_min=1)


def world(seed: int = 0) -> two_stage.Inputs:
    """Customers re-buy from a few favourite articles, so the past predicts the future."""
    rng = np.random.default_rng(seed)
    favourites = rng.integers(0, N_ARTICLES, size=(N_CUSTOMERS, 4))
    n = 6000
    customer = rng.integers(0, N_CUSTOMERS, n)
    article = np.where(rng.random(n) < 0.7, favourites[customer, rng.integers(0, 4, n)], rng.integers(0, N_ARTICLES, n))
    day = rng.integers(0, DAYS, n)
    purchases = Purchases(day.astype(np.int32), customer.astype(np.int32), article.astype(np.int32), N_CUSTOMERS,
                          N_ARTICLES)
    codes = np.arange(N_ARTICLES)
    return two_stage.Inputs(purchases, rng.random(n).astype(np.float32), sp.csr_matrix((N_ARTICLES, N_ARTICLES)),
                            codes // 2, codes % 5, codes % 3, (np.arange(N_CUSTOMERS) % 4).astype(np.int8), CONFIG)


def scramble_from(inputs: two_stage.Inputs, first_day: int, seed: int = 1) -> two_stage.Inputs:
    """The same inputs with every purchase from `first_day` on replaced by a random article."""
    p = inputs.purchases
    late = p.day >= first_day
    item = p.item.copy()
    item[late] = np.random.default_rng(seed).integers(0, N_ARTICLES, int(late.sum()))
    return two_stage.Inputs(Purchases(p.day, p.user, item, p.n_users, p.n_items), inputs.price, inputs.similar,
                            inputs.product_code, inputs.department, inputs.index, inputs.age_group, inputs.config)


def run(inputs: two_stage.Inputs, target: int) -> np.ndarray:
    train, valid = two_stage.label_weeks(inputs, target)
    ranker = two_stage.fit_ranker(train, valid, inputs.config)
    data = inputs.at(target)
    out, _ = two_stage.recommend(data, {"ranked": ranker}, ComputedCandidates(data, np.arange(N_CUSTOMERS), 70))
    return out["ranked"][0]


@pytest.fixture(scope="module")
def recommended():
    inputs = world()
    return inputs, run(inputs, DAYS - 7)


def test_every_customer_gets_12_unique_valid_articles(recommended):
    _, items = recommended
    assert items.shape == (N_CUSTOMERS, 12)
    assert ((items >= 0) & (items < N_ARTICLES)).all()
    assert all(len(set(row)) == 12 for row in items.tolist())


def test_the_target_week_never_reaches_the_recommendations(recommended):
    inputs, items = recommended
    target = DAYS - 7
    np.testing.assert_array_equal(run(scramble_from(inputs, target), target), items)


def test_the_past_does_shape_the_recommendations(recommended):
    """The check above could pass if nothing depended on the data: scrambling the training weeks changes the output."""
    inputs, items = recommended
    assert not np.array_equal(run(scramble_from(inputs, DAYS - 21), DAYS - 7), items)


def test_every_fit_and_feature_only_sees_days_before_its_week(monkeypatch):
    inputs = world(2)
    target = DAYS - 7
    seen = []
    original_at = two_stage.Inputs.at
    original_fit = two_stage.build_interactions

    def at(self, cutoff):
        data = original_at(self, cutoff)
        seen.append(("features", cutoff, int(data.history.tx_day.max())))
        return data

    def build_interactions(purchases, *args, **kwargs):
        seen.append(("als", kwargs["end_day"] + 1, purchases.last_day))
        return original_fit(purchases, *args, **kwargs)

    monkeypatch.setattr(two_stage.Inputs, "at", at)
    monkeypatch.setattr(two_stage, "build_interactions", build_interactions)
    run(inputs, target)
    assert {(kind, cutoff) for kind, cutoff, _ in seen} == {
        ("features", target - 14), ("features", target - 7), ("features", target),
        ("als", target - 14), ("als", target - 7), ("als", target)}
    assert all(last < cutoff for _, cutoff, last in seen)


def test_label_weeks_hold_only_customers_with_a_bought_candidate():
    inputs = world(3)
    train, valid = two_stage.label_weeks(inputs, DAYS - 7)
    week = train[0]
    assert week.cutoff == DAYS - 21 and valid.cutoff == DAYS - 14
    bought = inputs.week(week.cutoff)
    for c in np.unique(week.pairs.customer):
        mine = week.pairs.customer == c
        assert week.y[mine].sum() >= 1
        assert (week.y[mine] == 0).sum() <= CONFIG.max_negatives
        assert set(week.pairs.article[mine][week.y[mine] > 0]) <= set(bought[c].indices)
    assert 0 < week.recall["all sources"] <= 1


def test_why_names_the_proposing_sources_and_the_features_that_pushed_each_item_up():
    inputs = world(4)
    target = DAYS - 7
    ranker = two_stage.fit_ranker(*two_stage.label_weeks(inputs, target), inputs.config)
    data = inputs.at(target)
    customer = int(inputs.purchases.user[0])
    items = two_stage.recommend(data, {"r": ranker}, ComputedCandidates(data, np.array([customer])))[0]["r"][0][0]
    reasons = two_stage.why(data, ranker, customer, items)
    pairs = two_stage.PairTable.build(data, np.array([customer], np.int32))
    assert len(reasons) == 12
    for item, reason in zip(items, reasons):
        row = np.flatnonzero(pairs.article == item)
        if not len(row):  # a popularity top-up
            assert reason == {"sources": [], "features": []}
            continue
        expected = [n for n, r in zip(pairs.source_names, pairs.source_rank[row[0]]) if not np.isnan(r)]
        assert reason["sources"] == expected and expected
        assert len(reason["features"]) <= 3 and all(gain > 0 for _, _, gain in reason["features"])
        gains = [gain for _, _, gain in reason["features"]]
        assert gains == sorted(gains, reverse=True)


def test_a_variant_without_a_source_equals_collecting_without_it():
    """Ablations cut the full table: the pairs only that source proposed and its columns go, n_sources is recounted."""
    data = world(5).at(DAYS - 7)
    customers = np.arange(0, N_CUSTOMERS, 3, dtype=np.int32)
    full = two_stage.PairTable.build(data, customers)
    rows, x, names = full.view(two_stage.Variant(frozenset({"trending"})))
    sources = {n: s for n, s in two_stage.SOURCES.items() if n != "trending"}
    table = two_stage.collect_candidates(data, customers, sources)
    expected, expected_names, _ = two_stage.pair_features(data, table)
    assert names == expected_names and "trending_rank" not in names
    np.testing.assert_array_equal(full.customer[rows], table.customer)
    np.testing.assert_array_equal(full.article[rows], table.article)
    np.testing.assert_allclose(x, expected, equal_nan=True)


def test_label_weeks_keep_a_seeded_sample_of_the_buyers_and_refits_use_refit_iterations(monkeypatch):
    from dataclasses import replace

    inputs = world(4)
    cutoff = DAYS - 14
    buyers = np.flatnonzero(np.diff(inputs.week(cutoff).indptr))
    iterations = []
    original = two_stage.fit_als
    monkeypatch.setattr(two_stage, "fit_als", lambda m, params: iterations.append(params.iterations) or original(m, params))
    config = replace(CONFIG, max_label_customers=25, refit_iterations=1)
    inputs.config = config
    week = two_stage.label_week(inputs, cutoff, config)
    again = two_stage.label_week(inputs, cutoff, config)
    assert len(buyers) > 25 and week.customers == 25
    assert set(np.unique(week.pairs.customer)) <= set(buyers) and np.array_equal(week.pairs.customer, again.pairs.customer)
    assert iterations == [1]  # one refit (cached for the second call), with refit_iterations, not als.iterations
    inputs.als_fits.clear()
    inputs.config = replace(config, refit_iterations=0)
    inputs.als_at(cutoff)
    assert iterations == [1, CONFIG.als.iterations]


def test_compiled_trees_and_threads_rank_like_lightgbm(recommended):
    inputs, items = recommended
    target = DAYS - 7
    train, valid = two_stage.label_weeks(inputs, target)
    ranker = two_stage.fit_ranker(train, valid, inputs.config)
    compiled = two_stage.compile_ranker(ranker)
    x = valid.pairs.x
    np.testing.assert_allclose(compiled.predict(x), ranker.predict(x), rtol=0, atol=1e-9)
    data = inputs.at(target)
    candidates = ComputedCandidates(data, np.arange(N_CUSTOMERS), 70)
    threaded, _ = two_stage.recommend(data, {"ranked": ranker}, candidates, workers=2)
    assert np.array_equal(threaded["ranked"][0], items)
    fast, stats = two_stage.recommend(data, {"ranked": ranker}, candidates, workers=2, compiled=True)
    assert (fast["ranked"][0] == items).all(axis=1).mean() > 0.98  # only exact score ties may order differently
    assert stats["seconds_compile"] > 0


def test_rankers_fit_side_by_side_are_the_ones_fit_one_after_another():
    inputs = world(6)
    train, valid = two_stage.label_weeks(inputs, DAYS - 7)
    variants = [two_stage.FULL, two_stage.Variant(frozenset({"trending"})),
                two_stage.Variant(disabled_features=frozenset({"customer"}))]
    tasks = [(train, valid, v) for v in variants]
    alone = [two_stage.fit_ranker(train, valid, CONFIG, v).booster.model_to_string() for v in variants]
    together = [r.booster.model_to_string() for r in two_stage.fit_rankers(tasks, CONFIG, workers=2)]
    assert together == alone and len(set(alone)) == 3


def test_label_weeks_built_side_by_side_are_the_ones_built_one_after_another():
    targets = [DAYS - 7, DAYS]  # three label weeks, the middle one shared
    alone = two_stage.compute_weeks(world(7), targets, workers=1)
    together = two_stage.compute_weeks(world(7), targets, workers=2)
    assert list(together) == list(alone) == [DAYS - 21, DAYS - 14, DAYS - 7]
    for cutoff, week in alone.items():
        other = together[cutoff]
        assert np.array_equal(week.pairs.customer, other.pairs.customer)
        assert np.array_equal(week.pairs.article, other.pairs.article)
        np.testing.assert_array_equal(week.pairs.x, other.pairs.x)
        assert np.array_equal(week.y, other.y) and np.array_equal(week.in_sample, other.in_sample)
