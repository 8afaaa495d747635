"""MAP@12 / precision@12 / recall@12 against hand-computed cases and Kaggle's reference apk."""

from __future__ import annotations

import numpy as np
import pytest

from hm_pipeline.training.metrics import evaluated_users, ranking_scores, relevant_matrix

N_ITEMS = 100


def scores_for(recs: list[list[int]], bought: list[list[int]]):
    """One user per entry; `bought` may contain repeats (a customer buying the same article twice)."""
    user = np.concatenate([[u] * len(b) for u, b in enumerate(bought)]).astype(np.int32)
    item = np.concatenate(bought).astype(np.int32)
    relevant = relevant_matrix(user, item, len(bought), N_ITEMS)
    users = evaluated_users(relevant)
    padded = np.full((len(recs), 12), -1, dtype=np.int32)
    for i, r in enumerate(recs):
        padded[i, : len(r)] = r
    return ranking_scores(padded[users], users, relevant)


def kaggle_apk(actual: list[int], predicted: list[int], k: int = 12) -> float:
    """The competition's reference implementation (ml_metrics.apk), -1 meaning no prediction."""
    predicted = predicted[:k]
    score, hits = 0.0, 0
    for i, p in enumerate(predicted):
        if p >= 0 and p in actual and p not in predicted[:i]:
            hits += 1
            score += hits / (i + 1.0)
    return score / min(len(actual), k) if actual else 0.0


def test_perfect_list_scores_one() -> None:
    s = scores_for([[4, 2]], [[2, 4]])
    assert s.map_at_k == 1.0 and s.recall_at_k == 1.0 and s.precision_at_k == pytest.approx(2 / 12)


def test_no_hits_scores_zero() -> None:
    s = scores_for([[1, 2, 3]], [[50, 51]])
    assert (s.map_at_k, s.precision_at_k, s.recall_at_k) == (0.0, 0.0, 0.0)


def test_partial_hits_weigh_by_rank() -> None:
    # hits at ranks 2 and 4: (1/2 + 2/4) / min(12, 2)
    assert scores_for([[1, 5, 2, 7, 3]], [[5, 7]]).map_at_k == pytest.approx(0.5)
    # one relevant found at rank 3 of three relevant: (1/3) / 3
    s = scores_for([[1, 2, 9]], [[9, 10, 11]])
    assert s.map_at_k == pytest.approx(1 / 9) and s.recall_at_k == pytest.approx(1 / 3)


def test_denominator_is_min_of_12_and_relevant_count() -> None:
    twenty = list(range(20, 40))
    assert scores_for([twenty[:12]], [twenty]).map_at_k == pytest.approx(1.0)  # 12/12, not 12/20
    assert scores_for([[20]], [twenty]).map_at_k == pytest.approx(1 / 12)
    assert scores_for([[20]], [twenty]).recall_at_k == pytest.approx(1 / 20)


def test_repeat_purchases_in_the_held_out_week_count_once() -> None:
    # bought 5 three times and 7 once: two relevant articles, so finding only 5 at rank 1 gives 1/2
    s = scores_for([[5]], [[5, 5, 5, 7]])
    assert s.map_at_k == pytest.approx(0.5) and s.recall_at_k == pytest.approx(0.5)


def test_repeated_prediction_scores_only_once() -> None:
    # [5, 5, 7] with relevant {5, 7}: hits at ranks 1 and 3 -> (1/1 + 2/3) / 2
    assert scores_for([[5, 5, 7]], [[5, 7]]).map_at_k == pytest.approx((1 + 2 / 3) / 2)


def test_mean_over_users_including_users_without_hits() -> None:
    s = scores_for([[1], [9], [3, 1]], [[1], [1], [1]])
    assert s.users == 3 and s.map_at_k == pytest.approx((1 + 0 + 0.5) / 3)


def test_users_without_held_out_purchases_are_not_evaluated() -> None:
    relevant = relevant_matrix(np.array([0, 3]), np.array([1, 2]), 5, N_ITEMS)
    assert evaluated_users(relevant).tolist() == [0, 3]
    with pytest.raises(ValueError, match="relevant"):
        ranking_scores(np.zeros((1, 12), np.int32), np.array([1]), relevant)


def test_matches_kaggle_reference_on_random_cases() -> None:
    rng = np.random.default_rng(7)
    n_users = 300
    bought = [rng.integers(0, 30, rng.integers(1, 20)).tolist() for _ in range(n_users)]
    recs = rng.integers(-1, 30, (n_users, 12)).astype(np.int32)
    user = np.concatenate([[u] * len(b) for u, b in enumerate(bought)])
    relevant = relevant_matrix(user, np.concatenate(bought), n_users, N_ITEMS)
    users = evaluated_users(relevant)
    expected = np.mean([kaggle_apk(sorted(set(bought[u])), recs[u].tolist()) for u in users])
    assert ranking_scores(recs, users, relevant).map_at_k == pytest.approx(expected, rel=1e-12)
