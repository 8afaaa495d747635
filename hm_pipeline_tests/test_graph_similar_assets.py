"""`similar_graph` and its check, materialized with Dagster on the hand-made fixture (embedded kuzu store).

The image stage's outputs (similar.parquet, per-folder embeddings) are written directly; stand-in assets take
the place of `similar_products` and the ingest assets.
"""

from __future__ import annotations

import dagster as dg
import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from hm_pipeline.atomic import write_parquet
from hm_pipeline.defs import graph as graph_defs
from hm_pipeline.defs import images as image_defs
from hm_pipeline.defs.resources import DataRootResource, EmbeddedGraphStoreResource
from hm_pipeline.graph.embedded import EmbeddedGraphStore
from hm_pipeline.images import tables as image_tables
from hm_pipeline.layout import DataLayout
from hm_pipeline_tests.graph_fixtures import hand_made
from hm_pipeline_tests.test_graph_assets import INGEST
from hm_pipeline_tests.test_graph_similar import UNKNOWN, embeddings_for, similar_table


@dg.asset(name="similar_products")
def _similar_products() -> None: ...


ASSETS = [*INGEST, _similar_products, graph_defs.product_graph, image_defs.similar_graph]
CHECKS = [image_defs.similar_matches_table]
NO_STATE = image_tables.state_table(np.array([], dtype=object), np.array([], dtype=object))


def _materialize(root, instance, selection, config=None, raise_on_error=True):
    return dg.materialize(
        [*ASSETS, *CHECKS],
        selection=selection,
        instance=instance,
        run_config={"ops": {"similar_graph": {"config": config}}} if config else None,
        resources={"data_root": DataRootResource(data_root=str(root)), "graph_store": EmbeddedGraphStoreResource()},
        raise_on_error=raise_on_error,
    )


def _metadata(result, key: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.materialization.asset_key.path == [key]]
    return {k: v.value for k, v in event.materialization.metadata.items()}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A data root with the fixture ingest tables, a built graph, similar.parquet and two image folders."""
    root = tmp_path_factory.mktemp("data")
    layout = hand_made().write(DataLayout.from_env(root))
    codes = sorted(hand_made().articles["article_id"].to_pylist())
    table = similar_table(codes, 3, seed=11, unknown=UNKNOWN)
    image_tables.write_similar_dir(layout.similar_dir, table,
                                   NO_STATE)
    layout.embeddings_dir.mkdir(parents=True, exist_ok=True)
    write_parquet(embeddings_for(codes[:3] + UNKNOWN[:1], 1),
                                      layout.embeddings_file("010"))
    write_parquet(embeddings_for(codes[3:5], 2), layout.embeddings_file("011"))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(image_defs.image_folders.name, ["010", "011"])
    assert _materialize(root, instance, ["product_graph"]).success
    return root, layout, instance, table, codes


def test_similar_graph_writes_similar_and_the_check_passes(setup):
    root, layout, instance, table, codes = setup
    result = _materialize(root, instance, ["similar_graph"])
    assert result.success
    meta = _metadata(result, "similar_graph")
    expected = sum(1 for r in table.to_pylist() if r["src"] in codes and r["dst"] in codes)
    assert meta["similar_rows"] == table.num_rows
    assert meta["relationships_written"] == expected
    assert meta["relationships_missing_rows"] == table.num_rows - expected
    assert meta["relationships_missing_products"] == 2 and meta["relationships_missing_sample"] == sorted(UNKNOWN)
    assert meta["total_seconds"] > 0 and "| similar |" in meta["seconds"] and meta["store_embeddings"] is False
    assert "embeddings_written" not in meta
    [check] = result.get_asset_check_evaluations()
    assert check.passed and check.metadata["similar_relationships"].value == expected

    again = _materialize(root, instance, ["similar_graph"])
    assert _metadata(again, "similar_graph")["relationships_written"] == expected
    with EmbeddedGraphStore(layout.graph_dir / "kuzu", read_only=True) as store:
        assert store.relationship_counts()["SIMILAR"] == expected


def test_store_embeddings_reads_every_image_folder(setup):
    root, layout, instance, _, _ = setup
    result = _materialize(root, instance, ["similar_graph"], {"store_embeddings": True})
    meta = _metadata(result, "similar_graph")
    assert (meta["embeddings_written"], meta["embeddings_missing_rows"]) == (5, 1)
    assert "| embeddings |" in meta["seconds"]
    with EmbeddedGraphStore(layout.graph_dir / "kuzu", read_only=True) as store:
        assert int(store.rows("embedding_count")[0]["embeddings"]) == 5


def test_check_fails_when_similar_parquet_changed_after_the_load(setup, tmp_path):
    root, layout, instance, table, codes = setup
    assert _materialize(root, instance, ["similar_graph"]).success
    path = layout.similar_file
    newer = table.filter(pc.not_equal(table["src"], codes[0]))  # a newer table the graph has not seen
    assert sum(1 for r in table.to_pylist() if r["src"] == codes[0] and r["dst"] in codes) > 0
    pq.write_table(newer, path)
    try:
        result = _materialize(root, instance, dg.AssetSelection.checks(image_defs.similar_matches_table),
                              raise_on_error=False)
        [check] = result.get_asset_check_evaluations()
        assert not check.passed
        assert check.metadata["similar_relationships"].value > check.metadata["expected"].value
    finally:
        pq.write_table(table, path)


def test_a_graph_rebuild_drops_similar_until_similar_graph_runs_again(tmp_path):
    layout = hand_made().write(DataLayout.from_env(tmp_path))
    codes = sorted(hand_made().articles["article_id"].to_pylist())
    image_tables.write_similar_dir(layout.similar_dir, similar_table(codes, 2, seed=3),
                                   NO_STATE)
    instance = dg.DagsterInstance.ephemeral()
    assert _materialize(tmp_path, instance, ["product_graph", "similar_graph"]).success
    assert _materialize(tmp_path, instance, ["product_graph"]).success
    result = _materialize(tmp_path, instance, dg.AssetSelection.checks(image_defs.similar_matches_table),
                          raise_on_error=False)
    assert not result.success  # the check cannot run: no SIMILAR in the rebuilt graph
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert "IncompleteGraph" in str(failure.event_specific_data.error) and "similar_graph" in str(
        failure.event_specific_data.error)


def test_definitions_expose_similar_graph():
    from hm_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("similar_graph"))
    assert node.group_name == "images"  # the image stage's last step: SIMILAR in the graph
    assert {k.to_user_string() for k in node.parent_keys} == {"product_graph", "similar_products"}
    assert dg.AssetCheckKey(dg.AssetKey("similar_graph"), "similar_matches_table") in graph.asset_check_keys
