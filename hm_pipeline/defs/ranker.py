"""Dagster wiring of the learned ranker (recipe: `recommend.two_stage`): `ranker_train_set` -> `ranker_model`
(group `training`) and `ranker_candidates` (group `recommendations`).

Two recipes, like `als_model`: `eval` targets the held-out week (labels from the weeks before it, validation =
the week just before it; scored by `holdout_evaluation`), `production` is the same recipe shifted one week
(the last week of data is its validation week; scored for every customer by `recommendations`). A label week
both recipes use is built once. ALS factors per label week are refit on the purchases before that week
(`refit_iterations`); the two cutoffs `als_model` already fits (the held-out week's and the end of the data) are
reused from its files. With `ablations: true`, every ablation ranker is fit on the same label weeks and saved
beside the full one. `ranker_candidates` stores every source's candidates for the two target weeks, so the
rankers can be refit and re-scored without collecting them again.
(No `from __future__ import annotations` here: Dagster reads the Config annotations at run time.)
"""

import json

import dagster as dg
import numpy as np
from pydantic import Field

from hm_pipeline.atomic import atomic_path
from hm_pipeline.defs.metadata import GRAPH_KIND, OWNERS, timed
from hm_pipeline.defs.resources import DataRootResource, GraphStoreResource, config_class
from hm_pipeline.graph.store import AGE_GROUPS_PART, GRAPH_PART
from hm_pipeline.markdown import markdown_table
from hm_pipeline.recommend import inputs as fusion_inputs
from hm_pipeline.recommend import training_set, two_stage
from hm_pipeline.recommend.candidate_file import ComputedCandidates, write_candidates
from hm_pipeline.recommend.ranker_files import (ablations, ranker_config, ranker_inputs, recipe_targets, save_ranker,
                                                week_roles)
from hm_pipeline.training.split import to_date

GROUP = "training"
INGEST_DEPS = ["articles", "customers", "transactions"]


RankerTrainingSetConfig = config_class(
    "RankerTrainingSetConfig", two_stage.RankerConfig, "How the ranker's label weeks are built.",
    {"train_weeks": "label weeks the ranker learns from (before the validation week)",
     "max_negatives": "sampled negative candidates kept per customer and training week",
     "max_label_customers": "buyers of a label week the ranker learns from (a seeded sample when more bought)",
     "refit_iterations": "ALS iterations of the label-week refits (0: as als_model); the held-out week's and the "
                         "last week's fits are als_model's own"},
    only=("train_weeks", "max_negatives", "max_label_customers", "refit_iterations"),
    workers=(int, Field(2, description="label weeks built side by side (threads; the weeks do not depend on it)")))
RankerModelConfig = config_class(
    "RankerModelConfig", two_stage.RankerConfig, "LightGBM LambdaRank settings of both recipes.",
    {"num_boost_round": "upper bound; early stopping on the validation week's MAP@12",
     "early_stopping_rounds": "rounds without a better validation MAP@12 before the fit stops",
     "learning_rate": "LightGBM shrinkage", "num_leaves": "leaves per tree"},
    only=("num_boost_round", "early_stopping_rounds", "learning_rate", "num_leaves"),
    ablations=(bool, Field(False, description="also fit the eval ranker without each candidate source / feature "
                           "group (16 more fits; the evaluation then shows their rows)")),
    workers=(int, Field(2, description="rankers fit side by side (threads; each fit on one LightGBM thread, so "
                        "the models do not depend on it)")))


class RankerCandidatesConfig(dg.Config):
    graph_chunk: int = Field(0, description="customers per batched graph call (a Customer.idx range); 0 = the "
                             "backend's default: all in one call on the embedded engine, 50,000 on Neo4j")
    chunk_customers: int = Field(25_000, description="customers per chunk (one Parquet row group; bounds memory)")
    workers: int = Field(2, description="threads collecting chunks side by side (the machine's 2 cores)")


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=["interaction_matrix", "als_model", "similar_products", *INGEST_DEPS],
    kinds={"parquet"},
    automation_condition=dg.AutomationCondition.eager(),
    description="The ranker's label weeks: for each week before a recipe's target week (the held-out week for "
    "`eval`, the week after the data for `production`), every candidate of that week's buyers with its features "
    "(from purchases before the week; ALS refit on them) and whether it was bought, plus the training sample "
    "(all positives, sampled negatives) and the candidates' recall per source. One Parquet file per week.",
)
def ranker_train_set(context: dg.AssetExecutionContext, config: RankerTrainingSetConfig,
                        data_root: DataRootResource) -> dg.MaterializeResult:
    layout = data_root.layout()
    settings = config.model_dump(exclude={"workers"})
    recipe_config = ranker_config(layout, settings)
    inputs = ranker_inputs(layout, recipe_config)
    targets = recipe_targets(layout, inputs)
    seconds = timed()
    with seconds("ALS refits"):  # compute_weeks would fit them first too; here they are timed apart
        for cutoff in two_stage.label_cutoffs(list(targets.values()), recipe_config):
            inputs.als_at(cutoff)
    with seconds("label weeks"):
        weeks = two_stage.compute_weeks(inputs, list(targets.values()), recipe_config, config.workers)
    roles = week_roles(targets, recipe_config)
    manifest = training_set.write_training_set(layout.ranker_train_set_dir, weeks, extra={
        "targets": targets, "config": settings, "roles": {str(c): r for c, r in roles.items()}})
    rows = [{"week": f"{to_date(c)} ({', '.join(roles[c])})", "buyers": w["customers_buying"], "rows": w["rows"],
             "sampled rows": w["sampled_rows"], "positives": w["positives"], "recall": w["recall"]["all sources"]}
            for c, w in ((int(c), w) for c, w in manifest["weeks"].items())]
    recall = [{"week": str(to_date(int(c))), **w["recall"]} for c, w in manifest["weeks"].items()]
    context.log.info(f"ranker training set: {len(weeks)} label weeks in {seconds['label weeks']:.1f} s")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(w["rows"] for w in manifest["weeks"].values()),
        "weeks": dg.MetadataValue.md(markdown_table(rows, float_digits=4)),
        "candidate_recall": dg.MetadataValue.md(markdown_table(recall, float_digits=4)),
        "features": len(manifest["names"]),
        "seconds_per_week": dg.MetadataValue.md(markdown_table(
            [{"week": str(to_date(c)), "seconds": round(w.seconds, 1)} for c, w in weeks.items()])),
        **seconds.metadata(),
        "path": dg.MetadataValue.path(str(layout.ranker_train_set_dir)),
    })


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=[ranker_train_set],
    kinds={"lightgbm"},
    automation_condition=dg.AutomationCondition.eager(),
    description="LightGBM LambdaRank over the candidates of every source (two-stage recommender), fit on "
    "`ranker_train_set`: the `eval` recipe (labels from the weeks before the held-out week, its ablations) and "
    "the `production` recipe (the same, one week later), with feature importance and validation curves.",
)
def ranker_model(context: dg.AssetExecutionContext, config: RankerModelConfig, data_root: DataRootResource
                 ) -> dg.MaterializeResult:
    layout = data_root.layout()
    stored = training_set.read_manifest(layout.ranker_train_set_dir)
    recipe_config = ranker_config(layout, {**stored["config"], **config.model_dump(exclude={"ablations", "workers"})})
    weeks = training_set.read_training_set(layout.ranker_train_set_dir)
    seconds = timed()
    jobs, tasks = [], []  # (recipe, name, file stem) and fit_rankers' tasks, every recipe's in one list
    for recipe, target in stored["targets"].items():
        train, valid = two_stage.recipe_weeks(weeks, target, recipe_config)
        variants = ablations(list(valid.pairs.groups)) if recipe == "eval" and config.ablations else \
            {"ranked": two_stage.FULL}
        for i, (name, variant) in enumerate(variants.items()):
            jobs.append((recipe, name, f"ranker_{i:02d}"))
            tasks.append((train, valid, variant))
    manifests = {recipe: {"target_first_day": target, "rankers": {},
                          "config": {k: v for k, v in vars(recipe_config).items() if k != "als"}}
                 for recipe, target in stored["targets"].items()}
    with atomic_path(layout.ranker_dir) as tmp:
        with seconds(f"fit {len(tasks)} rankers, {config.workers} side by side"):
            for (recipe, name, stem), fitted in zip(jobs, two_stage.fit_rankers(tasks, recipe_config, config.workers)):
                folder = tmp / recipe
                folder.mkdir(parents=True, exist_ok=True)
                manifests[recipe]["rankers"][name] = {"file": f"{stem}.txt", **save_ranker(folder, stem, fitted)}
        for recipe, manifest in manifests.items():
            (tmp / recipe / "manifest.json").write_text(json.dumps(manifest, indent=1))
    main = manifests["production"]["rankers"]["ranked"]
    evaluation = manifests["eval"]["rankers"]["ranked"]
    top_features = [{"feature": n, "gain share": v} for n, v in list(main["importance"].items())[:15]]
    context.log.info(f"ranker: best iterations eval {evaluation['best_iteration']}, production "
                     f"{main['best_iteration']}; seconds {dict(seconds)}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(w["rows"] for w in main["weeks"]),
        "best_iteration": main["best_iteration"], "eval_best_iteration": evaluation["best_iteration"],
        "validation_map@12": round(max(main["curve"]["validation week map@12"]), 5),
        "eval_validation_map@12": round(max(evaluation["curve"]["validation week map@12"]), 5),
        "feature_importance": dg.MetadataValue.md(markdown_table(top_features, float_digits=4)),
        "training_weeks": dg.MetadataValue.json(main["weeks"]),
        "validation_curve": dg.MetadataValue.json(main["curve"]),
        "rankers_fit": sum(len(m["rankers"]) for m in manifests.values()),
        **seconds.metadata(),
        "path": dg.MetadataValue.path(str(layout.ranker_dir)),
    })


@dg.asset(
    owners=OWNERS,
    group_name="recommendations",
    deps=["product_graph", "age_groups", "similar_products", "als_model", *INGEST_DEPS],
    kinds={"parquet", "cypher", GRAPH_KIND},
    automation_condition=dg.AutomationCondition.eager(),
    description="Every source's candidates (repurchase, image-similar with the graph's department AND index "
    "filter, ALS, bought together, same product, trending, age-group and global popularity) with their rank and "
    "score per source: `production` for every customer from all purchases (what `recommendations` ranks), "
    "`eval` for the held-out week's buyers from the purchases before it (what `holdout_evaluation` ranks).",
)
def ranker_candidates(context: dg.AssetExecutionContext, config: RankerCandidatesConfig,
                      data_root: DataRootResource, graph_store: GraphStoreResource) -> dg.MaterializeResult:
    layout = data_root.layout()
    inputs = ranker_inputs(layout, ranker_config(layout))
    targets = recipe_targets(layout, inputs)
    catalog = fusion_inputs.Catalog.read(layout)
    seconds, rows = timed(), []
    production = inputs.at(targets["production"])
    with graph_store.open(layout, read_only=True) as store, seconds("graph"):
        store.ensure_complete(GRAPH_PART)
        store.ensure_complete(AGE_GROUPS_PART)
        production.attributes, filter_calls = fusion_inputs.graph_attribute_filter(store, catalog,
                                                                                   config.graph_chunk or None)
        production.age_group, age_calls = fusion_inputs.graph_age_groups(store, catalog, config.graph_chunk or None)
    p = inputs.purchases
    held_out_buyers = np.unique(p.user[p.day >= targets["eval"]])
    jobs = {"eval": (inputs.at(targets["eval"]), held_out_buyers),
            "production": (production, np.arange(catalog.n_customers, dtype=np.int32))}
    with atomic_path(layout.candidates_dir) as tmp:
        tmp.mkdir(parents=True)
        for recipe, (data, customers) in jobs.items():
            with seconds(recipe):
                written = write_candidates(tmp / layout.candidates_file(recipe).name,
                                           ComputedCandidates(data, customers, config.chunk_customers), config.workers)
            rows.append({"recipe": recipe, "first day of the target week": str(to_date(targets[recipe])),
                         "customers": len(customers), "candidates": written["rows"],
                         "per customer": round(written["rows"] / max(len(customers), 1), 1),
                         **{f"from {n}": v for n, v in written["per_source"].items()},
                         "file MB": round(written["bytes"] / 2**20, 1)})
    context.log.info(f"candidates: {rows}; seconds {dict(seconds)}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(r["candidates"] for r in rows),
        "candidates": dg.MetadataValue.md(markdown_table(rows)),
        "candidates_per_customer": rows[-1]["per customer"],
        "graph_calls": filter_calls + age_calls,
        **seconds.metadata(),
        "path": dg.MetadataValue.path(str(layout.candidates_dir)),
    })
