"""Files and command for `neo4j-admin database import full`: the first load of a Neo4j database at full scale.

`UNWIND` batches through the driver are right for reloads; 31.8M purchases load far faster offline. This writes
every node and relationship table of `GraphTables` for the import tool and returns the command to run.

What makes it fast (measured in `bench/RESULTS.md`): nodes get their final Neo4j ids (`--id-type=actual`: each
label a contiguous range, in the order of the `--nodes` files), so the tool has no id mapper to build or look up,
and a purchase is two integers instead of a 64-character customer id and an article code (the ids are not stored;
every property, the key included, is an ordinary property); and the files are CSV, which the tool reads faster
than Parquet (its Parquet reader in 5.26 is a public beta, ~1.5-2.5x slower on the relationships). Headers use the
tool's typed syntax (`t_date:date`); a null is an empty field (no property), an empty string `""`.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from hm_pipeline.atomic import atomic_path
from hm_pipeline.graph import neo4j_server
from hm_pipeline.graph.model import (
    AGE_GROUP,
    AGE_NODES,
    AGE_RELS,
    CUSTOMER,
    EMBEDDING,
    GRAPH_NODES,
    GRAPH_RELS,
    PRODUCT,
    NodeSpec,
    RelSpec,
)
from hm_pipeline.graph.neo4j_store import Neo4jGraphStore
from hm_pipeline.graph.store import AGE_GROUPS_PART, EMBEDDINGS_PART, GRAPH_PART
from hm_pipeline.graph.tables import GraphTables
from hm_pipeline.layout import DataLayout

_NEO4J_TYPES = {pa.types.is_integer: "int", pa.types.is_floating: "float", pa.types.is_date: "date",
                pa.types.is_boolean: "boolean"}


def _is_list(dtype: pa.DataType) -> bool:
    return pa.types.is_list(dtype) or pa.types.is_fixed_size_list(dtype) or pa.types.is_large_list(dtype)


def _typed(name: str, dtype: pa.DataType) -> str:
    """`name:type` in the tool's header syntax; a list column (the image embedding) is an array, `name:float[]`."""
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    array = _is_list(dtype)
    for test, suffix in _NEO4J_TYPES.items():
        if test(dtype.value_type if array else dtype):
            return f"{name}:{suffix}{'[]' if array else ''}"
    return f"{name}:string[]" if array else name


def node_header(schema: pa.Schema) -> list[str]:
    """The node id (its Neo4j id, not stored) and then every property with its type."""
    return [":ID", *(_typed(name, schema.field(name).type) for name in schema.names)]


def rel_header(schema: pa.Schema) -> list[str]:
    return [":START_ID", ":END_ID", *(_typed(name, schema.field(name).type) for name in schema.names[2:])]


def node_positions(keys: pa.ChunkedArray, node_keys: pa.ChunkedArray, where: str) -> pa.ChunkedArray:
    """Row position in the node table of each key in `keys`.

    A dictionary column (PURCHASED's customer and article keys) is looked up once per distinct dictionary and
    expanded with `take`, so its strings are never decoded row by row."""
    node_keys = node_keys.combine_chunks()
    chunks, cached = [], None
    for chunk in keys.chunks:
        if isinstance(chunk, pa.DictionaryArray):
            if cached is None or not chunk.dictionary.equals(cached[0]):
                cached = (chunk.dictionary, pc.index_in(chunk.dictionary, value_set=node_keys))
            chunks.append(pc.take(cached[1], chunk.indices))
        else:
            chunks.append(pc.index_in(chunk, value_set=node_keys))
    positions = pa.chunked_array(chunks, pa.int32())
    missing = positions.null_count - keys.null_count
    if missing:
        raise ValueError(f"{where}: {missing} keys have no node to point at")
    return positions


def _multiline(table: pa.Table) -> bool:
    """True when a string value holds a line break (the tool must then be told the file has multi-line fields)."""
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.combine_chunks().dictionary
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if pc.any(pc.match_substring_regex(column, "[\\r\\n]")).as_py():
                return True
    return False


def _csv_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as the CSV writer takes it: dictionaries decoded, lists joined by the tool's array delimiter `;`."""
    if pa.types.is_dictionary(column.type):
        return column.cast(column.type.value_type)
    if _is_list(column.type):  # a slice's list values are compacted first: a cast would convert all the parent's
        compact = pa.chunked_array([pa.concat_arrays([chunk]) for chunk in column.chunks], column.type)
        return pc.binary_join(compact.cast(pa.list_(pa.string())), ";")
    return column


def _write(path: Path, header: list[str], table: pa.Table) -> None:
    """`table` as CSV under `header`, converted a slice of rows at a time (a whole column of 105,000 embeddings as
    text would pass the 2 GB limit of one Arrow string array)."""
    step = 10_000 if any(_is_list(column.type) for column in table.columns) else 1_000_000
    slices = [table.slice(offset, step) for offset in range(0, table.num_rows, step)] or [table]
    writer = None
    try:
        for piece in slices:
            converted = pa.table([_csv_column(column) for column in piece.columns], names=header)
            if writer is None:
                writer = pcsv.CSVWriter(path, converted.schema, write_options=pcsv.WriteOptions(quoting_style="needed"))
            writer.write_table(converted)
    finally:
        if writer is not None:
            writer.close()


def write_admin_import(graph: GraphTables, folder: str | Path, database: str = "neo4j") -> list[str]:
    """Write the import files into `folder` (replaced whole) and return the `neo4j-admin` command as argv.

    Takes the product graph and, when present, the age groups (AgeGroup / IS_AGE_GROUP tables in `graph`)."""
    folder = Path(folder)
    args = ["neo4j-admin", "database", "import", "full", database, "--overwrite-destination", "--id-type=actual",
            "--input-type=csv", "--bad-tolerance=0", "--high-parallel-io=on", "--verbose"]
    node_specs = {spec.label: spec for spec in (*GRAPH_NODES, *AGE_NODES) if spec.label in graph.nodes}
    first_id, multiline, next_id = {}, [], 0
    with atomic_path(folder) as tmp:
        tmp.mkdir()
        for label, spec in node_specs.items():
            table = graph.nodes[label]
            first_id[label], next_id = next_id, next_id + table.num_rows
            ids = pa.array(np.arange(first_id[label], next_id, dtype=np.int64))
            name = f"{label.lower()}.csv"
            _write(tmp / name, node_header(table.schema), table.add_column(0, "_id", ids))
            args.append(f"--nodes={label}={folder / name}")
            multiline += [str(folder / name)] if _multiline(table) else []
        for spec in (*GRAPH_RELS, *AGE_RELS):  # one argument per table: SUBSET_OF joins two label pairs
            if spec.name not in graph.rels:
                continue
            table = graph.rels[spec.name]
            ends = [pc.add(node_positions(table[column], graph.nodes[label][node_specs[label].key],
                                          f"{spec.name} {column}").cast(pa.int64()), first_id[label])
                    for column, label in (("source", spec.source), ("target", spec.target))]
            table = pa.table([*ends, *table.columns[2:]], names=table.column_names)
            name = f"{spec.name.lower()}.csv"
            _write(tmp / name, rel_header(table.schema), table)
            args.append(f"--relationships={spec.type}={folder / name}")
    if multiline:
        args += ["--multiline-fields-format=v2", f"--multiline-fields={','.join(multiline)}"]
    return args


def import_stages(output: str) -> list[tuple[str, str]]:
    """The tool's own stage timings from its `--verbose` output: (stage, "1m 2s 345ms") in order. A stage starts
    a line, or follows the heap warning's size on the same line ("...is 1.000GiBNodes, started")."""
    return re.findall(r"(?m)(?:^|iB)([A-Z][A-Za-z]*(?: [^\n,]*)?), started [^\n]*\n(?:[^\n]*\n)*?Done in ([^\n]+)", output)


def import_tables(layout: DataLayout) -> GraphTables:
    """What `hm-pipeline neo4j import` loads: the product graph of the data root's ingest tables and the age
    groups (AgeGroup nodes, IS_AGE_GROUP edges)."""
    from hm_pipeline.graph.age_groups import age_group_tables
    from hm_pipeline.graph.tables import graph_tables_from_layout

    graph = graph_tables_from_layout(layout)
    groups = age_group_tables(graph.nodes[CUSTOMER.label])
    graph.nodes.update(groups.nodes)
    graph.rels.update(groups.rels)
    return graph


def import_graph(layout: DataLayout, graph: GraphTables, heap: str = "2g", pagecache: str = "2g",
                 off_heap: str = "6g", progress: Callable[[str], None] = print) -> dict[str, float]:
    """The first load of the data root's local Neo4j server from `graph`: import files, `neo4j-admin database
    import full` (server stopped), start the server, constraints and indexes, load markers. The server is left
    running; returns the seconds of each stage. An `embedding` list column on the Product table goes in as the
    products' float array property (the `embeddings` part, what `similar_method: gds_knn` projects)."""
    if neo4j_server.running(layout) is not None:
        raise neo4j_server.Neo4jServerError(
            f"the Neo4j server of {layout.root} is running: `hm-pipeline neo4j stop --data-root {layout.root}` "
            f"first (the import replaces its database whole)")
    home = neo4j_server.install()
    folder = neo4j_server.server_dir(layout)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    argv = write_admin_import(graph, folder / "import")
    seconds["import files"] = time.perf_counter() - started
    progress(f"import files in {folder / 'import'} ({seconds['import files']:.1f} s); running neo4j-admin...")
    conf = neo4j_server.write_config(folder, home, neo4j_server.free_port(), pagecache)
    started = time.perf_counter()
    output = neo4j_server.admin(home, conf, *argv[1:], f"--max-off-heap-memory={off_heap}", heap=heap)
    seconds["neo4j-admin import"] = time.perf_counter() - started
    progress(f"neo4j-admin import done ({seconds['neo4j-admin import']:.1f} s; its stages: "
             + "; ".join(f"{stage} {took.strip()}" for stage, took in import_stages(output)) + "); starting the server...")
    started = time.perf_counter()
    state = neo4j_server.start(layout, home, heap=heap, pagecache=pagecache, timeout_s=600)
    seconds["server start"] = time.perf_counter() - started
    started = time.perf_counter()
    parts = (GRAPH_PART, *([AGE_GROUPS_PART] if AGE_GROUP.label in graph.nodes else []),
             *([EMBEDDINGS_PART] if EMBEDDING in graph.nodes[PRODUCT.label].column_names else []))
    store = Neo4jGraphStore.connect(state.uri, neo4j_server.USER, state.password)
    try:
        store.complete_admin_import(parts)
    finally:
        store.close()
    seconds["constraints and indexes"] = time.perf_counter() - started
    shutil.rmtree(folder / "import", ignore_errors=True)
    return seconds
