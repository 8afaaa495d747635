"""Dagster wiring of the graph: the graph-store resource, `product_graph`, `customer_age_groups`, `graph_eda`,
`similar_graph` (SIMILAR relationships and optional embeddings from the image stage), checks.

The backend is one setting: `HM_GRAPH_BACKEND=embedded` (default, no server; `HM_GRAPH_ENGINE` = kuzu|ladybug) or
`HM_GRAPH_BACKEND=neo4j` with NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE in the environment (without
NEO4J_URI: the data root's local server, `hm-pipeline neo4j start`).
"""

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import Field

from hm_pipeline.defs import images
from hm_pipeline.defs.metadata import OWNERS
from hm_pipeline.defs.resources import DataRootResource
from hm_pipeline.graph import eda, neo4j_server
from hm_pipeline.graph.age_groups import age_group_tables
from hm_pipeline.graph.embedded import DEFAULT_BUFFER_POOL_BYTES, DEFAULT_ENGINE, EmbeddedGraphStore
from hm_pipeline.graph.model import CUSTOMER
from hm_pipeline.graph.neo4j_store import DEFAULT_BATCH_SIZE, Neo4jGraphStore
from hm_pipeline.graph.similar import LoadReport, similar_rows
from hm_pipeline.graph.store import AGE_GROUPS_PART, GRAPH_PART, SIMILAR_PART, GraphStore
from hm_pipeline.graph.tables import graph_tables_from_layout
from hm_pipeline.images import tables as image_tables
from hm_pipeline.layout import DataLayout
from hm_pipeline.markdown import markdown_table

GROUP = "graph"
#: The embedded store is single-writer: steps that write the graph share this pool (limit 1 in dagster.yaml).
GRAPH_WRITER_POOL = "graph_writer"
KINDS = {"cypher", "kuzu", "neo4j"}
#: SIMILAR edges per product written by GDS kNN (the seed's topK).
GDS_KNN_TOP_K = 10


class GraphStoreResource(dg.ConfigurableResource):
    """Where the graph lives: `embedded` (a database folder under the data root) or `neo4j` (a server: `neo4j_uri`,
    or when that is empty the data root's local server started by `hm-pipeline neo4j start`)."""

    backend: Literal["embedded", "neo4j"] = "embedded"
    embedded_engine: Literal["kuzu", "ladybug"] = DEFAULT_ENGINE
    buffer_pool_bytes: int = DEFAULT_BUFFER_POOL_BYTES
    neo4j_uri: str = ""
    neo4j_user: str = "neo4j"
    neo4j_password: str = Field(default="", repr=False)
    neo4j_database: str = "neo4j"
    batch_size: int = DEFAULT_BATCH_SIZE
    max_retries: int = 5

    def open(self, layout: DataLayout, read_only: bool = False) -> GraphStore:
        """A store for this configuration; use it as a context manager (it closes the database or driver)."""
        if self.backend == "embedded":
            return EmbeddedGraphStore(
                layout.graph_dir / self.embedded_engine,
                engine=self.embedded_engine,
                read_only=read_only,
                buffer_pool_bytes=self.buffer_pool_bytes,
            )
        uri, user, password = self.neo4j_uri, self.neo4j_user, self.neo4j_password
        if not uri:  # the data root's own server (`hm-pipeline neo4j start`)
            local = neo4j_server.connection(layout)
            uri, user, password = local.uri, neo4j_server.USER, local.password
        return Neo4jGraphStore.connect(
            uri,
            user,
            password,
            database=self.neo4j_database,
            batch_size=self.batch_size,
            max_retries=self.max_retries,
        )


def graph_store_from_env(env: Mapping[str, str] | None = None) -> GraphStoreResource:
    """The resource the deployment uses: backend from HM_GRAPH_BACKEND, Neo4j credentials as Dagster `EnvVar`s
    (resolved at run time, shown by name only in the UI)."""
    env = os.environ if env is None else env
    backend = env.get("HM_GRAPH_BACKEND", "embedded")
    engine = env.get("HM_GRAPH_ENGINE", DEFAULT_ENGINE)
    if backend == "neo4j":
        return GraphStoreResource(
            backend="neo4j",
            neo4j_uri=dg.EnvVar("NEO4J_URI") if "NEO4J_URI" in env else "",
            neo4j_user=dg.EnvVar("NEO4J_USER") if "NEO4J_USER" in env else neo4j_server.USER,
            neo4j_password=dg.EnvVar("NEO4J_PASSWORD") if "NEO4J_PASSWORD" in env else "",
            neo4j_database=dg.EnvVar("NEO4J_DATABASE") if "NEO4J_DATABASE" in env else "neo4j",
        )
    if backend != "embedded":
        raise ValueError(f"HM_GRAPH_BACKEND must be 'embedded' or 'neo4j', got {backend!r}")
    return GraphStoreResource(backend="embedded", embedded_engine=engine)


def _counts_md(counts: Mapping[str, int], key: str) -> dg.MetadataValue:
    return dg.MetadataValue.md(markdown_table([{key: k, "count": v} for k, v in sorted(counts.items())]))


def _graph_metadata(store: GraphStore) -> "dict[str, dg.RawMetadataValue]":
    nodes, rels = store.node_counts(), store.relationship_counts()
    return {
        "nodes": _counts_md(nodes, "label"),
        "relationships": _counts_md(rels, "type"),
        "node_count": sum(nodes.values()),
        "relationship_count": sum(rels.values()),
        **{f"nodes/{label}": count for label, count in sorted(nodes.items())},
        **{f"relationships/{rtype}": count for rtype, count in sorted(rels.items())},
    }


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=["articles", "customers", "transactions"],
    kinds=KINDS,
    pool=GRAPH_WRITER_POOL,
    description="Products with their taxonomy, customers and every purchase, loaded into the graph store "
    "(a full rebuild; the embedded database is swapped in only once complete).",
)
def product_graph(data_root: DataRootResource, graph_store: GraphStoreResource) -> dg.MaterializeResult:
    layout = data_root.layout()
    started = time.perf_counter()
    tables = graph_tables_from_layout(layout)
    prepared = time.perf_counter()
    with graph_store.open(layout) as store:
        store.rebuild(tables)
        loaded = time.perf_counter()
        metadata = _graph_metadata(store)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": metadata.get("relationships/PURCHASED", 0),  # one per transaction row
            **metadata,
            "backend": graph_store.backend if graph_store.backend == "neo4j" else graph_store.embedded_engine,
            "orphan_transactions": tables.orphan_transactions,
            "prepare_seconds": round(prepared - started, 3),
            "load_seconds": round(loaded - prepared, 3),
        }
    )


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=[product_graph],
    kinds=KINDS,
    pool=GRAPH_WRITER_POOL,
    description="AgeGroup nodes (16-25, 26-35, 36-45, 46-55, 56-65, 66+, unknown) and one IS_AGE_GROUP edge per "
    "customer.",
)
def customer_age_groups(data_root: DataRootResource, graph_store: GraphStoreResource) -> dg.MaterializeResult:
    layout = data_root.layout()
    started = time.perf_counter()
    with graph_store.open(layout) as store:
        store.ensure_complete(GRAPH_PART)
        groups = age_group_tables(store.run("customer_ages"))
        store.replace_age_groups(groups)
        loaded = time.perf_counter()
        per_group = eda.customers_per_age_group(store)
        metadata = _graph_metadata(store)
    return dg.MaterializeResult(
        metadata={
            "customers_per_group": dg.MetadataValue.md(
                markdown_table([{"age_group": k, "customers": v} for k, v in per_group.items()])
            ),
            "dagster/row_count": sum(per_group.values()),  # customers placed in an age group
            **{f"customers/{name}": count for name, count in per_group.items()},
            "load_seconds": round(loaded - started, 3),
            "node_count": metadata["node_count"],
            "relationship_count": metadata["relationship_count"],
            "relationships": metadata["relationships"],
        }
    )


def _chart(rows: list[dict], label: str, value: str, title: str) -> str:
    png = eda.bar_chart_png([str(r[label]) for r in rows], [float(r[value]) for r in rows], title, value)
    return eda.png_markdown(png, title)


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=[customer_age_groups],
    kinds=KINDS,
    description="The seed's EDA computed with Cypher on the graph: counts per label, purchases per customer and "
    "product, top product types and garment groups, seasonality, purchases by age group (tables and plots).",
)
def graph_eda(data_root: DataRootResource, graph_store: GraphStoreResource) -> dg.MaterializeResult:
    started = time.perf_counter()
    with graph_store.open(data_root.layout(), read_only=True) as store:
        store.ensure_complete(GRAPH_PART)
        store.ensure_complete(AGE_GROUPS_PART)
        graph = _graph_metadata(store)
        stats = eda.purchase_stats(store)
        types = eda.top_product_types(store)
        garments = eda.top_garment_groups(store)
        months = eda.purchases_by_month(store)
        ages = eda.purchases_by_age_group(store)
    stats_rows = [{"label": f"{k.title()} purchases", "entities": s.entities, "average": s.mean, "std_dev": s.sd}
                  for k, s in stats.items()]
    return dg.MaterializeResult(
        metadata={
            "nodes": graph["nodes"],
            "relationships": graph["relationships"],
            "node_count": graph["node_count"],
            "relationship_count": graph["relationship_count"],
            "purchase_stats": dg.MetadataValue.md(markdown_table(stats_rows)),
            "purchases_per_customer_mean": stats["customer"].mean,
            "purchases_per_customer_sd": stats["customer"].sd,
            "purchases_per_product_mean": stats["product"].mean,
            "purchases_per_product_sd": stats["product"].sd,
            "top_product_types": dg.MetadataValue.md(
                markdown_table(types) + "\n\n" + _chart(types, "product_type", "purchases", "Top product types")
            ),
            "top_garment_groups": dg.MetadataValue.md(
                markdown_table(garments) + "\n\n"
                + _chart(garments, "garment_group", "purchases", "Top garment groups")
            ),
            "purchases_by_month": dg.MetadataValue.md(
                _chart(months, "month", "purchases", "Purchases by month") + "\n\n" + markdown_table(months)
            ),
            "purchases_by_age_group": dg.MetadataValue.md(
                markdown_table(ages) + "\n\n" + _chart(ages, "age_group", "purchases", "Purchases by age group")
            ),
            "query_seconds": round(time.perf_counter() - started, 3),
        }
    )


def _expected_purchases(layout: DataLayout) -> tuple[int, int]:
    """(transactions whose customer and article are known, all transactions) from the ingest Parquet."""
    ids = pq.read_table(layout.ingest_table("transactions"), columns=["customer_idx", "article_idx"])
    known = pc.and_(pc.is_valid(ids["customer_idx"]), pc.is_valid(ids["article_idx"]))
    return int(pc.sum(known).as_py() or 0), ids.num_rows


@dg.asset_check(asset=product_graph, blocking=True,
                description="Every transaction with a known customer and article is its own PURCHASED edge.")
def purchases_match_transactions(data_root: DataRootResource, graph_store: GraphStoreResource) -> dg.AssetCheckResult:
    layout = data_root.layout()
    expected, rows = _expected_purchases(layout)
    with graph_store.open(layout, read_only=True) as store:
        actual = int(store.rows("purchase_count")[0]["purchases"])
    return dg.AssetCheckResult(
        passed=actual == expected,
        metadata={"purchased_edges": actual, "expected": expected, "transactions": rows, "orphans": rows - expected},
    )


@dg.asset_check(asset=customer_age_groups, blocking=True,
                description="Every Customer node has exactly one IS_AGE_GROUP edge.")
def every_customer_in_one_age_group(data_root: DataRootResource,
                                    graph_store: GraphStoreResource) -> dg.AssetCheckResult:
    with graph_store.open(data_root.layout(), read_only=True) as store:
        customers = store.node_counts().get(CUSTOMER.label, 0)
        row = store.rows("age_group_membership")[0]
    with_group, in_one = int(row["customers_with_group"] or 0), int(row["in_one_group"] or 0)
    return dg.AssetCheckResult(
        passed=customers == with_group == in_one,
        metadata={"customers": customers, "in_exactly_one_group": in_one,
                  "in_no_group": customers - with_group, "in_several_groups": with_group - in_one},
    )


def similar_file(layout: DataLayout) -> Path:
    """similar.parquet written by `similar_products`."""
    return images.similar_dir(layout) / image_tables.SIMILAR_FILE


def _read_similar(layout: DataLayout) -> pa.Table:
    path = similar_file(layout)
    if not path.exists():
        raise dg.Failure(f"{path} does not exist: materialize the similar_products asset first")
    return pq.read_table(path)


def _read_embeddings(context: dg.AssetExecutionContext, layout: DataLayout) -> pa.Table:
    """Every image folder's embeddings (the partitions `similar_products` reads), one table."""
    folders = sorted(context.instance.get_dynamic_partitions(images.image_folders.name))
    files = [images.embeddings_file(layout, f) for f in folders]
    absent = [f for f, path in zip(folders, files) if not path.exists()]
    if absent:
        context.log.warning(f"image folders without embeddings yet (left out of the graph): {absent}")
    ids, x = image_tables.read_embeddings([path for path in files if path.exists()])
    return image_tables.embeddings_table(ids.tolist(), x)


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
        description="exact: the exact top-10 of similar.parquet (cosine, from the image stage). gds_knn: the seed's "
        "way, Neo4j only: the embeddings are stored on the Products and GDS kNN (topK 10, cosine, one thread, "
        "fixed seed) writes SIMILAR; its score is GDS's (1 + cosine) / 2. Approximate: see bench/RESULTS.md.",
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
    deps=[product_graph, images.similar_products],
    kinds=KINDS,
    pool=GRAPH_WRITER_POOL,
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
    started = time.perf_counter()
    similar = _read_similar(layout)
    metadata: dict[str, dg.RawMetadataValue] = {"similar_rows": similar.num_rows}
    if config.similar_method == "gds_knn" and graph_store.backend != "neo4j":
        raise ValueError("similar_method 'gds_knn' needs the Neo4j backend (HM_GRAPH_BACKEND=neo4j); "
                         "the embedded store has no GDS")
    with graph_store.open(layout) as store:
        store.ensure_complete(GRAPH_PART)
        if config.similar_method == "gds_knn" or config.store_embeddings:
            loading = time.perf_counter()
            metadata.update(_report_metadata("embeddings", store.replace_embeddings(_read_embeddings(context,
                                                                                                      layout))))
            metadata["embeddings_seconds"] = round(time.perf_counter() - loading, 3)
        if config.similar_method == "gds_knn":
            knn = time.perf_counter()
            stats = store.similar_by_gds_knn(top_k=GDS_KNN_TOP_K)
            metadata["gds_knn_seconds"] = round(time.perf_counter() - knn, 3)
            metadata["gds_knn"] = dg.MetadataValue.json(stats)
            metadata["dagster/row_count"] = int(stats["relationshipsWritten"])
        else:
            report = store.replace_similar(similar)
            metadata["similar_seconds"] = round(time.perf_counter() - started, 3)
            metadata.update(_report_metadata("relationships", report))
            metadata["dagster/row_count"] = report.written
            if report.missing_rows:
                context.log.warning(f"{report.missing_rows} SIMILAR rows name {report.missing_products} articles "
                                    f"that are not Product nodes (left out), e.g. {list(report.missing_sample)[:5]}")
    metadata["seconds"] = round(time.perf_counter() - started, 3)
    metadata["store_embeddings"] = config.store_embeddings
    metadata["similar_method"] = config.similar_method
    return dg.MaterializeResult(metadata=metadata)


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


defs = dg.Definitions(
    assets=[product_graph, customer_age_groups, graph_eda, similar_graph],
    asset_checks=[purchases_match_transactions, every_customer_in_one_age_group, similar_matches_table],
    resources={"graph_store": graph_store_from_env()},
)
