"""The production graph store: a Neo4j server through the official `neo4j` driver.

Writes go through `driver.execute_query(..., database_=...)` in `UNWIND $rows` batches of `batch_size` rows, with
uniqueness constraints created first and a bounded retry (exponential backoff) on errors the driver calls
retryable. Neo4j cannot swap a database atomically, so each load marks its part `loading` before it starts and
`complete` when it ends (`GraphLoad` nodes); `incomplete_parts()` shows a load that died half-way.

For a first load at full scale (31.8M purchases) use `neo4j-admin database import` (see the README); this path is
for reloads and for keeping a server in step.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hm_pipeline.graph import cypher_files
from hm_pipeline.graph.model import (
    AGE_NODES,
    AGE_RELS,
    GRAPH_NODES,
    GRAPH_RELS,
    PRODUCT_EMBEDDING,
    SIMILAR,
    NodeSpec,
    RelSpec,
)
from hm_pipeline.graph.store import (
    AGE_GROUPS_PART,
    EMBEDDINGS_PART,
    GRAPH_PART,
    SIMILAR_PART,
    GraphStore,
    IncompleteGraph,
)
from hm_pipeline.graph.tables import GraphTables

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 10_000
#: Rows per batch of image embeddings (2048 floats each: ~8 MB of parameters per 1,000 rows).
EMBEDDING_BATCH_SIZE = 1_000
#: Seconds to wait for a TCP/TLS connection to the server before calling it unreachable.
CONNECT_TIMEOUT_S = 10.0
LOADING = "loading"
COMPLETE = "complete"


def row_batches(table: pa.Table, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    """`table` as lists of at most `batch_size` row dicts (dates stay `datetime.date`, nulls `None`)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    for offset in range(0, table.num_rows, batch_size):
        yield table.slice(offset, batch_size).to_pylist()


def edge_batches(table: pa.Table, batch_size: int) -> Iterator[dict[str, Any]]:
    """A relationship table (source, target, *properties) as statement parameters of at most `batch_size` rows:
    the batch's distinct source and target keys once each (`sources`, `targets`), and its `rows` with the position
    of their ends in those lists (`s`, `t`) and their properties. The statement then looks up each distinct end
    once per batch instead of two index seeks per row (at `small` a batch of 10,000 purchases names ~2,700
    customers and ~2,800 products: the median over its batches)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    for offset in range(0, table.num_rows, batch_size):
        batch = table.slice(offset, batch_size)
        params: dict[str, Any] = {}
        ends: dict[str, pa.ChunkedArray] = {}
        for column, keys, position in (("source", "sources", "s"), ("target", "targets", "t")):
            values = batch[column]
            if pa.types.is_dictionary(values.type):
                values = values.cast(values.type.value_type)
            distinct = pc.unique(values)
            params[keys] = distinct.to_pylist()
            ends[position] = pc.index_in(values, value_set=distinct)
        params["rows"] = pa.table({**ends, **{name: batch[name] for name in batch.column_names[2:]}}).to_pylist()
        yield params


class Neo4jLoadError(RuntimeError):
    """A batch of relationships names a node that is not in the database (nothing of that batch was written)."""


class Neo4jUnavailable(RuntimeError):
    """The Neo4j server cannot be reached or refuses the credentials (the message names the URI, never the
    password, and what to check)."""


def _connect_message(uri: str, user: str, database: str, error: BaseException) -> str:
    from neo4j.exceptions import AuthError, ServiceUnavailable

    if isinstance(error, AuthError):
        return (f"Neo4j at {uri} refused the credentials of user {user!r}: check NEO4J_USER and NEO4J_PASSWORD "
                f"(for the local server: `hm-pipeline neo4j status`)")
    if isinstance(error, ServiceUnavailable):
        return (f"cannot reach Neo4j at {uri} (database {database!r}) within {CONNECT_TIMEOUT_S:.0f} s: "
                f"{type(error).__name__}: {_one_line(error)}. Check that the server is running and listening on that "
                f"host and port (local server: `hm-pipeline neo4j status` / `start`), the URI scheme (bolt:// for one "
                f"server, neo4j:// for a cluster, neo4j+s:// for Aura) and any firewall between")
    return f"cannot connect to Neo4j at {uri} as {user!r}: {type(error).__name__}: {_one_line(error)}"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def _retryable(error: BaseException) -> bool:
    check = getattr(error, "is_retryable", None)
    return bool(check()) if callable(check) else False


class Neo4jGraphStore(GraphStore):
    """A Neo4j database reached through `driver` (a `neo4j.Driver`; the store closes it)."""

    dialect = "neo4j"
    customer_chunk = 50_000

    def __init__(
        self,
        driver: Any,
        database: str = "neo4j",
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_retries: int = 5,
        retry_backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        uri: str = "",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.driver = driver
        self.database = database
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.retry_backoff_s = retry_backoff_s
        self._sleep = sleep
        self.uri = uri  # for messages only; the password is never kept

    @classmethod
    def connect(
        cls,
        uri: str,
        user: str,
        password: str,
        database: str = "neo4j",
        driver_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> "Neo4jGraphStore":
        """Open a driver for `uri` (`driver_options` go to `GraphDatabase.driver`) and check that the server
        answers and takes the credentials, within about `CONNECT_TIMEOUT_S`; the password goes to the driver only
        and is not kept on the store or put in any message."""
        import neo4j

        options = {"connection_timeout": CONNECT_TIMEOUT_S, "max_transaction_retry_time": 15.0,
                   "notifications_min_severity": "OFF",  # planner hints would flood the run log
                   **(driver_options or {})}
        driver = neo4j.GraphDatabase.driver(uri, auth=(user, password), **options)
        try:
            driver.verify_connectivity()
        except Exception as error:
            driver.close()
            raise Neo4jUnavailable(_connect_message(uri, user, database, error)) from None
        return cls(driver, database=database, uri=uri, **kwargs)

    def __repr__(self) -> str:
        return f"Neo4jGraphStore(database={self.database!r}, batch_size={self.batch_size})"

    def close(self) -> None:
        self.driver.close()

    # -- execution ---------------------------------------------------------------------------------------------
    def _execute(self, statement: str, params: dict[str, Any], write: bool) -> Any:
        import neo4j

        routing = neo4j.RoutingControl.WRITE if write else neo4j.RoutingControl.READ
        for attempt in range(self.max_retries + 1):
            try:
                return self.driver.execute_query(
                    statement, parameters_=params, routing_=routing, database_=self.database
                )
            except Exception as error:  # noqa: BLE001 - only retryable driver errors are retried
                if attempt == self.max_retries or not _retryable(error):
                    if isinstance(error, neo4j.exceptions.ServiceUnavailable | neo4j.exceptions.SessionExpired):
                        raise Neo4jUnavailable(
                            f"lost the connection to Neo4j at {self.uri or 'the server'} after {attempt + 1} "
                            f"attempts ({type(error).__name__}: {_one_line(error)}); a load in progress stays marked "
                            f"incomplete until it is re-run. Check that the server is running (local server: "
                            f"`hm-pipeline neo4j status`)") from error
                    raise
                delay = self.retry_backoff_s * 2**attempt
                log.warning("Neo4j %s (attempt %d of %d); retrying in %.1fs", type(error).__name__, attempt + 1,
                            self.max_retries + 1, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _write(self, name: str, params: dict[str, Any] | None = None) -> Any:
        return self._execute(self.statement(name), params or {}, write=True)

    def run(self, name: str, params: dict[str, Any] | None = None) -> pa.Table:
        result = self._execute(self.statement(name), params or {}, write=False)
        rows = [dict(record) for record in result.records]
        if rows:
            return pa.Table.from_pylist(rows)
        return pa.table({key: pa.array([], pa.null()) for key in result.keys})

    # -- loading -----------------------------------------------------------------------------------------------
    def create_constraints(self) -> None:
        for statement in cypher_files.statements(self.dialect, "constraints"):
            self._execute(statement, {}, write=True)

    def _delete_until_empty(self, name: str) -> int:
        total = 0
        while True:
            deleted = int(self._write(name, {"batch_size": self.batch_size}).records[0]["deleted"])
            total += deleted
            if deleted == 0:
                return total

    def load_table(self, spec: NodeSpec | RelSpec, table: pa.Table, batch_size: int | None = None) -> int:
        """Write `table` with `cypher/neo4j/load/<name>.cypher`, one transaction per batch of `batch_size` rows
        (default: the store's): node rows as they are, relationships as `edge_batches`; returns batches. Raises
        `Neo4jLoadError` when a batch of relationships names a node that is not there."""
        size = batch_size or self.batch_size
        name = f"load/{spec.label if isinstance(spec, NodeSpec) else spec.name}"
        if isinstance(spec, NodeSpec):
            batches = 0
            for rows in row_batches(table, size):
                self._write(name, {"rows": rows})
                batches += 1
            return batches
        batches = 0
        for params in edge_batches(table, size):
            written = int(self._write(name, params).records[0]["written"])
            if written != len(params["rows"]):
                raise Neo4jLoadError(
                    f"{spec.name} rows {batches * size}-{batches * size + len(params['rows']) - 1}: a {spec.source} "
                    f"or {spec.target} they name is not in the database, so that batch wrote nothing; the load "
                    f"stays marked incomplete (re-materialize the graph)")
            batches += 1
        return batches

    def _set_status(self, part: str, status: str) -> None:
        self._write("set_load_status", {"part": part, "status": status})

    def _load(self, nodes: tuple[NodeSpec, ...], rels: tuple[RelSpec, ...], tables: GraphTables) -> None:
        for spec in nodes:
            self.load_table(spec, tables.nodes[spec.label])
        for rel in rels:
            self.load_table(rel, tables.rels[rel.name])

    def rebuild(self, graph: GraphTables) -> None:
        self.create_constraints()
        self._set_status(GRAPH_PART, LOADING)
        self._set_status(AGE_GROUPS_PART, LOADING)  # the age groups go with the customers they point at
        self._set_status(SIMILAR_PART, LOADING)  # SIMILAR and embeddings go with the products: reload them after
        self._set_status(EMBEDDINGS_PART, LOADING)
        self._delete_until_empty("delete_relationships_batch")
        self._delete_until_empty("delete_nodes_batch")
        self._load(GRAPH_NODES, GRAPH_RELS, graph)
        self._set_status(GRAPH_PART, COMPLETE)

    def complete_admin_import(self, parts: tuple[str, ...], timeout_s: int = 1800) -> None:
        """After `neo4j-admin database import` of `parts`: create the constraints and indexes (filled from the
        imported nodes), wait until they are online, mark `parts` complete and every other part loading (it was
        not imported: re-materialize it)."""
        self.create_constraints()
        self._write("await_indexes", {"timeout_s": timeout_s})
        for part in (GRAPH_PART, AGE_GROUPS_PART, SIMILAR_PART, EMBEDDINGS_PART):
            self._set_status(part, COMPLETE if part in parts else LOADING)

    def replace_age_groups(self, groups: GraphTables) -> None:
        self.create_constraints()
        self._set_status(AGE_GROUPS_PART, LOADING)
        self._delete_until_empty("delete_age_groups_batch")
        self._write("delete_age_group_nodes")
        self._load(AGE_NODES, AGE_RELS, groups)
        self._set_status(AGE_GROUPS_PART, COMPLETE)

    def _replace_similar(self, rows: pa.Table) -> None:
        self._set_status(SIMILAR_PART, LOADING)
        self._delete_until_empty("delete_similar_batch")
        self.load_table(SIMILAR, rows)
        self._write("set_similar_method", {"method": "exact"})
        self._set_status(SIMILAR_PART, COMPLETE)

    def similar_by_gds_knn(self, top_k: int = 10, sample_rate: float = 0.5, delta_threshold: float = 0.001,
                           random_seed: int = 42) -> dict[str, Any]:
        """Replace SIMILAR with GDS kNN (cosine, `top_k` per product) over the stored embeddings, as the seed did;
        ranks are numbered by score afterwards. Returns GDS's statistics."""
        self.ensure_complete(EMBEDDINGS_PART)
        self._set_status(SIMILAR_PART, LOADING)
        self._delete_until_empty("delete_similar_batch")
        graph_name = f"hm_similar_{uuid.uuid4().hex[:12]}"
        self._write("gds_knn_project", {"graph_name": graph_name})
        try:
            stats = dict(self._write("gds_knn_write", {
                "graph_name": graph_name, "top_k": top_k, "sample_rate": sample_rate,
                "delta_threshold": delta_threshold, "random_seed": random_seed,
            }).records[0])
        finally:
            self._write("gds_graph_drop", {"graph_name": graph_name})
        self._write("similar_rank")
        self._write("set_similar_method", {"method": "gds_knn"})
        self._set_status(SIMILAR_PART, COMPLETE)
        return stats

    def similar_method(self) -> str | None:
        """'exact' or 'gds_knn': how the current SIMILAR set was made (None before any)."""
        rows = self.rows("similar_method")
        return rows[0]["method"] if rows else None

    def _replace_embeddings(self, rows: pa.Table) -> None:
        self._set_status(EMBEDDINGS_PART, LOADING)
        self._delete_until_empty("delete_embeddings_batch")
        self.load_table(PRODUCT_EMBEDDING, rows, min(self.batch_size, EMBEDDING_BATCH_SIZE))
        self._set_status(EMBEDDINGS_PART, COMPLETE)

    def incomplete_parts(self) -> list[str]:
        return [r["part"] for r in self.rows("load_status") if r["status"] != COMPLETE]

    def ensure_complete(self, part: str) -> None:
        if part in self.incomplete_parts():
            raise IncompleteGraph(f"the Neo4j {part!r} load started and did not finish: re-materialize it")
