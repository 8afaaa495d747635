"""Read the fusion inputs from the pipeline's files and the graph store into index space (no Dagster here).

customer_idx / article_idx are row positions of the ingest Parquet files (sorted by id), so an id maps to its idx
with one `pc.index_in` over the whole column. Graph answers come from batched statements over ranges of
Customer.idx (`$first_idx`, `$last_idx`): every customer in one call on the embedded engine, `customer_chunk`
customers per call on Neo4j; never one query per customer.
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

from hm_pipeline.data.csv_columns import canonical_customer_ids
from hm_pipeline.graph.age_groups import GROUP_NAMES, UNKNOWN
from hm_pipeline.graph.store import GraphStore
from hm_pipeline.layout import DataLayout
from hm_pipeline.recommend.attribute_filter import AttributeFilter, CustomerCodes, encode_codes
from hm_pipeline.recommend.config import similar_matrix
from hm_pipeline.recommend.history import PurchaseHistory
from hm_pipeline.recommend.ranking import AlsFactors
from hm_pipeline.recommend.submission import read_sample_submission
from hm_pipeline.training.interactions import ITEMS_FILE, USERS_FILE

ATTRIBUTES_STATEMENT = "customer_departments_indexes"  # -> customer_idx, department, index_code
AGE_GROUP_STATEMENT = "customer_age_group"  # -> customer_idx, age_group
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


def customer_ranges(n_customers: int, chunk: int | None) -> Iterator[tuple[int, int]]:
    """[first_idx, last_idx) ranges of at most `chunk` customers (None or 0: one range with all)."""
    if chunk is not None and chunk < 0:
        raise ValueError(f"chunk must be >= 0, got {chunk}")
    step = chunk or max(n_customers, 1)
    for first in range(0, n_customers, step):
        yield first, min(first + step, n_customers)


def graph_rows(store: GraphStore, statement: str, n_customers: int, values: tuple[str, ...],
               chunk: int | None = None) -> tuple[np.ndarray, dict[str, pa.Array], int]:
    """(customer_idx, *values) rows of a statement over Customer.idx ranges covering every customer, `chunk`
    customers per call (None: the store's `customer_chunk`); returns the customer_idx column, the value columns
    and the number of calls made."""
    ids: list[np.ndarray] = []
    columns: dict[str, list[pa.Array]] = {name: [] for name in values}
    calls = 0
    for first, last in customer_ranges(n_customers, store.customer_chunk if chunk is None else chunk):
        table = store.run(statement, {"first_idx": first, "last_idx": last})
        ids.append(table["customer_idx"].to_numpy().astype(np.int64, copy=False))
        for name in values:
            columns[name].append(table[name].combine_chunks())
        calls += 1
    if not ids:
        return np.empty(0, np.int64), {name: pa.array([], pa.string()) for name in values}, 0
    customers = np.concatenate(ids)
    if len(customers) and (customers.min() < 0 or customers.max() >= n_customers):
        raise ValueError(f"graph statement {statement}: customer_idx outside [0, {n_customers}) — the graph is out "
                         "of step with customers.parquet: re-materialize product_graph")
    return customers, {name: pa.concat_arrays([v.cast(parts[0].type) for v in parts])
                       for name, parts in columns.items()}, calls


def graph_attribute_filter(store: GraphStore, catalog: Catalog, chunk: int | None = None
                           ) -> tuple[AttributeFilter, int]:
    """The department AND index filter from the graph's (customer, department, index) rows — one pass over the
    purchases for both (batched); returns the filter and the number of graph calls."""
    customers, values, calls = graph_rows(store, ATTRIBUTES_STATEMENT, catalog.n_customers,
                                          ("department", "index_code"), chunk)
    article_dep, pair_dep, n_dep = encode_codes(catalog.department_no,
                                                values["department"].to_numpy(zero_copy_only=False).astype(np.int64))
    article_idx, pair_idx, n_idx = encode_codes(catalog.index_code,
                                                values["index_code"].to_numpy(zero_copy_only=False))
    departments = CustomerCodes.from_pairs(customers[pair_dep >= 0], pair_dep[pair_dep >= 0], n_dep)
    indexes = CustomerCodes.from_pairs(customers[pair_idx >= 0], pair_idx[pair_idx >= 0], n_idx)
    return AttributeFilter(article_dep, article_idx, departments, indexes), calls


def graph_age_groups(store: GraphStore, catalog: Catalog, chunk: int | None = None) -> tuple[np.ndarray, int]:
    """int8 code (position in `GROUP_NAMES`) of each customer_idx's AgeGroup; no edge -> `unknown`."""
    customers, values, calls = graph_rows(store, AGE_GROUP_STATEMENT, catalog.n_customers, ("age_group",), chunk)
    names = values["age_group"]
    codes = np.full(catalog.n_customers, UNKNOWN_AGE_GROUP, np.int8)
    code = pc.index_in(names, value_set=pa.array(GROUP_NAMES, pa.string()))
    if code.null_count:
        raise ValueError(f"graph statement {AGE_GROUP_STATEMENT}: unknown age group name(s) "
                         f"{pc.unique(pc.filter(names, pc.is_null(code))).to_pylist()}")
    codes[customers] = code.to_numpy(zero_copy_only=False)
    return codes, calls


def submission_order(layout: DataLayout) -> tuple[pa.Array, Path]:
    """Customer ids in submission order: input/sample_submission.csv when present (checked, verbatim: raises
    `IngestError` naming file, row and column), else input/customers.csv (ids in their canonical lower-case form)."""
    sample = layout.input_file("sample_submission.csv")
    if os.path.lexists(sample):
        return read_sample_submission(sample), sample
    customers = layout.input_file("customers.csv")
    if customers.is_file():
        table = pv.read_csv(customers, convert_options=pv.ConvertOptions(
            include_columns=["customer_id"], column_types={"customer_id": pa.string()}, null_values=[""]))
        return canonical_customer_ids(table["customer_id"]), customers
    raise FileNotFoundError(f"neither sample_submission.csv nor customers.csv in {layout.input_dir}")
