"""Typed ingest of the Kaggle CSVs into Parquet with canonical ids and dense int32 indexes (no Dagster here)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hm_pipeline.atomic import atomic_path, write_parquet
from hm_pipeline.data import schema
from hm_pipeline.data.csv_columns import (
    Block,
    ColumnSpec,
    IngestError,
    date_column,
    int_column,
    require_matches,
    require_non_null,
    to_article_id,
    to_customer_id,
    to_price,
    to_text,
    via_dictionary,
)
from hm_pipeline.data.id_index import article_index, customer_index, digit_numbers, hex_words, to_index_array
from hm_pipeline.data.csv_reader import iter_blocks

DEFAULT_WINDOW = (schema.FIRST_DATE, schema.LAST_DATE)
PARQUET_ROW_GROUP = 1 << 20


def _index_code(arr: pa.Array, block: Block, column: str) -> pa.Array:
    require_matches(arr, r"^[A-Z]$", block, column, "a one-letter index code")
    return arr


def _article_specs() -> dict[str, ColumnSpec]:
    specs = {}
    for f in schema.ARTICLES:
        if f.name == "article_id":
            specs[f.name] = ColumnSpec(to_article_id)
        elif f.name == "index_code":
            specs[f.name] = ColumnSpec(_index_code)
        elif pa.types.is_integer(f.type):
            specs[f.name] = ColumnSpec(int_column(f.type))
        else:
            specs[f.name] = ColumnSpec(to_text, required=f.name != "detail_desc")
    return specs


ARTICLE_SPECS = _article_specs()
CUSTOMER_SPECS = {
    "customer_id": ColumnSpec(to_customer_id),
    "FN": ColumnSpec(int_column(pa.int8(), whole_floats=True, allowed=(0, 1)), required=False),
    "Active": ColumnSpec(int_column(pa.int8(), whole_floats=True, allowed=(0, 1)), required=False),
    "club_member_status": ColumnSpec(to_text, required=False),
    "fashion_news_frequency": ColumnSpec(to_text, required=False),
    "age": ColumnSpec(int_column(pa.int16(), whole_floats=True, allowed=schema.AGE_RANGE), required=False),
    "postal_code": ColumnSpec(to_text, required=False),
}


def transaction_specs(window: tuple[dt.date, dt.date]) -> dict[str, ColumnSpec]:
    return {
        "t_dat": ColumnSpec(date_column(window)),
        "customer_id": ColumnSpec(to_customer_id),
        "article_id": ColumnSpec(to_article_id),
        "price": ColumnSpec(to_price),
        "sales_channel_id": ColumnSpec(via_dictionary(int_column(
            pa.int8(), allowed=(min(schema.SALES_CHANNELS), max(schema.SALES_CHANNELS))))),
    }


def convert_batch(block: Block, batch: pa.RecordBatch, specs: dict[str, ColumnSpec],
                  target: pa.Schema) -> pa.Table:
    """Typed table of one block; the first bad value raises `IngestError` with its row and column."""
    columns = []
    for f in target:
        raw = batch.column(f.name)
        spec = specs[f.name]
        if spec.required:
            require_non_null(raw, block, f.name)
        columns.append(spec.convert(raw, block, f.name))
    return pa.Table.from_arrays(columns, schema=target)


def read_typed(path: Path, specs: dict[str, ColumnSpec], target: pa.Schema, *, multiline: bool = False) -> pa.Table:
    names = [f.name for f in target]
    tables = [convert_batch(block, batch, specs, target) for block, batch in iter_blocks(path, names,
                                                                                          multiline=multiline)]
    return pa.concat_tables(tables).combine_chunks()


def sort_unique_by_id(table: pa.Table, id_column: str, file: str) -> pa.Table:
    """The table sorted by its id column; a duplicated id is an error naming both rows."""
    order = pc.sort_indices(table[id_column]).to_numpy()
    ids = table[id_column].take(order).to_numpy(zero_copy_only=False)
    same = np.flatnonzero(ids[1:] == ids[:-1])
    if same.size:
        first, second = sorted((int(order[same[0]]) + 1, int(order[same[0] + 1]) + 1))
        raise IngestError(file, f"duplicate {id_column} {ids[same[0]]!r} (also in row {first})", row=second,
                          column=id_column)
    return table.take(pa.array(order))


def with_index(table: pa.Table, index_field: pa.Field) -> pa.Table:
    return table.add_column(0, index_field, pa.array(np.arange(table.num_rows, dtype=np.int32)))


def ingest_articles(src: Path, dest: Path) -> pa.Table:
    """articles.csv → Parquet sorted by article_id, with `article_idx` = row position."""
    table = read_typed(src, ARTICLE_SPECS, schema.ARTICLES, multiline=True)
    table = with_index(sort_unique_by_id(table, "article_id", src.name), schema.ARTICLE_IDX)
    write_parquet(table, dest, row_group_size=PARQUET_ROW_GROUP, compression="zstd")
    return table


def ingest_customers(src: Path, dest: Path) -> pa.Table:
    """customers.csv → Parquet sorted by customer_id, with `customer_idx` = row position."""
    table = read_typed(src, CUSTOMER_SPECS, schema.CUSTOMERS)
    table = with_index(sort_unique_by_id(table, "customer_id", src.name), schema.CUSTOMER_IDX)
    write_parquet(table, dest, row_group_size=PARQUET_ROW_GROUP, compression="zstd")
    return table


@dataclass
class TransactionSummary:
    rows: int = 0
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    orphan_article_rows: int = 0
    orphan_customer_rows: int = 0
    per_channel: dict[int, int] = field(default_factory=dict)

    def add(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        low, high = pc.min_max(table["t_dat"]).values()
        self.first_date = min(filter(None, (self.first_date, low.as_py())))
        self.last_date = max(filter(None, (self.last_date, high.as_py())))
        self.orphan_article_rows += table["article_idx"].null_count
        self.orphan_customer_rows += table["customer_idx"].null_count
        counts = pc.value_counts(table["sales_channel_id"]).to_pylist()
        for item in counts:
            self.per_channel[item["values"]] = self.per_channel.get(item["values"], 0) + item["counts"]


def ingest_transactions(src: Path, dest: Path, articles: Path, customers: Path,
                        window: tuple[dt.date, dt.date] = DEFAULT_WINDOW,
                        block_bytes: int = 64 << 20) -> TransactionSummary:
    """transactions_train.csv → Parquet in file order, streamed block by block (bounded memory).

    Adds `customer_idx` / `article_idx` (null for orphans: ids absent from customers / articles).
    """
    articles_by_id = article_index(pq.read_table(articles, columns=["article_id"])["article_id"].combine_chunks())
    customers_by_id = customer_index(pq.read_table(customers, columns=["customer_id"])["customer_id"].combine_chunks())
    specs = transaction_specs(window)
    summary = TransactionSummary()
    names = [f.name for f in schema.TRANSACTIONS]
    with atomic_path(dest) as tmp, pq.ParquetWriter(tmp, schema.TRANSACTIONS_TABLE, compression="zstd") as writer:
        for block, batch in iter_blocks(src, names, block_bytes=block_bytes):
            table = convert_batch(block, batch, specs, schema.TRANSACTIONS)
            customer_keys = hex_words(table["customer_id"].combine_chunks())
            article_keys = digit_numbers(table["article_id"].combine_chunks(), schema.ARTICLE_ID_DIGITS)
            table = table.append_column(schema.CUSTOMER_IDX_REF, to_index_array(customers_by_id.lookup(customer_keys)))
            table = table.append_column(schema.ARTICLE_IDX_REF, to_index_array(articles_by_id.lookup(article_keys)))
            writer.write_table(table, row_group_size=PARQUET_ROW_GROUP)
            summary.add(table)
    return summary
