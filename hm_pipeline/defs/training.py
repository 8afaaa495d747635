"""Dagster wiring for training: `interaction_matrix` -> `als_model` -> `recommendation_evaluation` (group `training`).

Evaluation fit vs production fit: `interaction_matrix` writes two matrices with the same thresholds and confidence,
`train/` (every purchase before the held-out window) and `full/` (all purchases, what the submission uses).
`als_model` fits one model on each: `eval_model.npz` (train only) and `production_model.npz`. The evaluation
scores the train-only model as "ALS (configured)", and fits its own train-only models for each other confidence
option with the same hyper-parameters; nothing it scores has seen the held-out window (the
`train_precedes_holdout` check asserts it on the written matrix).

For the submission: `training/als/production_model.npz` (implicit's `load`) with the id maps of
`training/interactions/full/` (`InteractionMatrix.load`: row -> customer_idx, column -> article_idx).
(No `from __future__ import annotations` here: Dagster reads the Config annotations at run time.)
"""

import json
import time
from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow.parquet as pq
from pydantic import Field

from hm_pipeline.atomic import atomic_path
from hm_pipeline.defs.images import similar_dir
from hm_pipeline.defs.metadata import OWNERS
from hm_pipeline.defs.resources import DataRootResource
from hm_pipeline.images.tables import SIMILAR_FILE
from hm_pipeline.layout import DataLayout
from hm_pipeline.markdown import markdown_table as shared_table
from hm_pipeline.recommend import inputs as fusion_inputs
from hm_pipeline.recommend.offline import age_group_codes, fused_candidates, train_only_data
from hm_pipeline.training.als import AlsParams, fit_als, load_model, save_model
from hm_pipeline.training.confidence import CONFIDENCE_SCHEMES, DEFAULT_HALF_LIFE_DAYS, check_scheme
from hm_pipeline.training.evaluate import AlsCandidate, evaluate_candidates, markdown_table, to_json
from hm_pipeline.training.interactions import EmptyKCore, InteractionMatrix, build_interactions
from hm_pipeline.training.split import DEFAULT_HOLDOUT_DAYS, Purchases, TimeSplit, read_purchases, time_split

GROUP = "training"
INGEST_DEPS = [dg.AssetKey("articles"), dg.AssetKey("customers"), dg.AssetKey("transactions")]
MANIFEST = "manifest.json"
EVAL_MODEL = "eval_model.npz"
PRODUCTION_MODEL = "production_model.npz"


def interactions_dir(layout: DataLayout) -> Path:
    return layout.training_dir / "interactions"


def als_dir(layout: DataLayout) -> Path:
    return layout.training_dir / "als"


def evaluation_dir(layout: DataLayout) -> Path:
    return layout.training_dir / "evaluation"


def _read_manifest(folder: Path, asset: str) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: materialize `{asset}` first")
    return json.loads(path.read_text())


def _read_split(layout: DataLayout, holdout_days: int) -> tuple[TimeSplit, Purchases, int]:
    purchases, orphans = read_purchases(
        layout.ingest_table("transactions"), layout.ingest_table("customers"), layout.ingest_table("articles")
    )
    return time_split(purchases, holdout_days), purchases, orphans


class InteractionMatrixConfig(dg.Config):
    user_min: int = Field(5, description="k-core: minimum distinct articles per customer (seed: 5)")
    article_min: int = Field(5, description="k-core: minimum distinct customers per article (seed: 5)")
    confidence: str = Field("recency", description="binary | recency (5/3/1 at 6/12 months) | seasonal "
                            "(5 last 3 months, 3 same months of earlier years, else 1) | decay (exponential)")
    half_life_days: float = Field(DEFAULT_HALF_LIFE_DAYS, description="half-life of the `decay` confidence")
    holdout_days: int = Field(DEFAULT_HOLDOUT_DAYS, description="last N days held out for evaluation (Kaggle: 7)")


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=INGEST_DEPS,
    kinds={"scipy", "parquet"},
    description="Thresholded (k-core) customer x article confidence matrices: train-only (before the held-out "
    "window) and full (all data), as .npz + Parquet id maps under training/interactions/.",
)
def interaction_matrix(
    context: dg.AssetExecutionContext, config: InteractionMatrixConfig, data_root: DataRootResource
) -> dg.MaterializeResult:
    check_scheme(config.confidence, config.half_life_days)
    layout = data_root.layout()
    split, purchases, orphans = _read_split(layout, config.holdout_days)
    params = dict(user_min=config.user_min, article_min=config.article_min, confidence=config.confidence,
                  half_life_days=config.half_life_days)
    start = time.perf_counter()
    try:
        train = build_interactions(split.train, **params)
        full = build_interactions(purchases, **params)
    except EmptyKCore as error:
        raise dg.Failure(description=str(error)) from None
    seconds = time.perf_counter() - start
    manifest = {"config": config.model_dump(), "split": split.describe(), "cutoff_day": split.cutoff_day,
                "orphan_rows_dropped": orphans, "train": train.stats, "full": full.stats}
    with atomic_path(interactions_dir(layout)) as tmp:
        train.save(tmp / "train")
        full.save(tmp / "full")
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    context.log.info(f"train matrix {train.matrix.shape}, full matrix {full.matrix.shape} in {seconds:.1f}s")
    s = full.stats
    metadata = {
        "dagster/row_count": s["users"],
        "users": s["users"], "items": s["items"], "nnz": s["nnz"],
        "density_before": s["density_before"], "density_after": s["density"],
        "users_lost_share": s["users_lost_share"], "items_lost_share": s["items_lost_share"],
        "kcore_iterations": s["kcore_passes"],
        "train_users": train.stats["users"], "train_items": train.stats["items"], "train_nnz": train.stats["nnz"],
        "train_users_lost_share": train.stats["users_lost_share"],
        "train_last_date": split.describe()["train_last_date"],
        "holdout": f"{split.describe()['test_first_date']} .. {split.describe()['test_last_date']}",
        "orphan_rows_dropped": orphans,
        "build_seconds": round(seconds, 2),
        "path": dg.MetadataValue.path(str(interactions_dir(layout))),
    }
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(asset=interaction_matrix, blocking=True,
                description="Every customer row has >= user_min articles and every article >= article_min "
                "customers, in both matrices.")
def kcore_thresholds_hold(data_root: DataRootResource) -> dg.AssetCheckResult:
    folder = interactions_dir(data_root.layout())
    config = _read_manifest(folder, "interaction_matrix")["config"]
    metadata, passed = {}, True
    for name in ("train", "full"):
        m = InteractionMatrix.load(folder / name).matrix
        row_min = int(np.diff(m.indptr).min()) if m.shape[0] else 0
        col_min = int(np.bincount(m.indices, minlength=m.shape[1]).min()) if m.shape[1] else 0
        metadata[f"{name}_min_articles_per_user"] = row_min
        metadata[f"{name}_min_users_per_article"] = col_min
        passed &= m.shape[0] > 0 and row_min >= config["user_min"] and col_min >= config["article_min"]
    metadata.update(user_min=config["user_min"], article_min=config["article_min"])
    return dg.AssetCheckResult(passed=bool(passed), metadata=metadata)


@dg.asset_check(asset=interaction_matrix, blocking=True,
                description="The train-only matrix ends before the held-out window starts (no leakage).")
def train_precedes_holdout(data_root: DataRootResource) -> dg.AssetCheckResult:
    manifest = _read_manifest(interactions_dir(data_root.layout()), "interaction_matrix")
    train_end, test_start = manifest["train"]["end_date"], manifest["split"]["test_first_date"]
    return dg.AssetCheckResult(passed=train_end < test_start,
                               metadata={"train_end_date": train_end, "holdout_first_date": test_start})


class AlsModelConfig(dg.Config):
    """implicit's defaults (the seed used them) and a fixed seed, so re-materializing gives the same factors."""

    factors: int = 100
    regularization: float = 0.01
    alpha: float = Field(1.0, description="scales the confidence values before the fit")
    iterations: int = 15
    random_state: int = 42
    device: str = Field("cpu", description="cpu | gpu (implicit.gpu on CUDA; fails without one) | auto")


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=[interaction_matrix],
    kinds={"implicit"},
    description="implicit ALS fit twice with the same config: on the train-only matrix (for evaluation) and on "
    "the full matrix (for the submission); saved with implicit's own save() under training/als/.",
)
def als_model(context: dg.AssetExecutionContext, config: AlsModelConfig, data_root: DataRootResource
              ) -> dg.MaterializeResult:
    layout = data_root.layout()
    params = AlsParams(**config.model_dump())
    matrices = {name: InteractionMatrix.load(interactions_dir(layout) / name) for name in ("train", "full")}
    eval_model, eval_seconds = fit_als(matrices["train"].matrix, params)
    prod_model, prod_seconds = fit_als(matrices["full"].matrix, params)
    manifest = {"params": params.as_dict(), "eval_fit_seconds": eval_seconds, "production_fit_seconds": prod_seconds,
                "eval_shape": list(matrices["train"].matrix.shape), "production_shape": list(matrices["full"].matrix.shape)}
    with atomic_path(als_dir(layout)) as tmp:
        tmp.mkdir()
        save_model(eval_model, tmp / EVAL_MODEL)
        save_model(prod_model, tmp / PRODUCTION_MODEL)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    context.log.info(f"ALS fits: eval {eval_seconds:.1f}s, production {prod_seconds:.1f}s")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": prod_model.user_factors.shape[0],  # customers with production factors
        "fit_seconds": round(prod_seconds, 2), "eval_fit_seconds": round(eval_seconds, 2),
        "factors": params.factors, "iterations": params.iterations,
        "regularization": params.regularization, "alpha": params.alpha,
        "shape": f"{matrices['full'].matrix.shape[0]} x {matrices['full'].matrix.shape[1]}",
        "eval_shape": f"{matrices['train'].matrix.shape[0]} x {matrices['train'].matrix.shape[1]}",
        "path": dg.MetadataValue.path(str(als_dir(layout))),
    })


@dg.asset_check(asset=als_model, description="Both models' factor matrices match their interaction matrices and "
                "are finite.")
def factors_match_matrix(data_root: DataRootResource) -> dg.AssetCheckResult:
    layout = data_root.layout()
    metadata, passed = {}, True
    for model_file, name in ((EVAL_MODEL, "train"), (PRODUCTION_MODEL, "full")):
        model = load_model(als_dir(layout) / model_file)
        shape = InteractionMatrix.load(interactions_dir(layout) / name).matrix.shape
        got = (model.user_factors.shape[0], model.item_factors.shape[0])
        finite = bool(np.isfinite(model.user_factors).all() and np.isfinite(model.item_factors).all())
        metadata[f"{name}_matrix_shape"] = str(shape)
        metadata[f"{name}_factor_rows"] = str(got)
        passed &= got == shape and finite
    return dg.AssetCheckResult(passed=bool(passed), metadata=metadata)


class EvaluationConfig(dg.Config):
    confidence_options: list[str] = Field(
        list(CONFIDENCE_SCHEMES), description="extra train-only ALS fits, one per option ([] to skip)")
    filter_already_liked_items: bool = Field(
        False, description="drop already-bought articles from ALS lists (H&M customers often re-buy)")
    popularity_window_days: int = Field(7, description="bestseller window for popularity / trending")
    fused: bool = Field(True, description="also score the seed's fused recommender and its ablations (skipped, "
                        "and said so in the metadata, while similar_products has not been materialized)")
    ranked: bool = Field(True, description="score the ranked (two-stage) recommender and its ablations "
                         "(`ranker_model`'s eval recipe)")


def _fused_others(layout: DataLayout, split: TimeSplit) -> dict:
    """The fused recommender and its ablations, every input fit on `split.train` (see `recommend.offline`)."""
    similar_file = similar_dir(layout) / SIMILAR_FILE
    catalog = fusion_inputs.Catalog.read(layout)
    ages = pq.read_table(layout.ingest_table("customers"), columns=["age"])["age"]
    data = train_only_data(
        split.train,
        fusion_inputs.read_similar(similar_file, catalog),
        catalog.department_no,
        catalog.index_code,
        fusion_inputs.read_als(als_dir(layout) / EVAL_MODEL, interactions_dir(layout) / "train", catalog),
        age_group_codes(ages),
    )
    return fused_candidates(data)


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=[interaction_matrix, als_model, "similar_products", "ranker_model", "ranker_candidates"],
    kinds={"numpy", "json"},
    description="MAP@12 / precision@12 / recall@12 on the held-out window for popularity, repurchase + trending, "
    "the configured ALS, ALS per confidence option, the seed's fused recommender, and the ranked recommender with "
    "its ablations (all fit on data before the held-out week), each with the 95% bootstrap interval of its "
    "difference to the best baseline; markdown + JSON.",
)
def recommendation_evaluation(
    context: dg.AssetExecutionContext, config: EvaluationConfig, data_root: DataRootResource
) -> dg.MaterializeResult:
    for option in config.confidence_options:
        check_scheme(option)
    layout = data_root.layout()
    matrix_manifest = _read_manifest(interactions_dir(layout), "interaction_matrix")
    als_manifest = _read_manifest(als_dir(layout), "als_model")
    mconf = matrix_manifest["config"]
    split, _, _ = _read_split(layout, mconf["holdout_days"])
    if split.cutoff_day != matrix_manifest["cutoff_day"]:
        raise RuntimeError("transactions changed since `interaction_matrix` was materialized: re-materialize it")
    params = AlsParams(**als_manifest["params"])
    configured = InteractionMatrix.load(interactions_dir(layout) / "train")
    candidates = {f"ALS ({mconf['confidence']}, configured)":
                  AlsCandidate(load_model(als_dir(layout) / EVAL_MODEL), configured)}
    fit_seconds = {}
    for option in config.confidence_options:
        if option == mconf["confidence"]:
            continue  # same data, config and seed as the configured model above
        interactions = build_interactions(split.train, mconf["user_min"], mconf["article_min"], option,
                                          mconf["half_life_days"])
        model, fit_seconds[option] = fit_als(interactions.matrix, params)
        candidates[f"ALS ({option})"] = AlsCandidate(model, interactions)
    similar_ready = (similar_dir(layout) / SIMILAR_FILE).is_file()
    others = _fused_others(layout, split) if config.fused and similar_ready else {}
    fused_note = ("scored" if others else "not scored: " + ("disabled in config" if not config.fused else
                  f"{similar_dir(layout) / SIMILAR_FILE} missing (materialize similar_products)"))
    if config.fused and not similar_ready:
        context.log.warning(f"fused recommender {fused_note}")
    contenders, ranked_stats = {}, {}
    from hm_pipeline.defs.ranker import candidates_file, eval_recommenders, ranker_dir  # it imports this module

    ranker_ready = (ranker_dir(layout) / "eval" / MANIFEST).is_file() and candidates_file(layout, "eval").is_file()
    if config.ranked and ranker_ready:
        contenders, ranked_stats = eval_recommenders(layout, np.unique(split.test.user))
    ranked_note = ("scored" if contenders else "not scored: " + ("disabled in config" if not config.ranked else
                   "materialize `ranker_model` and `ranker_candidates` first"))
    if config.ranked and not ranker_ready:
        context.log.warning(f"ranked recommender {ranked_note}")
    rows = evaluate_candidates(split, candidates, window_days=config.popularity_window_days,
                               filter_already_liked_items=config.filter_already_liked_items, others=others,
                               contenders=contenders)
    table = markdown_table(rows)
    extra = {"interaction_matrix": mconf, "als": params.as_dict(),
             "filter_already_liked_items": config.filter_already_liked_items}
    out = evaluation_dir(layout)
    with atomic_path(out) as tmp:
        tmp.mkdir()
        (tmp / "evaluation.json").write_text(to_json(rows, split, extra))
        recall = ranked_stats.get("recall", {})
        (tmp / "evaluation.md").write_text(table + "\n" + ("\nCandidate recall on the held-out week (share of "
                                           "its purchases proposed by each source):\n\n" + shared_table(
                                               [{"source": n, "recall": v} for n, v in recall.items()],
                                               float_digits=4) + "\n"
                                           if recall else ""))
    context.log.info("\n" + table)
    metadata = {
        "dagster/row_count": len(rows),
        "results": dg.MetadataValue.md(table),
        "json_path": dg.MetadataValue.path(str(out / "evaluation.json")),
        "users_evaluated": rows[0]["users_evaluated"],
        "holdout": f"{split.describe()['test_first_date']} .. {split.describe()['test_last_date']}",
        "extra_fit_seconds": dg.MetadataValue.json({k: round(v, 2) for k, v in fit_seconds.items()}),
        "fused_recommender": fused_note,
        "ranked_recommender": ranked_note,
        "ranked_candidates": dg.MetadataValue.json({k: v for k, v in ranked_stats.items() if "seconds" not in k}),
        "ranked_scoring_seconds": dg.MetadataValue.json({k: round(v, 2) for k, v in ranked_stats.items()
                                                         if "seconds" in k}),
    }
    if ranked_stats.get("recall"):
        metadata["held_out_candidate_recall"] = dg.MetadataValue.md(shared_table(
            [{"source": n, "recall": v} for n, v in ranked_stats["recall"].items()], float_digits=4))
    metadata.update({f"map@12 {row['candidate']}": row["map@12"] for row in rows})
    return dg.MaterializeResult(metadata=metadata)


defs = dg.Definitions(
    assets=[interaction_matrix, als_model, recommendation_evaluation],
    asset_checks=[kcore_thresholds_hold, train_precedes_holdout, factors_match_matrix],
)
