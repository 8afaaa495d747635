"""The graph-store interface the assets use; `embedded.py` and `neo4j_store.py` implement it."""

from __future__ import annotations

import abc
from typing import Any

import pyarrow as pa

from hm_pipeline.graph import cypher_files
from hm_pipeline.graph.similar import LoadReport, embedding_rows, similar_rows
from hm_pipeline.graph.tables import GraphTables

GRAPH_PART = "graph"
AGE_GROUPS_PART = "age_groups"
SIMILAR_PART = "similar"
EMBEDDINGS_PART = "embeddings"


class IncompleteGraph(RuntimeError):
    """A load started and did not finish: the stored graph is not a complete one."""


class GraphStore(abc.ABC):
    """A Cypher graph database holding the product/customer/purchase graph.

    Loads take Arrow tables (`GraphTables`); queries are named files under `cypher/` run with parameters.
    """

    dialect: str
    #: Customers per batched per-customer statement (`$first_idx <= Customer.idx < $last_idx`); None = all in one
    #: call. The embedded engine scans its relationship tables whatever the range, so one call beats many; a server
    #: with an index on Customer.idx seeks each range.
    customer_chunk: int | None = None

    @abc.abstractmethod
    def rebuild(self, graph: GraphTables) -> None:
        """Replace the whole graph with `graph` (no duplicates on a re-run; the old graph stays usable, or is
        visibly marked incomplete, if the load fails)."""

    @abc.abstractmethod
    def replace_age_groups(self, groups: GraphTables) -> None:
        """Replace the AgeGroup nodes and IS_AGE_GROUP edges with `groups`."""

    def replace_similar(self, similar: pa.Table) -> LoadReport:
        """Replace every SIMILAR relationship with one (:Product)-[:SIMILAR {score, rank}]->(:Product) per row of
        `similar` (src, dst, score, rank); rows naming an article that is not a Product are counted, not loaded."""
        rows, report = similar_rows(similar, self.product_codes())
        self._replace_similar(rows)
        return report

    def replace_embeddings(self, embeddings: pa.Table) -> LoadReport:
        """Replace the stored image embeddings with `embeddings` (article_id, embedding[2048]); articles without
        a row have none; rows naming an article that is not a Product are counted, not loaded."""
        rows, report = embedding_rows(embeddings, self.product_codes())
        self._replace_embeddings(rows)
        return report

    @abc.abstractmethod
    def _replace_similar(self, rows: pa.Table) -> None:
        """Replace the SIMILAR set with `rows` (source, target, score, rank; every code is a Product)."""

    @abc.abstractmethod
    def _replace_embeddings(self, rows: pa.Table) -> None:
        """Replace the stored embeddings with `rows` (code, embedding; every code is a Product)."""

    def product_codes(self) -> pa.Array:
        """The `code` of every Product node."""
        return self.run("product_codes").column("code").combine_chunks().cast(pa.string())

    @abc.abstractmethod
    def run(self, name: str, params: dict[str, Any] | None = None) -> pa.Table:
        """Run the named statement from `cypher/` with `params`; the result as an Arrow table."""

    @abc.abstractmethod
    def ensure_complete(self, part: str) -> None:
        """Raise `IncompleteGraph` unless the last load of `part` (one of the *_PART names) finished."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def rows(self, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The named statement's result as a list of dicts."""
        return self.run(name, params).to_pylist()

    def statement(self, name: str) -> str:
        return cypher_files.statement(self.dialect, name)

    def node_counts(self) -> dict[str, int]:
        return {r["label"]: int(r["count"]) for r in self.rows("node_counts")}

    def relationship_counts(self) -> dict[str, int]:
        return {r["type"]: int(r["count"]) for r in self.rows("relationship_counts")}

    def __enter__(self) -> "GraphStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
