"""Write-then-rename helpers: a reader never sees a half-written file, a failed write leaves the old one intact."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

TMP_MARK = ".tmp-"


def _tmp_sibling(path: Path) -> Path:
    return path.with_name(f"{TMP_MARK}{uuid.uuid4().hex[:8]}-{path.name}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary sibling of `path`; on success fsync and rename it over `path`, on error delete it.

    Works for files and directories (a directory replaces the old one only once it is complete).
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_sibling(final)
    try:
        yield tmp
        if tmp.is_file():
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        if tmp.is_dir() and final.exists():
            old = _tmp_sibling(final)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def write_parquet(table: pa.Table, path: str | os.PathLike[str], **options: Any) -> None:
    """`pq.write_table` through `atomic_path`: readers see the old file or the whole new one."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, **options)


def remove_stale_temps(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete temp files/dirs left in `folder` by a process that was killed mid-write; return what was removed."""
    removed = []
    base = Path(folder)
    if not base.is_dir():
        return removed
    for entry in base.iterdir():
        if entry.name.startswith(TMP_MARK):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed
