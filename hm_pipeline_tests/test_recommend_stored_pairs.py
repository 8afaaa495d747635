"""The ranker's stored stages: candidates written by chunks and read back, the training set's label weeks on disk,
and a label week two recipes share built once — each giving exactly what the in-memory path gives."""

from __future__ import annotations

import numpy as np
import pytest

from hm_pipeline.recommend import training_set, two_stage
from hm_pipeline.recommend.candidate_file import CandidateFile, ComputedCandidates, n_chunks, write_candidates
from hm_pipeline_tests.test_recommend_two_stage import DAYS, N_CUSTOMERS, world


@pytest.fixture(scope="module")
def weeks():
    inputs = world(6)
    targets = [DAYS - 7, DAYS]
    return inputs, targets, two_stage.compute_weeks(inputs, targets)


def _assert_tables_equal(a, b) -> None:
    np.testing.assert_array_equal(a.customer, b.customer)
    np.testing.assert_array_equal(a.article, b.article)
    np.testing.assert_array_equal(a.rank, b.rank)  # NaN (not proposed) compares equal here
    np.testing.assert_array_equal(a.score, b.score)
    assert a.names == b.names


def test_candidates_read_back_chunk_by_chunk_equal_the_computed_ones(tmp_path):
    data = world(1).at(DAYS - 7)
    customers = np.random.default_rng(0).permutation(N_CUSTOMERS)[:170]  # unsorted: stored sorted
    computed = ComputedCandidates(data, customers, chunk=40)
    written = write_candidates(tmp_path / "c.parquet", computed, workers=2)
    stored = CandidateFile(tmp_path / "c.parquet")
    assert n_chunks(stored) == 5 and stored.chunk == 40
    np.testing.assert_array_equal(stored.customers, np.sort(customers))
    for i in range(n_chunks(stored)):
        _assert_tables_equal(stored.table(i), computed.table(i))
        assert set(np.unique(stored.table(i).customer)) <= set(stored.customers[i * 40 : (i + 1) * 40])
    assert written["rows"] == sum(len(computed.table(i)) for i in range(5))
    assert sum(written["per_source"].values()) >= written["rows"]  # a pair can come from several sources


def test_ranking_stored_candidates_gives_the_same_recommendations(tmp_path, weeks):
    inputs, targets, built = weeks
    ranker = two_stage.fit_ranker(*two_stage.recipe_weeks(built, targets[0], inputs.config), inputs.config)
    data = inputs.at(targets[0])
    computed = ComputedCandidates(data, np.arange(N_CUSTOMERS), chunk=64)
    write_candidates(tmp_path / "c.parquet", computed)
    direct, _ = two_stage.recommend(data, {"r": ranker}, computed)
    stored, _ = two_stage.recommend(data, {"r": ranker}, CandidateFile(tmp_path / "c.parquet"), workers=2)
    np.testing.assert_array_equal(stored["r"][0], direct["r"][0])
    np.testing.assert_array_equal(stored["r"][1], direct["r"][1])


def test_a_failed_candidates_write_leaves_no_file(tmp_path):
    data = world(1).at(DAYS - 7)

    class Broken(ComputedCandidates):
        def table(self, i):
            if i == 2:
                raise RuntimeError("source failed")
            return super().table(i)

    with pytest.raises(RuntimeError, match="source failed"):
        write_candidates(tmp_path / "c.parquet", Broken(data, np.arange(N_CUSTOMERS), chunk=50))
    assert list(tmp_path.iterdir()) == []


def test_a_week_two_recipes_share_is_built_once_and_sampled_for_training(weeks):
    inputs, targets, built = weeks
    # eval (target DAYS - 7): train DAYS - 21, validation DAYS - 14; production (DAYS): train DAYS - 14, valid DAYS - 7
    assert sorted(built) == [DAYS - 21, DAYS - 14, DAYS - 7]
    eval_train, eval_valid = two_stage.recipe_weeks(built, targets[0], inputs.config)
    prod_train, _ = two_stage.recipe_weeks(built, targets[1], inputs.config)
    assert eval_valid.cutoff == prod_train[0].cutoff == DAYS - 14
    assert len(prod_train[0].y) == eval_valid.in_sample.sum() < len(eval_valid.y)  # negatives were sampled
    assert prod_train[0].y.sum() == eval_valid.y.sum()  # every positive kept
    alone = two_stage.label_week(inputs, DAYS - 14, inputs.config).sampled()
    np.testing.assert_array_equal(alone.pairs.x, prod_train[0].pairs.x)
    np.testing.assert_array_equal(alone.y, prod_train[0].y)


def test_the_training_set_read_back_fits_the_same_ranker(tmp_path, weeks):
    inputs, targets, built = weeks
    manifest = training_set.write_training_set(tmp_path / "set", built, extra={"targets": {"eval": targets[0]}})
    assert manifest["targets"] == {"eval": targets[0]} and set(manifest["weeks"]) == {str(c) for c in built}
    read = training_set.read_training_set(tmp_path / "set")
    for cutoff, week in built.items():
        again = read[cutoff]
        np.testing.assert_array_equal(again.pairs.x, week.pairs.x)
        np.testing.assert_array_equal(again.pairs.source_rank, week.pairs.source_rank)
        np.testing.assert_array_equal(again.y, week.y)
        np.testing.assert_array_equal(again.in_sample, week.in_sample)
        assert again.pairs.names == week.pairs.names and again.recall == pytest.approx(week.recall, abs=1e-4)
    variant = two_stage.Variant(frozenset({"trending"}), frozenset({"customer"}))
    a = two_stage.fit_ranker(*two_stage.recipe_weeks(built, targets[0], inputs.config), inputs.config, variant)
    b = two_stage.fit_ranker(*two_stage.recipe_weeks(read, targets[0], inputs.config), inputs.config, variant)
    _, x, _ = built[DAYS - 14].pairs.view(variant)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))


def test_reading_a_missing_training_set_says_what_to_materialize(tmp_path):
    with pytest.raises(FileNotFoundError, match="ranker_train_set"):
        training_set.read_training_set(tmp_path / "nothing")
