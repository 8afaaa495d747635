"""Read the fusion inputs from the pipeline's files and the graph store into index space (no Dagster here).

customer_idx / article_idx are row positions of the ingest Parquet files (sorted by id), so an id maps to its idx
with one `pc.index_in` over the whole column. Graph answers come from batched statements: `UNWIND $customer_ids`
with `chunk` ids per call, never one query per customer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv
import pyarrow.parquet as pq
import scipy.sparse as sp

from hm_pipeline.graph.age_groups import GROUP_NAMES, UNKNOWN
from hm_pipeline.graph.store import GraphStore
from hm_pipeline.layout import DataLayout
from hm_pipeline.recommend.attribute_filter import AttributeFilter, CustomerCodes, encode_codes
from hm_pipeline.recommend.config import similar_matrix
from hm_pipeline.recommend.history import PurchaseHistory
from hm_pipeline.recommend.ranking import AlsFactors
from hm_pipeline.training.interactions import ITEMS_FILE, USERS_FILE

GRAPH_CHUNK = 50_000
DEPARTMENTS_STATEMENT = "customer_departments"  # -> customer_id, department
INDEXES_STATEMENT = "customer_indexes"  # -> customer_id, index_code
AGE_GROUP_STATEMENT = "customer_age_group"  # -> customer_id, age_group
UNKNOWN_AGE_GROUP = GROUP_NAMES.index(UNKNOWN)


@dataclass(frozen=True)
class Catalog:
    """The id of every customer_idx and article_idx, and the articles' department / index (for the filter)."""

    customer_ids: pa.Array
    article_ids: pa.Array
    department_no: np.ndarray
    index_code: np.ndarray

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def n_articles(self) -> int:
        return len(self.article_ids)

    @classmethod
    def read(cls, layout: DataLayout) -> "Catalog":
        customers = pq.read_table(layout.ingest_table("customers"), columns=["customer_id"])
        articles = pq.read_table(layout.ingest_table("articles"), columns=["article_id", "department_no", "index_code"])
        return cls(
            customers["customer_id"].combine_chunks(),
            articles["article_id"].combine_chunks(),
            articles["department_no"].to_numpy(),
            articles["index_code"].to_numpy(zero_copy_only=False),
        )

    def customer_idx(self, ids: pa.Array | pa.ChunkedArray, source: str) -> np.ndarray:
        return _positions(ids, self.customer_ids, source, "customer_id")

    def article_idx(self, ids: pa.Array | pa.ChunkedArray, source: str) -> np.ndarray:
        return _positions(ids, self.article_ids, source, "article_id")


def _positions(ids: pa.Array | pa.ChunkedArray, universe: pa.Array, source: str, column: str) -> np.ndarray:
    found = pc.index_in(ids, value_set=universe)
    if found.null_count:
        row = int(pc.index(pc.is_null(found), True).as_py())
        raise ValueError(f"{source}: row {row}, column {column}: {ids[row].as_py()!r} is not a known {column} "
                         "(inputs are out of step: re-materialize the upstream assets)")
    return found.to_numpy(zero_copy_only=False).astype(np.int32)


def read_history(layout: DataLayout, catalog: Catalog) -> PurchaseHistory:
    """Every transaction with a known customer and article (orphans dropped), from transactions.parquet."""
    table = pq.read_table(layout.ingest_table("transactions"), columns=["t_dat", "customer_idx", "article_idx"])
    table = table.filter(pc.and_(pc.is_valid(table["customer_idx"]), pc.is_valid(table["article_idx"])))
    return PurchaseHistory.from_transactions(
        table["customer_idx"].to_numpy(), table["article_idx"].to_numpy(), table["t_dat"].cast(pa.int32()).to_numpy(),
        catalog.n_customers, catalog.n_articles,
    )


def read_similar(path: str | os.PathLike[str], catalog: Catalog) -> sp.csr_matrix:
    """similar.parquet (src, dst article ids, score) as an article_idx x article_idx CSR."""
    table = pq.read_table(path, columns=["src", "dst", "score"])
    return similar_matrix(catalog.article_idx(table["src"], str(path)), catalog.article_idx(table["dst"], str(path)),
                          table["score"].to_numpy(), catalog.n_articles)


def read_als(model_path: str | os.PathLike[str], id_maps: str | os.PathLike[str], catalog: Catalog) -> AlsFactors:
    """An implicit ALS model saved by `als_model` plus the id maps of its interaction matrix folder."""
    from hm_pipeline.training.als import load_model  # implicit is only imported when ALS is read

    model = load_model(model_path)
    id_maps = Path(id_maps)
    users = pq.read_table(id_maps / USERS_FILE, columns=["customer_idx"])["customer_idx"].to_numpy()
    items = pq.read_table(id_maps / ITEMS_FILE, columns=["article_idx"])["article_idx"].to_numpy()
    return AlsFactors.from_id_maps(model.user_factors, model.item_factors, users, items,
                                   catalog.n_customers, catalog.n_articles)


def _chunks(ids: pa.Array, chunk: int) -> Iterator[list[str]]:
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    for start in range(0, len(ids), chunk):
        yield ids.slice(start, chunk).to_pylist()


def graph_pairs(store: GraphStore, statement: str, customer_ids: pa.Array, value: str,
                chunk: int = GRAPH_CHUNK) -> tuple[pa.Array, pa.Array, int]:
    """(customer_id, value) rows of a `UNWIND $customer_ids` statement over every id, `chunk` ids per call;
    returns the two columns and the number of calls made."""
    ids, values, calls = [], [], 0
    for part in _chunks(customer_ids, chunk):
        table = store.run(statement, {"customer_ids": part})
        ids.append(table["customer_id"].combine_chunks())
        values.append(table[value].combine_chunks())
        calls += 1
    if not ids:
        return pa.array([], pa.string()), pa.array([]), 0
    return pa.concat_arrays(ids), pa.concat_arrays([v.cast(values[0].type) for v in values]), calls


def graph_attribute_filter(store: GraphStore, catalog: Catalog, chunk: int = GRAPH_CHUNK) -> tuple[AttributeFilter, int]:
    """The department AND index filter from the graph's customer->department and customer->index pairs (batched);
    returns the filter and the number of graph calls."""
    dep_ids, dep_values, dep_calls = graph_pairs(store, DEPARTMENTS_STATEMENT, catalog.customer_ids, "department", chunk)
    idx_ids, idx_values, idx_calls = graph_pairs(store, INDEXES_STATEMENT, catalog.customer_ids, "index_code", chunk)
    article_dep, pair_dep, n_dep = encode_codes(catalog.department_no,
                                                dep_values.to_numpy(zero_copy_only=False).astype(np.int64))
    article_idx, pair_idx, n_idx = encode_codes(catalog.index_code, idx_values.to_numpy(zero_copy_only=False))
    graph = f"graph statement {DEPARTMENTS_STATEMENT}/{INDEXES_STATEMENT}"
    departments = CustomerCodes.from_pairs(catalog.customer_idx(dep_ids, graph)[pair_dep >= 0],
                                           pair_dep[pair_dep >= 0], n_dep)
    indexes = CustomerCodes.from_pairs(catalog.customer_idx(idx_ids, graph)[pair_idx >= 0],
                                       pair_idx[pair_idx >= 0], n_idx)
    return AttributeFilter(article_dep, article_idx, departments, indexes), dep_calls + idx_calls


def graph_age_groups(store: GraphStore, catalog: Catalog, chunk: int = GRAPH_CHUNK) -> tuple[np.ndarray, int]:
    """int8 code (position in `GROUP_NAMES`) of each customer_idx's AgeGroup; no edge -> `unknown`."""
    ids, names, calls = graph_pairs(store, AGE_GROUP_STATEMENT, catalog.customer_ids, "age_group", chunk)
    codes = np.full(catalog.n_customers, UNKNOWN_AGE_GROUP, np.int8)
    code = pc.index_in(names, value_set=pa.array(GROUP_NAMES, pa.string()))
    if code.null_count:
        raise ValueError(f"graph statement {AGE_GROUP_STATEMENT}: unknown age group name(s) "
                         f"{pc.unique(pc.filter(names, pc.is_null(code))).to_pylist()}")
    codes[catalog.customer_idx(ids, f"graph statement {AGE_GROUP_STATEMENT}")] = code.to_numpy(zero_copy_only=False)
    return codes, calls


def submission_order(layout: DataLayout) -> tuple[pa.Array, Path]:
    """Customer ids in submission order: input/sample_submission.csv when present, else input/customers.csv."""
    for name in ("sample_submission.csv", "customers.csv"):
        path = layout.input_file(name)
        if path.is_file():
            table = pv.read_csv(path, convert_options=pv.ConvertOptions(
                include_columns=["customer_id"], column_types={"customer_id": pa.string()}))
            return table["customer_id"].combine_chunks(), path
    raise FileNotFoundError(f"neither sample_submission.csv nor customers.csv in {layout.input_dir}")
