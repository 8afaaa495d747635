"""Idempotency and determinism: every asset materialized on the same tiny data (seed 5) in two fresh data roots,
and a second time in place, leaves byte-identical Parquet/CSV/NPZ files and the same graph counts.

The one file whose bytes legitimately differ is training/als/manifest.json: it records how long the two ALS fits
took (`eval_fit_seconds`, `production_fit_seconds`); everything else in it must be equal. The embedded graph
database is compared by its counts (a database file is not a deterministic byte stream).
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from hm_pipeline_tests.reliability_fixtures import IMAGE_FOLDERS_KEPT, pipeline_runs, temp_leftovers  # noqa: F401

TIMED_FILES = {"training/als/manifest.json"}
EXPECTED = {
    "ingest/articles.parquet", "ingest/customers.parquet", "ingest/transactions.parquet",
    "similar/similar.parquet", "similar/embedding_state.parquet",
    "training/interactions/full/matrix.npz", "training/interactions/train/matrix.npz",
    "training/als/production_model.npz", "training/als/eval_model.npz", "training/evaluation/evaluation.json",
    "training/ranker_train_set/manifest.json", "recommendations/candidates/eval.parquet",
    "recommendations/candidates/production.parquet", "recommendations/fused.parquet", "output/submission.csv",
}


def _without_timings(path) -> dict:
    return {k: v for k, v in json.loads(path.read_text()).items() if not k.endswith("_seconds")}


def _differing(left: dict[str, str], right: dict[str, str]) -> list[str]:
    return sorted(name for name in left.keys() | right.keys() if left.get(name) != right.get(name))


def test_two_fresh_roots_give_byte_identical_outputs(pipeline_runs):  # noqa: F811
    runs = pipeline_runs
    a1, b1 = runs["a1"], runs["b1"]
    assert EXPECTED <= set(a1), sorted(EXPECTED - set(a1))
    assert len([n for n in a1 if n.startswith("embeddings/")]) == IMAGE_FOLDERS_KEPT
    assert set(a1) == set(b1)
    assert _differing(a1, b1) == sorted(TIMED_FILES)
    for name in TIMED_FILES:
        a, b = runs["a"].root / name, runs["b"].root / name
        assert json.loads(a.read_text()) != json.loads(b.read_text())  # the timings really are in there
        assert _without_timings(a) == _without_timings(b)


def test_rematerializing_in_place_gives_the_same_bytes(pipeline_runs):  # noqa: F811
    runs = pipeline_runs
    assert _differing(runs["a1"], runs["a2"]) == sorted(TIMED_FILES)
    meta = runs["second"]["downstream"].asset_materializations_for_node("similar_products")[0].metadata
    assert meta["mode"].value == "incremental" and meta["lists_recomputed"].value == 0  # the incremental path ran


def test_graph_counts_are_identical_and_complete(pipeline_runs):  # noqa: F811
    runs = pipeline_runs
    assert runs["a1_graph"] == runs["b1_graph"] == runs["a2_graph"]
    tx = pq.read_table(runs["a"].root / "ingest/transactions.parquet", columns=["customer_idx", "article_idx"])
    known = tx.drop_null().num_rows
    counts = runs["a1_graph"]
    assert counts["purchases"]["PURCHASED"] == counts["relationships"]["PURCHASED"] == known > 0
    assert counts["nodes"]["Customer"] == pq.read_metadata(runs["a"].root / "ingest/customers.parquet").num_rows
    assert counts["relationships"]["SIMILAR"] > 0 and counts["relationships"]["IS_AGE_GROUP"] > 0


#: What differs between two copies of the same input by nature: the files' modification times.
FILE_TIMES = ("modified_utc", "fingerprint")


def _numbers(result, asset: str) -> dict:
    """An asset's metadata without the wall-clock figures and paths (which differ between roots by nature)."""
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return {k: v.value for k, v in event.materialization.metadata.items()
            if "second" not in k and not k.endswith("path") and k not in FILE_TIMES}


def test_metadata_numbers_are_reproducible(pipeline_runs):  # noqa: F811
    first, other = pipeline_runs["first"], pipeline_runs["b_results"]
    compared = 0
    for run in first:
        for event in first[run].get_asset_materialization_events():
            asset = event.asset_key.to_user_string()
            if asset == "graph_eda":
                continue  # its tables embed PNG charts: compared below without them
            assert _numbers(first[run], asset) == _numbers(other[run], asset), asset
            compared += 1
    assert compared >= 14
    eda_a, eda_b = (_numbers(r["downstream"], "graph_eda") for r in (first, other))
    assert {k: v for k, v in eda_a.items() if isinstance(v, (int, float))} == \
        {k: v for k, v in eda_b.items() if isinstance(v, (int, float))}


def test_no_temporary_files_are_left(pipeline_runs):  # noqa: F811
    assert temp_leftovers(pipeline_runs["a"].root) == []
    assert temp_leftovers(pipeline_runs["b"].root) == []
