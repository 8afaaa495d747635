"""Popularity and repurchase + trending on a hand-made week."""

from __future__ import annotations

import numpy as np

from hm_pipeline.training.baselines import bestsellers, fill_with, popularity, recent_items, repurchase_then_trending
from hm_pipeline.training.split import Purchases

# days 0..13; the last training week is days 7..13
ROWS = [  # (day, user, item)
    (1, 0, 9), (1, 0, 9), (1, 0, 9), (1, 1, 9),  # item 9: 4 sales long ago, but only 2 buyers
    (8, 0, 4), (8, 1, 4), (9, 2, 4),  # item 4: 3 sales last week
    (10, 0, 6), (11, 3, 6),  # item 6: 2 sales
    (12, 1, 2), (12, 2, 3),  # items 2, 3: 1 sale each (tie: lower idx first)
    (13, 0, 7), (5, 0, 8), (13, 0, 8),  # user 0 bought 8 twice, the latest on day 13
]


def purchases() -> Purchases:
    day, user, item = (np.array(c, dtype=np.int32) for c in zip(*ROWS))
    return Purchases(day, user, item, n_users=6, n_items=12)


def test_bestsellers_count_only_the_last_window_and_break_ties_by_idx() -> None:
    assert bestsellers(purchases(), 12).tolist() == [4, 6, 2, 3, 7, 8]
    # over all 14 days, item 4's 3 buyers beat item 9's 4 sales to 2 buyers (popularity counts buyers); 9 ties
    # with item 6 (2 buyers), lower idx first
    assert bestsellers(purchases(), 12, window_days=14)[:3].tolist() == [4, 6, 9]
    assert bestsellers(purchases(), 2).tolist() == [4, 6]


def test_popularity_is_the_same_padded_list_for_everyone() -> None:
    recs = popularity(purchases(), np.array([5, 0]))
    assert recs.shape == (2, 12) and recs.dtype == np.int32
    assert recs[0].tolist() == [4, 6, 2, 3, 7, 8] + [-1] * 6 and (recs[0] == recs[1]).all()


def test_recent_items_newest_first_and_distinct() -> None:
    recs = recent_items(purchases(), np.array([0, 3, 5]), k=4)
    # user 0: day 13 -> 7, 8 (8 once, at its latest date), day 10 -> 6, day 8 -> 4 (9 cut at k=4)
    assert recs.tolist() == [[7, 8, 6, 4], [6, -1, -1, -1], [-1, -1, -1, -1]]


def test_repurchase_then_trending_fills_with_unseen_bestsellers() -> None:
    recs = repurchase_then_trending(purchases(), np.array([3, 1, 5]))
    assert recs[0].tolist() == [6, 4, 2, 3, 7, 8] + [-1] * 6  # own 6, then bestsellers without 6
    assert recs[1].tolist() == [2, 4, 9, 6, 3, 7, 8] + [-1] * 5
    assert recs[2].tolist() == [4, 6, 2, 3, 7, 8] + [-1] * 6  # a new customer gets plain popularity


def test_fill_with_respects_k() -> None:
    out = fill_with(np.array([[1, 2, -1], [-1, -1, -1], [3, 4, 5]]), np.array([2, 7, 8, 9]))
    assert out.tolist() == [[1, 2, 7], [2, 7, 8], [3, 4, 5]]
