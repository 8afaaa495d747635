"""Dagster wiring of the image stage: the folder sensor, per-folder embeddings and the SIMILAR table."""

from __future__ import annotations

import json
import shutil

import dagster as dg
import numpy as np
import pyarrow.parquet as pq
import pytest

from hm_pipeline.defs import automation
from hm_pipeline.defs import images as image_defs
from hm_pipeline.defs.resources import WEIGHTS_ENV, DataRootResource
from hm_pipeline.images import knn, tables
from hm_pipeline.images.scan import folder_fingerprint
from hm_pipeline.layout import DataLayout
from hm_pipeline_tests.image_fixtures import jpeg_bytes, write_articles_parquet, write_folder


def _tick(instance, root, cursor):
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"data_root": DataRootResource(data_root=str(root))}
    ) as context:
        result = automation.image_folder_sensor(context)
    for request in result.dynamic_partitions_requests or []:  # what the sensor daemon does
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result


def _runs(result) -> list[str]:
    """The partitions of the ONE backfill a tick requested (image_embeddings, then similar_products); [] if none."""
    requests = result.run_requests or []
    assert len(requests) <= 1, requests
    if not requests:
        return []
    subset = requests[0].asset_graph_subset
    assert subset is not None, "a sensor tick launches a backfill, never one run per folder"
    assert subset.non_partitioned_asset_keys == {image_defs.similar_products.key}
    return sorted(subset.partitions_subsets_by_asset_key[image_defs.image_embeddings.key].get_partition_keys())


@pytest.fixture(autouse=True)
def _random_weights(monkeypatch):
    """The sensor launches only when the configured weights can be had; random weights always can."""
    monkeypatch.setenv(WEIGHTS_ENV, "random")


def test_sensor_adds_new_folders_reruns_changed_ones_and_drops_removed(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    images = DataLayout(tmp_path).images_dir
    write_folder(images, "010", ["0100000001", "0100000002"])

    first = _tick(instance, tmp_path, None)
    assert [r.partition_keys for r in first.dynamic_partitions_requests] == [["010"]]
    assert _runs(first) == ["010"]
    assert instance.get_dynamic_partitions("image_folders") == ["010"]
    assert set(json.loads(first.cursor)) == {"010"}

    idle = _tick(instance, tmp_path, first.cursor)
    assert _runs(idle) == [] and not idle.dynamic_partitions_requests

    (images / "010" / "0100000003.jpg").write_bytes(jpeg_bytes(3))
    changed = _tick(instance, tmp_path, idle.cursor)
    assert _runs(changed) == ["010"] and not changed.dynamic_partitions_requests

    write_folder(images, "011", ["0110000001"])
    added = _tick(instance, tmp_path, changed.cursor)
    assert [r.partition_keys for r in added.dynamic_partitions_requests] == [["011"]]
    assert _runs(added) == ["011"]

    shutil.rmtree(images / "011")
    removed = _tick(instance, tmp_path, added.cursor)
    assert isinstance(removed.dynamic_partitions_requests[0], dg.DeleteDynamicPartitionsRequest)
    assert removed.dynamic_partitions_requests[0].partition_keys == ["011"]
    assert _runs(removed) == []
    assert instance.get_dynamic_partitions("image_folders") == ["010"]


def test_sensor_keeps_partitions_and_cursor_while_the_image_root_is_missing(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    images = DataLayout(tmp_path).images_dir
    write_folder(images, "010", ["0100000001"])
    first = _tick(instance, tmp_path, None)
    shutil.move(images, tmp_path / "unmounted")
    gone = _tick(instance, tmp_path, first.cursor)
    assert not gone.run_requests and not gone.dynamic_partitions_requests
    assert "does not exist" in gone.skip_reason.skip_message
    assert instance.get_dynamic_partitions("image_folders") == ["010"]  # not deleted while the root is away
    shutil.move(tmp_path / "unmounted", images)
    back = _tick(instance, tmp_path, first.cursor)
    assert _runs(back) == [] and not back.dynamic_partitions_requests  # same contents: nothing to re-embed


def test_sensor_launches_one_backfill_for_many_new_folders(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    images = DataLayout(tmp_path).images_dir
    for folder in ("010", "011", "012", "013"):
        write_folder(images, folder, [f"{folder}0000001"])
    first = _tick(instance, tmp_path, None)
    assert len(first.run_requests) == 1 and _runs(first) == ["010", "011", "012", "013"]


def test_sensor_launches_nothing_without_the_configured_weights(tmp_path, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, "imagenet")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty_keras"))  # no weights file: offline, never downloaded
    instance = dg.DagsterInstance.ephemeral()
    images = DataLayout(tmp_path).images_dir
    write_folder(images, "010", ["0100000001"])
    tick = _tick(instance, tmp_path, None)
    assert not tick.run_requests
    reason = tick.skip_reason.skip_message
    assert "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5 is not in the Keras cache" in reason
    assert "1 image folders need embeddings" in reason
    assert instance.get_dynamic_partitions("image_folders") == ["010"]  # registered; launched once weights exist
    monkeypatch.setenv(WEIGHTS_ENV, "imagenet-or-random")
    assert _runs(_tick(instance, tmp_path, tick.cursor)) == ["010"]


RUN_CONFIG = {"ops": {"image_embeddings": {"config": {"weights": "random", "image_size": 64, "batch_size": 4}}}}


def _materialize(instance, root, partition):
    return dg.materialize(
        [image_defs.image_embeddings, image_defs.similar_products],
        partition_key=partition,
        instance=instance,
        resources={"data_root": DataRootResource(data_root=str(root))},
        run_config=RUN_CONFIG,
    )


def _metadata(result, asset):
    events = result.asset_materializations_for_node(asset)
    return {k: v.value for k, v in events[0].metadata.items()}


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_materialize_embeddings_per_folder_and_similar_incrementally(tmp_path):
    layout = DataLayout(tmp_path)
    ids_010 = [f"010000000{i}" for i in range(6)]
    ids_011 = [f"011000000{i}" for i in range(5)]
    write_articles_parquet(layout.ingest_table("articles"), ids_010 + ids_011)
    write_folder(layout.images_dir, "010", ids_010, seed=1)
    (layout.images_dir / "010" / "0109999999.jpg").write_bytes(jpeg_bytes(9))  # unknown article
    (layout.images_dir / "010" / ".DS_Store").write_bytes(b"\x00")
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("image_folders", ["010"])

    result = _materialize(instance, tmp_path, "010")
    assert result.success
    # the embeddings record the folder contents they were made from: a sensor without a cursor (its first tick
    # after `hm-pipeline run`) launches nothing for that folder
    assert image_defs.embedded_fingerprint(layout, "010") == folder_fingerprint(layout.images_dir / "010")
    fresh = _tick(dg.DagsterInstance.ephemeral(), tmp_path, None)
    assert _runs(fresh) == [] and "embeddings are current" in fresh.skip_reason.skip_message
    meta = _metadata(result, "image_embeddings")
    assert meta["images_embedded"] == 6 and meta["images_skipped"] == 2
    assert "unknown article 0109999999" in meta["skipped"] and ".DS_Store" in meta["skipped"]
    assert meta["weights"] == "random(seed=0)" and "RANDOM" in meta["WARNING"]
    table = pq.read_table(layout.embeddings_dir / "010.parquet")
    assert table.schema.equals(tables.EMBEDDINGS_SCHEMA)
    assert table.column("article_id").to_pylist() == ids_010
    sim = _metadata(result, "similar_products")
    assert (sim["products"], sim["relationships"], sim["mode"]) == (6, 30, "full")  # k=10 > 5 others

    write_folder(layout.images_dir, "011", ids_011, seed=2)
    instance.add_dynamic_partitions("image_folders", ["011"])
    result = _materialize(instance, tmp_path, "011")
    sim = _metadata(result, "similar_products")
    assert (sim["products"], sim["mode"], sim["added"], sim["lists_recomputed"]) == (11, "incremental", 5, 5)
    assert sim["relationships"] == 11 * 10
    assert 0 <= sim["same_product_type_no_share"] <= 1 and sim["same_colour_group_code_share_at_random"] > 0

    written = pq.read_table(layout.similar_dir / tables.SIMILAR_FILE)
    ids, x = tables.read_embeddings([layout.embeddings_dir / "010.parquet", layout.embeddings_dir / "011.parquet"])
    full = knn.topk_full(x)
    assert written.column("src").to_pylist() == ids[full.src].tolist()
    assert written.column("dst").to_pylist() == ids[full.dst].tolist()
    assert np.array_equal(written.column("score").to_numpy(), full.score)

    again = _metadata(_materialize(instance, tmp_path, "011"), "similar_products")  # idempotent re-run
    assert (again["mode"], again["lists_recomputed"], again["relationships"]) == ("incremental", 0, 110)
    assert pq.read_table(layout.similar_dir / tables.SIMILAR_FILE).equals(written)


def test_the_backfill_job_and_the_sensor_select_the_image_stage():
    from hm_pipeline.definitions import defs

    job = defs.resolve_job_def("image_backfill_job")
    assert {n.name for n in job.nodes} == {"image_embeddings", "similar_products",  # and the image stage's checks
                                           "similar_products_every_photo_embedded_or_skipped",
                                           "similar_products_similar_has_k_neighbours_per_article"}
    sensor = defs.resolve_sensor_def("image_folder_sensor")
    assert sensor.asset_selection.resolve(defs.resolve_asset_graph()) == {image_defs.image_embeddings.key,
                                                                          image_defs.similar_products.key}


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_similar_products_metadata_lists_misnamed_folders_with_the_reason(tmp_path):
    layout = DataLayout(tmp_path)
    ids = [f"010000000{i}" for i in range(3)]
    write_articles_parquet(layout.ingest_table("articles"), ids)
    write_folder(layout.images_dir, "010", ids, seed=1)
    write_folder(layout.images_dir, "abc", ["0100000007"])
    write_folder(layout.images_dir, "1000", ["1000000001"])
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("image_folders", ["010"])
    meta = _metadata(_materialize(instance, tmp_path, "010"), "similar_products")
    assert meta["image_root_entries_skipped"] == 2
    assert "| abc/ | folder name is not 0 and two digits" in meta["image_root_skipped"]
    assert "| 1000/ | folder name has 4 digit(s)" in meta["image_root_skipped"]
