"""Stream a Kaggle CSV as blocks of text columns, with its header checked and parse errors located exactly."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from hm_pipeline.data.csv_columns import Block, IngestError

#: Names pandas gives (or leaves blank for) the index column it writes in front of the data.
INDEX_COLUMN_NAMES = ("", "Unnamed: 0")
_BOM = b"\xef\xbb\xbf"
_MAX_HEADER_BYTES = 1 << 20


def read_header(path: Path) -> list[str]:
    """The header row's column names (a UTF-8 BOM is ignored)."""
    name = path.name
    if not path.exists():
        raise IngestError(str(path), "broken symbolic link" if path.is_symlink() else "file not found")
    with open(path, "rb") as fh:
        first = fh.readline(_MAX_HEADER_BYTES)
    if first.startswith(_BOM):
        first = first[len(_BOM):]
    if not first.strip():
        raise IngestError(name, "file is empty: expected a header row")
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError(name, f"header row is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    return next(csv.reader(io.StringIO(text)))


def plan_columns(path: Path, expected: list[str]) -> list[str]:
    """Names for every column of the file, checked against `expected`.

    Accepts one leading unnamed index column (pandas `to_csv` default); any missing, duplicated or unexpected
    column is an error naming it.
    """
    header = read_header(path)
    names = list(header)
    if names and names[0] in INDEX_COLUMN_NAMES and len(names) == len(expected) + 1:
        names[0] = "__index__"
    if len(names) == 1 and len(expected) > 1:
        delimiter = next((d for d in ";\t|" if d in names[0]), None)
        hint = f" (is the delimiter {delimiter!r} instead of ','?)" if delimiter else ""
        raise IngestError(path.name, f"header has a single column {names[0][:60]!r}{hint}; expected {expected}")
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise IngestError(path.name, f"duplicated column(s) {duplicated} in the header")
    missing = [c for c in expected if c not in names]
    extra = [c for c in names if c not in expected and c != "__index__"]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {missing}")
        if extra:
            parts.append(f"unexpected column(s) {extra}")
        raise IngestError(path.name, "; ".join(parts) + f"; expected exactly {expected}")
    return names


def diagnose(path: Path, n_columns: int) -> IngestError | None:
    """Find the first row pyarrow refused, with Python's csv module (error path only: slow but exact)."""
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
        if fh.read(1) != "\ufeff":
            fh.seek(0)
        reader = csv.reader(fh)
        row = 0
        try:
            next(reader)
            for row, fields in enumerate(reader, start=1):
                if len(fields) != n_columns:
                    spanning = next((i for i, f in enumerate(fields) if "\n" in f or "\r" in f), None)
                    if spanning is not None and spanning < n_columns:
                        lines = fields[spanning].count("\n") + 1
                        return IngestError(path.name, f"expected {n_columns} fields, found {len(fields)}: the quoted "
                                           f"value runs over {lines} lines (is its closing quote missing?)",
                                           row=row, column=str(spanning))
                    return IngestError(path.name, f"expected {n_columns} fields, found {len(fields)}", row=row)
                for field in fields:
                    if any("\udc80" <= ch <= "\udcff" for ch in field):
                        column = fields.index(field)
                        return IngestError(path.name, "value is not valid UTF-8 text", row=row, column=str(column))
        except csv.Error as exc:
            return IngestError(path.name, f"malformed CSV ({exc})", row=row + 1)
    return None


def _name_utf8_column(error: IngestError, names: list[str]) -> IngestError:
    if error.column is not None and error.column.isdigit():
        return IngestError(error.file, error.reason, row=error.row, column=names[int(error.column)])
    return error


def iter_blocks(path: Path, expected: list[str], *, multiline: bool = False,
                block_bytes: int = 64 << 20) -> Iterator[tuple[Block, pa.RecordBatch]]:
    """Yield (position, batch of the expected columns as nullable strings), in file order.

    Only an empty field is null: text such as `NA`, `null` or `N/A` stays text (pyarrow would read it as null by
    default). `multiline` allows quoted newlines (needed for `detail_desc`).
    """
    names = plan_columns(path, expected)

    def fail(exc: Exception) -> IngestError:
        located = diagnose(path, len(names))
        if located is not None:
            return _name_utf8_column(located, names)
        return IngestError(path.name, f"CSV could not be parsed near row {first_row}: {exc}")

    first_row = 1
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=block_bytes),
            parse_options=pacsv.ParseOptions(newlines_in_values=multiline),
            convert_options=pacsv.ConvertOptions(
                include_columns=expected,
                column_types={c: pa.string() for c in expected},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise fail(exc) from None
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise fail(exc) from None
        if batch.num_rows:
            yield Block(path.name, first_row), batch
            first_row += batch.num_rows
    if first_row == 1:
        raise IngestError(path.name, "file has a header but no data rows")
