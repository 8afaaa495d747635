"""The paired bootstrap interval of a MAP difference."""

from __future__ import annotations

import numpy as np
import pytest

from hm_pipeline.training.bootstrap import difference_interval


def test_identical_recommenders_differ_by_exactly_zero():
    a = np.random.default_rng(0).random(500)
    assert difference_interval(a, a) == (0.0, 0.0, 0.0)


def test_a_clearly_better_recommender_has_an_interval_above_zero_and_a_noisy_tie_straddles_it():
    rng = np.random.default_rng(1)
    base = rng.random(2000)
    diff, low, high = difference_interval(base + 0.05, base)
    assert diff == pytest.approx(0.05) and low == pytest.approx(0.05) and high == pytest.approx(0.05)
    diff, low, high = difference_interval(base + rng.normal(0, 0.2, 2000), base)
    assert low < 0 < high and low < diff < high
    assert high - low == pytest.approx(2 * 1.96 * 0.2 / np.sqrt(2000), rel=0.15)  # the normal-theory width


def test_the_interval_is_reproducible_and_needs_equal_lengths():
    a, b = np.random.default_rng(2).random((2, 300))
    assert difference_interval(a, b) == difference_interval(a, b)
    with pytest.raises(ValueError):
        difference_interval(a[:0], b[:0])


def test_the_verdict_on_the_ranked_recommender_follows_its_interval():
    from hm_pipeline.training.evaluate import beats_best_baseline

    def row(name, low, high):
        return {"candidate": name, "map@12": 0.02, "vs best baseline": "ALS", "map diff": (low + high) / 2,
                "95% interval": f"[{low:+.5f}, {high:+.5f}]", "diff_low": low, "diff_high": high}

    above, below, tie = row("ranked", 0.001, 0.004), row("ranked", -0.004, -0.001), row("ranked", -0.001, 0.002)
    assert beats_best_baseline([above], "ranked")[0] is True
    passed, told = beats_best_baseline([below], "ranked")
    assert passed is False and "worse" in told and "ALS" in told
    passed, told = beats_best_baseline([tie], "ranked")
    assert passed is False and "contains 0" in told
    assert beats_best_baseline([above], "other") == (False, "other was not scored")
