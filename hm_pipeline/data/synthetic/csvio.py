"""Kaggle-style CSV writing: quote only fields that need it, blanks for nulls, written atomically in chunks.

`pyarrow.csv` quotes every string value, which the real files do not; rows are therefore joined with
`pyarrow.compute` (vectorized) and the bytes written directly. Large files whose fields take few distinct values
(or fixed-width ids) are built from `ByteTable`s: every field is a row of a small table of encoded values, gathered
with numpy, which is several times faster than joining strings.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hm_pipeline.atomic import atomic_path

_NEEDS_QUOTES = r'[,"\n\r]'


def quote_where_needed(values: pa.Array) -> pa.Array:
    """Wrap values containing a comma, quote or newline in double quotes (inner quotes doubled); keep nulls."""
    values = pc.cast(values, pa.string())
    needs = pc.fill_null(pc.match_substring_regex(values, _NEEDS_QUOTES), False)
    if not pc.any(needs).as_py():
        return values
    quoted = pc.binary_join_element_wise(
        pa.scalar('"'), pc.replace_substring(values, '"', '""'), pa.scalar('"'), "")
    return pc.if_else(needs, quoted, values)


def csv_rows(columns: Sequence[pa.Array]) -> tuple[memoryview, int]:
    """One chunk of CSV lines (bytes, row count) from string-formatted columns; null -> blank field."""
    cols = [pc.cast(c, pa.string()) for c in columns]
    line = pc.binary_join_element_wise(*cols, ",", null_handling="replace", null_replacement="")
    line = pc.binary_join_element_wise(line, pa.scalar("\n"), "")
    n = len(line)
    offsets = np.frombuffer(line.buffers()[1], dtype=np.int32, count=line.offset + n + 1)
    data = line.buffers()[2]
    start, end = int(offsets[line.offset]), int(offsets[line.offset + n])
    return memoryview(data)[start:end], n


def write_csv(path: str | os.PathLike[str], header: Sequence[str], chunks: Iterable[Sequence[pa.Array]]) -> int:
    """Write `header` and every chunk of columns to a new file `path` atomically (never over an existing one);
    return the number of data rows."""
    rows = 0
    with atomic_path(Path(path), replace=False) as tmp, open(tmp, "wb", buffering=1 << 22) as fh:
        fh.write((",".join(header) + "\n").encode())
        for columns in chunks:
            data, n = csv_rows(columns)
            fh.write(data)
            rows += n
    return rows


@dataclass(frozen=True)
class ByteTable:
    """Distinct encoded field values, each already followed by its separator (',' or '\\n'), as a padded matrix."""

    cells: np.ndarray  # (k, width) uint8, value + separator left-aligned, zero padding
    lengths: np.ndarray  # (k,) int64 bytes used per row of `cells`

    @property
    def fixed(self) -> bool:
        return bool((self.lengths == self.cells.shape[1]).all())


def byte_table(values: Sequence[str | None] | pa.Array, sep: str) -> ByteTable:
    """A ByteTable of `values` (null/None -> blank field), each followed by `sep`."""
    arr = pc.cast(pa.array(values, pa.string()) if not isinstance(values, pa.Array) else values, pa.string())
    encoded = [(v if v is not None else "").encode() + sep.encode() for v in arr.to_pylist()]
    lengths = np.array([len(e) for e in encoded], dtype=np.int64)
    width = int(lengths.max()) if len(encoded) else 1
    cells = np.zeros((len(encoded), width), dtype=np.uint8)
    for i, e in enumerate(encoded):
        cells[i, : len(e)] = np.frombuffer(e, dtype=np.uint8)
    return ByteTable(cells, lengths)


def fixed_byte_table(rows: np.ndarray, sep: str) -> ByteTable:
    """A ByteTable from (k, width) uint8 rows of equal length (e.g. 64-hex ids), each followed by `sep`."""
    cells = np.empty((rows.shape[0], rows.shape[1] + 1), dtype=np.uint8)
    cells[:, :-1] = rows
    cells[:, -1] = ord(sep)
    return ByteTable(cells, np.full(rows.shape[0], cells.shape[1], dtype=np.int64))


def table_rows(fields: Sequence[tuple[ByteTable, np.ndarray]]) -> np.ndarray:
    """CSV lines (flat uint8) for rows whose i-th field is `table.cells[index]` of the i-th (table, index) pair.

    The fields are gathered side by side into an (n, total width) matrix; padding of variable-width fields is
    then dropped by one boolean compress, so the cost is a few vectorized copies per row, whatever the columns.
    """
    n = len(fields[0][1])
    width = sum(t.cells.shape[1] for t, _ in fields)
    mat = np.empty((n, width), dtype=np.uint8)
    keep = None
    pos = 0
    for table, index in fields:
        w = table.cells.shape[1]
        if len(index) and (index.min() < 0 or index.max() >= len(table.cells)):
            raise IndexError(f"field index out of range 0..{len(table.cells) - 1}")
        # take straight into the column slice ("clip" mode avoids a buffered copy; indices are checked above)
        np.take(table.cells, index, axis=0, out=mat[:, pos:pos + w], mode="clip")
        if not table.fixed:
            if keep is None:
                keep = np.ones((n, width), dtype=bool)
            keep[:, pos:pos + w] = np.arange(w) < table.lengths[index][:, None]
        pos += w
    return mat.ravel() if keep is None else mat[keep]


def write_table_csv(path: str | os.PathLike[str], header: Sequence[str],
                    chunks: Iterable[Sequence[tuple[ByteTable, np.ndarray]]]) -> int:
    """Write `header` and the rows of every chunk of (ByteTable, index) fields to a new file `path` atomically (never
    over an existing one); return the row count."""
    rows = 0
    with atomic_path(Path(path), replace=False) as tmp, open(tmp, "wb", buffering=0) as fh:
        fh.write((",".join(header) + "\n").encode())
        for fields in chunks:
            fh.write(table_rows(fields))
            rows += len(fields[0][1])
    return rows
