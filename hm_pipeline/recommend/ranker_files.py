"""The learned ranker's inputs and saved files under the data root, for the stages that fit it, rank with it and
evaluate it: the recipe settings, the two target weeks, the inputs with `als_model`'s fits registered, the saved
boosters, and the scoring of the eval rankers and of one customer's recommendations."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hm_pipeline.layout import DataLayout
from hm_pipeline.manifest import read_manifest
from hm_pipeline.recommend import inputs as fusion_inputs
from hm_pipeline.recommend import training_set, two_stage
from hm_pipeline.recommend.candidate_file import CandidateFile
from hm_pipeline.recommend.candidate_sources import SOURCES
from hm_pipeline.training.als import AlsParams

RECIPES = ("eval", "production")
#: From this many held-out buyers on, the evaluation ranks with compiled trees (a ~5 s compile per ranker saves
#: minutes of LightGBM predict at full scale: 104k buyers took 189 thread-s to predict with 183 trees).
COMPILE_FROM_CUSTOMERS = 20_000


def ablations(feature_groups: list[str]) -> dict[str, two_stage.Variant]:
    """name -> variant: the full ranker, then without each candidate source, then without each feature group."""
    out = {"ranked": two_stage.FULL}
    out.update({f"ranked without {s} candidates": two_stage.Variant(frozenset({s})) for s in SOURCES})
    out.update({f"ranked without {g} features": two_stage.Variant(disabled_features=frozenset({g}))
                for g in feature_groups if g != "sources"})
    out["ranked without source rank/score features"] = two_stage.Variant(disabled_features=frozenset({"sources"}))
    return out


def recipe_targets(layout: DataLayout, inputs: two_stage.Inputs) -> dict[str, int]:
    """recipe -> first day of its target week: `eval` the held-out week, `production` the week after the data."""
    holdout_start = int(read_manifest(layout.interactions_dir, "interaction_matrix")["cutoff_day"])
    return {"eval": holdout_start, "production": inputs.purchases.last_day + 1}


def ranker_inputs(layout: DataLayout, config: two_stage.RankerConfig) -> two_stage.Inputs:
    """Inputs with `als_model`'s two fits registered at their cutoffs (the held-out week's start, the end)."""
    inputs = two_stage.read_inputs(layout, layout.similar_file, config)
    catalog = fusion_inputs.Catalog.read(layout)
    targets = recipe_targets(layout, inputs)
    inputs.als_fits[targets["eval"]] = fusion_inputs.read_als(layout.als_model_file("eval"),
                                                              layout.interactions_dir / "train", catalog)
    inputs.als_fits[targets["production"]] = fusion_inputs.read_als(
        layout.als_model_file("production"), layout.interactions_dir / "full", catalog)
    return inputs


def ranker_config(layout: DataLayout, settings: dict | None = None) -> two_stage.RankerConfig:
    """The recipe settings: `settings` (asset config fields) plus the ALS / k-core settings the training assets
    used."""
    matrix = read_manifest(layout.interactions_dir, "interaction_matrix")["config"]
    als = AlsParams(**read_manifest(layout.als_dir, "als_model")["params"])
    return two_stage.RankerConfig(**(settings or {}), als=als, als_user_min=matrix["user_min"],
                                  als_article_min=matrix["article_min"], als_confidence=matrix["confidence"])


def week_roles(targets: dict[str, int], config: two_stage.RankerConfig) -> dict[int, list[str]]:
    """First day of each label week -> what it is for ("eval validation", "production training", ...)."""
    roles: dict[int, list[str]] = {}
    for recipe, target in targets.items():
        train, valid = two_stage.week_cutoffs(target, config)
        for cutoff in train:
            roles.setdefault(cutoff, []).append(f"{recipe} training")
        roles.setdefault(valid, []).append(f"{recipe} validation")
    return roles


def training_set_config(layout: DataLayout) -> dict:
    """The settings `ranker_train_set` was built with."""
    return training_set.read_manifest(layout.ranker_train_set_dir)["config"]


def save_ranker(folder: Path, name: str, ranker: two_stage.FittedRanker) -> dict:
    ranker.booster.save_model(str(folder / f"{name}.txt"), num_iteration=ranker.best_iteration)
    return {"names": ranker.names, "best_iteration": ranker.best_iteration, "importance": ranker.importance,
            "curve": ranker.curve, "weeks": ranker.weeks,
            "disabled_sources": sorted(ranker.variant.disabled_sources),
            "disabled_features": sorted(ranker.variant.disabled_features)}


def load_rankers(layout: DataLayout, recipe: str) -> dict[str, two_stage.FittedRanker]:
    """name -> ranker of one recipe as `ranker_model` saved them (the booster file holds the chosen rounds)."""
    import lightgbm as lgb

    folder = layout.ranker_dir / recipe
    manifest = read_manifest(folder, "ranker_model")
    out = {}
    for name, entry in manifest["rankers"].items():
        booster = lgb.Booster(model_file=str(folder / entry["file"]))
        out[name] = two_stage.FittedRanker(
            booster, entry["names"], booster.current_iteration(), entry["curve"], entry["importance"], entry["weeks"],
            two_stage.Variant(frozenset(entry["disabled_sources"]), frozenset(entry["disabled_features"])))
    return out


def eval_ranker_ready(layout: DataLayout) -> bool:
    """Whether `ranker_model`'s eval rankers and `ranker_candidates`' eval candidates are both on disk."""
    return (layout.ranker_dir / "eval" / "manifest.json").is_file() and layout.candidates_file("eval").is_file()


def eval_recommenders(layout: DataLayout, users: np.ndarray) -> tuple[dict, dict]:
    """name -> (customer_idx array -> (n, 12) article_idx) for the eval rankers, scored with one feature pass
    over `ranker_candidates`' eval candidates (which must be those of `users`, the held-out week's buyers) at the
    held-out week's start; plus that pass's stats."""
    rankers = load_rankers(layout, "eval")
    inputs = ranker_inputs(layout, ranker_config(layout, training_set_config(layout)))
    holdout_start = recipe_targets(layout, inputs)["eval"]
    candidates = CandidateFile(layout.candidates_file("eval"))
    order = np.unique(np.asarray(users, np.int32))
    if not np.array_equal(candidates.customers, order):
        raise RuntimeError(f"{candidates.path} holds the candidates of {len(candidates.customers)} customers, not "
                           f"of the {len(order)} held-out buyers: re-materialize `ranker_candidates`")
    results, stats = two_stage.recommend(inputs.at(holdout_start), rankers, candidates,
                                         bought=inputs.week(holdout_start), workers=2,
                                         compiled=len(order) >= COMPILE_FROM_CUSTOMERS)

    def lookup(name: str):
        def recommend(asked: np.ndarray) -> np.ndarray:
            return results[name][0][np.searchsorted(order, np.asarray(asked, np.int32))]
        return recommend

    return {name: lookup(name) for name in rankers}, stats


def explain_ranked(layout: DataLayout, customer_id: str) -> list[dict]:
    """`two_stage.why` for one customer's stored recommendations (fused.parquet), with the production ranker and
    the features of all purchases (what `recommendations` ranked with; the image filter from purchases)."""
    import pyarrow as pa

    from hm_pipeline.recommend.stored import read_fused

    catalog = fusion_inputs.Catalog.read(layout)
    recs = read_fused(layout.fused_file, catalog, pa.array([customer_id], pa.string()))
    ranker = load_rankers(layout, "production")["ranked"]
    inputs = ranker_inputs(layout, ranker_config(layout, training_set_config(layout)))
    data = inputs.at(recipe_targets(layout, inputs)["production"])
    return two_stage.why(data, ranker, int(recs.customers[0]), recs.items[0])
