"""Metadata every asset shows in the UI: row count, column schema, preview, null counts."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq

from hm_pipeline.markdown import markdown_table

PREVIEW_ROWS = 5
OWNERS = ["team:recsys"]  # shown on every asset in the UI


def column_schema(arrow_schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type)) for f in arrow_schema])


def table_metadata(table: pa.Table, path: Path) -> dict[str, dg.MetadataValue | int | str]:
    """Row count, schema, a preview and per-column null counts of a table just written to `path`."""
    nulls = {name: table[name].null_count for name in table.column_names if table[name].null_count}
    return {
        "dagster/row_count": table.num_rows,
        "dagster/column_schema": column_schema(table.schema),
        "path": dg.MetadataValue.path(str(path)),
        "preview": dg.MetadataValue.md(markdown_table(table.slice(0, PREVIEW_ROWS).to_pylist(), max_cell=60)),
        "null_counts": dg.MetadataValue.json(nulls),
    }


def parquet_metadata(path: Path) -> dict[str, dg.MetadataValue | int | str]:
    """`table_metadata` for a (possibly large) Parquet file, reading only its footer and first rows."""
    meta = pq.ParquetFile(path)
    head = next(meta.iter_batches(batch_size=PREVIEW_ROWS))
    nulls: dict[str, int] = {}
    for group in range(meta.metadata.num_row_groups):
        for col in range(meta.metadata.num_columns):
            column = meta.metadata.row_group(group).column(col)
            stats = column.statistics
            if stats is not None and stats.has_null_count and stats.null_count:
                nulls[column.path_in_schema] = nulls.get(column.path_in_schema, 0) + stats.null_count
    return {
        "dagster/row_count": meta.metadata.num_rows,
        "dagster/column_schema": column_schema(meta.schema_arrow),
        "path": dg.MetadataValue.path(str(path)),
        "preview": dg.MetadataValue.md(markdown_table(pa.Table.from_batches([head]).to_pylist(), max_cell=60)),
        "null_counts": dg.MetadataValue.json(nulls),
    }
