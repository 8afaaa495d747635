"""The training assets, the evaluation, and their checks, materialized on a small fixture in a temporary data root."""

from __future__ import annotations

import json

import dagster as dg
import numpy as np
import pytest

from hm_pipeline.defs import evaluation, training
from hm_pipeline.defs.resources import DataRootResource
from hm_pipeline_tests.defs_fixtures import module_defs
from hm_pipeline.layout import DataLayout
from hm_pipeline.training.interactions import InteractionMatrix
from hm_pipeline.training.split import Purchases
from hm_pipeline_tests.training_fixtures import heavy_tailed_purchases, write_ingest

LEAK_ITEM = 299  # bought only in the held-out week
RUN_CONFIG = {
    "ops": {
        "interaction_matrix": {"config": {"user_min": 3, "article_min": 3, "confidence": "recency"}},
        "als_model": {"config": {"factors": 8, "iterations": 3}},
        "holdout_evaluation": {"config": {"confidence_options": ["binary", "recency", "seasonal", "decay"]}},
    }
}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    p = heavy_tailed_purchases(1500, 300, 30000, seed=11)
    p.item[p.item == LEAK_ITEM] = 0
    buyers = np.arange(0, 40, dtype=np.int32)
    purchases = Purchases(np.concatenate([p.day, np.full(40, p.last_day, np.int32)]),
                          np.concatenate([p.user, buyers]),
                          np.concatenate([p.item, np.full(40, LEAK_ITEM, np.int32)]), p.n_users, p.n_items)
    write_ingest(DataLayout(root), purchases, orphans=25)
    return root


def materialize(root):
    return dg.materialize(
        [*module_defs(training, evaluation).assets, *module_defs(training, evaluation).asset_checks],
        resources={"data_root": DataRootResource(data_root=str(root))},
        run_config=RUN_CONFIG,
    )


@pytest.fixture(scope="module")
def first_run(data_root):
    """Materialize once, recording every matrix build (its purchases) and every ALS fit (its matrix)."""
    mp = pytest.MonkeyPatch()
    built, fitted = [], []
    real_build, real_fit = training.build_interactions, training.fit_als

    def recording_build(purchases, *args, **kwargs):
        built.append(purchases)
        return real_build(purchases, *args, **kwargs)

    def recording_fit(matrix, params):
        fitted.append(matrix)
        return real_fit(matrix, params)

    for module in (training, evaluation):
        mp.setattr(module, "build_interactions", recording_build)
        mp.setattr(module, "fit_als", recording_fit)
    try:
        result = materialize(data_root)
    finally:
        mp.undo()
    return result, built, fitted


def test_materializes_all_assets_with_metadata(first_run, data_root) -> None:
    result = first_run[0]
    assert result.success
    events = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()]
    meta = {m.asset_key.path[-1]: m.metadata for m in events}
    im = meta["interaction_matrix"]
    for key in ("matrices", "kcore_iterations", "dagster/row_count", "seconds"):
        assert key in im, key
    assert im["orphan_rows_dropped"].value == 25
    for column in ("customers", "articles", "purchases kept (non-zeros)", "density", "customers dropped"):
        assert f" {column} |" in im["matrices"].value
    assert {"fit_seconds", "factors", "shape"} <= set(meta["als_model"])
    ev = meta["holdout_evaluation"]
    table = ev["results"].value
    for name in ("popularity", "repurchase + trending", "ALS (recency): als_model", "ALS (binary)", "ALS (seasonal)",
                 "ALS (decay)"):
        assert f"| {name} |" in table
    report = json.loads((data_root / "training" / "evaluation" / "evaluation.json").read_text())
    assert len(report["results"]) == 6 and report["split"]["test_last_date"] == "2020-09-22"
    assert ev["best"].value.endswith(f"MAP@12 {max(r['map@12'] for r in report['results']):.4f}")


def test_checks_pass(first_run) -> None:
    result = first_run[0]
    evaluations = result.get_asset_check_evaluations()
    checks = {e.check_name: e.passed for e in evaluations if e.severity == dg.AssetCheckSeverity.ERROR}
    assert checks == {"kcore_thresholds_hold": True, "train_precedes_holdout": True, "factors_match_matrix": True}
    # the ranked recommender was not materialized here: its check warns (never fails the run) and says so
    (ranked,) = [e for e in evaluations if e.check_name == "ranked_beats_best_baseline"]
    assert ranked.severity == dg.AssetCheckSeverity.WARN and not ranked.passed
    assert ranked.metadata["verdict"].value == "ranked was not scored"


def test_no_held_out_purchase_reaches_any_evaluation_fit(first_run, data_root) -> None:
    _, built, fitted = first_run
    folder = data_root / "training" / "interactions"
    cutoff = json.loads((folder / "manifest.json").read_text())["cutoff_day"]
    train, full = InteractionMatrix.load(folder / "train"), InteractionMatrix.load(folder / "full")
    assert LEAK_ITEM in full.item_ids and LEAK_ITEM not in train.item_ids
    # builds: train + full (interaction_matrix), then binary / seasonal / decay (evaluation, train only)
    assert len(built) == 5 and built[1].last_day >= cutoff
    assert all(p.last_day < cutoff for i, p in enumerate(built) if i != 1)
    # fits: eval + production (als_model), then one per other confidence option, all on the train cells
    assert len(fitted) == 5 and fitted[1].shape == full.matrix.shape
    for m in fitted[:1] + fitted[2:]:
        assert m.shape == train.matrix.shape and (abs(m.sign() - train.matrix.sign())).nnz == 0


def test_rematerializing_is_idempotent(first_run, data_root) -> None:
    folder = data_root / "training"
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.suffix in (".npz", ".parquet")}
    before_eval = json.loads((folder / "evaluation" / "evaluation.json").read_text())["results"]
    assert materialize(data_root).success
    after = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.suffix in (".npz", ".parquet")}
    assert before.keys() == after.keys() and all(before[p] == after[p] for p in before)
    assert json.loads((folder / "evaluation" / "evaluation.json").read_text())["results"] == before_eval
    assert not [p for p in folder.rglob(".tmp-*")]


def test_bad_confidence_is_a_clear_error(data_root) -> None:
    with pytest.raises(ValueError, match="unknown confidence 'weekly'"):
        dg.materialize([training.interaction_matrix], resources={"data_root": DataRootResource(data_root=str(data_root))},
                       run_config={"ops": {"interaction_matrix": {"config": {"confidence": "weekly"}}}})


def test_definitions_load_with_the_shared_resource_and_ingest_deps() -> None:
    defs = dg.Definitions.merge(module_defs(training, evaluation),
                                dg.Definitions(resources={"data_root": DataRootResource()}))
    graph = defs.resolve_asset_graph()
    keys = {dg.AssetKey(n) for n in ("interaction_matrix", "als_model", "holdout_evaluation")}
    assert keys <= set(graph.get_all_asset_keys())
    for key in keys:
        assert graph.get(key).group_name == ("evaluation" if key.path[-1] == "holdout_evaluation" else "training")
    assert {dg.AssetKey(n) for n in ("articles", "customers", "transactions")} <= graph.get(
        dg.AssetKey("interaction_matrix")).parent_keys
