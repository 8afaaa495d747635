"""Turn the ingest Parquet tables into the graph's node and relationship tables (pure pyarrow, no database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hm_pipeline.graph.model import CUSTOMER, GRAPH_NODES, GRAPH_RELS, PRODUCT, PURCHASED, TAXONOMY, RelSpec
from hm_pipeline.layout import DataLayout

#: The seed's values for blank customer fields (its Cypher CASE ... IS NULL). A blank age stays null (unknown).
CUSTOMER_DEFAULTS = {
    "club_member_status": "NOT_ACTIVE",
    "fashion_news_frequency": "NONE",
    "postal_code": "NONE",
    "fn": 0,
    "active": 0,
}

ARTICLE_COLUMNS = ["article_id", "article_idx", "prod_name", "detail_desc"] + sorted(
    {c for t in TAXONOMY for c in (t.key_column, t.name_column)}
)
CUSTOMER_COLUMNS = ["customer_id", "customer_idx", "FN", "Active", "club_member_status", "fashion_news_frequency",
                    "age", "postal_code"]
#: PURCHASED is keyed through the idx columns (row positions in articles/customers): the 64-character customer
#: ids are never read per transaction.
TRANSACTION_COLUMNS = ["t_dat", "price", "sales_channel_id", "customer_idx", "article_idx"]


@dataclass
class GraphTables:
    """Node tables by label and relationship tables by `RelSpec.name`, columns in model order."""

    nodes: dict[str, pa.Table] = field(default_factory=dict)
    rels: dict[str, pa.Table] = field(default_factory=dict)
    #: Transactions left out because their customer or article is not in the ingest tables.
    orphan_transactions: int = 0

    def node_counts(self) -> dict[str, int]:
        return {label: t.num_rows for label, t in self.nodes.items()}

    def relationship_counts(self) -> dict[str, int]:
        """Edges per relationship *type* (SUBSET_OF sums its two tables)."""
        counts: dict[str, int] = {}
        for spec in GRAPH_RELS:
            if spec.name in self.rels:
                counts[spec.type] = counts.get(spec.type, 0) + self.rels[spec.name].num_rows
        return counts


def _rel_table(spec: RelSpec, source: pa.Array, target: pa.Array, **props: pa.Array) -> pa.Table:
    columns = {"source": source, "target": target, **{p: props[p] for p in spec.properties}}
    table = pa.table(columns)
    return table.filter(pc.and_(pc.is_valid(table["source"]), pc.is_valid(table["target"])))


def product_tables(articles: pa.Table) -> GraphTables:
    """Product nodes, one node per distinct taxonomy key (first name seen, by article order), and their edges."""
    articles = articles.sort_by("article_id")
    out = GraphTables()
    out.nodes[PRODUCT.label] = pa.table(
        {
            "code": articles["article_id"],
            "idx": articles["article_idx"],
            "name": articles["prod_name"],
            "description": articles["detail_desc"],
        }
    )
    rel_specs = {(r.type, r.source, r.target): r for r in GRAPH_RELS}
    for t in TAXONOMY:
        keyed = articles.filter(pc.is_valid(articles[t.key_column]))
        columns = [t.key_column] if t.key_column == t.name_column else [t.key_column, t.name_column]
        first = keyed.select(columns).group_by(t.key_column, use_threads=False).aggregate(
            [(t.name_column, "first")] if len(columns) == 2 else []
        )
        names = [t.key] if len(columns) == 1 else [t.key, "name"]
        out.nodes[t.label] = first.rename_columns(names).sort_by(t.key)
        spec = rel_specs[(t.rel_type, t.parent, t.label)]
        if t.parent == PRODUCT.label:
            out.rels[spec.name] = _rel_table(spec, articles["article_id"], articles[t.key_column])
        else:
            parent = next(p for p in TAXONOMY if p.label == t.parent)
            pairs = pa.table({"s": articles[parent.key_column], "t": articles[t.key_column]})
            pairs = pairs.group_by(["s", "t"], use_threads=False).aggregate([]).sort_by([("s", "ascending"),
                                                                                         ("t", "ascending")])
            out.rels[spec.name] = _rel_table(spec, pairs["s"], pairs["t"])
    return out


def customer_table(customers: pa.Table) -> pa.Table:
    """Customer nodes with the seed's defaults for blank fields; `age` stays null when blank."""
    source = {"fn": "FN", "active": "Active"}
    columns = {"id": customers["customer_id"], "idx": customers["customer_idx"]}
    for prop in CUSTOMER.properties[2:]:
        column = customers[source.get(prop, prop)]
        columns[prop] = pc.fill_null(column, pa.scalar(CUSTOMER_DEFAULTS[prop], column.type)) \
            if prop in CUSTOMER_DEFAULTS else column
    return pa.table(columns)


def ids_by_idx(table: pa.Table, idx_column: str, id_column: str) -> pa.Array:
    """`table[id_column]` ordered so that position i holds the id whose `idx_column` is i (idx = row position)."""
    idx = table[idx_column]
    expected = pa.array(range(table.num_rows), idx.type)
    if not idx.equals(pa.chunked_array([expected])):
        table = table.take(pc.sort_indices(idx))
        if not table[idx_column].equals(pa.chunked_array([expected])):
            raise ValueError(f"{idx_column} must number the rows 0..{table.num_rows - 1} (one idx per {id_column})")
    return table[id_column].combine_chunks()


def _keys(indices: pa.ChunkedArray, keys: pa.Array) -> pa.ChunkedArray:
    """Node keys per row as a dictionary column: the int32 `indices` into `keys` (shared), no string copied."""
    return pa.chunked_array([pa.DictionaryArray.from_arrays(chunk, keys, safe=True) for chunk in indices.chunks],
                            pa.dictionary(indices.type, keys.type))


def purchased_table(transactions: pa.Table, customer_ids: pa.Array, article_ids: pa.Array) -> tuple[pa.Table, int]:
    """One PURCHASED row per transaction whose customer and article exist; returns it and the orphan count.

    `customer_ids`/`article_ids` are the keys by idx (`ids_by_idx`); the source/target columns are dictionary
    columns over them, so 31.8M purchases cost 4 bytes per key instead of a 64-character string."""
    known = pc.and_(pc.is_valid(transactions["customer_idx"]), pc.is_valid(transactions["article_idx"]))
    kept = transactions.select(["customer_idx", "article_idx", "t_dat", "price", "sales_channel_id"]).filter(known)
    table = pa.table({
        "source": _keys(kept["customer_idx"], customer_ids),
        "target": _keys(kept["article_idx"], article_ids),
        "t_date": kept["t_dat"],
        "price": kept["price"],
        "sales_channel": kept["sales_channel_id"],
    })
    return table, transactions.num_rows - kept.num_rows


def graph_tables(articles: pa.Table, customers: pa.Table, transactions: pa.Table) -> GraphTables:
    """Every node and relationship table of the product/customer/purchase graph."""
    out = product_tables(articles)
    out.nodes[CUSTOMER.label] = customer_table(customers)
    out.rels[PURCHASED.name], out.orphan_transactions = purchased_table(
        transactions,
        ids_by_idx(customers, "customer_idx", "customer_id"),
        ids_by_idx(articles, "article_idx", "article_id"),
    )
    out.nodes = {spec.label: out.nodes[spec.label] for spec in GRAPH_NODES}
    out.rels = {spec.name: out.rels[spec.name] for spec in GRAPH_RELS}
    return out


def read_ingest(layout: DataLayout) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The three ingest tables, only the columns the graph needs."""
    return (
        _read(layout.ingest_table("articles"), ARTICLE_COLUMNS),
        _read(layout.ingest_table("customers"), CUSTOMER_COLUMNS),
        _read(layout.ingest_table("transactions"), TRANSACTION_COLUMNS),
    )


def _read(path: Path, columns: list[str]) -> pa.Table:
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: materialize the ingest asset {path.stem!r} first")
    return pq.read_table(path, columns=columns)


def graph_tables_from_layout(layout: DataLayout) -> GraphTables:
    return graph_tables(*read_ingest(layout))
