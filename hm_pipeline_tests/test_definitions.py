"""The one Definitions: every asset grouped in story order, described, linked to its source; jobs, schedule,
sensors and declarative automation as users rely on them."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from hm_pipeline.data import schema
from hm_pipeline.data.input_files import file_version
from hm_pipeline.definitions import defs
from hm_pipeline.defs import automation
from hm_pipeline.defs import ingest as ingest_defs
from hm_pipeline.defs.resources import DataRootResource
from hm_pipeline.layout import DataLayout
from hm_pipeline.defs.metadata import column_schema
from hm_pipeline.recommend.stored import FUSED_SCHEMA


def _assets():
    graph = defs.resolve_asset_graph()
    return {key.to_user_string(): graph.get(key) for key in graph.get_all_asset_keys()}


def test_every_asset_has_group_description_kinds_and_owners():
    assets = _assets()
    assert {"articles", "customers", "transactions", "product_graph", "age_groups", "graph_eda",
            "image_embeddings", "similar_products", "interaction_matrix", "als_model",
            "holdout_evaluation", "similar_graph", "recommendations", "submission_csv"} <= set(assets)
    for name, node in assets.items():
        assert node.group_name and node.group_name != "default", name
        assert node.description, name
        assert node.kinds, name
        assert node.owners == ["team:recsys"], name


def test_full_refresh_covers_every_unpartitioned_asset():
    job = defs.resolve_job_def("full_refresh")
    selected = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert selected == {name for name, node in _assets().items() if node.is_executable} - {"image_embeddings"}
    assert {name for name, node in _assets().items() if not node.is_executable} == {
        "articles_csv", "customers_csv", "transactions_csv"}  # the Kaggle files: recorded, never written
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
    pools = {name: assets[name].pools for name in ("product_graph", "age_groups")}
    assert all(p == {"graph_writer"} for p in pools.values()), pools


def _materialized(instance, *names: str) -> None:
    for name in names:
        instance.report_runless_asset_event(dg.AssetMaterialization(name))


def test_new_similar_products_are_carried_downstream_by_declarative_automation():
    """After the image sensor's backfill updates similar_products, the automation sensor requests what follows it
    (and nothing when nothing changed); the sensor itself is off until turned on, like the weekly schedule."""
    sensor = defs.resolve_sensor_def("refresh_after_new_input")
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
    assert {"similar_graph", "holdout_evaluation"} <= requested
    assert not requested & {"product_graph", "als_model", "interaction_matrix"}  # upstream of it: untouched


def _requested(result) -> set[str]:
    return {r.key.to_user_string() for r in result.results if r.true_subset.size and isinstance(r.key, dg.AssetKey)}


def _input_tick(instance, root: Path) -> list[str]:
    """One tick of the input file sensor; its events recorded as the sensor daemon does. The CSVs it reported."""
    with dg.build_sensor_context(instance=instance,
                                 resources={"data_root": DataRootResource(data_root=str(root))}) as context:
        result = automation.input_files_sensor(context)
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    return [event.asset_key.to_user_string() for event in result.asset_events]


def test_input_file_sensor_records_a_csv_once_per_new_version_and_never_what_was_ingested(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    layout = DataLayout(tmp_path)
    layout.input_dir.mkdir()
    for name in ("articles.csv", "customers.csv"):
        layout.input_file(name).write_text("header\n")
    assert sorted(_input_tick(instance, tmp_path)) == ["articles_csv", "customers_csv"]  # transactions: absent
    assert _input_tick(instance, tmp_path) == []  # the same versions: nothing again
    csv = layout.input_file("customers.csv")
    csv.write_text("header\nrow\n")  # a new version (size changed)
    assert _input_tick(instance, tmp_path) == ["customers_csv"]
    assert _input_tick(instance, tmp_path) == []
    event = instance.get_latest_materialization_event(dg.AssetKey("customers_csv")).asset_materialization
    assert event.metadata["bytes"].value == csv.stat().st_size
    # An ingest run records the version it read: the sensor then has nothing to report for that file.
    layout.input_file("transactions_train.csv").write_text("header\n")
    version = file_version(layout.input_file("transactions_train.csv"))
    instance.report_runless_asset_event(ingest_defs.input_version_event("transactions", version, "ingested"))
    assert _input_tick(instance, tmp_path) == []
    os.utime(csv, ns=(csv.stat().st_atime_ns, csv.stat().st_mtime_ns + 10**9))  # rewritten, same size
    assert _input_tick(instance, tmp_path) == ["customers_csv"]


def test_a_new_csv_version_is_carried_through_the_whole_pipeline_but_an_ingest_run_is_not_repeated():
    """Automation follows a changed Kaggle CSV (recorded by the input sensor) from ingest to the submission; the
    version an ingest run recorded as it read the file triggers nothing more."""
    sensor = defs.resolve_sensor_def("input_files_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING  # it only stats three files; launches no run
    instance = dg.DagsterInstance.ephemeral()
    graph = defs.resolve_asset_graph()
    everything = [k.to_user_string() for k in graph.toposorted_asset_keys if k.path != ["image_embeddings"]]
    _materialized(instance, *everything)
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    quiet = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert quiet.total_requested == 0
    _materialized(instance, "articles_csv", "articles")  # what an ingest run records, in its order
    after_ingest = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)
    assert "articles" not in _requested(after_ingest) and "articles_csv" not in _requested(after_ingest)
    _materialized(instance, *[n for n in everything if n not in ("articles_csv", "articles")])  # the rest of it
    settled = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=after_ingest.cursor)
    _materialized(instance, "transactions_csv")  # the input sensor saw a new transactions_train.csv
    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=settled.cursor)
    requested = _requested(after)
    assert {"transactions", "product_graph", "interaction_matrix", "als_model", "ranker_train_set",
            "recommendations", "submission_csv", "holdout_evaluation"} <= requested, requested
    assert not requested & {"articles", "customers"}  # their files did not change


STORY = ["ingest", "graph", "images", "training", "recommendations", "evaluation"]


def test_the_groups_tell_the_story_in_order():
    """Every dependency points forward (or within a group) along ingest -> graph -> images -> training ->
    recommendations -> evaluation, so the lineage reads in that order."""
    graph = defs.resolve_asset_graph()
    assert {graph.get(k).group_name for k in graph.get_all_asset_keys()} == set(STORY)
    assert graph.get(dg.AssetKey("holdout_evaluation")).group_name == "evaluation"
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
        reader = f"def {name}(" if node.is_executable else "def _read_input("  # a Kaggle CSV: where it is read
        assert any(line.startswith(reader) for line in below), name


def test_graph_assets_show_the_active_backend_only():
    graph_assets = {"product_graph", "age_groups", "graph_eda", "similar_graph"}
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
