"""The fused recommender as an evaluation candidate: fit on the training purchases only, ablations switch parts off."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa

from hm_pipeline.graph.age_groups import GROUP_NAMES
from hm_pipeline.recommend.candidates import Source
from hm_pipeline.recommend.config import FusionConfig, similar_matrix
from hm_pipeline.recommend.fusion import fuse
from hm_pipeline.recommend.offline import ABLATIONS, age_group_codes, fused_candidates, train_only_data
from hm_pipeline.training.split import Purchases, time_split

N, M = 60, 40


def _split():
    rng = np.random.default_rng(4)
    t = 900
    purchases = Purchases(19_000 + rng.integers(0, 40, t).astype(np.int32), rng.integers(0, N, t).astype(np.int32),
                          rng.integers(0, M, t).astype(np.int32), N, M)
    return time_split(purchases, 7)


def _data(split):
    rng = np.random.default_rng(5)
    src = np.repeat(np.arange(M), 3)
    dst = (src + rng.integers(1, M, len(src))) % M
    return train_only_data(split.train, similar_matrix(src, dst, rng.random(len(src)), M),
                           np.arange(M) % 4 * 1000 + 1000, np.array(list("ABC"))[np.arange(M) % 3], None,
                           rng.integers(0, len(GROUP_NAMES), N).astype(np.int8))


def replace_config(name: str) -> FusionConfig:
    return replace(FusionConfig(), **ABLATIONS[name])


def test_no_held_out_purchase_reaches_the_fused_recommender():
    split = _split()
    data = _data(split)
    h = data.history
    assert h.last_date < split.cutoff_day and len(h.tx_day) == len(split.train)
    train_pairs = set(zip(split.train.user.tolist(), split.train.item.tolist()))
    owner = np.repeat(np.arange(N), np.diff(h.indptr))
    assert set(zip(owner.tolist(), h.article.tolist())) == train_pairs
    test_only = set(zip(split.test.user.tolist(), split.test.item.tolist())) - train_pairs
    recs = fuse(data, customers=np.arange(N))
    repurchased = {(int(c), int(a)) for c, row, src in zip(recs.customers, recs.items, recs.source)
                   for a, s in zip(row, src) if s == Source.REPURCHASE}
    assert repurchased <= train_pairs and not repurchased & test_only


def test_ablations_switch_their_part_off_and_every_row_has_12_unique():
    split = _split()
    data = _data(split)
    users = np.arange(0, N, 2)
    recommenders = fused_candidates(data)
    assert list(recommenders) == list(ABLATIONS)
    items = {name: fn(users) for name, fn in recommenders.items()}
    for name, rows in items.items():
        assert rows.shape == (len(users), 12)
        assert all(len(set(r)) == 12 for r in rows.tolist()), name
    no_image = fuse(data, replace_config("fused without image candidates"), users)
    assert not (no_image.source == Source.IMAGE).any()
    no_personal = fuse(data, replace_config("fused without repurchase / trending"), users)
    assert not np.isin(no_personal.source, [Source.REPURCHASE, Source.TRENDING]).any()
    assert np.array_equal(items["fused without image candidates"], no_image.items)


def test_age_group_codes_follow_the_graph_buckets():
    codes = age_group_codes(pa.array([None, 15, 16, 25, 26, 65, 66, 99], pa.int16()))
    assert [GROUP_NAMES[c] for c in codes] == ["unknown", "unknown", "16-25", "16-25", "26-35", "56-65", "66+", "66+"]


def test_the_als_source_computed_for_the_scored_customers_only_gives_the_same_recommendations():
    from hm_pipeline.recommend.ranking import AlsFactors

    split = _split()
    rng = np.random.default_rng(6)
    als = AlsFactors.from_id_maps(rng.standard_normal((N - 10, 4)), rng.standard_normal((M - 5, 4)),
                                  np.arange(N - 10), np.arange(M - 5), N, M)
    args = (split.train, similar_matrix(np.arange(M), (np.arange(M) + 1) % M, np.ones(M), M),
            np.arange(M) % 4 * 1000 + 1000, np.array(list("ABC"))[np.arange(M) % 3], als,
            rng.integers(0, len(GROUP_NAMES), N).astype(np.int8))
    users = np.unique(split.test.user)
    every, scored = train_only_data(*args), train_only_data(*args, customers=users)
    assert len(scored.als_candidates) < len(every.als_candidates)
    assert np.array_equal(fuse(scored, customers=users).items, fuse(every, customers=users).items)
