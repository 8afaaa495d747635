"""Files and command for `neo4j-admin database import full`: the first load of a Neo4j database at full scale.

`UNWIND` batches through the driver are right for reloads; 31.8M purchases load far faster offline. This writes
every node and relationship table of `GraphTables` as a header file plus a headerless CSV with Neo4j's typed
header syntax (`code:ID(Product)`, `:START_ID(Customer)`, `t_date:date`, ...) and returns the command to run.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from hm_pipeline.atomic import atomic_path
from hm_pipeline.graph.model import AGE_NODES, AGE_RELS, GRAPH_NODES, GRAPH_RELS, NodeSpec, RelSpec
from hm_pipeline.graph.tables import GraphTables

_NEO4J_TYPES = {pa.types.is_integer: "int", pa.types.is_floating: "float", pa.types.is_date: "date",
                pa.types.is_boolean: "boolean"}


def _typed(name: str, dtype: pa.DataType) -> str:
    for test, suffix in _NEO4J_TYPES.items():
        if test(dtype):
            return f"{name}:{suffix}"
    return name


def node_header(spec: NodeSpec, schema: pa.Schema) -> list[str]:
    return [f"{spec.key}:ID({spec.label})" if name == spec.key else _typed(name, schema.field(name).type)
            for name in schema.names]


def rel_header(spec: RelSpec, schema: pa.Schema) -> list[str]:
    return [f":START_ID({spec.source})", f":END_ID({spec.target})",
            *(_typed(name, schema.field(name).type) for name in schema.names[2:])]


def _write(folder: Path, stem: str, header: list[str], table: pa.Table) -> tuple[Path, Path]:
    header_path, data_path = folder / f"{stem}_header.csv", folder / f"{stem}.csv"
    with open(header_path, "w", newline="") as fh:
        csv.writer(fh).writerow(header)
    pacsv.write_csv(table, data_path, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return header_path, data_path


def write_admin_import(graph: GraphTables, folder: str | Path, database: str = "neo4j") -> list[str]:
    """Write the import files into `folder` (replaced whole) and return the `neo4j-admin` command as argv.

    Takes the product graph and, when present, the age groups (AgeGroup / IS_AGE_GROUP tables in `graph`)."""
    folder = Path(folder)
    args = ["neo4j-admin", "database", "import", "full", database, "--overwrite-destination"]
    with atomic_path(folder) as tmp:
        tmp.mkdir()
        for spec in (*GRAPH_NODES, *AGE_NODES):
            if spec.label in graph.nodes:
                table = graph.nodes[spec.label]
                files = _write(tmp, spec.label.lower(), node_header(spec, table.schema), table)
                args.append(f"--nodes={spec.label}=" + ",".join(str(folder / p.name) for p in files))
        for spec in (*GRAPH_RELS, *AGE_RELS):  # one argument per table: SUBSET_OF joins two label pairs
            if spec.name in graph.rels:
                table = graph.rels[spec.name]
                files = _write(tmp, spec.name.lower(), rel_header(spec, table.schema), table)
                args.append(f"--relationships={spec.type}=" + ",".join(str(folder / p.name) for p in files))
    return args
