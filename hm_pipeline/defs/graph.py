"""Stage 2, the graph (group `graph`): `product_graph` (products, customers, purchases), `age_groups`,
`graph_eda` (the seed's exploration, in Cypher), and the checks that guard them.

The store is the `graph_store` resource (`defs/resources.py`: embedded kuzu by default, Neo4j with
HM_GRAPH_BACKEND=neo4j).
"""

from collections.abc import Mapping

import dagster as dg
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hm_pipeline.defs.metadata import GRAPH_KIND, OWNERS, timed
from hm_pipeline.defs.resources import DataRootResource, GraphStoreResource
from hm_pipeline.graph import eda
from hm_pipeline.graph.age_groups import age_group_tables
from hm_pipeline.graph.model import CUSTOMER
from hm_pipeline.graph.store import AGE_GROUPS_PART, GRAPH_PART, GraphStore
from hm_pipeline.graph.tables import graph_tables_from_layout
from hm_pipeline.layout import DataLayout
from hm_pipeline.markdown import markdown_table

GROUP = "graph"
#: The embedded store is single-writer: steps that write the graph share this pool (limit 1 in dagster.yaml).
GRAPH_WRITER_POOL = "graph_writer"
KINDS = {"cypher", GRAPH_KIND}


def _counts_md(counts: Mapping[str, int], key: str) -> dg.MetadataValue:
    return dg.MetadataValue.md(markdown_table([{key: k, "count": v} for k, v in sorted(counts.items())]))


def _graph_metadata(store: GraphStore) -> "dict[str, dg.RawMetadataValue]":
    """The graph's size: a table of nodes per label and relationships per type, and the two totals."""
    nodes, rels = store.node_counts(), store.relationship_counts()
    return {
        "nodes": _counts_md(nodes, "label"),
        "relationships": _counts_md(rels, "type"),
        "node_count": sum(nodes.values()),
        "relationship_count": sum(rels.values()),
    }


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=["articles", "customers", "transactions"],
    automation_condition=dg.AutomationCondition.eager(),  # follows new input files
    kinds=KINDS,
    pool=GRAPH_WRITER_POOL,
    description="Products with their taxonomy, customers and every purchase, loaded into the graph store "
    "(a full rebuild; the embedded database is swapped in only once complete).",
)
def product_graph(data_root: DataRootResource, graph_store: GraphStoreResource) -> dg.MaterializeResult:
    layout = data_root.layout()
    seconds = timed()
    with seconds("prepare tables"):
        tables = graph_tables_from_layout(layout)
    with graph_store.open(layout) as store:
        with seconds("load"):
            store.rebuild(tables)
        metadata = _graph_metadata(store)
        purchases = store.relationship_counts().get("PURCHASED", 0)
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "purchases": purchases,  # one PURCHASED relationship per transaction row with known ids
            "backend": graph_store.backend,
            "orphan_transactions": tables.orphan_transactions,
            **seconds.metadata(),
        }
    )


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=[product_graph],
    automation_condition=dg.AutomationCondition.eager(),  # follows new input files
    kinds=KINDS,
    pool=GRAPH_WRITER_POOL,
    description="AgeGroup nodes (16-25, 26-35, 36-45, 46-55, 56-65, 66+, unknown) and one IS_AGE_GROUP edge per "
    "customer.",
)
def age_groups(data_root: DataRootResource, graph_store: GraphStoreResource) -> dg.MaterializeResult:
    layout = data_root.layout()
    seconds = timed()
    with graph_store.open(layout) as store:
        store.ensure_complete(GRAPH_PART)
        with seconds("load"):
            store.replace_age_groups(age_group_tables(store.run("customer_ages")))
        per_group = eda.customers_per_age_group(store)
        metadata = _graph_metadata(store)
    return dg.MaterializeResult(
        metadata={
            "customers_per_group": dg.MetadataValue.md(
                markdown_table([{"age_group": k, "customers": v} for k, v in per_group.items()])
            ),
            "customers_placed": sum(per_group.values()),
            **metadata,
            **seconds.metadata(),
        }
    )


def _chart(rows: list[dict], label: str, value: str, title: str, unit: str) -> str:
    png = eda.bar_chart_png([str(r[label]) for r in rows], [float(r[value]) for r in rows], title, unit)
    return eda.png_markdown(png, title)


def _section(title: str, body: str) -> str:
    return f"### {title}\n\n{body}"


def eda_report(stats: Mapping[str, eda.CountStats], types: list[dict], garments: list[dict], months: list[dict],
               ages: list[dict]) -> str:
    """The exploration as one markdown page: each table with its titled plot (units in the titles)."""
    stats_rows = [{"purchases per": k, "with a purchase": s.entities, "average": round(s.mean, 2),
                   "standard deviation": round(s.sd, 2)} for k, s in stats.items()]
    return "\n\n".join([
        _section("Purchases per customer and per product", markdown_table(stats_rows)),
        _section("Top product types", _chart(types, "product_type", "purchases", "Top product types (purchases)",
                                             "purchases") + "\n\n" + markdown_table(types)),
        _section("Top garment groups", _chart(garments, "garment_group", "purchases",
                                              "Top garment groups (purchases)", "purchases")
                 + "\n\n" + markdown_table(garments)),
        _section("Seasonality", _chart(months, "month", "purchases", "Purchases per month (count)", "purchases")
                 + "\n\n" + markdown_table(months)),
        _section("Age groups", _chart(ages, "age_group", "purchases", "Purchases per age group (count)",
                                      "purchases") + "\n\n" + markdown_table(ages)),
    ])


@dg.asset(
    owners=OWNERS,
    group_name=GROUP,
    deps=[age_groups],
    automation_condition=dg.AutomationCondition.eager(),  # follows new input files
    kinds=KINDS,
    description="The exploration of the original notebook computed with Cypher on the graph: purchases per "
    "customer and product, top product types and garment groups, seasonality, purchases by age group "
    "(one report with tables and plots).",
)
def graph_eda(data_root: DataRootResource, graph_store: GraphStoreResource) -> dg.MaterializeResult:
    seconds = timed()
    with graph_store.open(data_root.layout(), read_only=True) as store, seconds("queries"):
        store.ensure_complete(GRAPH_PART)
        store.ensure_complete(AGE_GROUPS_PART)
        graph = _graph_metadata(store)
        stats = eda.purchase_stats(store)
        report = eda_report(stats, eda.top_product_types(store), eda.top_garment_groups(store),
                            eda.purchases_by_month(store), eda.purchases_by_age_group(store))
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.md(report),
            "purchases_per_customer": round(stats["customer"].mean, 2),
            "purchases_per_product": round(stats["product"].mean, 2),
            **graph,
            **seconds.metadata(),
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


@dg.asset_check(asset=age_groups, blocking=True,
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
