"""Write-then-rename helpers: a reader never sees a half-written file, a failed write leaves the old one intact."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

TMP_MARK = ".tmp-"


def _tmp_sibling(path: Path) -> Path:
    """`.tmp-<writer pid>-<random>-<name>`: the pid tells a later writer whether this one is still running."""
    return path.with_name(f"{TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}-{path.name}")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


_TMP_RE = re.compile(rf"^{re.escape(TMP_MARK)}(\d+)-[0-9a-f]{{8}}-(.+)$")


def _dead_writer_temp(entry: Path) -> bool:
    """`entry` is a temporary (`.tmp-<pid>-<random>-<name>`) whose writer no longer runs."""
    match = _TMP_RE.match(entry.name)
    return bool(match) and not _running(int(match.group(1)))


def remove_dead_writers_temps(path: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporaries of `path` left by writers that no longer run (killed mid-write); return them.

    A temporary of a writer that is still running (same pid namespace) is left alone.
    """
    final = Path(path)
    removed = []
    if final.parent.is_dir():
        for entry in final.parent.iterdir():
            match = _TMP_RE.match(entry.name)
            if match and match.group(2) == final.name and _dead_writer_temp(entry):
                _remove(entry)
                removed.append(entry)
    return removed


def _publish_new(tmp: Path, final: Path) -> None:
    """Rename `tmp` to `final` unless something (even a dangling link) is already there: `FileExistsError` then.

    A file is hard-linked into place (atomic: fails if the name exists); a directory is checked, then renamed.
    """
    if tmp.is_file():
        try:
            os.link(tmp, final, follow_symlinks=False)
        except FileExistsError:
            raise FileExistsError(f"{final} already exists: it is not overwritten") from None
        except OSError:  # a file system without hard links
            if os.path.lexists(final):
                raise FileExistsError(f"{final} already exists: it is not overwritten") from None
            os.replace(tmp, final)
        else:
            tmp.unlink()
        return
    if os.path.lexists(final):
        raise FileExistsError(f"{final} already exists: it is not overwritten")
    os.rename(tmp, final)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling of `path`; on success fsync and rename it over `path`, on error delete it.

    Works for files and directories (a directory replaces the old one only once it is complete). With
    `replace=False` an existing `path` is never replaced: `FileExistsError`, and the temporary is deleted.
    Temporaries of `path` left by a killed writer are deleted first.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_writers_temps(final)
    tmp = _tmp_sibling(final)
    try:
        yield tmp
        if tmp.is_file():
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        if not replace:
            _publish_new(tmp, final)
        elif tmp.is_dir() and final.exists():
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
    """Delete the temp files/dirs in `folder` of writers that were killed mid-write; return what was removed.

    Temporaries of a writer that is still running (another run writing the same root) are never touched.
    """
    base = Path(folder)
    if not base.is_dir():
        return []
    removed = [entry for entry in base.iterdir() if _dead_writer_temp(entry)]
    for entry in removed:
        _remove(entry)
    return removed
