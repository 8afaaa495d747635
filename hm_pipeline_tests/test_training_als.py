"""ALS wrapper: fit, save/load round trip, batched recommend, BLAS pinning, popularity fallback."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from hm_pipeline.training.als import AlsParams, fit_als, load_model, recommend_rows, save_model, single_threaded_blas
from hm_pipeline.training.baselines import popularity
from hm_pipeline.training.evaluate import AlsCandidate, als_recommendations, evaluate_candidates
from hm_pipeline.training.interactions import build_interactions
from hm_pipeline.training.split import Purchases, time_split
from hm_pipeline_tests.training_fixtures import heavy_tailed_purchases

PARAMS = AlsParams(factors=8, iterations=4, regularization=0.05, random_state=3)


@pytest.fixture(scope="module")
def fitted():
    im = build_interactions(heavy_tailed_purchases(600, 200, 12000, seed=5), 3, 3, "recency")
    model, seconds = fit_als(im.matrix, PARAMS)
    return im, model, seconds


def test_fit_gives_float32_factors_of_the_matrix_shape(fitted) -> None:
    im, model, seconds = fitted
    assert model.user_factors.shape == (im.matrix.shape[0], 8) and model.item_factors.shape == (im.matrix.shape[1], 8)
    assert model.user_factors.dtype == np.float32 and seconds > 0


def test_same_seed_same_factors(fitted) -> None:
    im, model, _ = fitted
    again, _ = fit_als(im.matrix, PARAMS)
    assert np.allclose(again.item_factors, model.item_factors, atol=1e-5)


def test_save_load_round_trip_gives_identical_recommendations(fitted, tmp_path) -> None:
    im, model, _ = fitted
    save_model(model, tmp_path / "als.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["als.npz"]  # no temp file left
    back = load_model(tmp_path / "als.npz")
    rows = np.arange(im.matrix.shape[0])
    for filt in (False, True):
        assert np.array_equal(recommend_rows(model, rows, im.matrix, 12, filt), recommend_rows(back, rows, im.matrix, 12, filt))
    assert (back.factors, back.regularization, back.iterations) == (8, 0.05, 4)
    with pytest.raises(FileNotFoundError, match="ALS model not found"):
        load_model(tmp_path / "missing.npz")


def test_recommend_rows_filters_liked_items_when_asked(fitted) -> None:
    im, model, _ = fitted
    rows = np.arange(50)
    recs = recommend_rows(model, rows, im.matrix, 12, filter_already_liked_items=True)
    assert recs.shape == (50, 12) and recs.dtype == np.int32
    for r in rows:
        assert not set(recs[r].tolist()) & set(im.matrix[r].indices.tolist())
        assert len(set(recs[r].tolist())) == 12


def test_blas_pinned_inside_and_restored_after() -> None:
    before = {lib["filepath"]: lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}
    with single_threaded_blas():
        assert all(lib["num_threads"] == 1 for lib in threadpool_info() if lib["user_api"] == "blas")
    after = {lib["filepath"]: lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}
    assert after == before


def test_users_outside_the_matrix_get_the_fallback(fitted) -> None:
    im, model, _ = fitted
    outside = np.setdiff1d(np.arange(600), im.user_ids)[:3]
    users = np.concatenate([im.user_ids[:4], outside]).astype(np.int32)
    fallback = np.tile(np.arange(100, 112, dtype=np.int32), (len(users), 1))
    recs, served = als_recommendations(model, im, users, fallback)
    assert served == 4
    assert (recs[4:] == fallback[4:]).all()
    assert np.isin(recs[:4], im.item_ids).all()  # article_idx, mapped back from matrix columns


def test_rejects_empty_matrix_and_bad_params(fitted) -> None:
    im, _, _ = fitted
    with pytest.raises(ValueError, match="empty matrix"):
        fit_als(im.matrix[:0], PARAMS)
    with pytest.raises(ValueError, match="factors"):
        AlsParams(factors=0)


def test_no_held_out_purchase_reaches_the_evaluation_fit() -> None:
    p = heavy_tailed_purchases(500, 150, 15000, seed=9)
    # article 149 is bought only in the held-out week, by customers who also bought a lot before
    split0 = time_split(p, 7)
    heavy = np.bincount(split0.train.user, minlength=500).argsort()[-20:]
    day = np.concatenate([p.day, np.full(20, p.last_day, np.int32)])
    p.item[p.item == 149] = 0
    item = np.concatenate([p.item, np.full(20, 149, np.int32)])
    user = np.concatenate([p.user, heavy.astype(np.int32)])
    purchases = Purchases(day, user, item, 500, 150)
    split = time_split(purchases, 7)
    train_im = build_interactions(split.train, 3, 3, "binary")
    full_im = build_interactions(purchases, 3, 3, "binary")
    assert 149 in full_im.item_ids  # with leakage it would be in the matrix ...
    assert 149 not in train_im.item_ids  # ... the evaluation matrix never sees it
    model, _ = fit_als(train_im.matrix, PARAMS)
    seen_by_others = []
    rows = evaluate_candidates(split, {"als": AlsCandidate(model, train_im)},
                               others={"echo": lambda users: seen_by_others.append(users) or popularity(split.train, users)})
    assert [r["candidate"] for r in rows] == ["popularity", "repurchase + trending", "als", "echo"]
    assert rows[-1]["map@12"] == rows[0]["map@12"] and np.array_equal(seen_by_others[0], np.unique(split.test.user))
    recs = popularity(split.train, np.arange(500))
    assert 149 not in recs  # popularity is computed on training days only
    assert rows[-1]["users_evaluated"] == len(np.unique(split.test.user))
