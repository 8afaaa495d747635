"""The one Definitions: every asset grouped in story order, described, linked to its source; jobs, schedule,
sensors and declarative automation as users rely on them."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from hm_pipeline.data import schema
from hm_pipeline.definitions import defs
from hm_pipeline.defs.metadata import column_schema
from hm_pipeline.recommend.stored import FUSED_SCHEMA


def _assets():
    graph = defs.resolve_asset_graph()
    return {key.to_user_string(): graph.get(key) for key in graph.get_all_asset_keys()}


def test_every_asset_has_group_description_kinds_and_owners():
    assets = _assets()
    assert {"articles", "customers", "transactions", "product_graph", "customer_age_groups", "graph_eda",
            "image_embeddings", "similar_products", "interaction_matrix", "als_model",
            "recommendation_evaluation", "similar_graph", "fused_recommendations", "submission_csv"} <= set(assets)
    for name, node in assets.items():
        assert node.group_name and node.group_name != "default", name
        assert node.description, name
        assert node.kinds, name
        assert node.owners == ["team:recsys"], name


def test_full_refresh_covers_every_unpartitioned_asset():
    job = defs.resolve_job_def("full_refresh")
    selected = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert selected == set(_assets()) - {"image_embeddings"}
    assert job.partitions_def is None


def test_weekly_schedule_and_image_sensor():
    schedule = defs.resolve_schedule_def("weekly_full_refresh")
    assert schedule.cron_schedule == "0 3 * * 1" and schedule.job_name == "full_refresh"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    sensor = defs.resolve_sensor_def("image_folder_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert defs.resolve_job_def("image_backfill_job").partitions_def.name == "image_folders"


def test_graph_writers_share_one_pool():
    assets = _assets()
    pools = {name: assets[name].pools for name in ("product_graph", "customer_age_groups")}
    assert all(p == {"graph_writer"} for p in pools.values()), pools


def _materialized(instance, *names: str) -> None:
    for name in names:
        instance.report_runless_asset_event(dg.AssetMaterialization(name))


def test_new_similar_products_are_carried_downstream_by_declarative_automation():
    """After the image sensor's backfill updates similar_products, the automation sensor requests what follows it
    (and nothing when nothing changed); the sensor itself is off until turned on, like the weekly schedule."""
    sensor = defs.resolve_sensor_def("refresh_after_new_photos")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    instance = dg.DagsterInstance.ephemeral()
    graph = defs.resolve_asset_graph()
    _materialized(instance, *(k.to_user_string() for k in graph.toposorted_asset_keys if k.path != ["image_embeddings"]))
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    quiet = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert quiet.total_requested == 0
    _materialized(instance, "similar_products")
    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)
    requested = {r.key.to_user_string() for r in after.results if r.true_subset.size and isinstance(r.key, dg.AssetKey)}
    assert {"similar_graph", "recommendation_evaluation"} <= requested
    assert not requested & {"product_graph", "als_model", "interaction_matrix"}  # upstream of it: untouched


STORY = ["ingest", "graph", "images", "training", "recommendations", "evaluation"]


def test_the_groups_tell_the_story_in_order():
    """Every dependency points forward (or within a group) along ingest -> graph -> images -> training ->
    recommendations -> evaluation, so the lineage reads in that order."""
    graph = defs.resolve_asset_graph()
    assert {graph.get(k).group_name for k in graph.get_all_asset_keys()} == set(STORY)
    assert graph.get(dg.AssetKey("recommendation_evaluation")).group_name == "evaluation"
    assert graph.get(dg.AssetKey("similar_graph")).group_name == "images"
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        for parent in node.parent_keys:
            assert STORY.index(graph.get(parent).group_name) <= STORY.index(node.group_name), (parent, key)


def test_every_asset_links_to_its_source():
    for name, node in _assets().items():
        (reference,) = node.metadata["dagster/code_references"].code_references
        lines = Path(reference.file_path).read_text().splitlines()
        below = lines[reference.line_number - 1:reference.line_number + 12]  # the decorator, then the function
        assert any(line.startswith(f"def {name}(") for line in below), name


def test_graph_assets_show_the_active_backend_only():
    graph_assets = {"product_graph", "customer_age_groups", "graph_eda", "similar_graph"}
    kinds = {name: node.kinds for name, node in _assets().items() if name in graph_assets}
    assert all("kuzu" in k and "neo4j" not in k and "graph" not in k for k in kinds.values()), kinds
    code = ("from hm_pipeline.definitions import defs; g = defs.resolve_asset_graph(); "
            "print(sorted(g.get(dg.AssetKey('product_graph')).kinds))")
    env = {**os.environ, "HM_GRAPH_BACKEND": "neo4j"}
    out = subprocess.run([sys.executable, "-c", "import dagster as dg; " + code], env=env, capture_output=True,
                         text=True, check=True, timeout=120)
    assert out.stdout.strip() == "['cypher', 'neo4j']"


def test_every_ingested_column_is_described():
    for table in (schema.ARTICLES_TABLE, schema.CUSTOMERS_TABLE, schema.TRANSACTIONS_TABLE, FUSED_SCHEMA):
        columns = column_schema(table).columns
        assert all(c.description for c in columns), [c.name for c in columns if not c.description]
    channel = next(c for c in column_schema(schema.TRANSACTIONS_TABLE).columns if c.name == "sales_channel_id")
    assert "1 = in a store, 2 = online" in channel.description


def test_the_submission_has_a_freshness_policy_of_a_week():
    policy = _assets()["submission_csv"].freshness_policy
    assert policy is not None and policy.fail_window.to_timedelta().days == 8
    assert policy.warn_window.to_timedelta().days == 7
