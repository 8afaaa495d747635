"""Stage 3, the images (group `images`): `image_embeddings` (ResNet50V2, one partition per image folder),
`similar_products` (the exact top-k SIMILAR table), `similar_graph` (SIMILAR written into the graph), and the
checks that guard them. The folder sensor that launches the embeddings lives in `defs/automation.py`.
"""

import os
from typing import Literal

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import Field

from hm_pipeline.atomic import write_parquet
from hm_pipeline.defs.metadata import GRAPH_KIND, OWNERS, timed
from hm_pipeline.defs.resources import DataRootResource, GraphStoreResource, default_weights
from hm_pipeline.graph.neo4j_store import Neo4jGraphStore
from hm_pipeline.graph.similar import LoadReport, similar_rows
from hm_pipeline.graph.store import GRAPH_PART, SIMILAR_PART
from hm_pipeline.images import knn, similarity_stats, tables
from hm_pipeline.images.embed import DEFAULT_PRECISION, embed_images, load_model
from hm_pipeline.images.scan import FOLDER_RE, Skipped, folder_fingerprint, scan_folder, scan_tree
from hm_pipeline.layout import DataLayout
from hm_pipeline.markdown import markdown_table

GROUP = "images"
image_folders = dg.DynamicPartitionsDefinition(name="image_folders")

MAX_SKIPPED_ROWS = 200
SIMILAR_POOL = "hm_similar_products"  # one similar_products at a time: the last run then sees every folder
#: The embedded store is single-writer: steps that write the graph share this pool (limit 1 in dagster.yaml).
GRAPH_WRITER_POOL = "graph_writer"
#: SIMILAR edges per product written by GDS kNN (the original notebook's topK).
GDS_KNN_TOP_K = 10


FINGERPRINT_KEY = b"hm_pipeline.folder_fingerprint"  # Parquet footer key: the folder contents that were embedded


def embedded_fingerprint(layout: DataLayout, folder: str) -> str | None:
    """The fingerprint of the folder contents `embeddings/<folder>.parquet` was computed from (None if absent)."""
    try:
        metadata = pq.read_schema(layout.embeddings_file(folder)).metadata or {}
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


class ImageEmbeddingConfig(dg.Config):
    weights: str = Field(
        default_weights(),
        description="imagenet (Keras cache) | random (seeded, offline demos/tests) | imagenet-or-random (offline "
        "demo: falls back to random with a loud warning). Default: $HM_IMAGE_WEIGHTS, else imagenet.",
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
    group_name=GROUP,
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
                  layout.embeddings_file(folder))
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
        "path": dg.MetadataValue.path(str(layout.embeddings_file(folder))),
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


@dg.asset(group_name=GROUP, deps=[image_embeddings, "articles"], kinds={"numpy", "parquet"}, pool=SIMILAR_POOL,
          owners=OWNERS)
def similar_products(
    context: dg.AssetExecutionContext, config: SimilarProductsConfig, data_root: DataRootResource
) -> dg.MaterializeResult:
    """Exact top-k cosine neighbours over every image embedding (the SIMILAR relationships), updated incrementally.

    Only new/changed embeddings are compared with all; the result equals a full rebuild (see `knn.topk_update`).
    """
    seconds = timed()
    layout = data_root.layout()
    partitions = sorted(context.instance.get_dynamic_partitions(image_folders.name))
    invalid = [p for p in partitions if not FOLDER_RE.match(p)]
    if invalid:
        context.log.warning(f"image_folders partitions that are not folder names (left out): {invalid}")
    partitions = [p for p in partitions if FOLDER_RE.match(p)]
    files = [layout.embeddings_file(p) for p in partitions]
    missing = [p for p, f in zip(partitions, files) if not f.exists()]
    if missing:
        context.log.warning(f"image folders without embeddings yet (left out): {missing}")
    with seconds("read embeddings"):
        ids, x = tables.read_embeddings([f for f in files if f.exists()])
        hashes = knn.row_hashes(x)
        previous = None if config.full_rebuild else tables.read_similar_dir(layout.similar_dir)
    if previous is not None and _list_length(previous[0]) != min(config.k, previous[1].num_rows - 1):
        previous = None  # computed with another k: the old lists cannot be merged
    with seconds("nearest neighbours"):
        result, stats = _topk(x, ids, hashes, previous, config)
    with seconds("write"):
        similar = tables.similar_table(ids, result.src, result.dst, result.score, result.rank)
        tables.write_similar_dir(layout.similar_dir, similar, tables.state_table(ids, hashes))
    tree = scan_tree(layout.images_dir)
    if tree.skipped:
        context.log.warning(f"{len(tree.skipped)} entries of {layout.images_dir} are not image folders (left out): "
                            + "; ".join(f"{s.name}: {s.reason}" for s in tree.skipped[:5]))
    scores = similarity_stats.score_quantiles(result.score)
    metadata: dict[str, dg.RawMetadataValue] = {
        "dagster/row_count": similar.num_rows,
        "products": len(ids),
        "relationships": similar.num_rows,
        "neighbours_per_product": _list_length(similar),
        "mode": stats.mode,
        "added": stats.added,
        "changed": stats.changed,
        "removed": stats.removed,
        "lists_recomputed": stats.lists_recomputed,
        "lists_merged": stats.lists_merged,
        "image_folders_used": len(partitions) - len(missing),
        "image_folders_without_embeddings": dg.MetadataValue.json(missing),
        "image_root_entries_skipped": len(tree.skipped),
        "image_root_skipped": dg.MetadataValue.md(_skipped_markdown(tree.skipped, "entry of images/")),
        "cosine_similarity": dg.MetadataValue.md(markdown_table(
            [{"quantile": q, "cosine similarity": round(v, 3)} for q, v in scores.items()])),
        "path": dg.MetadataValue.path(str(layout.similar_file)),
        **_group_shares(layout, ids, result.src, result.dst),
        **seconds.metadata(),
    }
    return dg.MaterializeResult(metadata=metadata)


def _topk(x: np.ndarray, ids: np.ndarray, hashes: np.ndarray, previous: tuple[pa.Table, pa.Table] | None,
          config: SimilarProductsConfig) -> tuple[knn.Neighbours, knn.UpdateStats]:
    """The full top-k, or the previous one updated for the added / changed / removed embeddings."""
    if previous is None:
        return knn.topk_full(x, config.k, config.block_size), knn.UpdateStats("full", len(ids), 0, 0, len(ids), 0)
    prev_similar, prev_state = previous
    added, changed, removed = knn.diff_rows(
        np.asarray(prev_state.column("article_id").to_pylist(), dtype=object),
        np.asarray(prev_state.column("embedding_hash").to_pylist(), dtype=object),
        ids,
        hashes,
    )
    return knn.topk_update(
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


def _list_length(similar: pa.Table) -> int:
    """Longest list (max rank) in a SIMILAR table; 0 when empty."""
    return int(pc.max(similar.column("rank")).as_py() or 0) if similar.num_rows else 0


def _latest_skipped(context: dg.AssetCheckExecutionContext, folder: str) -> int | None:
    """`images_skipped` of the latest materialization of one `image_embeddings` partition (None: never)."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=image_embeddings.key, asset_partitions=[folder]), limit=1).records
    if not records:
        return None
    value = records[0].asset_materialization.metadata.get("images_skipped")
    return None if value is None else int(value.value)


@dg.asset_check(asset=similar_products, description="Every file of every image folder is embedded or listed as "
                "skipped (with its reason) by its `image_embeddings` partition: none is lost on the way to SIMILAR.")
def every_photo_embedded_or_skipped(context: dg.AssetCheckExecutionContext,
                                    data_root: DataRootResource) -> dg.AssetCheckResult:
    layout = data_root.layout()
    rows = []
    for folder in sorted(f for f in context.instance.get_dynamic_partitions(image_folders.name) if FOLDER_RE.match(f)):
        path, folder_path = layout.embeddings_file(folder), layout.images_dir / folder
        files = len(os.listdir(folder_path)) if folder_path.is_dir() else 0
        embedded = pq.read_metadata(path).num_rows if path.exists() else 0
        skipped = _latest_skipped(context, folder)
        current = folder_path.is_dir() and embedded_fingerprint(layout, folder) == folder_fingerprint(folder_path)
        rows.append({"folder": folder, "files": files, "embedded": embedded, "skipped": skipped,
                     "unaccounted": files - embedded - (skipped or 0), "embeddings of the current files": current})
    bad = [r for r in rows if r["unaccounted"] or r["skipped"] is None or not r["embeddings of the current files"]]
    return dg.AssetCheckResult(passed=not bad, metadata={
        "folders": len(rows), "folders_not_accounted_for": len(bad),
        "photos": sum(r["files"] for r in rows), "embedded": sum(r["embedded"] for r in rows),
        "per_folder": dg.MetadataValue.md(markdown_table(bad or rows[:20]) if rows else "no image folders"),
    })


@dg.asset_check(asset=similar_products, description="SIMILAR lists k neighbours (ranks 1..k, never itself) for "
                "every article with an embedding (k: the list length, fewer only when fewer articles exist).")
def similar_has_k_neighbours_per_article(data_root: DataRootResource) -> dg.AssetCheckResult:
    layout = data_root.layout()
    previous = tables.read_similar_dir(layout.similar_dir)
    if previous is None:
        return dg.AssetCheckResult(passed=False, metadata={"problem": f"{layout.similar_dir} has no SIMILAR table"})
    similar, state = previous
    k = _list_length(similar)
    per_src = similar.group_by("src").aggregate([("rank", "count"), ("rank", "count_distinct")])
    articles = state.num_rows
    short = pc.sum(pc.not_equal(per_src["rank_count"], k)).as_py() or 0
    repeated = pc.sum(pc.not_equal(per_src["rank_count"], per_src["rank_count_distinct"])).as_py() or 0
    self_pairs = pc.sum(pc.equal(similar["src"], similar["dst"])).as_py() or 0
    without = articles - per_src.num_rows
    return dg.AssetCheckResult(
        passed=bool(k <= max(articles - 1, 0) and (k or articles < 2) and not (short or repeated or self_pairs
                                                                             or without)),
        metadata={"articles_with_embeddings": articles, "k": k, "articles_without_list": without,
                  "lists_not_of_length_k": short, "lists_with_a_repeated_rank": repeated, "self_pairs": self_pairs})


def _read_similar(layout: DataLayout) -> pa.Table:
    if not layout.similar_file.exists():
        raise dg.Failure(f"{layout.similar_file} does not exist: materialize the similar_products asset first")
    return pq.read_table(layout.similar_file)


def _read_embeddings(context: dg.AssetExecutionContext, layout: DataLayout) -> pa.Table:
    """Every image folder's embeddings (the partitions `similar_products` reads), one table."""
    folders = sorted(context.instance.get_dynamic_partitions(image_folders.name))
    files = [layout.embeddings_file(f) for f in folders]
    absent = [f for f, path in zip(folders, files) if not path.exists()]
    if absent:
        context.log.warning(f"image folders without embeddings yet (left out of the graph): {absent}")
    ids, x = tables.read_embeddings([path for path in files if path.exists()])
    return tables.embeddings_table(ids.tolist(), x)


def _report_metadata(prefix: str, report: LoadReport) -> "dict[str, dg.RawMetadataValue]":
    return {
        f"{prefix}_written": report.written,
        f"{prefix}_missing_rows": report.missing_rows,
        f"{prefix}_missing_products": report.missing_products,
        f"{prefix}_missing_sample": dg.MetadataValue.json(list(report.missing_sample)),
    }


class SimilarGraphConfig(dg.Config):
    similar_method: Literal["exact", "gds_knn"] = Field(
        "exact",
        description="exact: the exact top-10 of similar.parquet (cosine, from the image stage). gds_knn: the "
        "original notebook's way, Neo4j only: the embeddings are stored on the Products and GDS kNN (topK 10, "
        "cosine, one thread, fixed seed) writes SIMILAR; its score is GDS's (1 + cosine) / 2. Approximate: see "
        "bench/RESULTS.md.",
    )
    store_embeddings: bool = Field(
        False,
        description="Also store every image embedding in the graph (embedded engine: node table ProductEmbedding "
        "keyed by code; Neo4j: Product.embedding). Off by default: nothing queries them in the graph yet and the "
        "Parquet files under embeddings/ stay the source.",
    )


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=["product_graph", similar_products],
    kinds={"cypher", GRAPH_KIND},
    pool=GRAPH_WRITER_POOL,
    automation_condition=dg.AutomationCondition.eager(),  # follows new photos (sensor `refresh_after_new_input`)
    description="The SIMILAR relationships of similar.parquet written into the graph, replacing the previous set "
    "(rows naming an article that is not a Product are counted, not loaded); optionally the image embeddings.",
)
def similar_graph(
    context: dg.AssetExecutionContext,
    config: SimilarGraphConfig,
    data_root: DataRootResource,
    graph_store: GraphStoreResource,
) -> dg.MaterializeResult:
    layout = data_root.layout()
    seconds = timed()
    similar = _read_similar(layout)
    metadata: dict[str, dg.RawMetadataValue] = {"similar_rows": similar.num_rows}
    if config.similar_method == "gds_knn" and graph_store.backend != "neo4j":
        raise ValueError("similar_method 'gds_knn' needs the Neo4j backend (HM_GRAPH_BACKEND=neo4j); "
                         "the embedded store has no GDS")
    with graph_store.open(layout) as store:
        store.ensure_complete(GRAPH_PART)
        if config.similar_method == "gds_knn" or config.store_embeddings:
            with seconds("embeddings"):
                report = store.replace_embeddings(_read_embeddings(context, layout))
            metadata.update(_report_metadata("embeddings", report))
        if config.similar_method == "gds_knn":
            with seconds("gds knn"):
                stats = store.similar_by_gds_knn(top_k=GDS_KNN_TOP_K)
            metadata["gds_knn"] = dg.MetadataValue.json(stats)
            metadata["dagster/row_count"] = int(stats["relationshipsWritten"])
        else:
            with seconds("similar"):
                report = store.replace_similar(similar)
            metadata.update(_report_metadata("relationships", report))
            metadata["dagster/row_count"] = report.written
            if report.missing_rows:
                context.log.warning(f"{report.missing_rows} SIMILAR rows name {report.missing_products} articles "
                                    f"that are not Product nodes (left out), e.g. {list(report.missing_sample)[:5]}")
    metadata["store_embeddings"] = config.store_embeddings
    metadata["similar_method"] = config.similar_method
    return dg.MaterializeResult(metadata={**metadata, **seconds.metadata()})


@dg.asset_check(asset=similar_graph, blocking=False,
                description="The graph holds one SIMILAR relationship per row of similar.parquet whose two articles "
                "are Product nodes (gds_knn: topK per product with an embedding).")
def similar_matches_table(data_root: DataRootResource, graph_store: GraphStoreResource) -> dg.AssetCheckResult:
    layout = data_root.layout()
    similar = _read_similar(layout)
    with graph_store.open(layout, read_only=True) as store:
        store.ensure_complete(SIMILAR_PART)
        actual = int(store.rows("similar_count")[0]["similar"])
        if isinstance(store, Neo4jGraphStore) and store.similar_method() == "gds_knn":
            embedded = int(store.rows("embedding_count")[0]["embeddings"])
            expected = embedded * min(GDS_KNN_TOP_K, max(embedded - 1, 0))
            return dg.AssetCheckResult(passed=actual == expected, metadata={
                "similar_relationships": actual, "expected": expected, "method": "gds_knn",
                "products_with_embeddings": embedded})
        _, report = similar_rows(similar, store.product_codes())
    return dg.AssetCheckResult(
        passed=actual == report.written,
        metadata={"similar_relationships": actual, "expected": report.written, "table_rows": similar.num_rows,
                  "missing_rows": report.missing_rows, "method": "exact"},
    )
