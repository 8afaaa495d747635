"""Stage 6, the evaluation (group `evaluation`): `holdout_evaluation`, every recommender scored on the
held-out week, each fit only on the purchases before it.

It scores `als_model`'s train-only fit as "ALS (<confidence>): als_model", fits its own train-only ALS for each
other confidence option asked for (an ablation, off by default) with the same hyper-parameters, the original
notebook's fused recommender and its ablations, and `ranker_model`'s eval recipe (the ranked recommender and its
ablations).
(No `from __future__ import annotations` here: Dagster reads the Config annotations at run time.)
"""

import json

import dagster as dg
import numpy as np
import pyarrow.parquet as pq
from pydantic import Field

from hm_pipeline.atomic import atomic_path
from hm_pipeline.defs.metadata import OWNERS, timed
from hm_pipeline.defs.resources import DataRootResource
from hm_pipeline.layout import DataLayout
from hm_pipeline.manifest import read_manifest
from hm_pipeline.markdown import markdown_table as shared_table
from hm_pipeline.recommend import inputs as fusion_inputs
from hm_pipeline.recommend.offline import age_group_codes, fused_candidates, train_only_data
from hm_pipeline.recommend.ranker_files import eval_ranker_ready, eval_recommenders
from hm_pipeline.training.als import AlsParams, fit_als, load_model
from hm_pipeline.training.confidence import CONFIDENCE_SCHEMES, check_scheme
from hm_pipeline.training.evaluate import (AlsCandidate, beats_best_baseline, evaluate_candidates, markdown_table,
                                          to_json)
from hm_pipeline.training.interactions import InteractionMatrix, build_interactions
from hm_pipeline.training.split import TimeSplit, read_split

GROUP = "evaluation"


class EvaluationConfig(dg.Config):
    confidence_options: list[str] = Field(
        [], description="an ablation: one more train-only ALS fit per confidence option (e.g. "
        f"{list(CONFIDENCE_SCHEMES)}; bench/quality_report.yaml sets them all); off by default, since each fit "
        "costs as much as als_model's (~4 min at full H&M scale)")
    filter_already_liked_items: bool = Field(
        False, description="drop already-bought articles from ALS lists (H&M customers often re-buy)")
    popularity_window_days: int = Field(7, description="bestseller window for popularity / trending")
    fused: bool = Field(True, description="also score the original notebook's fused recommender and its ablations "
                        "(skipped, and said so in the metadata, while similar_products has not been materialized)")
    ranked: bool = Field(True, description="score the ranked (two-stage) recommender and its ablations "
                         "(`ranker_model`'s eval recipe)")


def _fused_others(layout: DataLayout, split: TimeSplit) -> dict:
    """The fused recommender and its ablations, every input fit on `split.train` (see `recommend.offline`)."""
    catalog = fusion_inputs.Catalog.read(layout)
    ages = pq.read_table(layout.ingest_table("customers"), columns=["age"])["age"]
    data = train_only_data(
        split.train,
        fusion_inputs.read_similar(layout.similar_file, catalog),
        catalog.department_no,
        catalog.index_code,
        fusion_inputs.read_als(layout.als_model_file("eval"), layout.interactions_dir / "train", catalog),
        age_group_codes(ages),
        customers=np.unique(split.test.user),  # the only customers it is scored on
    )
    return fused_candidates(data)


def _recall_table(recall: dict[str, float]) -> str:
    return shared_table([{"source": n, "recall": v} for n, v in recall.items()], float_digits=4)


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=["interaction_matrix", "als_model", "similar_products", "ranker_model", "ranker_candidates"],
    kinds={"numpy", "json"},
    automation_condition=dg.AutomationCondition.eager(),  # re-scored when a model or SIMILAR changes
    description="MAP@12 / precision@12 / recall@12 on the held-out week for popularity, repurchase + trending, "
    "als_model's ALS, ALS per confidence option, the original notebook's fused recommender, and the ranked "
    "recommender with its ablations (all fit on data before the held-out week), each with the 95% bootstrap "
    "interval of its difference to the best baseline; markdown + JSON.",
)
def holdout_evaluation(
    context: dg.AssetExecutionContext, config: EvaluationConfig, data_root: DataRootResource
) -> dg.MaterializeResult:
    for option in config.confidence_options:
        check_scheme(option)
    layout = data_root.layout()
    seconds = timed()
    matrix_manifest = read_manifest(layout.interactions_dir, "interaction_matrix")
    als_manifest = read_manifest(layout.als_dir, "als_model")
    mconf = matrix_manifest["config"]
    split, _, _ = read_split(layout, mconf["holdout_days"])
    if split.cutoff_day != matrix_manifest["cutoff_day"]:
        raise RuntimeError("transactions changed since `interaction_matrix` was materialized: re-materialize it")
    params = AlsParams(**als_manifest["params"])
    candidates = {f"ALS ({mconf['confidence']}): als_model":
                  AlsCandidate(load_model(layout.als_model_file("eval")),
                               InteractionMatrix.load(layout.interactions_dir / "train"))}
    for option in config.confidence_options:
        if option == mconf["confidence"]:
            continue  # same data, settings and seed as als_model's own fit above
        with seconds(f"fit ALS ({option})"):
            interactions = build_interactions(split.train, mconf["user_min"], mconf["article_min"], option,
                                              mconf["half_life_days"])
            model, _ = fit_als(interactions.matrix, params)
        candidates[f"ALS ({option})"] = AlsCandidate(model, interactions)
    similar_ready = layout.similar_file.is_file()
    with seconds("fused recommender"):
        others = _fused_others(layout, split) if config.fused and similar_ready else {}
    fused_note = ("scored" if others else "not scored: " + ("disabled in config" if not config.fused else
                  f"{layout.similar_file} missing (materialize similar_products)"))
    if config.fused and not similar_ready:
        context.log.warning(f"fused recommender {fused_note}")
    contenders, ranked_stats = {}, {}
    ranker_ready = eval_ranker_ready(layout)
    if config.ranked and ranker_ready:
        with seconds("ranked recommender"):
            contenders, ranked_stats = eval_recommenders(layout, np.unique(split.test.user))
    ranked_note = ("scored" if contenders else "not scored: " + ("disabled in config" if not config.ranked else
                   "materialize `ranker_model` and `ranker_candidates` first"))
    if config.ranked and not ranker_ready:
        context.log.warning(f"ranked recommender {ranked_note}")
    with seconds("scoring"):
        rows = evaluate_candidates(split, candidates, window_days=config.popularity_window_days,
                                   filter_already_liked_items=config.filter_already_liked_items, others=others,
                                   contenders=contenders)
    table = markdown_table(rows)
    extra = {"interaction_matrix": mconf, "als": params.as_dict(),
             "filter_already_liked_items": config.filter_already_liked_items}
    recall = ranked_stats.get("recall", {})
    with atomic_path(layout.evaluation_dir) as tmp:
        tmp.mkdir()
        (tmp / layout.evaluation_file.name).write_text(to_json(rows, split, extra))
        (tmp / "evaluation.md").write_text(table + "\n" + ("\nCandidate recall on the held-out week (share of "
                                           "its purchases proposed by each source):\n\n" + _recall_table(recall)
                                           + "\n" if recall else ""))
    context.log.info("\n" + table)
    best = max(rows, key=lambda r: r["map@12"])
    described = split.describe()
    metadata = {
        "dagster/row_count": len(rows),
        "results": dg.MetadataValue.md(table),
        "best": f"{best['candidate']}: MAP@12 {best['map@12']:.4f}",
        "customers_evaluated": rows[0]["users_evaluated"],
        "held_out_week": f"{described['test_first_date']} .. {described['test_last_date']}",
        "fused_recommender": fused_note,
        "ranked_recommender": ranked_note,
        "json_path": dg.MetadataValue.path(str(layout.evaluation_file)),
        **seconds.metadata(),
    }
    if recall:
        metadata["held_out_candidate_recall"] = dg.MetadataValue.md(
            "Share of the held-out week's purchases proposed by each candidate source:\n\n" + _recall_table(recall))
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(asset=holdout_evaluation, blocking=False,
                description="The ranked recommender (what `recommendations` serves) beats the best baseline on "
                "the held-out week: the 95% interval of its MAP@12 difference lies above 0. A warning, not an error: "
                "on little data (e.g. `tiny`) the ranker can lose to popularity, and then the baseline is the "
                "better choice.")
def ranked_beats_best_baseline(data_root: DataRootResource) -> dg.AssetCheckResult:
    rows = json.loads(data_root.layout().evaluation_file.read_text())["results"]
    passed, verdict = beats_best_baseline(rows, "ranked")
    return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.WARN, description=verdict,
                               metadata={"verdict": verdict})
