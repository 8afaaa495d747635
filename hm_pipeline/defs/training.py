"""Stage 4, training (group `training`): `interaction_matrix` -> `als_model` (the learned ranker: `defs/ranker.py`).

Evaluation fit vs production fit: `interaction_matrix` writes two matrices with the same thresholds and confidence,
`train/` (every purchase before the held-out window) and `full/` (all purchases, what the submission uses).
`als_model` fits one model on each: `eval_model.npz` (train only) and `production_model.npz`. The evaluation
(`defs/evaluation.py`) scores the train-only model as "ALS (as set up)"; nothing it scores has seen the held-out
window (the `train_precedes_holdout` check asserts it on the written matrix).

For the submission: `training/als/production_model.npz` (implicit's `load`) with the id maps of
`training/interactions/full/` (`InteractionMatrix.load`: row -> customer_idx, column -> article_idx).
(No `from __future__ import annotations` here: Dagster reads the Config annotations at run time.)
"""

import dagster as dg
import numpy as np
from pydantic import Field

from hm_pipeline.atomic import atomic_path
from hm_pipeline.defs.metadata import OWNERS, timed
from hm_pipeline.defs.resources import DataRootResource, config_class
from hm_pipeline.markdown import markdown_table
from hm_pipeline.manifest import read_manifest, write_manifest
from hm_pipeline.training.als import AlsParams, fit_als, load_model, save_model
from hm_pipeline.training.confidence import DEFAULT_HALF_LIFE_DAYS, check_scheme
from hm_pipeline.training.interactions import EmptyKCore, InteractionMatrix, build_interactions
from hm_pipeline.training.split import DEFAULT_HOLDOUT_DAYS, read_split

GROUP = "training"
INGEST_DEPS = ["articles", "customers", "transactions"]


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
    automation_condition=dg.AutomationCondition.eager(),  # follows new input files
    kinds={"scipy", "parquet"},
    description="Thresholded (k-core) customer x article confidence matrices: train-only (before the held-out "
    "window) and full (all data), as .npz + Parquet id maps under training/interactions/.",
)
def interaction_matrix(
    context: dg.AssetExecutionContext, config: InteractionMatrixConfig, data_root: DataRootResource
) -> dg.MaterializeResult:
    check_scheme(config.confidence, config.half_life_days)
    layout = data_root.layout()
    seconds = timed()
    with seconds("read purchases"):
        split, purchases, orphans = read_split(layout, config.holdout_days)
    params = dict(user_min=config.user_min, article_min=config.article_min, confidence=config.confidence,
                  half_life_days=config.half_life_days)
    try:
        with seconds("build matrices"):
            train = build_interactions(split.train, **params)
            full = build_interactions(purchases, **params)
    except EmptyKCore as error:
        raise dg.Failure(description=str(error)) from None
    manifest = {"config": config.model_dump(), "split": split.describe(), "cutoff_day": split.cutoff_day,
                "orphan_rows_dropped": orphans, "train": train.stats, "full": full.stats}
    with atomic_path(layout.interactions_dir) as tmp:
        train.save(tmp / "train")
        full.save(tmp / "full")
        write_manifest(tmp, manifest)
    context.log.info(f"train matrix {train.matrix.shape}, full matrix {full.matrix.shape}")
    matrices = [{"matrix": name, "customers": m.stats["users"], "articles": m.stats["items"],
                 "purchases kept (non-zeros)": m.stats["nnz"], "density": f"{m.stats['density']:.2e}",
                 "customers dropped": f"{m.stats['users_lost_share']:.1%}",
                 "articles dropped": f"{m.stats['items_lost_share']:.1%}"}
                for name, m in (("train (before the held-out week)", train), ("full (all purchases)", full))]
    described = split.describe()
    metadata = {
        "dagster/row_count": full.stats["users"],  # customers (rows of the full matrix)
        "matrices": dg.MetadataValue.md(markdown_table(matrices)),
        "kcore_iterations": full.stats["kcore_passes"],
        "train_last_date": described["train_last_date"],
        "holdout": f"{described['test_first_date']} .. {described['test_last_date']}",
        "orphan_rows_dropped": orphans,
        "path": dg.MetadataValue.path(str(layout.interactions_dir)),
        **seconds.metadata(),
    }
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(asset=interaction_matrix, blocking=True,
                description="Every customer row has >= user_min articles and every article >= article_min "
                "customers, in both matrices.")
def kcore_thresholds_hold(data_root: DataRootResource) -> dg.AssetCheckResult:
    folder = data_root.layout().interactions_dir
    config = read_manifest(folder, "interaction_matrix")["config"]
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
    manifest = read_manifest(data_root.layout().interactions_dir, "interaction_matrix")
    train_end, test_start = manifest["train"]["end_date"], manifest["split"]["test_first_date"]
    return dg.AssetCheckResult(passed=train_end < test_start,
                               metadata={"train_end_date": train_end, "holdout_first_date": test_start})


AlsModelConfig = config_class(
    "AlsModelConfig", AlsParams,
    "implicit's defaults (the original notebook used them) and a fixed seed, so re-materializing gives the same "
    "factors.",
    {"factors": "latent factors per customer and article", "regularization": "L2 penalty on the factors",
     "alpha": "scales the confidence values before the fit", "iterations": "alternating least-squares sweeps",
     "random_state": "seed of the initial factors", "device": "cpu | gpu (implicit.gpu on CUDA; fails without one) "
     "| auto"})


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=[interaction_matrix],
    automation_condition=dg.AutomationCondition.eager(),  # follows new input files
    kinds={"implicit"},
    description="implicit ALS fit twice with the same config: on the train-only matrix (for evaluation) and on "
    "the full matrix (for the submission); saved with implicit's own save() under training/als/.",
)
def als_model(context: dg.AssetExecutionContext, config: AlsModelConfig, data_root: DataRootResource
              ) -> dg.MaterializeResult:
    layout = data_root.layout()
    params = AlsParams(**config.model_dump())
    matrices = {name: InteractionMatrix.load(layout.interactions_dir / name) for name in ("train", "full")}
    eval_model, eval_seconds = fit_als(matrices["train"].matrix, params)
    prod_model, prod_seconds = fit_als(matrices["full"].matrix, params)
    manifest = {"params": params.as_dict(), "eval_fit_seconds": eval_seconds, "production_fit_seconds": prod_seconds,
                "eval_shape": list(matrices["train"].matrix.shape), "production_shape": list(matrices["full"].matrix.shape)}
    with atomic_path(layout.als_dir) as tmp:
        tmp.mkdir()
        save_model(eval_model, tmp / layout.als_model_file("eval").name)
        save_model(prod_model, tmp / layout.als_model_file("production").name)
        write_manifest(tmp, manifest)
    context.log.info(f"ALS fits: eval {eval_seconds:.1f}s, production {prod_seconds:.1f}s")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": prod_model.user_factors.shape[0],  # customers with production factors
        "fit_seconds": round(prod_seconds, 2), "eval_fit_seconds": round(eval_seconds, 2),
        "factors": params.factors, "iterations": params.iterations,
        "regularization": params.regularization, "alpha": params.alpha,
        "shape": f"{matrices['full'].matrix.shape[0]} x {matrices['full'].matrix.shape[1]}",
        "eval_shape": f"{matrices['train'].matrix.shape[0]} x {matrices['train'].matrix.shape[1]}",
        "path": dg.MetadataValue.path(str(layout.als_dir)),
    })


@dg.asset_check(asset=als_model, description="Both models' factor matrices match their interaction matrices and "
                "are finite.")
def factors_match_matrix(data_root: DataRootResource) -> dg.AssetCheckResult:
    layout = data_root.layout()
    metadata, passed = {}, True
    for fit, name in (("eval", "train"), ("production", "full")):
        model = load_model(layout.als_model_file(fit))
        shape = InteractionMatrix.load(layout.interactions_dir / name).matrix.shape
        got = (model.user_factors.shape[0], model.item_factors.shape[0])
        finite = bool(np.isfinite(model.user_factors).all() and np.isfinite(model.item_factors).all())
        metadata[f"{name}_matrix_shape"] = str(shape)
        metadata[f"{name}_factor_rows"] = str(got)
        passed &= got == shape and finite
    return dg.AssetCheckResult(passed=bool(passed), metadata=metadata)
