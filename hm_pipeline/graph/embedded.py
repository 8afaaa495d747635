"""The default graph store: an embedded Cypher engine (Kuzu, or its fork LadybugDB) in a folder under the data root.

A rebuild creates a fresh database in a temporary sibling folder, bulk-loads it with `COPY <table> FROM $table`
(the Arrow tables are query parameters: nothing is formatted into the Cypher) and renames it into place only once
it is complete, so a failed load leaves the previous graph as it was.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pyarrow as pa

from hm_pipeline.atomic import atomic_path, remove_stale_temps
from hm_pipeline.graph import cypher_files
from hm_pipeline.graph.model import AGE_GROUP, PRODUCT_EMBEDDING, SIMILAR
from hm_pipeline.graph.store import AGE_GROUPS_PART, EMBEDDINGS_PART, SIMILAR_PART, GraphStore, IncompleteGraph
from hm_pipeline.graph.tables import GraphTables

ENGINES = ("kuzu", "ladybug")
#: Both engines pass hm_pipeline_tests/test_graph_engines.py (results vs pandas); kuzu is faster and leaner in
#: bench/bench_graph_load.py and has the vector extension built in. Evidence in the README ("Engine choice").
DEFAULT_ENGINE = "kuzu"
DB_FILE = "graph.db"
DEFAULT_BUFFER_POOL_BYTES = 4 * 1024**3
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def copy_params(tables: GraphTables) -> dict[str, pa.Table]:
    """COPY parameters: table `X` is `$x_rows` (lower case, so no parameter name collides with a keyword)."""
    return {f"{name.lower()}_rows": table for name, table in {**tables.nodes, **tables.rels}.items()}


class GraphNotBuilt(FileNotFoundError):
    """The embedded database does not exist yet."""


def _params_for(statement: str, params: dict[str, Any]) -> dict[str, Any]:
    """The subset of `params` that `statement` references (engines reject unused parameters)."""
    wanted = set(_PARAM.findall(statement))
    missing = wanted - params.keys()
    if missing:
        raise KeyError(f"statement needs parameters {sorted(missing)}: {statement[:80]!r}")
    return {k: params[k] for k in wanted}


class EmbeddedGraphStore(GraphStore):
    """A Kuzu-dialect database at `db_dir/graph.db`, opened lazily; `engine` is the Python module (kuzu/ladybug)."""

    dialect = "kuzu"

    def __init__(
        self,
        db_dir: str | Path,
        engine: str = DEFAULT_ENGINE,
        read_only: bool = False,
        buffer_pool_bytes: int = DEFAULT_BUFFER_POOL_BYTES,
        threads: int = 0,
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown embedded graph engine {engine!r}; expected one of {ENGINES}")
        self.db_dir = Path(db_dir)
        self.engine = engine
        self.read_only = read_only
        self.buffer_pool_bytes = buffer_pool_bytes
        self.threads = threads
        self._db: Any = None
        self._conn: Any = None

    def __repr__(self) -> str:
        return f"EmbeddedGraphStore({str(self.db_dir)!r}, engine={self.engine!r}, read_only={self.read_only})"

    @property
    def db_path(self) -> Path:
        return self.db_dir / DB_FILE

    def exists(self) -> bool:
        return self.db_path.exists()

    def _open(self, path: Path, read_only: bool) -> tuple[Any, Any]:
        module = importlib.import_module(self.engine)
        db = module.Database(
            str(path), read_only=read_only, buffer_pool_size=self.buffer_pool_bytes, max_num_threads=self.threads
        )
        return db, module.Connection(db)

    def _connection(self) -> Any:
        if self._conn is None:
            if not self.exists():
                raise GraphNotBuilt(f"no graph database at {self.db_path}: materialize the product_graph asset first")
            self._db, self._conn = self._open(self.db_path, self.read_only)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._db.close()
        self._db = self._conn = None

    def _execute(self, conn: Any, statement: str, params: dict[str, Any]) -> Any:
        return conn.execute(statement, _params_for(statement, params))

    def _run_script(self, conn: Any, name: str, params: dict[str, Any] | None = None) -> None:
        for statement in cypher_files.statements(self.dialect, name):
            self._execute(conn, statement, params or {})

    def run(self, name: str, params: dict[str, Any] | None = None) -> pa.Table:
        return self._execute(self._connection(), self.statement(name), params or {}).get_as_arrow()

    def rebuild(self, graph: GraphTables) -> None:
        if self.read_only:
            raise PermissionError(f"{self!r} is read-only")
        self.close()
        remove_stale_temps(self.db_dir.parent)
        with atomic_path(self.db_dir) as tmp:
            tmp.mkdir()
            db, conn = self._open(tmp / DB_FILE, read_only=False)
            try:
                self._run_script(conn, "graph_schema")
                self._run_script(conn, "graph_copy", copy_params(graph))
            finally:
                conn.close()
                db.close()

    def _replace_in_transaction(self, schema: str, copy: str, params: dict[str, pa.Table]) -> None:
        """Drop and recreate tables (`schema` script) and bulk-load them (`copy` script) in one transaction: a
        failure rolls back to the previous contents."""
        if self.read_only:
            raise PermissionError(f"{self!r} is read-only")
        conn = self._connection()
        self._run_script(conn, "begin_transaction")
        try:
            self._run_script(conn, schema)
            self._run_script(conn, copy, params)
        except BaseException:
            self._run_script(conn, "rollback")
            raise
        self._run_script(conn, "commit")

    def replace_age_groups(self, groups: GraphTables) -> None:
        self._replace_in_transaction("age_groups_schema", "age_groups_copy", copy_params(groups))

    def _replace_similar(self, rows: pa.Table) -> None:
        self._replace_in_transaction("similar_schema", "similar_copy",
                                     copy_params(GraphTables(rels={SIMILAR.name: rows})))

    def _replace_embeddings(self, rows: pa.Table) -> None:
        self._replace_in_transaction("embeddings_schema", "embeddings_copy",
                                     copy_params(GraphTables(nodes={PRODUCT_EMBEDDING.label: rows})))

    def ensure_complete(self, part: str) -> None:
        """The graph is complete once it exists (it is renamed into place whole); the parts loaded on top of it
        once their table is (each is replaced in one transaction; a graph rebuild drops them)."""
        tables = {r["name"] for r in self.rows("table_names")}
        needed = {AGE_GROUPS_PART: (AGE_GROUP.label, "age_groups"),
                  SIMILAR_PART: (SIMILAR.name, "similar_graph"),
                  EMBEDDINGS_PART: (PRODUCT_EMBEDDING.label, "similar_graph with store_embeddings")}
        if part in needed and needed[part][0] not in tables:
            raise IncompleteGraph(f"no {part} in {self.db_path}: materialize {needed[part][1]}")
