"""Dagster wiring of the learned ranker (recipe: `recommend.two_stage`): `ranker_training_set` -> `ranker_model`
(group `training`) and `ranker_candidates` (group `recommendations`).

Two recipes, like `als_model`: `eval` targets the held-out week (labels from the weeks before it, validation =
the week just before it; scored by `recommendation_evaluation`), `production` is the same recipe shifted one week
(the last week of data is its validation week; scored for every customer by `fused_recommendations`). A label week
both recipes use is built once. ALS factors per label week are refit on the purchases before that week
(`refit_iterations`); the two cutoffs `als_model` already fits (the held-out week's and the end of the data) are
reused from its files. With `ablations: true`, every ablation ranker is fit on the same label weeks and saved
beside the full one. `ranker_candidates` stores every source's candidates for the two target weeks, so the
rankers can be refit and re-scored without collecting them again.
(No `from __future__ import annotations` here: Dagster reads the Config annotations at run time.)
"""

import json
import time
from pathlib import Path

import dagster as dg
import numpy as np
from pydantic import Field

from hm_pipeline.atomic import atomic_path
from hm_pipeline.defs.graph import GraphStoreResource
from hm_pipeline.defs.images import similar_dir
from hm_pipeline.defs.metadata import OWNERS
from hm_pipeline.defs.resources import DataRootResource
from hm_pipeline.defs.training import (EVAL_MODEL, GROUP, INGEST_DEPS, PRODUCTION_MODEL, _read_manifest, als_dir,
                                       als_model, interaction_matrix, interactions_dir)
from hm_pipeline.graph.store import AGE_GROUPS_PART, GRAPH_PART
from hm_pipeline.images.tables import SIMILAR_FILE
from hm_pipeline.layout import DataLayout
from hm_pipeline.markdown import markdown_table
from hm_pipeline.recommend import inputs as fusion_inputs
from hm_pipeline.recommend import training_set, two_stage
from hm_pipeline.recommend.candidate_file import CandidateFile, ComputedCandidates, write_candidates
from hm_pipeline.recommend.candidate_sources import SOURCES
from hm_pipeline.training.als import AlsParams
from hm_pipeline.training.split import to_date


#: From this many held-out buyers on, the evaluation ranks with compiled trees (a ~5 s compile per ranker saves
#: minutes of LightGBM predict at full scale: 104k buyers took 189 thread-s to predict with 183 trees).
COMPILE_FROM_CUSTOMERS = 20_000


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


class RankerTrainingSetConfig(dg.Config):
    train_weeks: int = Field(1, description="label weeks the ranker learns from (before the validation week)")
    max_negatives: int = Field(50, description="sampled negative candidates kept per customer and training week")
    max_label_customers: int = Field(50_000, description="buyers of a label week the ranker learns from (a seeded "
                                     "sample when more bought)")
    refit_iterations: int = Field(3, description="ALS iterations of the label-week refits (0: as als_model); the "
                                  "held-out week's and the last week's fits are als_model's own")


class RankerModelConfig(dg.Config):
    learning_rate: float = 0.05
    num_leaves: int = 31
    num_boost_round: int = Field(400, description="upper bound; early stopping on the validation week's MAP@12")
    early_stopping_rounds: int = 40
    ablations: bool = Field(False, description="also fit the eval ranker without each candidate source / feature "
                            "group (16 more fits; the evaluation then shows their rows)")


class RankerCandidatesConfig(dg.Config):
    graph_chunk: int = Field(0, description="customers per batched graph call (a Customer.idx range); 0 = the "
                             "backend's default: all in one call on the embedded engine, 50,000 on Neo4j")
    chunk_customers: int = Field(25_000, description="customers per chunk (one Parquet row group; bounds memory)")
    workers: int = Field(2, description="threads collecting chunks side by side (the machine's 2 cores)")


def training_set_dir(layout: DataLayout) -> Path:
    return layout.training_dir / "ranker_training_set"


def candidates_file(layout: DataLayout, recipe: str) -> Path:
    return layout.root / "recommendations" / "candidates" / f"{recipe}.parquet"


def recipe_targets(layout: DataLayout, inputs: two_stage.Inputs) -> dict[str, int]:
    """recipe -> first day of its target week: `eval` the held-out week, `production` the week after the data."""
    holdout_start = int(_read_manifest(interactions_dir(layout), "interaction_matrix")["cutoff_day"])
    return {"eval": holdout_start, "production": inputs.purchases.last_day + 1}


def ranker_inputs(layout: DataLayout, config: two_stage.RankerConfig) -> two_stage.Inputs:
    """Inputs with `als_model`'s two fits registered at their cutoffs (the held-out week's start, the end)."""
    inputs = two_stage.read_inputs(layout, similar_dir(layout) / SIMILAR_FILE, config)
    catalog = fusion_inputs.Catalog.read(layout)
    targets = recipe_targets(layout, inputs)
    inputs.als_fits[targets["eval"]] = fusion_inputs.read_als(als_dir(layout) / EVAL_MODEL,
                                                              interactions_dir(layout) / "train", catalog)
    inputs.als_fits[targets["production"]] = fusion_inputs.read_als(
        als_dir(layout) / PRODUCTION_MODEL, interactions_dir(layout) / "full", catalog)
    return inputs


def ranker_config(layout: DataLayout, settings: dict | None = None) -> two_stage.RankerConfig:
    """The recipe settings: `settings` (asset config fields) plus the ALS / k-core settings the training assets
    used."""
    matrix = _read_manifest(interactions_dir(layout), "interaction_matrix")["config"]
    als = AlsParams(**_read_manifest(als_dir(layout), "als_model")["params"])
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
    return training_set.read_manifest(training_set_dir(layout))["config"]


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
    kinds={"parquet"},
    description="The ranker's label weeks: for each week before a recipe's target week (the held-out week for "
    "`eval`, the week after the data for `production`), every candidate of that week's buyers with its features "
    "(from purchases before the week; ALS refit on them) and whether it was bought, plus the training sample "
    "(all positives, sampled negatives) and the candidates' recall per source. One Parquet file per week.",
)
def ranker_training_set(context: dg.AssetExecutionContext, config: RankerTrainingSetConfig,
                        data_root: DataRootResource) -> dg.MaterializeResult:
    layout = data_root.layout()
    recipe_config = ranker_config(layout, config.model_dump())
    inputs = ranker_inputs(layout, recipe_config)
    targets = recipe_targets(layout, inputs)
    clock = time.perf_counter()
    weeks = two_stage.compute_weeks(inputs, list(targets.values()), recipe_config)
    seconds = round(time.perf_counter() - clock, 2)
    roles = week_roles(targets, recipe_config)
    manifest = training_set.write_training_set(training_set_dir(layout), weeks, extra={
        "targets": targets, "config": config.model_dump(), "roles": {str(c): r for c, r in roles.items()}})
    rows = [{"week": f"{to_date(c)} ({', '.join(roles[c])})", "buyers": w["customers_buying"], "rows": w["rows"],
             "sampled rows": w["sampled_rows"], "positives": w["positives"], "recall": w["recall"]["all sources"]}
            for c, w in ((int(c), w) for c, w in manifest["weeks"].items())]
    recall = [{"week": str(to_date(int(c))), **w["recall"]} for c, w in manifest["weeks"].items()]
    context.log.info(f"ranker training set: {len(weeks)} label weeks in {seconds} s")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(w["rows"] for w in manifest["weeks"].values()),
        "weeks": dg.MetadataValue.md(markdown_table(rows, float_digits=4)),
        "candidate_recall": dg.MetadataValue.md(markdown_table(recall, float_digits=4)),
        "features": len(manifest["names"]),
        "seconds_per_week": dg.MetadataValue.json({str(to_date(c)): round(w.seconds, 1) for c, w in weeks.items()}),
        "seconds": seconds,
        "path": dg.MetadataValue.path(str(training_set_dir(layout))),
    })


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=[ranker_training_set],
    kinds={"lightgbm"},
    description="LightGBM LambdaRank over the candidates of every source (two-stage recommender), fit on "
    "`ranker_training_set`: the `eval` recipe (labels from the weeks before the held-out week, its ablations) and "
    "the `production` recipe (the same, one week later), with feature importance and validation curves.",
)
def ranker_model(context: dg.AssetExecutionContext, config: RankerModelConfig, data_root: DataRootResource
                 ) -> dg.MaterializeResult:
    layout = data_root.layout()
    stored = training_set.read_manifest(training_set_dir(layout))
    recipe_config = ranker_config(layout, {**stored["config"], **config.model_dump(exclude={"ablations"})})
    weeks = training_set.read_training_set(training_set_dir(layout))
    manifests, seconds = {}, {}
    with atomic_path(ranker_dir(layout)) as tmp:
        for recipe, target in stored["targets"].items():
            train, valid = two_stage.recipe_weeks(weeks, target, recipe_config)
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
    top_features = [{"feature": n, "gain share": v} for n, v in list(main["importance"].items())[:15]]
    context.log.info(f"ranker: best iterations eval {evaluation['best_iteration']}, production "
                     f"{main['best_iteration']}; seconds {seconds}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(w["rows"] for w in main["weeks"]),
        "best_iteration": main["best_iteration"], "eval_best_iteration": evaluation["best_iteration"],
        "validation_map@12": round(max(main["curve"]["validation week map@12"]), 5),
        "eval_validation_map@12": round(max(evaluation["curve"]["validation week map@12"]), 5),
        "feature_importance": dg.MetadataValue.md(markdown_table(top_features, float_digits=4)),
        "training_weeks": dg.MetadataValue.json(main["weeks"]),
        "validation_curve": dg.MetadataValue.json(main["curve"]),
        "rankers_fit": sum(len(m["rankers"]) for m in manifests.values()),
        "seconds": dg.MetadataValue.json(seconds),
        "path": dg.MetadataValue.path(str(ranker_dir(layout))),
    })


@dg.asset(
    owners=OWNERS,
    group_name="recommendations",
    deps=["product_graph", "customer_age_groups", "similar_products", als_model, *INGEST_DEPS],
    kinds={"parquet", "cypher"},
    description="Every source's candidates (repurchase, image-similar with the graph's department AND index "
    "filter, ALS, bought together, same product, trending, age-group and global popularity) with their rank and "
    "score per source: `production` for every customer from all purchases (what `fused_recommendations` ranks), "
    "`eval` for the held-out week's buyers from the purchases before it (what `recommendation_evaluation` ranks).",
)
def ranker_candidates(context: dg.AssetExecutionContext, config: RankerCandidatesConfig,
                      data_root: DataRootResource, graph_store: GraphStoreResource) -> dg.MaterializeResult:
    layout = data_root.layout()
    inputs = ranker_inputs(layout, ranker_config(layout))
    targets = recipe_targets(layout, inputs)
    catalog = fusion_inputs.Catalog.read(layout)
    seconds, rows = {}, []
    clock = time.perf_counter()
    production = inputs.at(targets["production"])
    with graph_store.open(layout, read_only=True) as store:
        store.ensure_complete(GRAPH_PART)
        store.ensure_complete(AGE_GROUPS_PART)
        production.attributes, filter_calls = fusion_inputs.graph_attribute_filter(store, catalog,
                                                                                   config.graph_chunk or None)
        production.age_group, age_calls = fusion_inputs.graph_age_groups(store, catalog, config.graph_chunk or None)
    seconds["graph"] = round(time.perf_counter() - clock, 2)
    p = inputs.purchases
    held_out_buyers = np.unique(p.user[p.day >= targets["eval"]])
    jobs = {"eval": (inputs.at(targets["eval"]), held_out_buyers),
            "production": (production, np.arange(catalog.n_customers, dtype=np.int32))}
    with atomic_path(candidates_file(layout, "eval").parent) as tmp:
        tmp.mkdir(parents=True)
        for recipe, (data, customers) in jobs.items():
            clock = time.perf_counter()
            written = write_candidates(tmp / candidates_file(layout, recipe).name,
                                       ComputedCandidates(data, customers, config.chunk_customers), config.workers)
            seconds[recipe] = round(time.perf_counter() - clock, 2)
            rows.append({"recipe": recipe, "first day of the target week": str(to_date(targets[recipe])),
                         "customers": len(customers), "candidates": written["rows"],
                         "per customer": round(written["rows"] / max(len(customers), 1), 1),
                         **{f"from {n}": v for n, v in written["per_source"].items()},
                         "file MB": round(written["bytes"] / 2**20, 1)})
    context.log.info(f"candidates: {rows}; seconds {seconds}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(r["candidates"] for r in rows),
        "candidates": dg.MetadataValue.md(markdown_table(rows)),
        "candidates_per_customer": rows[-1]["per customer"],
        "graph_calls": filter_calls + age_calls,
        "seconds": dg.MetadataValue.json(seconds),
        "path": dg.MetadataValue.path(str(candidates_file(layout, "eval").parent)),
    })


def eval_recommenders(layout: DataLayout, users: np.ndarray) -> tuple[dict, dict]:
    """name -> (customer_idx array -> (n, 12) article_idx) for the eval rankers, scored with one feature pass
    over `ranker_candidates`' eval candidates (which must be those of `users`, the held-out week's buyers) at the
    held-out week's start; plus that pass's stats."""
    rankers = load_rankers(layout, "eval")
    inputs = ranker_inputs(layout, ranker_config(layout, training_set_config(layout)))
    holdout_start = recipe_targets(layout, inputs)["eval"]
    candidates = CandidateFile(candidates_file(layout, "eval"))
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
    the features of all purchases (what `fused_recommendations` ranked with; the image filter from purchases)."""
    import pyarrow as pa

    from hm_pipeline.recommend.stored import fused_path, read_fused

    catalog = fusion_inputs.Catalog.read(layout)
    recs = read_fused(fused_path(layout), catalog, pa.array([customer_id], pa.string()))
    ranker = load_rankers(layout, "production")["ranked"]
    inputs = ranker_inputs(layout, ranker_config(layout, training_set_config(layout)))
    data = inputs.at(recipe_targets(layout, inputs)["production"])
    return two_stage.why(data, ranker, int(recs.customers[0]), recs.items[0])


defs = dg.Definitions(assets=[ranker_training_set, ranker_model, ranker_candidates])
