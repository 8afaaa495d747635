"""The one Definitions: every asset grouped and described, jobs, schedule and sensor as users rely on them."""

import dagster as dg

from hm_pipeline.definitions import defs


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
