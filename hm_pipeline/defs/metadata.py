"""What every asset shows in the UI: row count, described column schema, preview, null counts, stage timings; and
the finishing touches on the loaded definitions (code references, the active graph backend as a kind)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
from dagster_shared.record import replace

from hm_pipeline.data.schema import COLUMN_DESCRIPTIONS
from hm_pipeline.markdown import markdown_table

PREVIEW_ROWS = 5
OWNERS = ["team:recsys"]  # shown on every asset in the UI
#: The kind of every asset that reads or writes the graph; `for_the_ui` replaces it with the active backend.
GRAPH_KIND = "graph"


class Timings(dict[str, float]):
    """Seconds per stage of one asset, filled by `timed()` blocks, in the order they ran."""

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self[stage] = self.get(stage, 0.0) + time.perf_counter() - started

    def metadata(self) -> dict[str, dg.MetadataValue]:
        """One `seconds` table (stage, seconds rounded to 0.01 s) and the total."""
        rows = [{"stage": stage, "seconds": round(s, 2)} for stage, s in self.items()]
        return {"seconds": dg.MetadataValue.md(markdown_table(rows + [{"stage": "total",
                                                                       "seconds": round(sum(self.values()), 2)}])),
                "total_seconds": dg.MetadataValue.float(round(sum(self.values()), 2))}


def timed() -> Timings:
    """`seconds = timed()`, then `with seconds("load"): ...`; `seconds.metadata()` for the asset's metadata."""
    return Timings()


def column_schema(arrow_schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type), description=COLUMN_DESCRIPTIONS.get(f.name))
                                   for f in arrow_schema])


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


def for_the_ui(defs: dg.Definitions) -> dg.Definitions:
    """`defs` with a code reference to each asset's source and, on the assets of kind `graph`, the graph backend
    this deployment uses (`kuzu`, `ladybug` or `neo4j`: the `graph_store` resource's) instead."""
    backend = defs.resources["graph_store"].backend

    def backend_kind(spec: dg.AssetSpec) -> dg.AssetSpec:
        if GRAPH_KIND not in spec.kinds:
            return spec
        return spec.replace_attributes(kinds=(spec.kinds - {GRAPH_KIND}) | {backend})

    with warnings.catch_warnings():  # both in preview / beta in Dagster 1.13; the UI shows what they add
        warnings.simplefilter("ignore", dg.PreviewWarning)
        warnings.simplefilter("ignore", dg.BetaWarning)
        with_kinds = defs.map_asset_specs(func=backend_kind)
        return replace(with_kinds, assets=dg.with_source_code_references(with_kinds.assets))
