"""Dagster wiring of the image stage: per-folder embeddings, the folder sensor and the SIMILAR top-k table."""


import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset  # no public form yet
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import Field

from hm_pipeline.defs.metadata import OWNERS
from hm_pipeline.defs.resources import DataRootResource
from hm_pipeline.images import knn, similarity_stats, tables
from hm_pipeline.images.embed import (DEFAULT_PRECISION, WEIGHTS_FILE, WEIGHTS_MODES, cached_imagenet_weights,
                                      embed_images, load_model)
from hm_pipeline.images.scan import (FOLDER_RE, Skipped, fingerprint_tree, folder_fingerprint, plan_folder_changes,
                                     scan_folder, scan_tree)
from hm_pipeline.atomic import write_parquet
from hm_pipeline.layout import DataLayout

image_folders = dg.DynamicPartitionsDefinition(name="image_folders")

MAX_SKIPPED_ROWS = 200
SIMILAR_POOL = "hm_similar_products"  # one similar_products at a time: the last run then sees every folder


def similar_dir(layout: DataLayout) -> Path:
    """Folder holding similar.parquet and the embedding state it was computed from."""
    return layout.embeddings_dir.parent / "similar"


def embeddings_file(layout: DataLayout, folder: str) -> Path:
    """`embeddings/<folder>.parquet`; `folder` must be an image folder name (0XX), never a path."""
    if not FOLDER_RE.match(folder):
        raise ValueError(f"image folder partition {folder!r} is not a folder name like '010' (0 and two digits)")
    return layout.embeddings_dir / f"{folder}.parquet"


FINGERPRINT_KEY = b"hm_pipeline.folder_fingerprint"  # Parquet footer key: the folder contents that were embedded


def embedded_fingerprint(layout: DataLayout, folder: str) -> str | None:
    """The fingerprint of the folder contents `embeddings/<folder>.parquet` was computed from (None if absent)."""
    try:
        metadata = pq.read_schema(embeddings_file(layout, folder)).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return None
    value = metadata.get(FINGERPRINT_KEY)
    return value.decode() if value else None


def _known_article_ids(layout: DataLayout) -> set[str]:
    path = layout.ingest_table("articles")
    if not path.exists():
        raise dg.Failure(f"{path} does not exist: materialize the `articles` asset before `image_embeddings`")
    return set(pq.read_table(path, columns=["article_id"]).column("article_id").to_pylist())


def _skipped_markdown(skipped: list[Skipped], what: str = "file") -> str:
    if not skipped:
        return "none"
    rows = [f"| {s.name} | {s.reason} |" for s in skipped[:MAX_SKIPPED_ROWS]]
    more = [f"| … | {len(skipped) - MAX_SKIPPED_ROWS} more |"] if len(skipped) > MAX_SKIPPED_ROWS else []
    return "\n".join([f"| {what} | reason |", "|---|---|", *rows, *more])


WEIGHTS_ENV = "HM_IMAGE_WEIGHTS"


def default_weights(env: Mapping[str, str] | None = None) -> str:
    """The deployment's default `weights`: `$HM_IMAGE_WEIGHTS` if set, else "imagenet".

    Sensor runs and UI backfills take config defaults, so an offline deployment sets HM_IMAGE_WEIGHTS (e.g.
    `imagenet-or-random`) instead of editing every launch. A value outside WEIGHTS_MODES fails the code load.
    """
    value = (os.environ if env is None else env).get(WEIGHTS_ENV, "").strip() or "imagenet"
    if value not in WEIGHTS_MODES:
        raise ValueError(f"{WEIGHTS_ENV}={value!r} is not one of {', '.join(WEIGHTS_MODES)}")
    return value


class ImageEmbeddingConfig(dg.Config):
    weights: str = Field(
        default_weights(),
        description="imagenet (Keras cache) | random (seeded, offline demos/tests) | imagenet-or-random (offline "
        f"demo: falls back to random with a loud warning). Default: ${WEIGHTS_ENV}, else imagenet.",
    )
    batch_size: int = Field(32, description="images per model call (32 beat 8 on 2 CPU cores with oneDNN, "
                            "bench/bench_images.py)")
    image_size: int = Field(224, description="square input size (ResNet50V2 was trained at 224)")
    seed: int = Field(0, description="seed of the random weights")
    precision: str = Field(DEFAULT_PRECISION, description="fp32 (the Keras model) | bf16 | int8 (OpenVINO + NNCF, "
                           "CPU only, converted once per weights and size into the Keras cache); see README")
    device: str = Field("auto", description="cpu | gpu (CUDA; fails without one) | auto (the GPU when TensorFlow "
                        "sees one and the precision runs there, else the CPU)")


@dg.asset(
    owners=OWNERS,
    partitions_def=image_folders,
    group_name="images",
    deps=["articles"],
    kinds={"tensorflow", "parquet"},
)
def image_embeddings(
    context: dg.AssetExecutionContext, config: ImageEmbeddingConfig, data_root: DataRootResource
) -> dg.MaterializeResult:
    """ResNet50V2 2048-d embeddings of the photos in `images/<partition>/` (one row per usable image).

    Bad files (non-JPEG, corrupt, misnamed, misplaced, unknown article) are skipped and listed, never fatal.
    """
    layout = data_root.layout()
    folder = context.partition_key
    if not FOLDER_RE.match(folder):  # keys can be added by hand in the UI: never let one name a path
        raise dg.Failure(f"partition {folder!r} is not an image folder name like '010' (0 and two digits): "
                         "delete it from the image_folders partitions")
    folder_path = layout.images_dir / folder
    if not folder_path.is_dir():
        raise dg.Failure(f"image folder {folder_path} does not exist (partition {folder!r})")
    fingerprint = folder_fingerprint(folder_path)  # before the scan: a change during the run re-embeds later
    scan = scan_folder(folder_path, _known_article_ids(layout))
    model = load_model(config.weights, config.image_size, config.seed, None,  # type: ignore[arg-type]  # validated
                       config.precision, config.device)
    for message in model.warnings:
        context.log.warning(message)
    if model.is_random and not model.warnings:  # the same words for every folder: `hm-pipeline run` shows them once
        context.log.warning(f"RANDOM weights ({model.weights_used}), not ImageNet: embeddings are not visually "
                            "meaningful")
    result = embed_images(scan.article_ids, scan.paths, model, config.batch_size)
    table = tables.embeddings_table(result.article_ids, result.embeddings)
    write_parquet(table.replace_schema_metadata({FINGERPRINT_KEY: fingerprint.encode()}),
                  embeddings_file(layout, folder))
    skipped = scan.skipped + result.skipped
    metadata: dict[str, dg.RawMetadataValue] = {
        "dagster/row_count": len(result.article_ids),
        "images_embedded": len(result.article_ids),
        "images_skipped": len(skipped),
        "skipped": dg.MetadataValue.md(_skipped_markdown(skipped)),
        "images_per_second": round(result.images_per_second, 2),
        "weights": model.weights_used,
        "image_size": config.image_size,
        "folder_fingerprint": fingerprint,
        "precision": model.precision,
        "device": model.device,
        "path": dg.MetadataValue.path(str(embeddings_file(layout, folder))),
    }
    if model.is_random:
        metadata["WARNING"] = dg.MetadataValue.text(
            " ".join(model.warnings) or "RANDOM weights: embeddings are not visually meaningful (weights='random')"
        )
    return dg.MaterializeResult(metadata=metadata)


class SimilarProductsConfig(dg.Config):
    k: int = knn.DEFAULT_K
    block_size: int = knn.DEFAULT_BLOCK
    full_rebuild: bool = False


def _group_shares(layout: DataLayout, ids: np.ndarray, src: np.ndarray, dst: np.ndarray) -> dict[str, float]:
    path = layout.ingest_table("articles")
    if not path.exists() or len(ids) == 0:
        return {}
    articles = pq.read_table(path, columns=["article_id", "product_type_no", "colour_group_code"])
    article_ids = np.asarray(articles.column("article_id").to_pylist(), dtype=object)
    order = np.argsort(article_ids)
    pos = order[np.searchsorted(article_ids, ids, sorter=order)]
    out: dict[str, float] = {}
    for column in ("product_type_no", "colour_group_code"):
        values = articles.column(column).fill_null(-1).to_numpy()[pos]
        observed, expected = similarity_stats.same_group_share(values[src], values[dst], values)
        out[f"same_{column}_share"] = round(observed, 4)
        out[f"same_{column}_share_at_random"] = round(expected, 4)
    return out


@dg.asset(group_name="images", deps=[image_embeddings, "articles"], kinds={"numpy", "parquet"}, pool=SIMILAR_POOL,
          owners=OWNERS)
def similar_products(
    context: dg.AssetExecutionContext, config: SimilarProductsConfig, data_root: DataRootResource
) -> dg.MaterializeResult:
    """Exact top-k cosine neighbours over every image embedding (the SIMILAR relationships), updated incrementally.

    Only new/changed embeddings are compared with all; the result equals a full rebuild (see `knn.topk_update`).
    """
    start = time.perf_counter()
    layout = data_root.layout()
    partitions = sorted(context.instance.get_dynamic_partitions(image_folders.name))
    invalid = [p for p in partitions if not FOLDER_RE.match(p)]
    if invalid:
        context.log.warning(f"image_folders partitions that are not folder names (left out): {invalid}")
    partitions = [p for p in partitions if FOLDER_RE.match(p)]
    files = [embeddings_file(layout, p) for p in partitions]
    missing = [p for p, f in zip(partitions, files) if not f.exists()]
    if missing:
        context.log.warning(f"image folders without embeddings yet (left out): {missing}")
    ids, x = tables.read_embeddings([f for f in files if f.exists()])
    hashes = knn.row_hashes(x)
    previous = None if config.full_rebuild else tables.read_similar_dir(similar_dir(layout))
    if previous is not None and _list_length(previous[0]) != min(config.k, previous[1].num_rows - 1):
        previous = None  # computed with another k: the old lists cannot be merged
    if previous is None:
        result = knn.topk_full(x, config.k, config.block_size)
        stats = knn.UpdateStats("full", len(ids), 0, 0, len(ids), 0)
    else:
        prev_similar, prev_state = previous
        added, changed, removed = knn.diff_rows(
            np.asarray(prev_state.column("article_id").to_pylist(), dtype=object),
            np.asarray(prev_state.column("embedding_hash").to_pylist(), dtype=object),
            ids,
            hashes,
        )
        result, stats = knn.topk_update(
            x,
            ids,
            prev_similar.column("src").combine_chunks(),
            prev_similar.column("dst").combine_chunks(),
            prev_similar.column("score").to_numpy(),
            added,
            changed,
            removed,
            config.k,
            config.block_size,
        )
    similar = tables.similar_table(ids, result.src, result.dst, result.score, result.rank)
    tables.write_similar_dir(similar_dir(layout), similar, tables.state_table(ids, hashes))
    tree = scan_tree(layout.images_dir)
    if tree.skipped:
        context.log.warning(f"{len(tree.skipped)} entries of {layout.images_dir} are not image folders (left out): "
                            + "; ".join(f"{s.name}: {s.reason}" for s in tree.skipped[:5]))
    metadata: dict[str, dg.RawMetadataValue] = {
        "dagster/row_count": similar.num_rows,
        "products": len(ids),
        "relationships": similar.num_rows,
        "mode": stats.mode,
        "added": stats.added,
        "changed": stats.changed,
        "removed": stats.removed,
        "lists_recomputed": stats.lists_recomputed,
        "lists_merged": stats.lists_merged,
        "partitions_used": len(partitions) - len(missing),
        "partitions_missing": dg.MetadataValue.json(missing),
        "image_root_entries_skipped": len(tree.skipped),
        "image_root_skipped": dg.MetadataValue.md(_skipped_markdown(tree.skipped, "entry of images/")),
        "score": dg.MetadataValue.json(similarity_stats.score_quantiles(result.score)),
        "seconds": round(time.perf_counter() - start, 3),
        "path": dg.MetadataValue.path(str(similar_dir(layout) / tables.SIMILAR_FILE)),
        **_group_shares(layout, ids, result.src, result.dst),
    }
    return dg.MaterializeResult(metadata=metadata)


def _list_length(similar: pa.Table) -> int:
    """Longest list (max rank) in a SIMILAR table; 0 when empty."""
    return int(pc.max(similar.column("rank")).as_py() or 0) if similar.num_rows else 0


image_backfill_job = dg.define_asset_job(
    "image_backfill_job",
    selection=[image_embeddings, similar_products],
    description="Embed image folders (one partition per run) and refresh the SIMILAR table incrementally.",
)


def weights_problem(weights: str) -> str | None:
    """Why runs with `weights` would fail here (ImageNet requested but not in the Keras cache), else None."""
    if weights == "imagenet" and cached_imagenet_weights() is None:
        return (f"{WEIGHTS_ENV}=imagenet but {WEIGHTS_FILE} is not in the Keras cache ($KERAS_HOME or ~/.keras, "
                f"models/): copy it there, or set {WEIGHTS_ENV}=imagenet-or-random (offline demo) for `dagster dev`")
    return None


@dg.sensor(asset_selection=[image_embeddings, similar_products], minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING)
def image_folder_sensor(context: dg.SensorEvaluationContext, data_root: DataRootResource) -> dg.SensorResult:
    """Watch `input/images/`: a new `0XX` folder becomes a partition; the folders whose embeddings on disk are not
    of their current contents are embedded by ONE backfill (their partitions, then `similar_products`); a vanished
    folder's partition is deleted.

    Cursor: JSON {folder: fingerprint} of the folders handled (launched, or found current). A folder whose
    `embeddings/<folder>.parquet` records its current fingerprint (e.g. written by `hm-pipeline run`) launches
    nothing. When the configured weights cannot be had, nothing is launched and the skip reason says why.
    """
    layout = data_root.layout()
    if not layout.images_dir.is_dir():  # unmounted or moved: keep every partition and the cursor, request nothing
        return dg.SensorResult(skip_reason=f"image root {layout.images_dir} does not exist")
    current = fingerprint_tree(layout.images_dir)
    previous = json.loads(context.cursor) if context.cursor else {}
    changes = plan_folder_changes(current, previous, context.instance.get_dynamic_partitions(image_folders.name))
    requests: list[dg.DynamicPartitionsRequest] = []
    if changes.add:
        requests.append(image_folders.build_add_request(changes.add))
    if changes.delete:
        requests.append(image_folders.build_delete_request(changes.delete))
    stale = [f for f in changes.run if embedded_fingerprint(layout, f) != current[f]]
    handled = {f: fp for f, fp in current.items() if f not in stale}
    if not stale:
        return dg.SensorResult(dynamic_partitions_requests=requests, cursor=json.dumps(current),
                               skip_reason=f"every image folder's embeddings are current ({len(current)} folders)")
    problem = weights_problem(default_weights())
    if problem:  # record nothing for the stale folders: they are launched once the weights are there
        return dg.SensorResult(dynamic_partitions_requests=requests, cursor=json.dumps(handled),
                               skip_reason=f"{len(stale)} image folders need embeddings, none launched: {problem}")
    subset = AssetGraphSubset(
        partitions_subsets_by_asset_key={image_embeddings.key: image_folders.empty_subset().with_partition_keys(stale)},
        non_partitioned_asset_keys={similar_products.key},
    )
    backfill = dg.RunRequest.for_asset_graph_subset(subset, tags={"hm_pipeline/image_folders": ",".join(stale)})
    return dg.SensorResult(run_requests=[backfill], dynamic_partitions_requests=requests, cursor=json.dumps(current))


defs = dg.Definitions(
    assets=[image_embeddings, similar_products],
    sensors=[image_folder_sensor],
    jobs=[image_backfill_job],
)
