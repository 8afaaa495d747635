"""The Kaggle submission: `customer_id,prediction`, one row per customer in the given order, prediction = 12
space-separated 10-digit article ids. Built with Arrow string kernels (no Python loop per row); written to a temporary
path, validated there (`validate_submission`, which the blocking asset check also runs) and only then renamed over
the previous file, so an invalid submission never replaces a good one. `read_sample_submission` checks the file
that gives the order: a bad one is an error naming file, row and column."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from hm_pipeline.atomic import atomic_path
from hm_pipeline.data.csv_columns import CUSTOMER_ID_PATTERN, IngestError, require_non_null
from hm_pipeline.data.csv_reader import iter_blocks
from hm_pipeline.data.ingest import sort_unique_by_id

HEADER = ("customer_id", "prediction")
K = 12
ARTICLE_ID = re.compile(r"^[0-9]{10}$")


class InvalidSubmission(ValueError):
    """The submission written to the temporary path failed validation; the previous file was kept."""


def read_sample_submission(path: str | os.PathLike[str]) -> pa.Array:
    """The customer ids of sample_submission.csv in file order, checked: header `customer_id,prediction`, at least
    one row, every id 64 lower-case hex characters (the submission repeats them verbatim), no id twice.

    Raises `IngestError` naming the file, the data row (1-based) and the column.
    """
    path = Path(path)
    column = HEADER[0]
    parts = []
    for block, batch in iter_blocks(path, list(HEADER)):
        ids = batch.column(column)
        require_non_null(ids, block, column)
        well_formed = pc.match_substring_regex(ids, CUSTOMER_ID_PATTERN)
        if not pc.all(well_formed).as_py():
            row = int(pc.index(well_formed, False).as_py())
            value = ids[row].as_py()
            upper = value != value.lower() and re.fullmatch(CUSTOMER_ID_PATTERN, value.lower()) is not None
            reason = ("has upper-case letters: customer ids are lower-case hex, as in Kaggle's file" if upper else
                      "is not a customer id of 64 lower-case hex characters")
            raise block.fail(row, column, f"{value[:80]!r} {reason}")
        parts.append(ids)
    order = pa.concat_arrays(parts)
    sort_unique_by_id(pa.table({column: order}), column, path.name)  # raises naming the duplicated row
    return order


def customer_rows(order_ids: np.ndarray | pa.Array, customer_ids: np.ndarray | pa.Array,
                  source: str = "submission order") -> np.ndarray:
    """customer_idx (position in `customer_ids`) of each id in `order_ids`; raises naming the first unknown id and
    its row (1-based) in `source`."""
    found = pc.index_in(pa.array(order_ids, pa.string()), value_set=pa.array(customer_ids, pa.string()))
    if found.null_count:
        row = int(pc.index(pc.is_null(found), True).as_py())
        raise IngestError(source, f"unknown customer_id {pa.array(order_ids, pa.string())[row].as_py()!r}: not in "
                          f"customers.csv ({found.null_count} such row(s))", row=row + 1, column=HEADER[0])
    return found.to_numpy().astype(np.int64)


def prediction_strings(items: np.ndarray, article_ids: np.ndarray | pa.Array) -> pa.Array:
    """One string per row of `items` (n x k article_idx): the k article ids joined by spaces."""
    ids = pa.array(article_ids, pa.string())
    items = np.asarray(items)
    columns = [pc.take(ids, pa.array(items[:, j])) for j in range(items.shape[1])]
    return pc.binary_join_element_wise(*columns, " ")


def write_submission(
    path: str | os.PathLike[str],
    order_ids: np.ndarray | pa.Array,
    customer_ids: np.ndarray | pa.Array,
    items: np.ndarray,
    article_ids: np.ndarray | pa.Array,
    source: str = "submission order",
) -> int:
    """Write the CSV to a temporary path, validate it, then rename it over `path`; returns the row count.

    `order_ids`: customer ids in output order (sample_submission.csv, else customers.csv; `source` names it in
    errors). `customer_ids`: the id of each customer_idx. `items`: n_customers x 12 article_idx indexed by
    customer_idx. `article_ids`: 10-digit id of each article_idx. Raises `InvalidSubmission` (the previous file at
    `path` stays) when the written file fails `validate_submission`.
    """
    items = np.asarray(items)
    if items.ndim != 2 or items.shape[1] != K:
        raise ValueError(f"items must be n x {K}, got shape {items.shape}")
    rows = customer_rows(order_ids, customer_ids, source)
    table = pa.table({HEADER[0]: pa.array(order_ids, pa.string()), HEADER[1]: prediction_strings(items[rows], article_ids)})
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write((",".join(HEADER) + "\n").encode())  # Arrow would quote the header names
            pv.write_csv(table, fh, pv.WriteOptions(include_header=False, quoting_style="none"))
        check = validate_submission(tmp, order_ids, article_ids, name=str(path))
        if not check.ok:
            raise InvalidSubmission("submission not published (the previous file is kept): " + "; ".join(check.problems))
    return table.num_rows


@dataclass(frozen=True)
class SubmissionCheck:
    """What the validator saw; `ok` only when `problems` is empty."""

    rows: int
    expected_rows: int
    unique_customers: int
    rows_without_12_ids: int
    rows_with_repeated_ids: int
    malformed_ids: int
    unknown_ids: int
    order_matches: bool
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_submission(
    path: str | os.PathLike[str], expected_order: np.ndarray | pa.Array, article_ids: np.ndarray | pa.Array,
    name: str | None = None,
) -> SubmissionCheck:
    """Check header, at least one row, one row per expected customer in order, 12 ten-digit known article ids per
    row, no repeats. Problems name the file as `name` (default: `path`)."""
    label = name or str(path)
    path = Path(path)
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\r\n")
    table = pv.read_csv(
        path, convert_options=pv.ConvertOptions(column_types={c: pa.string() for c in HEADER}, strings_can_be_null=False)
    )
    problems = []
    if header != ",".join(HEADER):
        problems.append(f"{label}: header is {header!r}, expected {','.join(HEADER)!r}")
    if not set(HEADER) <= set(table.column_names):
        return SubmissionCheck(table.num_rows, len(expected_order), 0, 0, 0, 0, 0, False, problems)
    customers = table[HEADER[0]].combine_chunks()
    expected = pa.array(expected_order, pa.string())
    unique = len(pc.unique(customers))
    order_matches = len(customers) == len(expected) and bool(pc.all(pc.equal(customers, expected)).as_py() in (True, None))
    tokens = pc.split_pattern(table[HEADER[1]].combine_chunks(), " ")
    lengths = pc.list_value_length(tokens).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(tokens)
    position = pc.index_in(flat, value_set=pa.array(article_ids, pa.string()))  # one hash lookup per token
    not_known = pc.filter(flat, pc.is_null(position))  # only these can be malformed (known ids are 10 digits)
    ten_digits = int(pc.sum(pc.cast(pc.match_substring_regex(not_known, ARTICLE_ID.pattern), pa.int64())).as_py() or 0)
    repeated = 0
    full = lengths == K
    if full.any():
        position = pc.fill_null(position, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        codes = np.where(position < 0, -1 - np.arange(len(position)), position)
        row_of = np.repeat(np.arange(len(lengths)), lengths)
        grid = codes[full[row_of]].reshape(-1, K)
        grid.sort(axis=1)
        repeated = int((grid[:, 1:] == grid[:, :-1]).any(axis=1).sum())
    check = dict(
        rows=table.num_rows,
        expected_rows=len(expected),
        unique_customers=unique,
        rows_without_12_ids=int((lengths != K).sum()),
        rows_with_repeated_ids=repeated,
        malformed_ids=len(not_known) - ten_digits,
        unknown_ids=ten_digits,
        order_matches=order_matches,
    )
    if not check["rows"]:
        problems.append(f"{label}: no data rows")
    if check["rows"] != check["expected_rows"]:
        problems.append(f"{label}: {check['rows']} rows, expected {check['expected_rows']}")
    if unique != table.num_rows:
        problems.append(f"{label}: {table.num_rows - unique} duplicate customer_id rows")
    if not order_matches:
        problems.append(f"{label}: customer_id column differs from the expected customers / order")
    if check["rows_without_12_ids"]:
        problems.append(f"{label}: {check['rows_without_12_ids']} rows without exactly {K} ids")
    if repeated:
        problems.append(f"{label}: {repeated} rows repeat an article id")
    if check["malformed_ids"]:
        problems.append(f"{label}: {check['malformed_ids']} ids are not 10 digits (lost leading zero?)")
    if check["unknown_ids"]:
        problems.append(f"{label}: {check['unknown_ids']} ids are not known articles")
    return SubmissionCheck(**check, problems=problems)
