"""Dagster wiring of the last step: `recommendations` -> `submission_csv` (group `recommendations`).

`recommendations` ranks every customer's production candidates (`ranker_candidates`) with the production
`ranker_model` (`recommend.two_stage`): features from all purchases, the production ALS model, SIMILAR, and the
AgeGroups from the graph (one batched statement over Customer.idx ranges). Every customer of customers.parquet
gets 12 unique articles.
`submission_csv` writes the Kaggle file in sample_submission.csv (else customers.csv) order, validates it at a
temporary path and only then replaces the previous file; a blocking check re-reads and validates it again.
(No `from __future__ import annotations` here: Dagster reads the Config annotations at run time.)
"""

import datetime as dt

import dagster as dg
import numpy as np
from pydantic import Field

from hm_pipeline.atomic import write_parquet
from hm_pipeline.defs.metadata import GRAPH_KIND, OWNERS, column_schema, timed
from hm_pipeline.defs.resources import DataRootResource, GraphStoreResource
from hm_pipeline.graph.store import AGE_GROUPS_PART
from hm_pipeline.markdown import markdown_table
from hm_pipeline.recommend import inputs, two_stage
from hm_pipeline.recommend.candidate_file import CandidateFile
from hm_pipeline.recommend.candidate_sources import SOURCES
from hm_pipeline.recommend.candidates import Source
from hm_pipeline.recommend.fusion import Path as FusionPath
from hm_pipeline.recommend.fusion import Recommendations
from hm_pipeline.recommend.ranker_files import (load_rankers, ranker_config, ranker_inputs, recipe_targets,
                                                training_set_config)
from hm_pipeline.recommend.stored import fused_table, read_fused
from hm_pipeline.recommend.submission import K, validate_submission, write_submission

GROUP = "recommendations"
#: The weekly refresh runs on Mondays: a submission older than a week is late, one older than 8 days failed it.
SUBMISSION_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(days=8),
                                                      warn_window=dt.timedelta(days=7))


class FusedRecommendationsConfig(dg.Config):
    graph_chunk: int = Field(0, description="customers per batched graph call (a Customer.idx range); 0 = the "
                             "backend's default: all in one call on the embedded engine, 50,000 on Neo4j")
    workers: int = Field(2, description="threads ranking chunks side by side (the machine's 2 cores)")
    compiled: bool = Field(True, description="score with the ranker's trees compiled to machine code (lleaves): "
                           "the same scores ~3x faster, after a ~20 s compile")


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=["age_groups", "ranker_model", "ranker_candidates"],
    kinds={"parquet", "lightgbm", "cypher", GRAPH_KIND},
    automation_condition=dg.AutomationCondition.eager(),
    description="12 unique articles for every customer: the production candidates of `ranker_candidates` (every "
    "source's) with their features, ranked by the production `ranker_model`, topped up by popularity "
    "(fused.parquet).",
)
def recommendations(
    context: dg.AssetExecutionContext, config: FusedRecommendationsConfig, data_root: DataRootResource,
    graph_store: GraphStoreResource,
) -> dg.MaterializeResult:
    layout = data_root.layout()
    seconds = timed()
    with seconds("read inputs"):
        catalog = inputs.Catalog.read(layout)
        ranker = load_rankers(layout, "production")["ranked"]
        source_inputs = ranker_inputs(layout, ranker_config(layout, training_set_config(layout)))
        data = source_inputs.at(recipe_targets(layout, source_inputs)["production"])
        candidates = CandidateFile(layout.candidates_file("production"))
    if not np.array_equal(candidates.customers, np.arange(catalog.n_customers)):
        raise RuntimeError(f"{candidates.path} holds {len(candidates.customers)} customers, not the "
                           f"{catalog.n_customers} of customers.parquet: re-materialize `ranker_candidates`")
    with graph_store.open(layout, read_only=True) as store, seconds("graph age groups"):
        store.ensure_complete(AGE_GROUPS_PART)
        data.age_group, age_calls = inputs.graph_age_groups(store, catalog, config.graph_chunk or None)
    with seconds("rank"):
        results, stats = two_stage.recommend(data, {"ranked": ranker}, candidates, workers=config.workers,
                                             compiled=config.compiled)
        items, source = results["ranked"]
        codes = np.array([Source[name.upper()] for name in SOURCES] + [Source.POPULAR], np.int8)  # -1: the top-up
        recs = Recommendations(np.arange(catalog.n_customers, dtype=np.int32), items, codes[source],
                               np.full(catalog.n_customers, FusionPath.RANKED, np.int8))
    with seconds("write"):
        table = fused_table(recs, catalog)
        write_parquet(table, layout.fused_file)
    report = recs.report()
    context.log.info(f"ranked {report['customers']} customers; seconds per stage {dict(seconds)}")
    mix = [{"source": s, "items": n, "share": f"{n / max(table.num_rows, 1):.1%}"}
           for s, n in report["source_mix"].items()]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": table.num_rows,
        "dagster/column_schema": column_schema(table.schema),
        "customers": report["customers"],
        "candidates_per_customer": round(stats["candidates_per_customer"], 1),
        "source_mix": dg.MetadataValue.md("Which candidate source proposed each recommended article (popular: the "
                                          "popularity top-up):\n\n" + markdown_table(mix)),
        "graph_calls": age_calls,
        "path": dg.MetadataValue.path(str(layout.fused_file)),
        **seconds.metadata(),
    })


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=[recommendations],
    kinds={"csv"},
    automation_condition=dg.AutomationCondition.eager(),
    freshness_policy=SUBMISSION_FRESHNESS,
    description="The Kaggle submission (customer_id,prediction = 12 space-separated article ids), one row per "
    "customer in sample_submission.csv order (else customers.csv order), at output/submission.csv. Validated before "
    "it replaces the previous file; a bad sample_submission.csv fails naming its row and column.",
)
def submission_csv(context: dg.AssetExecutionContext, data_root: DataRootResource) -> dg.MaterializeResult:
    layout = data_root.layout()
    seconds = timed()
    catalog = inputs.Catalog.read(layout)
    order, order_file = inputs.submission_order(layout)
    recs = read_fused(layout.fused_file, catalog)
    if len(recs.customers) != catalog.n_customers:
        raise ValueError(f"{layout.fused_file} covers {len(recs.customers)} of {catalog.n_customers} customers: "
                         "re-materialize `recommendations`")
    items = np.empty((catalog.n_customers, K), np.int32)
    items[recs.customers] = recs.items
    out = layout.submission_file
    out.parent.mkdir(parents=True, exist_ok=True)
    with seconds("write and validate"):
        rows = write_submission(out, order, catalog.customer_ids, items, catalog.article_ids, order_file.name)
    context.log.info(f"wrote {rows} rows to {out} in {order_file.name} order")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "order_from": order_file.name,
        "path": dg.MetadataValue.path(str(out)),
        **seconds.metadata(),
    })


@dg.asset_check(asset=submission_csv, blocking=True,
                description="At least one row, one row per expected customer in order, unique customers, 12 unique "
                "10-digit known article ids per row (leading zeros kept).")
def submission_is_valid(data_root: DataRootResource) -> dg.AssetCheckResult:
    layout = data_root.layout()
    order, order_file = inputs.submission_order(layout)
    catalog = inputs.Catalog.read(layout)
    check = validate_submission(layout.submission_file, order, catalog.article_ids)
    return dg.AssetCheckResult(
        passed=check.ok,
        metadata={
            "rows": check.rows, "expected_rows": check.expected_rows,
            "unique_customers": check.unique_customers, "expected_unique_customers": check.expected_rows,
            "order_matches": f"{check.order_matches} (expected: True, order of {order_file.name})",
            "rows_without_12_ids": check.rows_without_12_ids, "rows_with_repeated_ids": check.rows_with_repeated_ids,
            "malformed_ids": check.malformed_ids, "unknown_ids": check.unknown_ids,
            "expected_bad_rows_or_ids": 0,
            "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in check.problems) or "none"),
        },
    )

