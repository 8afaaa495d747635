"""Each candidate source and pair feature of the two-stage recommender on hand-made purchases."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from hm_pipeline.recommend import candidate_sources as cs
from hm_pipeline.recommend.features import pair_features
from hm_pipeline.recommend.history import PurchaseHistory
from hm_pipeline.recommend.ranking import AlsFactors

N_CUSTOMERS, N_ARTICLES, CUTOFF = 6, 30, 100


def world(rows: list[tuple[int, int, int]], price: float | list[float] = 1.0, similar: sp.csr_matrix | None = None,
          product_code: np.ndarray | None = None, department: np.ndarray | None = None,
          age_group: np.ndarray | None = None, als: AlsFactors | None = None) -> cs.SourceData:
    """SourceData from (customer, article, day) rows; every article its own product, department 0, index 0."""
    c, a, d = (np.array([r[i] for r in rows], np.int32) for i in range(3))
    history = PurchaseHistory.from_transactions(c, a, d, N_CUSTOMERS, N_ARTICLES)
    prices = np.broadcast_to(np.asarray(price, np.float32), len(rows)).copy()
    return cs.SourceData(
        history, prices, CUTOFF,
        similar if similar is not None else sp.csr_matrix((N_ARTICLES, N_ARTICLES), dtype=np.float32),
        product_code if product_code is not None else np.arange(N_ARTICLES),
        department if department is not None else np.zeros(N_ARTICLES, np.int64),
        np.zeros(N_ARTICLES, np.int64),
        age_group if age_group is not None else np.zeros(N_CUSTOMERS, np.int8),
        als,
    )


def pairs(c) -> list[tuple[int, int]]:
    order = np.lexsort((-c.score, c.customer))
    return [(int(x), int(y)) for x, y in zip(c.customer[order], c.article[order])]


def test_history_reaching_the_cutoff_is_refused():
    with pytest.raises(ValueError, match="label-week leak"):
        world([(0, 1, CUTOFF)])


def test_repurchase_covers_the_whole_history_newest_first_and_frequency_counts():
    data = world([(0, 1, 10), (0, 2, 95), (0, 3, 10), (0, 3, 11), (0, 3, 12), (1, 4, 50)])
    got = cs.repurchase(data, np.array([0, 1, 2]), n=10)
    assert pairs(got) == [(0, 2), (0, 3), (0, 1), (1, 4)]  # 2: days ago; 3 beats 1 (3 purchases, same age)


def test_trending_and_popular_count_distinct_buyers_not_one_bulk_buyer():
    rows = [(0, 5, 99)] * 10_000 + [(1, 7, 99), (2, 7, 99), (3, 8, 80)]
    data = world(rows)
    trending = cs.trending(data, np.array([4]), n=3)
    assert trending.article.tolist()[:2] == [7, 5]  # 2 buyers beat 1 buyer with 10,000 purchases
    assert trending.score[0] == pytest.approx(2 * 0.5 ** (1 / 7))  # bought 1 day before the cutoff, half-life 7
    assert 8 in trending.article  # 20 days ago still trends (decayed)
    popular = cs.popular(data, np.array([4, 5]), n=5)
    assert popular.article.tolist() == [7, 5, 7, 5]  # last 7 days only: article 8 is out; same list for everyone


def test_age_popular_uses_the_customers_age_group():
    age = np.array([0, 0, 1, 1, 0, 1], np.int8)
    data = world([(0, 3, 98), (1, 3, 98), (3, 9, 98)] + [(2, 9, 98)] + [(2, 3, 98)] * 50, age_group=age)
    got = cs.age_popular(data, np.array([4, 5]), n=1)
    assert pairs(got) == [(4, 3), (5, 9)]  # group 1: article 9 has 2 buyers, article 3 one bulk buyer


def test_bought_together_comes_from_same_day_baskets_of_other_customers():
    rows = [(1, 3, 90), (1, 4, 90), (1, 5, 80), (2, 3, 91), (2, 6, 92), (0, 3, 99)]
    got = cs.bought_together(world(rows), np.array([0]), n=5)
    assert pairs(got) == [(0, 4)]  # 5 and 6 were bought on other days than 3: not in the same basket


def test_same_product_proposes_the_other_colours():
    code = np.arange(N_ARTICLES)
    code[[10, 11, 12]] = 500
    got = cs.same_product(world([(0, 10, 90)], product_code=code), np.array([0, 1]), n=5)
    assert sorted(pairs(got)) == [(0, 11), (0, 12)]


def test_als_proposes_the_best_dot_products_among_the_recent_bestsellers():
    users = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    items = np.array([[0.1, 1.0], [2.0, 0.0], [1.0, 0.0], [5.0, 5.0]], np.float32)  # articles 20..23
    factors = AlsFactors.from_id_maps(users, items, np.array([0, 1]), np.array([20, 21, 22, 23]),
                                      N_CUSTOMERS, N_ARTICLES)
    rows = [(c, a, 95) for c in (2, 3) for a in (20, 21, 22)]  # 23 never sold in the last 28 days: not in the pool
    got = cs.als(world(rows, als=factors), np.array([0, 1, 5]), n=2)
    assert set(got.article[got.customer == 0].tolist()) == {21, 22}  # dot products 2.0 and 1.0 (20: 0.1)
    assert 20 in got.article[got.customer == 1]
    assert set(got.customer.tolist()) == {0, 1} and 23 not in got.article  # customer 5 is not in the model


def test_image_similar_keeps_the_department_and_index_filter():
    similar = sp.csr_matrix((np.array([0.9, 0.8], np.float32), ([1, 1], [2, 3])), shape=(N_ARTICLES, N_ARTICLES))
    department = np.zeros(N_ARTICLES, np.int64)
    department[3] = 7  # a department customer 0 never bought from
    got = cs.image_similar(world([(0, 1, 90)], similar=similar, department=department), np.array([0]), n=5)
    assert pairs(got) == [(0, 2)]


def test_collect_candidates_merges_sources_with_their_ranks():
    rows = [(0, 1, 90), (1, 1, 98), (2, 1, 98), (1, 2, 97)]
    table = cs.collect_candidates(world(rows), np.array([0]))
    assert np.all(table.customer == 0) and len(np.unique(table.article)) == len(table)
    s = table.names.index("repurchase")
    row = np.flatnonzero(table.article == 1)[0]
    assert table.rank[row, s] == 0 and table.rank[row, table.names.index("trending")] == 0  # own + best seller
    assert np.isnan(table.rank[np.flatnonzero(table.article == 2)[0], s])


def test_pair_features_on_a_hand_made_history():
    rows = [(0, 1, 90), (0, 1, 95), (0, 2, 70), (1, 1, 99), (2, 3, 99)]
    prices = [1.0, 1.0, 4.0, 2.0, 3.0]
    data = world(rows, price=prices)
    table = cs.collect_candidates(data, np.array([0]))
    x, names, groups = pair_features(data, table)
    assert x.shape == (len(table), len(names)) and {"sources", "history", "popularity", "customer"} <= set(groups)
    f = dict(zip(names, x[np.flatnonzero(table.article == 1)[0]]))
    assert f["bought_article_count"] == 2 and f["bought_article_days_ago"] == 5
    assert f["buyers_7d"] == 2 and f["buyers_1d"] == 1 and f["buyers_28d"] == 2
    assert f["article_age_days"] == 10 and f["article_price"] == pytest.approx(4 / 3)
    assert f["customer_purchases"] == 3 and f["customer_days_since_last"] == 5
    assert f["price_vs_customer"] == pytest.approx((4 / 3) / 2.0)
    assert f["bought_department_count"] == 3  # all articles share department 0
    g = dict(zip(names, x[np.flatnonzero(table.article == 3)[0]]))
    assert g["bought_article_count"] == 0 and np.isnan(g["bought_article_days_ago"])
