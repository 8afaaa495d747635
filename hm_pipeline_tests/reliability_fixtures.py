"""A whole pipeline on tiny generated data, run in-process with Dagster, for the reliability tests.

`build_input` writes the tiny Kaggle files (a fixed seed) with only a few image folders (70 one-image partitions
would make every run slow; the rest of the articles simply have no photo, as some real ones do). `run_pipeline`
materializes every asset the way `hm-pipeline run` does: ingest, each image folder as its own partition run, then
everything downstream (random image weights, 32x32 images, small ALS). `snapshot` records what a run left behind.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import dagster as dg
import pytest

from hm_pipeline.atomic import TMP_MARK
from hm_pipeline.data.synthetic.generate import generate
from hm_pipeline.defs import graph as graph_defs
from hm_pipeline.defs import images as image_defs
from hm_pipeline.defs.resources import DataRootResource, EmbeddedGraphStoreResource
from hm_pipeline.definitions import defs
from hm_pipeline.graph.embedded import EmbeddedGraphStore
from hm_pipeline.images.scan import list_folders
from hm_pipeline.layout import DataLayout

SEED = 5
IMAGE_FOLDERS_KEPT = 3
INGEST = ["articles", "customers", "transactions"]
IMAGE_CONFIG = {"ops": {"image_embeddings": {"config": {"weights": "random", "image_size": 32, "batch_size": 16}}}}
RUN_CONFIG = {"ops": {
    "interaction_matrix": {"config": {"user_min": 2, "article_min": 2}},
    "als_model": {"config": {"factors": 16, "iterations": 5}},
    "holdout_evaluation": {"config": {"confidence_options": []}},
}}
ASSETS = [*defs.assets]
CHECKS = [*defs.asset_checks]


def build_input(root: Path, seed: int = SEED) -> DataLayout:
    """Tiny Kaggle files under `root/input`, keeping the first `IMAGE_FOLDERS_KEPT` image folders."""
    layout = DataLayout(Path(root))
    generate("tiny", layout.input_dir, seed=seed, image_size=(32, 48), workers=1)
    for folder in list_folders(layout.images_dir)[IMAGE_FOLDERS_KEPT:]:
        shutil.rmtree(layout.images_dir / folder)
    return layout


def copy_input(source: DataLayout, root: Path) -> DataLayout:
    layout = DataLayout(Path(root))
    shutil.copytree(source.input_dir, layout.input_dir)
    return layout


def resources(layout: DataLayout) -> dict:
    return {"data_root": DataRootResource(data_root=str(layout.root)), "graph_store": EmbeddedGraphStoreResource()}


def downstream_assets() -> list[str]:
    """Every unpartitioned asset after ingest (what `hm-pipeline run` materializes last)."""
    keys = defs.resolve_job_def("full_refresh").asset_layer.executable_asset_keys
    return sorted(k.to_user_string() for k in keys if k.to_user_string() not in INGEST)


def materialize(layout: DataLayout, selection: list[str], instance: dg.DagsterInstance, **kwargs):
    result = dg.materialize([*ASSETS, *CHECKS], selection=selection, instance=instance, resources=resources(layout),
                            raise_on_error=False, **kwargs)
    assert result.success, f"materializing {selection} failed"
    return result


def register_folders(layout: DataLayout, instance: dg.DagsterInstance) -> list[str]:
    folders = list_folders(layout.images_dir)
    known = set(instance.get_dynamic_partitions(image_defs.image_folders.name))
    instance.add_dynamic_partitions(image_defs.image_folders.name, [f for f in folders if f not in known])
    return folders


def run_pipeline(layout: DataLayout, instance: dg.DagsterInstance | None = None) -> dict[str, dg.ExecuteInProcessResult]:
    """Materialize every asset once; returns the results of the ingest, each image partition and downstream runs."""
    instance = instance or dg.DagsterInstance.ephemeral()
    results = {"ingest": materialize(layout, INGEST, instance)}
    for folder in register_folders(layout, instance):
        results[f"image_embeddings[{folder}]"] = materialize(layout, ["image_embeddings"], instance,
                                                             partition_key=folder, run_config=IMAGE_CONFIG)
    results["downstream"] = materialize(layout, downstream_assets(), instance, run_config=RUN_CONFIG)
    return results


def output_files(layout: DataLayout) -> dict[str, Path]:
    """Every file a run wrote (relative path -> path), outside input/ and the graph database."""
    skip = {layout.input_dir, layout.graph_dir}
    return {str(p.relative_to(layout.root)): p for p in sorted(layout.root.rglob("*"))
            if p.is_file() and not any(s == p or s in p.parents for s in skip)}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(layout: DataLayout) -> dict[str, str]:
    return {name: digest(path) for name, path in output_files(layout).items()}


def graph_counts(layout: DataLayout) -> dict[str, dict[str, int]]:
    """Node counts per label, relationship counts per type and purchase count, read from the embedded graph."""
    with EmbeddedGraphStore(layout.graph_dir / "kuzu", read_only=True) as store:
        return {"nodes": store.node_counts(), "relationships": store.relationship_counts(),
                "purchases": {"PURCHASED": int(store.rows("purchase_count")[0]["purchases"])}}


def temp_leftovers(root: Path) -> list[str]:
    """Paths of write-then-rename temporaries anywhere under `root` (outside input/)."""
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob(f"{TMP_MARK}*"))


_built: dict[str, object] = {}


@pytest.fixture(scope="session")
def pipeline_runs(tmp_path_factory) -> dict:
    """Root `a` materialized twice and root `b` (a copy of a's input) once, with what each run left behind.

    Built once per session (the idempotency tests compare the snapshots, the crash tests copy root `a`)."""
    if "runs" not in _built:
        base = tmp_path_factory.mktemp("pipeline")
        a = build_input(base / "a")
        b = copy_input(a, base / "b")
        first = run_pipeline(a)
        runs = {"a": a, "b": b, "first": first, "a1": snapshot(a), "a1_graph": graph_counts(a)}
        runs["b_results"] = run_pipeline(b)
        runs["b1"], runs["b1_graph"] = snapshot(b), graph_counts(b)
        runs["second"] = run_pipeline(a)
        runs["a2"], runs["a2_graph"] = snapshot(a), graph_counts(a)
        _built["runs"] = runs
    return _built["runs"]
