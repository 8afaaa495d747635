"""Vectorized conversion of raw CSV string columns to typed Arrow arrays, failing with file/row/column.

Every Kaggle column is read as text and converted here, so that a bad value is reported exactly: the first
offending data row (1-based, header excluded) and the column name. The happy path is pyarrow compute only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hm_pipeline.data import schema
from hm_pipeline.data.id_index import digit_numbers, fixed_width_bytes, hex_words


class IngestError(ValueError):
    """Bad input: names the file, the data row (1-based, header excluded) and the column when they are known."""

    def __init__(self, file: str, message: str, row: int | None = None, column: str | None = None):
        self.file, self.row, self.column, self.reason = file, row, column, message
        where = file
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Block:
    """Where a block of rows sits in its file, for error messages."""

    file: str
    first_row: int  # 1-based data row number of the block's first row

    def fail(self, index: int, column: str, message: str) -> IngestError:
        return IngestError(self.file, message, row=self.first_row + index, column=column)


_INT = r"^[+-]?\d+$"
_INT_OR_WHOLE_FLOAT = r"^[+-]?\d+(\.0*)?$"
_FLOAT = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"


def _first_false(mask: pa.Array) -> int | None:
    """Index of the first False (nulls count as True: nullability is checked separately)."""
    values = pc.fill_null(mask, True).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(~values)
    return int(bad[0]) if bad.size else None


def _sample(arr: pa.Array, index: int) -> str:
    value = arr[index].as_py()
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "...'"


def require_matches(arr: pa.Array, pattern: str, block: Block, column: str, what: str) -> None:
    bad = _first_false(pc.match_substring_regex(arr, pattern))
    if bad is not None:
        raise block.fail(bad, column, f"expected {what}, got {_sample(arr, bad)}")


def require_non_null(arr: pa.Array, block: Block, column: str) -> None:
    if arr.null_count:
        bad = _first_false(pc.is_valid(arr))
        raise block.fail(bad, column, "value is missing (blank)")


def require_in_range(values: pa.Array, low, high, block: Block, column: str, raw: pa.Array) -> None:
    inside = pc.and_(pc.greater_equal(values, low), pc.less_equal(values, high))
    bad = _first_false(inside)
    if bad is not None:
        raise block.fail(bad, column, f"value {_sample(raw, bad)} is outside the allowed range [{low}, {high}]")


def to_int(arr: pa.Array, block: Block, column: str, target: pa.DataType, *, whole_floats: bool = False,
           allowed: tuple[int, int] | None = None) -> pa.Array:
    """Integer column; `whole_floats` accepts `49.0` (pandas writes integer columns with blanks as floats)."""
    raw = pc.utf8_trim_whitespace(arr)
    if whole_floats:
        require_matches(raw, _INT_OR_WHOLE_FLOAT, block, column, "a whole number")
        raw = pc.replace_substring_regex(raw, r"\.0*$", "")
    else:
        require_matches(raw, _INT, block, column, "an integer")
    wide = pc.cast(raw, pa.int64())
    if allowed is None:
        info = np.iinfo(target.to_pandas_dtype())
        allowed = (int(info.min), int(info.max))
    require_in_range(wide, allowed[0], allowed[1], block, column, arr)
    return pc.cast(wide, target)


def to_price(arr: pa.Array, block: Block, column: str) -> pa.Array:
    try:
        values = pc.cast(arr, pa.float64())  # fast path; anything it refuses is located below
    except pa.ArrowInvalid:
        raw = pc.utf8_trim_whitespace(arr)
        require_matches(raw, _FLOAT, block, column, "a decimal number")
        values = pc.cast(raw, pa.float64())
    for valid, problem in ((pc.invert(pc.is_nan(values)), "is not a number"), (pc.is_finite(values), "is infinite"),
                           (pc.greater_equal(values, 0.0), "is negative")):
        bad = _first_false(valid)
        if bad is not None:
            raise block.fail(bad, column, f"price {_sample(arr, bad)} {problem}: expected a finite number >= 0")
    return pc.cast(values, pa.float32())


def to_date(arr: pa.Array, block: Block, column: str, window: tuple[dt.date, dt.date]) -> pa.Array:
    """ISO `YYYY-MM-DD` dates inside `window` (inclusive); impossible dates such as 2020-02-30 are rejected."""
    raw = pc.utf8_trim_whitespace(arr)
    require_matches(raw, _DATE, block, column, "a date YYYY-MM-DD")
    parsed = pc.strptime(raw, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime normalises 2020-02-30 to 2020-03-01: a round trip exposes impossible dates.
    round_trip = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), raw)
    bad = _first_false(pc.and_(pc.is_valid(parsed), pc.fill_null(round_trip, False)))
    if bad is not None:
        raise block.fail(bad, column, f"{_sample(arr, bad)} is not a valid calendar date")
    dates = pc.cast(parsed, pa.date32())
    low, high = (pa.scalar(d, pa.date32()) for d in window)
    require_in_range(dates, low, high, block, column, arr)
    return dates


def to_article_id(arr: pa.Array, block: Block, column: str) -> pa.Array:
    """10-digit zero-padded article id; accepts ids that lost their leading zero(s) (pandas round trips)."""
    if digit_numbers(arr, schema.ARTICLE_ID_DIGITS) is not None:  # fast path: digits only
        if pc.min(pc.utf8_length(arr)).as_py() == schema.ARTICLE_ID_DIGITS:
            return arr
        return pc.utf8_lpad(arr, schema.ARTICLE_ID_DIGITS, "0")
    raw = pc.utf8_trim_whitespace(arr)
    require_matches(raw, rf"^\d{{1,{schema.ARTICLE_ID_DIGITS}}}$", block, column,
                    f"an article id of at most {schema.ARTICLE_ID_DIGITS} digits")
    return pc.utf8_lpad(raw, schema.ARTICLE_ID_DIGITS, "0")


CUSTOMER_ID_PATTERN = rf"^[0-9a-f]{{{schema.CUSTOMER_ID_HEX}}}$"


def _lowercased_if_well_formed(arr: pa.Array) -> pa.Array | None:
    """`arr` with hex digits lower-cased when every value is exactly 64 hex characters (fast path), else None."""
    if hex_words(arr, schema.CUSTOMER_ID_HEX) is None:
        return None
    raw_bytes = fixed_width_bytes(arr, schema.CUSTOMER_ID_HEX)
    has_upper = bool(((raw_bytes >= ord("A")) & (raw_bytes <= ord("F"))).any())
    return pc.utf8_lower(arr) if has_upper else arr


def canonical_customer_ids(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Customer ids in the one form ingest stores: surrounding blanks dropped, hex digits lower-case.

    Every id that comes from a file or a person (customers.csv, transactions, `hm-pipeline recommend ID`) goes
    through this before it is compared with the ingested ids.
    """
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    fast = _lowercased_if_well_formed(arr)
    return fast if fast is not None else pc.utf8_lower(pc.utf8_trim_whitespace(arr))


def to_customer_id(arr: pa.Array, block: Block, column: str) -> pa.Array:
    fast = _lowercased_if_well_formed(arr)
    if fast is not None:
        return fast
    raw = canonical_customer_ids(arr)  # blanks around ids, or bad ids (located below)
    require_matches(raw, CUSTOMER_ID_PATTERN, block, column, f"a customer id of {schema.CUSTOMER_ID_HEX} hex characters")
    return raw


def to_text(arr: pa.Array, block: Block, column: str) -> pa.Array:
    return arr


Converter = Callable[[pa.Array, Block, str], pa.Array]


@dataclass(frozen=True)
class ColumnSpec:
    convert: Converter
    required: bool = True


def via_dictionary(convert: Converter) -> Converter:
    """Convert only the distinct values of a low-cardinality column (dates, channels), then expand."""

    def run(arr: pa.Array, block: Block, column: str) -> pa.Array:
        encoded = arr.dictionary_encode()
        try:
            values = convert(encoded.dictionary, Block(block.file, 0), column)
        except IngestError as err:
            indices = pc.fill_null(encoded.indices, -1).to_numpy()
            first = int(np.flatnonzero(indices == err.row)[0])
            raise block.fail(first, column, err.reason) from None
        return values.take(encoded.indices)

    return run


def int_column(target: pa.DataType, **kwargs) -> Converter:
    return lambda arr, block, column: to_int(arr, block, column, target, **kwargs)


def date_column(window: tuple[dt.date, dt.date]) -> Converter:
    return via_dictionary(lambda arr, block, column: to_date(arr, block, column, window))
