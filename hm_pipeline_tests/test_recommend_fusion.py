"""Fusion: exactly 12 unique valid articles for everyone, ALS order kept, deterministic top-up, fallbacks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hm_pipeline.recommend.attribute_filter import AttributeFilter
from hm_pipeline.recommend.candidates import Source
from hm_pipeline.recommend.config import FusionConfig, FusionData, similar_matrix
from hm_pipeline.recommend.fusion import Path, fuse
from hm_pipeline.recommend.history import PurchaseHistory
from hm_pipeline.recommend.ranking import AlsFactors
from hm_pipeline_tests.recommend_fixtures import DAY0, random_world


def _assert_complete(recs, n_articles, k=12):
    assert recs.items.shape == (len(recs.customers), k)
    assert recs.items.min() >= 0 and recs.items.max() < n_articles
    s = np.sort(recs.items, axis=1)
    assert not (s[:, 1:] == s[:, :-1]).any(), "an article repeated within a customer's list"


def test_every_customer_gets_12_unique_valid_articles_including_edge_cases():
    data = random_world(0)
    h = data.history
    m = h.n_articles
    no_image = np.flatnonzero(np.asarray(data.similar.getnnz(axis=1)) == 0)
    # add: a customer with 1 purchase of an article without SIMILAR, and a customer outside everything
    extra_c = np.r_[h.tx_customer, h.n_customers]
    extra_a = np.r_[h.tx_article, no_image[0]]
    history = PurchaseHistory.from_transactions(extra_c, extra_a, np.r_[h.tx_day, h.last_date], h.n_customers + 2, m)
    als = dataclasses.replace(data.als, user_row=np.r_[data.als.user_row, -1, -1].astype(np.int32))
    world = FusionData(history, data.similar, AttributeFilter.from_history(history, data.attributes.article_department,
                       data.attributes.article_index), als, np.r_[data.age_group, 6, 6].astype(np.int8))
    recs = fuse(world, FusionConfig(chunk_customers=97))
    _assert_complete(recs, m)
    assert len(recs.customers) == history.n_customers
    one, cold = history.n_customers - 2, history.n_customers - 1
    assert recs.source[one, 0] == Source.REPURCHASE and recs.items[one, 0] == no_image[0]
    assert not (recs.source[one] == Source.IMAGE).any() and (recs.source[one] == Source.COPURCHASE).any()
    assert recs.path[cold] == Path.COLD_START and (recs.source[cold] == Source.AGE_POPULAR).any()
    table = recs.to_table()
    assert table.num_rows == 12 * history.n_customers
    assert table.column("rank").to_numpy()[:13].tolist() == [*range(1, 13), 1]
    shares = recs.path_shares()
    assert sum(shares.values()) == pytest.approx(1.0)
    assert sum(recs.source_mix().values()) == 12 * history.n_customers


def test_every_source_switched_off_but_popular_still_fills_12():
    data = random_world(1)
    config = FusionConfig(disabled=frozenset({"repurchase", "image", "als", "copurchase", "age_popular", "trending"}))
    recs = fuse(data, config)
    _assert_complete(recs, data.n_articles)
    assert (recs.source == Source.POPULAR).all()
    counts = np.bincount(data.history.article, minlength=data.n_articles)  # distinct buyers
    expected = np.lexsort((np.arange(data.n_articles), -counts))[:12]
    assert (recs.items == expected).all()


def _one_customer_world(user_factors, item_factors, item_col_articles):
    """Customer 0 bought article 0 (dept 0, index 0); SIMILAR(0) = articles 1..8, all dept 0 / index 0."""
    m = 40
    history = PurchaseHistory.from_transactions(np.r_[0, 1], np.r_[0, 30], np.r_[DAY0, DAY0], 2, m)
    similar = similar_matrix(np.zeros(8, int), np.arange(1, 9), np.linspace(1, 0.2, 8), m)
    dept = np.where(np.arange(m) < 20, 0, 1)
    attributes = AttributeFilter.from_history(history, dept, np.zeros(m, int))
    als = AlsFactors.from_id_maps(user_factors, item_factors, np.array([0]), item_col_articles, 2, m)
    return FusionData(history, similar, attributes, als, np.zeros(2, np.int8))


def test_als_order_is_kept_not_column_order():
    # ALS score of article j = j * 1.0 -> best is 8, then 7, ...; CSR column order (and source score) is 1..8.
    cols = np.arange(1, 9)
    data = _one_customer_world(np.array([[1.0]]), cols[:, None].astype(float), cols)
    config = FusionConfig(disabled=frozenset({"repurchase"}), quotas={"image": 12})
    recs = fuse(data, config)
    assert recs.items[0, :8].tolist() == [8, 7, 6, 5, 4, 3, 2, 1]
    assert (recs.source[0, :8] == Source.IMAGE).all() and recs.path[0] == Path.IMAGE_ALS
    # without ALS ranking: source score (similarity) order 1..8
    plain = fuse(data, dataclasses.replace(config, als_rank=frozenset()))
    assert plain.items[0, :8].tolist() == [1, 2, 3, 4, 5, 6, 7, 8] and plain.path[0] == Path.IMAGE


def test_als_scored_candidates_come_before_unscored_ones():
    # only articles 5 and 2 are in the ALS matrix (scores 5 > 2): they lead, the rest follow by similarity
    data = _one_customer_world(np.array([[1.0]]), np.array([[2.0], [5.0]]), np.array([2, 5]))
    recs = fuse(data, FusionConfig(disabled=frozenset({"repurchase"}), quotas={"image": 12}))
    assert recs.items[0, :8].tolist() == [5, 2, 1, 3, 4, 6, 7, 8]


def test_random_top_up_is_deterministic_for_a_seed_and_without_replacement():
    data = random_world(2)
    data = dataclasses.replace(data, als=None)  # every image candidate needs the top-up
    config = FusionConfig(unscored="random", seed=7, quotas={"image": 12}, disabled=frozenset({"repurchase"}))
    a = fuse(data, config)
    b = fuse(data, dataclasses.replace(config, chunk_customers=33))
    c = fuse(data, dataclasses.replace(config, seed=8))
    _assert_complete(a, data.n_articles)
    np.testing.assert_array_equal(a.items, b.items)  # same seed: same lists, whatever the chunking
    image = a.source == Source.IMAGE
    assert image.sum() > 1000
    assert (a.items != c.items).any()  # another seed draws another sample ...
    np.testing.assert_array_equal(np.sort(np.where(image, a.items, -1), axis=1)[image.sum(1) < 12],
                                  np.sort(np.where(c.source == Source.IMAGE, c.items, -1), axis=1)[image.sum(1) < 12])
    # ... of the same candidates: customers with fewer than 12 image candidates get all of them either way


def test_cold_start_customers_get_their_age_group_bestsellers():
    data = random_world(3)
    h = data.history
    recs = fuse(data)
    cold = np.flatnonzero(~h.has_purchases())
    assert len(cold) > 20
    assert (recs.path[cold] == Path.COLD_START).all()
    recent = h.tx_day > h.last_date - 7
    for customer in cold[:10]:
        group_tx = recent & (data.age_group[h.tx_customer] == data.age_group[customer])
        buyers = np.unique(h.tx_customer[group_tx].astype(np.int64) * h.n_articles + h.tx_article[group_tx])
        counts = np.bincount(buyers % h.n_articles, minlength=h.n_articles)  # distinct buyers
        expected = np.lexsort((np.arange(h.n_articles), -counts))[: int((counts > 0).sum())][:12]
        got = recs.items[customer][recs.source[customer] == Source.AGE_POPULAR]
        assert got.tolist() == expected.tolist()


def test_copurchase_fallback_serves_customers_without_image_candidates():
    data = random_world(4)
    # customers whose only purchases have no SIMILAR get no image candidate: the co-purchase fallback serves them
    empty_similar = similar_matrix(np.empty(0, int), np.empty(0, int), np.empty(0), data.n_articles)
    world = dataclasses.replace(data, similar=empty_similar)
    recs = fuse(world, FusionConfig(copurchase_days=None, copurchase_neighbours=None, copurchase_when_fewer_than=12))
    warm = world.history.has_purchases()
    assert (recs.path[warm] == Path.COPURCHASE).mean() > 0.9
    assert not (recs.source == Source.IMAGE).any()
    _assert_complete(recs, data.n_articles)
    off = fuse(world, FusionConfig(disabled=frozenset({"copurchase"})))
    assert not (off.source == Source.COPURCHASE).any()


def test_fuse_a_subset_keeps_the_requested_order():
    data = random_world(5)
    everyone = fuse(data)
    subset = np.array([17, 3, 250, 42])
    part = fuse(data, FusionConfig(chunk_customers=3), customers=subset)
    np.testing.assert_array_equal(part.items, everyone.items[subset])
    np.testing.assert_array_equal(part.source, everyone.source[subset])


def test_config_rejects_unknown_sources_and_dropping_popular():
    with pytest.raises(ValueError, match="unknown source"):
        FusionConfig(disabled=frozenset({"imgae"}))
    with pytest.raises(ValueError, match="popular"):
        FusionConfig(disabled=frozenset({"popular"}))
