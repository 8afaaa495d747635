"""The stored fused recommendations (`<data root>/recommendations/fused.parquet`): write form, read back, and one
customer's explanation straight from the files (`hm-pipeline recommend CUSTOMER_ID`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hm_pipeline.data.csv_columns import canonical_customer_ids
from hm_pipeline.layout import DataLayout
from hm_pipeline.recommend.candidates import SOURCE_LABELS
from hm_pipeline.recommend.explain import ARTICLE_COLUMNS, CustomerExplanation, explain_customer
from hm_pipeline.recommend.fusion import Path as FusionPath
from hm_pipeline.recommend.fusion import Recommendations
from hm_pipeline.recommend.history import PurchaseHistory
from hm_pipeline.recommend.inputs import Catalog
from hm_pipeline.recommend.submission import K

FUSED_SCHEMA = pa.schema([
    pa.field("customer_id", pa.string(), nullable=False),
    pa.field("rank", pa.int8(), nullable=False),
    pa.field("article_id", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("path", pa.string(), nullable=False),
])


def fused_table(recs: Recommendations, catalog: Catalog) -> pa.Table:
    """Long form: one row per (customer, rank), customers in `recs` order, ids as strings, labels for codes."""
    t = recs.to_table()
    path = np.repeat(recs.path, recs.items.shape[1])
    return pa.Table.from_arrays([
        pc.take(catalog.customer_ids, t["customer_idx"]),
        t["rank"],
        pc.take(catalog.article_ids, t["article_idx"]),
        pc.take(pa.array(SOURCE_LABELS), t["source"]),
        pc.take(pa.array([p.label for p in FusionPath]), pa.array(path)),
    ], schema=FUSED_SCHEMA)


def read_fused(path: Path, catalog: Catalog, customer_ids: pa.Array | None = None) -> Recommendations:
    """fused.parquet back into index space (optionally only `customer_ids`); raises unless each customer read has
    exactly ranks 1..12."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: materialize `recommendations` first (`hm-pipeline run`)")
    table = pq.read_table(path)
    if customer_ids is not None:
        table = table.filter(pc.is_in(table["customer_id"], value_set=customer_ids))
    customer = catalog.customer_idx(table["customer_id"], str(path))
    order = np.lexsort((table["rank"].to_numpy(), customer))
    customer = customer[order]
    if len(customer) % K or not (customer.reshape(-1, K) == customer.reshape(-1, K)[:, :1]).all() \
            or not (table["rank"].to_numpy()[order].reshape(-1, K) == np.arange(1, K + 1)).all():
        raise ValueError(f"{path}: every customer must have exactly the ranks 1..{K}")
    take = pa.array(order)
    source = pc.index_in(pc.take(table["source"], take), value_set=pa.array(SOURCE_LABELS))
    paths = pc.index_in(pc.take(table["path"], pa.array(order[::K])),
                        value_set=pa.array([p.label for p in FusionPath]))
    if source.null_count or paths.null_count:
        raise ValueError(f"{path}: unknown source or path label")
    return Recommendations(
        customer[::K].astype(np.int32),
        catalog.article_idx(pc.take(table["article_id"], take), str(path)).reshape(-1, K),
        source.to_numpy(zero_copy_only=False).astype(np.int8).reshape(-1, K),
        paths.to_numpy(zero_copy_only=False).astype(np.int8),
    )


def explain_from_files(layout: DataLayout, customer_id: str, recent: int = 12) -> CustomerExplanation:
    """`explain_customer` for one customer (id in any letter case), reading only that customer's fused rows and
    transactions. A data root the pipeline has not run on is a `FileNotFoundError` saying what to run."""
    missing = [p for p in (layout.ingest_table("customers"), layout.ingest_table("articles"),
                           layout.ingest_table("transactions"), layout.fused_file) if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"no recommendations under the data root {layout.root} ({missing[0]} is missing): run "
            f"`hm-pipeline run --data-root {layout.root}` first (or pass the --data-root it ran on)")
    customer_id = canonical_customer_ids(pa.array([customer_id], pa.string()))[0].as_py()
    catalog = Catalog.read(layout)
    recs = read_fused(layout.fused_file, catalog, pa.array([customer_id], pa.string()))
    tx = pq.read_table(layout.ingest_table("transactions"), columns=["t_dat", "customer_idx", "article_idx"],
                       filters=[("customer_id", "=", customer_id)])
    tx = tx.filter(pc.and_(pc.is_valid(tx["customer_idx"]), pc.is_valid(tx["article_idx"])))
    history = PurchaseHistory.from_transactions(
        tx["customer_idx"].to_numpy(), tx["article_idx"].to_numpy(), tx["t_dat"].cast(pa.int32()).to_numpy(),
        catalog.n_customers, catalog.n_articles,
    )
    articles = pq.read_table(layout.ingest_table("articles"), columns=list(ARTICLE_COLUMNS))
    return explain_customer(customer_id, catalog.customer_ids, recs, history, articles, recent)
