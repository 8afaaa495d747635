"""Dagster wiring of the learned ranker (`ranker_model`, group `training`); the recipe is `recommend.two_stage`.

Two recipes, like `als_model`: `eval` targets the held-out week (labels from the weeks before it, validation =
the week just before it; scored by `recommendation_evaluation`), `production` is the same recipe shifted one week
(the last week of data is its validation week; scored for every customer by `fused_recommendations`). ALS factors
per label week are refit on the purchases before that week (`refit_iterations`); the two cutoffs `als_model` already
fits (the held-out week's and the end of the data) are reused from its files. With `ablations: true`, every
ablation ranker is fit on the same label-week tables and saved beside the full one.
(No `from __future__ import annotations` here: Dagster reads the Config annotations at run time.)
"""

import json
import time
from pathlib import Path

import dagster as dg
import numpy as np
from pydantic import Field

from hm_pipeline.atomic import atomic_path
from hm_pipeline.defs.images import similar_dir
from hm_pipeline.defs.metadata import OWNERS
from hm_pipeline.defs.resources import DataRootResource
from hm_pipeline.defs.training import (EVAL_MODEL, GROUP, INGEST_DEPS, PRODUCTION_MODEL, _read_manifest, als_dir,
                                       als_model, interaction_matrix, interactions_dir)
from hm_pipeline.images.tables import SIMILAR_FILE
from hm_pipeline.layout import DataLayout
from hm_pipeline.markdown import markdown_table
from hm_pipeline.recommend import inputs as fusion_inputs
from hm_pipeline.recommend import two_stage
from hm_pipeline.recommend.candidate_sources import SOURCES
from hm_pipeline.training.als import AlsParams

RECIPES = ("eval", "production")


def ranker_dir(layout: DataLayout) -> Path:
    return layout.training_dir / "ranker"


def ablations(feature_groups: list[str]) -> dict[str, two_stage.Variant]:
    """name -> variant: the full ranker, then without each candidate source, then without each feature group."""
    out = {"ranked": two_stage.FULL}
    out.update({f"ranked without {s} candidates": two_stage.Variant(frozenset({s})) for s in SOURCES})
    out.update({f"ranked without {g} features": two_stage.Variant(disabled_features=frozenset({g}))
                for g in feature_groups if g != "sources"})
    out["ranked without source rank/score features"] = two_stage.Variant(disabled_features=frozenset({"sources"}))
    return out


class RankerModelConfig(dg.Config):
    train_weeks: int = Field(1, description="label weeks the ranker learns from (before the validation week)")
    max_negatives: int = Field(50, description="sampled negative candidates kept per customer and training week")
    max_label_customers: int = Field(50_000, description="buyers of a label week the ranker learns from (a seeded "
                                     "sample when more bought)")
    refit_iterations: int = Field(3, description="ALS iterations of the label-week refits (0: as als_model); the "
                                  "held-out week's and the last week's fits are als_model's own")
    learning_rate: float = 0.05
    num_leaves: int = 31
    num_boost_round: int = Field(400, description="upper bound; early stopping on the validation week's MAP@12")
    early_stopping_rounds: int = 40
    ablations: bool = Field(False, description="also fit the eval ranker without each candidate source / feature "
                            "group (16 more fits; the evaluation then shows their rows)")


def ranker_inputs(layout: DataLayout, config: two_stage.RankerConfig) -> tuple[two_stage.Inputs, int]:
    """Inputs with `als_model`'s two fits registered at their cutoffs; returns them and the held-out week's start."""
    inputs = two_stage.read_inputs(layout, similar_dir(layout) / SIMILAR_FILE, config)
    manifest = _read_manifest(interactions_dir(layout), "interaction_matrix")
    catalog = fusion_inputs.Catalog.read(layout)
    holdout_start = int(manifest["cutoff_day"])
    inputs.als_fits[holdout_start] = fusion_inputs.read_als(als_dir(layout) / EVAL_MODEL,
                                                            interactions_dir(layout) / "train", catalog)
    inputs.als_fits[inputs.purchases.last_day + 1] = fusion_inputs.read_als(
        als_dir(layout) / PRODUCTION_MODEL, interactions_dir(layout) / "full", catalog)
    return inputs, holdout_start


def ranker_config(layout: DataLayout, config: RankerModelConfig | None = None) -> two_stage.RankerConfig:
    """The recipe settings: the asset's config plus the ALS / k-core settings the training assets used."""
    matrix = _read_manifest(interactions_dir(layout), "interaction_matrix")["config"]
    als = AlsParams(**_read_manifest(als_dir(layout), "als_model")["params"])
    extra = {} if config is None else config.model_dump(exclude={"ablations"})
    return two_stage.RankerConfig(**extra, als=als, als_user_min=matrix["user_min"],
                                  als_article_min=matrix["article_min"], als_confidence=matrix["confidence"])


def save_ranker(folder: Path, name: str, ranker: two_stage.FittedRanker) -> dict:
    ranker.booster.save_model(str(folder / f"{name}.txt"), num_iteration=ranker.best_iteration)
    return {"names": ranker.names, "best_iteration": ranker.best_iteration, "importance": ranker.importance,
            "curve": ranker.curve, "weeks": ranker.weeks,
            "disabled_sources": sorted(ranker.variant.disabled_sources),
            "disabled_features": sorted(ranker.variant.disabled_features)}


def load_rankers(layout: DataLayout, recipe: str) -> dict[str, two_stage.FittedRanker]:
    """name -> ranker of one recipe as `ranker_model` saved them (the booster file holds the chosen rounds)."""
    import lightgbm as lgb

    folder = ranker_dir(layout) / recipe
    manifest = _read_manifest(folder, "ranker_model")
    out = {}
    for name, entry in manifest["rankers"].items():
        booster = lgb.Booster(model_file=str(folder / entry["file"]))
        out[name] = two_stage.FittedRanker(
            booster, entry["names"], booster.current_iteration(), entry["curve"], entry["importance"], entry["weeks"],
            two_stage.Variant(frozenset(entry["disabled_sources"]), frozenset(entry["disabled_features"])))
    return out


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=[interaction_matrix, als_model, "similar_products", *INGEST_DEPS],
    kinds={"lightgbm"},
    description="LightGBM LambdaRank over the candidates of every source (two-stage recommender): the `eval` "
    "recipe (labels from the weeks before the held-out week, its ablations) and the `production` recipe (the same, "
    "one week later), with feature importance, validation curves and candidate recall per source.",
)
def ranker_model(context: dg.AssetExecutionContext, config: RankerModelConfig, data_root: DataRootResource
                 ) -> dg.MaterializeResult:
    layout = data_root.layout()
    recipe_config = ranker_config(layout, config)
    inputs, holdout_start = ranker_inputs(layout, recipe_config)
    targets = {"eval": holdout_start, "production": inputs.purchases.last_day + 1}
    manifests, seconds = {}, {}
    with atomic_path(ranker_dir(layout)) as tmp:
        for recipe, target in targets.items():
            clock = time.perf_counter()
            train, valid = two_stage.label_weeks(inputs, target, recipe_config)
            seconds[f"{recipe}_label_weeks"] = round(time.perf_counter() - clock, 2)
            variants = ablations(list(valid.pairs.groups)) if recipe == "eval" and config.ablations else \
                {"ranked": two_stage.FULL}
            folder = tmp / recipe
            folder.mkdir(parents=True)
            rankers = {}
            clock = time.perf_counter()
            for i, (name, variant) in enumerate(variants.items()):
                fitted = two_stage.fit_ranker(train, valid, recipe_config, variant)
                rankers[name] = {"file": f"ranker_{i:02d}.txt", **save_ranker(folder, f"ranker_{i:02d}", fitted)}
            seconds[f"{recipe}_fit"] = round(time.perf_counter() - clock, 2)
            manifests[recipe] = {"target_first_day": target, "rankers": rankers,
                                 "config": {k: v for k, v in vars(recipe_config).items() if k != "als"}}
            (folder / "manifest.json").write_text(json.dumps(manifests[recipe], indent=1))
    main = manifests["production"]["rankers"]["ranked"]
    evaluation = manifests["eval"]["rankers"]["ranked"]
    recall_rows = [{"week": f"{recipe} {w['role']} ({w['first_day']})", **w["recall"]}
                   for recipe in RECIPES for w in manifests[recipe]["rankers"]["ranked"]["weeks"]]
    top_features = [{"feature": n, "gain share": v} for n, v in list(main["importance"].items())[:15]]
    context.log.info(f"ranker: best iterations eval {evaluation['best_iteration']}, production "
                     f"{main['best_iteration']}; seconds {seconds}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(w["rows"] for w in main["weeks"]),
        "best_iteration": main["best_iteration"], "eval_best_iteration": evaluation["best_iteration"],
        "validation_map@12": round(max(main["curve"]["validation week map@12"]), 5),
        "eval_validation_map@12": round(max(evaluation["curve"]["validation week map@12"]), 5),
        "feature_importance": dg.MetadataValue.md(markdown_table(top_features, float_digits=4)),
        "candidate_recall": dg.MetadataValue.md(markdown_table(recall_rows, float_digits=4)),
        "training_weeks": dg.MetadataValue.json(main["weeks"]),
        "validation_curve": dg.MetadataValue.json(main["curve"]),
        "rankers_fit": sum(len(m["rankers"]) for m in manifests.values()),
        "seconds": dg.MetadataValue.json(seconds),
        "path": dg.MetadataValue.path(str(ranker_dir(layout))),
    })


def eval_recommenders(layout: DataLayout, users: np.ndarray) -> tuple[dict, dict]:
    """name -> (customer_idx array -> (n, 12) article_idx) for the eval rankers, scored with one candidate and
    feature pass over `users` at the held-out week's start; plus that pass's stats."""
    rankers = load_rankers(layout, "eval")
    inputs, holdout_start = ranker_inputs(layout, ranker_config(layout))
    results, stats = two_stage.recommend(inputs.at(holdout_start), rankers, users, bought=inputs.week(holdout_start))
    order = np.sort(np.asarray(users, np.int32))

    def lookup(name: str):
        def recommend(asked: np.ndarray) -> np.ndarray:
            return results[name][0][np.searchsorted(order, np.asarray(asked, np.int32))]
        return recommend

    return {name: lookup(name) for name in rankers}, stats


def explain_ranked(layout: DataLayout, customer_id: str) -> list[dict]:
    """`two_stage.why` for one customer's stored recommendations (fused.parquet), with the production ranker and
    the features of all purchases (what `fused_recommendations` ranked with; the image filter from purchases)."""
    import pyarrow as pa

    from hm_pipeline.recommend.stored import fused_path, read_fused

    catalog = fusion_inputs.Catalog.read(layout)
    recs = read_fused(fused_path(layout), catalog, pa.array([customer_id], pa.string()))
    ranker = load_rankers(layout, "production")["ranked"]
    inputs, _ = ranker_inputs(layout, ranker_config(layout))
    data = inputs.at(inputs.purchases.last_day + 1)
    return two_stage.why(data, ranker, int(recs.customers[0]), recs.items[0])


defs = dg.Definitions(assets=[ranker_model])
