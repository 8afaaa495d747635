"""Time split, confidence weights, k-core thresholding and the CSR build."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest

from hm_pipeline.training.confidence import confidence_weights, months_before
from hm_pipeline.training.interactions import (EmptyKCore, InteractionMatrix, build_interactions, k_core,
                                              purchase_matrix)
from hm_pipeline.training.split import Purchases, time_split, to_day
from hm_pipeline_tests.training_fixtures import heavy_tailed_purchases

END = dt.date(2020, 9, 22)


def naive_k_core(pairs: set[tuple[int, int]], user_min: int, article_min: int) -> set[tuple[int, int]]:
    """The seed's loop, literally: knock out users, then articles, until nothing changes."""
    pairs = set(pairs)
    while True:
        before = len(pairs)
        per_user = Counter(u for u, _ in pairs)
        pairs = {(u, i) for u, i in pairs if per_user[u] >= user_min}
        per_item = Counter(i for _, i in pairs)
        pairs = {(u, i) for u, i in pairs if per_item[i] >= article_min}
        if len(pairs) == before:
            return pairs


@pytest.mark.parametrize("seed,user_min,article_min", [(0, 5, 5), (1, 3, 7), (2, 8, 2), (3, 1, 1), (4, 12, 12)])
def test_k_core_equals_naive_reference(seed: int, user_min: int, article_min: int) -> None:
    p = heavy_tailed_purchases(400, 150, 5000, seed=seed)
    im = build_interactions(p, user_min, article_min, "binary")
    got = {(int(im.user_ids[r]), int(im.item_ids[c])) for r, c in zip(*im.matrix.nonzero())}
    assert got == naive_k_core(set(zip(p.user.tolist(), p.item.tolist())), user_min, article_min)
    assert got, "the case must keep something to be meaningful"
    assert np.diff(im.matrix.indptr).min() >= user_min
    assert np.bincount(im.matrix.indices, minlength=im.matrix.shape[1]).min() >= article_min
    assert im.stats["kcore_passes"] >= 1 and im.stats["nnz"] == len(got)


def test_k_core_cascade_needs_several_passes() -> None:
    # dropping user 1 (one item) leaves item 1 with one buyer; dropping it leaves user 0 with one item
    user = np.array([0, 0, 1, 2, 2, 3, 3], dtype=np.int32)
    item = np.array([0, 1, 1, 0, 2, 0, 2], dtype=np.int32)
    p = Purchases(np.zeros(7, np.int32), user, item, 4, 3)
    core = k_core(purchase_matrix(p, np.ones(7)), user_min=2, article_min=2)
    assert set(zip(core.rows.tolist(), core.cols.tolist())) == {(2, 0), (2, 2), (3, 0), (3, 2)}
    assert core.passes == 4  # drops user 1, then item 1, then user 0, then confirms nothing changes


def test_duplicates_summed_and_id_maps_point_to_the_right_cells() -> None:
    day = np.array([to_day(END)] * 6, dtype=np.int32)
    user = np.array([7, 7, 7, 9, 9, 9], dtype=np.int32)
    item = np.array([3, 3, 5, 3, 5, 5], dtype=np.int32)
    im = build_interactions(Purchases(day, user, item, 10, 6), 1, 1, "binary")
    assert im.user_ids.tolist() == [7, 9] and im.item_ids.tolist() == [3, 5]
    assert im.matrix.toarray().tolist() == [[2.0, 1.0], [1.0, 2.0]]
    assert im.rows_of(np.array([9, 7, 8])).tolist() == [1, 0, -1]
    assert im.matrix.dtype == np.float32


def test_interaction_matrix_save_load_round_trip(tmp_path) -> None:
    im = build_interactions(heavy_tailed_purchases(300, 100, 4000), 3, 3, "recency")
    im.save(tmp_path / "m")
    back = InteractionMatrix.load(tmp_path / "m")
    assert (back.matrix != im.matrix).nnz == 0
    assert np.array_equal(back.user_ids, im.user_ids) and np.array_equal(back.item_ids, im.item_ids)
    assert back.stats == im.stats


def test_time_split_holds_out_last_days_and_is_configurable() -> None:
    p = heavy_tailed_purchases(200, 50, 3000)
    for days in (1, 7, 14):
        s = time_split(p, days)
        assert s.test.day.min() == to_day(END) - days + 1 and s.train.day.max() < s.cutoff_day
        assert len(s.train) + len(s.test) == len(p)
    with pytest.raises(ValueError, match="holdout_days"):
        time_split(p, 0)


def days(*dates: str) -> np.ndarray:
    return np.array([to_day(dt.date.fromisoformat(d)) for d in dates], dtype=np.int32)


def test_months_before_clamps_to_month_end() -> None:
    assert months_before(dt.date(2020, 3, 31), 1) == dt.date(2020, 2, 29)
    assert months_before(dt.date(2020, 9, 22), 12) == dt.date(2019, 9, 22)
    assert months_before(dt.date(2020, 1, 15), 3) == dt.date(2019, 10, 15)


def test_recency_uses_6_and_12_month_cutoffs_from_the_end_date() -> None:
    d = days("2020-09-22", "2020-03-22", "2020-03-21", "2019-09-22", "2019-09-21", "2018-09-20")
    assert confidence_weights(d, to_day(END), "recency").tolist() == [5, 5, 3, 3, 1, 1]
    # relative: the same offsets one year earlier give the same weights
    shifted = days("2019-09-22", "2019-03-22", "2019-03-21", "2018-09-22", "2018-09-21", "2017-09-20")
    assert confidence_weights(shifted, to_day(dt.date(2019, 9, 22)), "recency").tolist() == [5, 5, 3, 3, 1, 1]


def test_seasonal_middle_branch_fires_for_same_months_of_earlier_years() -> None:
    d = days("2020-09-22", "2020-06-22", "2020-06-21", "2019-07-01", "2019-08-15", "2019-09-30", "2019-10-01",
             "2019-06-30", "2018-09-20")
    w = confidence_weights(d, to_day(END), "seasonal")
    assert w.tolist() == [5, 5, 1, 3, 3, 3, 1, 1, 3]
    # the season follows the end date: ending in March, the season is Jan-Mar
    w_march = confidence_weights(days("2019-02-10", "2019-07-10"), to_day(dt.date(2020, 3, 31)), "seasonal")
    assert w_march.tolist() == [3, 1]


def test_decay_halves_every_half_life_and_binary_is_one() -> None:
    d = days("2020-09-22", "2020-08-23", "2020-07-24")
    assert np.allclose(confidence_weights(d, to_day(END), "decay", half_life_days=30), [1.0, 0.5, 0.25])
    assert confidence_weights(d, to_day(END), "binary").tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="half_life_days"):
        confidence_weights(d, to_day(END), "decay", half_life_days=0)
    with pytest.raises(ValueError, match="unknown confidence 'bogus'"):
        confidence_weights(d, to_day(END), "bogus")


def test_every_confidence_option_gives_a_different_matrix() -> None:
    p = heavy_tailed_purchases(300, 80, 6000, start=dt.date(2018, 9, 20))
    mats = {c: build_interactions(p, 3, 3, c).matrix for c in ("binary", "recency", "seasonal", "decay")}
    names = list(mats)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert mats[a].shape == mats[b].shape  # thresholds do not depend on the weights
            assert abs(mats[a] - mats[b]).sum() > 1, (a, b)


def test_out_of_range_idx_names_file_row_and_column() -> None:
    import pyarrow as pa

    from hm_pipeline.training.split import purchases_from_table

    table = pa.table({
        "t_dat": pa.array([18500, 18501, 18502], type=pa.int32()).cast(pa.date32()),
        "customer_idx": pa.array([0, None, 1], type=pa.int32()),
        "article_idx": pa.array([0, 1, 9], type=pa.int32()),
    })
    with pytest.raises(ValueError, match=r"x\.parquet: row 2, column article_idx: 9 is outside \[0, 5\)"):
        purchases_from_table(table, n_users=3, n_items=5, source="x.parquet")
    p, orphans = purchases_from_table(table.slice(0, 2), n_users=3, n_items=5)
    assert orphans == 1 and p.user.tolist() == [0] and p.day.tolist() == [18500]


def test_k_core_that_leaves_no_customers_names_counts_and_the_setting() -> None:
    p = heavy_tailed_purchases(300, 100, 4000)
    with pytest.raises(EmptyKCore) as error:
        build_interactions(p, 1000, 5, "binary")
    message = str(error.value)
    users = len(np.unique(p.user))
    assert f"{users:,} customers" in message and "0 x 0 after" in message
    assert "user_min=1000" in message and "Lower `user_min`" in message
