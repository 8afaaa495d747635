"""Candidate sources against per-customer pure-Python references (the seed's per-customer logic)."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from hm_pipeline.recommend import attribute_filter
from hm_pipeline.recommend.attribute_filter import CustomerCodes, bought_codes, encode_codes
from hm_pipeline.recommend.config import FusionConfig
from hm_pipeline.recommend.ranking import AlsFactors, rank_order
from hm_pipeline.recommend.sources import copurchase, image_similar, repurchase
from hm_pipeline_tests.recommend_fixtures import random_world


def _as_dict(c):
    return {(int(a), int(b)): float(s) for a, b, s in zip(c.customer, c.article, c.score)}


def _bought(data):
    h = data.history
    return {c: set(h.article[h.indptr[c]:h.indptr[c + 1]].tolist()) for c in range(h.n_customers)}


@pytest.mark.parametrize("seed, dense_limit", [(0, 1 << 27), (1, 1 << 27), (2, 0)])
def test_batched_department_index_filter_equals_per_customer_reference(seed, dense_limit, monkeypatch):
    monkeypatch.setattr(attribute_filter, "DENSE_LIMIT", dense_limit)  # 0: the binary-search path
    data = random_world(seed)
    got = _as_dict(image_similar(data, np.arange(data.n_customers), FusionConfig()))
    f, sim, bought = data.attributes, data.similar, _bought(data)
    expected = {}
    for c, items in bought.items():  # the seed's query, one customer at a time
        departments = {int(f.article_department[a]) for a in items}
        indexes = {int(f.article_index[a]) for a in items}
        for p in items:
            for rec, score in zip(sim.indices[sim.indptr[p]:sim.indptr[p + 1]], sim.data[sim.indptr[p]:sim.indptr[p + 1]]):
                rec = int(rec)
                if rec in items or f.article_department[rec] not in departments or f.article_index[rec] not in indexes:
                    continue
                expected[(c, rec)] = expected.get((c, rec), 0.0) + float(score)
    assert got.keys() == expected.keys()
    assert len(expected) > 100
    assert all(got[key] == pytest.approx(expected[key], rel=1e-5) for key in expected)
    unfiltered = image_similar(data, np.arange(data.n_customers), FusionConfig(department_index_filter=False))
    assert len(unfiltered) > len(got)  # the filter really removes candidates on this data


def test_graph_pairs_give_the_same_filter_as_purchases():
    data = random_world(3)
    h, f = data.history, data.attributes
    rng = np.random.default_rng(0)
    owner = np.repeat(np.arange(h.n_customers), np.diff(h.indptr))
    dep = f.article_department[h.article]
    order = rng.permutation(len(owner))  # the graph returns pairs in any order, duplicates allowed
    from_graph = CustomerCodes.from_pairs(np.r_[owner[order], owner[:5]], np.r_[dep[order], dep[:5]], 4)
    np.testing.assert_array_equal(from_graph.keys, bought_codes(h, f.article_department, 4).keys)


def test_encode_codes_maps_graph_strings_onto_article_vocabulary():
    article_codes, pair_codes, n = encode_codes(np.array(["B", "A", "J", "A"]), np.array(["J", "A", "Z"]))
    assert n == 3
    assert article_codes.tolist() == [1, 0, 2, 0]
    assert pair_codes.tolist() == [2, 0, -1]
    codes = CustomerCodes.from_pairs(np.array([0, 0]), np.array([2, 0]), n)
    assert codes.contains(np.array([0, 0, 0, 1]), np.array([2, 1, -1, 2])).tolist() == [True, False, False, False]


def test_copurchase_equals_the_seed_query_per_customer_with_repeat_purchases():
    data = random_world(4, n=150, m=60, t=900)
    h = data.history
    config = FusionConfig(copurchase_days=None, copurchase_neighbours=None)
    customers = np.flatnonzero(h.has_purchases())
    got = copurchase(data, customers, config, block=37)
    tx = collections.defaultdict(list)  # every PURCHASED edge
    for c, a in zip(h.tx_customer.tolist(), h.tx_article.tolist()):
        tx[c].append(a)
    buyers = collections.defaultdict(list)
    for c, items in tx.items():
        for a in items:
            buyers[a].append(c)
    for c in customers.tolist():  # (c)-[:PURCHASED]->(p)<-[:PURCHASED]-(other)-[:PURCHASED]->(rec), rec not bought by c
        own, paths = set(tx[c]), collections.Counter()
        for p in tx[c]:
            for other in buyers[p]:
                if other == c:
                    continue
                paths.update(rec for rec in tx[other] if rec not in own)
        top = sorted(paths.items(), key=lambda kv: (-kv[1], kv[0]))[: config.k]
        mine = got.customer == c
        assert list(zip(got.article[mine].tolist(), got.score[mine].tolist())) == [(a, float(s)) for a, s in top]


def test_copurchase_neighbour_cap_keeps_each_articles_strongest_co_purchases():
    data = random_world(4, n=150, m=60, t=900)
    customers = np.flatnonzero(data.history.has_purchases())
    exact = copurchase(data, customers, FusionConfig(copurchase_days=None, copurchase_neighbours=None))
    uncapped = copurchase(data, customers, FusionConfig(copurchase_days=None, copurchase_neighbours=60))
    capped = copurchase(data, customers, FusionConfig(copurchase_days=None, copurchase_neighbours=3))
    assert _as_dict(exact) == _as_dict(uncapped)
    assert _as_dict(capped) != _as_dict(exact) and len(capped) > 0


def test_repurchase_orders_most_recent_then_most_frequent():
    data = random_world(5)
    h = data.history
    config = FusionConfig(repurchase_days=20)
    c = repurchase(data, np.arange(h.n_customers), config)
    order = rank_order(c.customer, c.article, c.score, None)
    for customer in np.unique(c.customer)[:50]:
        mine = order[c.customer[order] == customer]
        flat = h.indptr[customer] + np.searchsorted(h.article[h.indptr[customer]:h.indptr[customer + 1]], c.article[mine])
        days, counts = h.last_day[flat], h.count[flat]
        assert (days > h.last_date - 20).all()
        assert list(zip(-days, -counts)) == sorted(zip(-days, -counts))
    expected = sum(int((h.last_day[h.indptr[x]:h.indptr[x + 1]] > h.last_date - 20).sum()) for x in range(h.n_customers))
    assert len(c) == expected


def test_als_scores_are_dot_products_and_nan_outside_the_model():
    als = AlsFactors.from_id_maps(np.array([[1, 2], [3, 4]]), np.array([[1, 0], [0, 1], [1, 1]]),
                                  row_customer_idx=np.array([5, 2]), col_article_idx=np.array([0, 3, 1]),
                                  n_customers=6, n_articles=4)
    got = als.scores(np.array([5, 2, 2, 0]), np.array([3, 1, 0, 0]), chunk=1)
    np.testing.assert_array_equal(got[:3], [2.0, 7.0, 3.0])
    assert np.isnan(got[3])


@pytest.mark.parametrize("presorted", [False, True], ids=["shuffled", "csr_order"])
@pytest.mark.parametrize("scores", ["counts", "fractional", "negative", "huge", "fractional_ties"])
def test_top_k_per_customer_orders_by_score_then_article_whatever_the_scores(scores, presorted):
    from hm_pipeline.recommend.candidates import (Candidates, _descending_score_order, rank_in_group,
                                                  top_k_per_customer)

    rng = np.random.default_rng(3)
    n = 50_000
    customer = rng.integers(1_000_000, 1_000_300, n)
    article = rng.integers(0, 105_000, n)
    score = {"counts": rng.integers(0, 40, n).astype(float),  # many ties: article order decides
             "fractional": rng.random(n),
             "negative": rng.integers(-5, 5, n).astype(float),
             "huge": rng.integers(0, 2**30, n).astype(float) * 4.0,
             "fractional_ties": rng.integers(-8, 8, n) / 4.0 + np.where(rng.random(n) < 0.5, -0.0, 0.0)}[scores]
    if presorted:  # (customer, article) order without repeats: the one-key sort path of CSR-derived candidates
        key = np.unique(customer * 200_000 + article, return_index=True)[1]
        customer, article, score = customer[key], article[key], score[key]
        customer, article, score = (a[np.lexsort((article, customer))] for a in (customer, article, score))
    c = Candidates.build(customer, article, score)
    assert (_descending_score_order(c) is not None) == presorted
    got = top_k_per_customer(c, 7)
    reference = c.take(np.lexsort((c.article, -c.score, c.customer)))
    reference = reference.take(rank_in_group(reference.customer) < 7)
    for field in ("customer", "article", "score"):
        assert np.array_equal(getattr(got, field), getattr(reference, field))
    assert np.bincount(got.customer - 1_000_000).max() == 7


@pytest.mark.parametrize("scores", ["ties", "fractional"])
def test_best_rows_per_group_are_the_first_rows_of_a_full_sort(scores):
    """Only the rows at or above each group's k-th best score are sorted; groups longer than `width` keep all."""
    from hm_pipeline.recommend.candidates import best_rows_per_group, rank_in_group

    rng = np.random.default_rng(4)
    sizes = rng.integers(1, 120, 400)  # below k, between k and width, and above width
    groups = np.repeat(np.arange(400) * 3, sizes)
    n = len(groups)
    score = rng.integers(0, 4, n).astype(float) if scores == "ties" else rng.normal(size=n)
    tie = np.concatenate([np.sort(rng.choice(10_000, s, replace=False)) for s in sizes])
    order = np.lexsort((tie, -score, groups))
    expected = order[rank_in_group(groups[order]) < 12]
    assert np.array_equal(best_rows_per_group(groups, score, tie, 12, width=80), expected)
    assert np.array_equal(best_rows_per_group(groups, score, tie, 12, width=12), expected)
