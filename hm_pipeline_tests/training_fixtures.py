"""Small random transaction tables in the ingest schema, for the training tests (until generated data exists)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hm_pipeline.data.schema import ARTICLES_TABLE, CUSTOMERS_TABLE, TRANSACTIONS_TABLE
from hm_pipeline.layout import DataLayout
from hm_pipeline.training.split import Purchases, to_day

START = dt.date(2020, 6, 1)
END = dt.date(2020, 9, 22)


def heavy_tailed_purchases(
    n_users: int, n_items: int, n_rows: int, start: dt.date = START, end: dt.date = END, seed: int = 0
) -> Purchases:
    """Customers and articles drawn with lognormal popularity (a few heavy buyers / bestsellers, a long tail)."""
    rng = np.random.default_rng(seed)
    user_w = rng.lognormal(0.0, 1.2, n_users)
    item_w = rng.lognormal(0.0, 1.5, n_items)
    user = rng.choice(n_users, n_rows, p=user_w / user_w.sum()).astype(np.int32)
    item = rng.choice(n_items, n_rows, p=item_w / item_w.sum()).astype(np.int32)
    day = rng.integers(to_day(start), to_day(end) + 1, n_rows).astype(np.int32)
    day[0] = to_day(end)  # the window really ends on `end`
    return Purchases(day, user, item, n_users, n_items)


def _filler(field: pa.Field, n: int) -> pa.Array:
    if pa.types.is_integer(field.type):
        return pa.array(np.arange(n) % 100, type=field.type)
    return pa.array([f"{field.name}-{i}" for i in range(n)], type=field.type)


def customer_id(idx: int) -> str:
    return f"{idx:064x}"


def article_id(idx: int) -> str:
    return f"{100000000 + idx:010d}"


def write_ingest(
    layout: DataLayout, purchases: Purchases, orphans: int = 0, seed: int = 0
) -> Path:
    """Write articles / customers / transactions Parquet (ingest schema) under `layout.ingest_dir`.

    `orphans` extra transactions carry a customer_id that is not in customers (null customer_idx).
    """
    layout.ingest_dir.mkdir(parents=True, exist_ok=True)
    articles = {
        f.name: _filler(f, purchases.n_items) for f in ARTICLES_TABLE
    }
    articles["article_idx"] = pa.array(np.arange(purchases.n_items, dtype=np.int32))
    articles["article_id"] = pa.array([article_id(i) for i in range(purchases.n_items)])
    pq.write_table(pa.table(articles, schema=ARTICLES_TABLE), layout.ingest_table("articles"))
    customers = {f.name: _filler(f, purchases.n_users) for f in CUSTOMERS_TABLE}
    customers["customer_idx"] = pa.array(np.arange(purchases.n_users, dtype=np.int32))
    customers["customer_id"] = pa.array([customer_id(i) for i in range(purchases.n_users)])
    pq.write_table(pa.table(customers, schema=CUSTOMERS_TABLE), layout.ingest_table("customers"))

    rng = np.random.default_rng(seed)
    n = len(purchases)
    user = np.concatenate([purchases.user, np.zeros(orphans, np.int32)])
    item = np.concatenate([purchases.item, rng.integers(0, purchases.n_items, orphans).astype(np.int32)])
    day = np.concatenate([purchases.day, np.full(orphans, purchases.day.max(), np.int32)])
    user_valid = np.arange(n + orphans) < n
    table = pa.table(
        {
            "t_dat": pa.array(day, type=pa.int32()).cast(pa.date32()),
            "customer_id": pa.array([customer_id(u) if v else "f" * 64 for u, v in zip(user, user_valid)]),
            "article_id": pa.array([article_id(i) for i in item]),
            "price": pa.array(rng.random(n + orphans), type=pa.float32()),
            "sales_channel_id": pa.array(rng.integers(1, 3, n + orphans), type=pa.int8()),
            "customer_idx": pa.array(user, type=pa.int32(), mask=~user_valid),
            "article_idx": pa.array(item, type=pa.int32()),
        },
        schema=TRANSACTIONS_TABLE,
    )
    path = layout.ingest_table("transactions")
    pq.write_table(table, path)
    return path
