"""Which Kaggle files `input/` holds, whether synthetic data may be generated there (never over real data), and
which version of each file is there now (`file_version`: what the input sensor compares with the last ingest).

Generation is allowed only when `input/` holds none of the Kaggle files; a partial set is an error naming what is
missing, and an entry that exists but cannot be used (a directory where a file belongs, a symlink loop or a broken
link, a link leading outside `input/`, no read permission) is an error naming it — never "missing".
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from hm_pipeline.layout import INPUT_FILES, OPTIONAL_INPUTS, link_escape


class InputFilesError(ValueError):
    """`input/` is unusable as it is: some Kaggle files are missing or one cannot be read."""


def _present(path: Path, base: Path, want_dir: bool) -> bool:
    """Whether the Kaggle entry `path` is there (an empty `images/` counts as absent); raises if it is unusable."""
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise InputFilesError(f"{path} cannot be examined: {exc.strerror or exc}") from None
    try:
        outside = link_escape(path, base)
        info = os.stat(path)
    except RuntimeError:
        raise InputFilesError(f"{path} is a symbolic link loop: it cannot be read") from None
    except FileNotFoundError:
        raise InputFilesError(f"{path} is a broken symbolic link (to {os.readlink(path)}): it cannot be read") from None
    except OSError as exc:
        raise InputFilesError(f"{path} cannot be read: {exc.strerror or exc}") from None
    if outside is not None:
        raise InputFilesError(f"{path} is a symbolic link to {outside}, outside {base}: links that leave the "
                              "input folder are not followed (copy the file there, or make input/ itself the link)")
    if want_dir != stat.S_ISDIR(info.st_mode) or not (want_dir or stat.S_ISREG(info.st_mode)):
        raise InputFilesError(f"{path} is {'not a directory' if want_dir else 'not a regular file'}: it cannot be "
                              "read as the Kaggle " + ("image folder" if want_dir else "CSV"))
    try:
        if want_dir:
            with os.scandir(path) as entries:
                return next(entries, None) is not None
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise InputFilesError(f"{path} cannot be read: {exc.strerror or exc}") from None
    return True


def present_inputs(input_dir: str | os.PathLike[str]) -> list[str]:
    """The Kaggle entries (required CSVs, sample_submission.csv, a non-empty images/) that `input_dir` holds.

    Raises `InputFilesError` naming any entry that exists but cannot be read.
    """
    folder = Path(input_dir)
    if not folder.exists():
        return []
    base = folder.resolve()
    return [name for name in (*INPUT_FILES, *OPTIONAL_INPUTS) if _present(folder / name, base, name == "images")]


def needs_synthetic_data(input_dir: str | os.PathLike[str]) -> bool:
    """True when `input_dir` holds none of the Kaggle files (generate there); False when the required CSVs are all
    present and readable. Raises `InputFilesError` when only some are there, or one cannot be read."""
    present = present_inputs(input_dir)
    if not present:
        return True
    missing = [name for name in INPUT_FILES if name not in present]
    if missing:
        raise InputFilesError(
            f"{input_dir} holds {', '.join(present)} but not {', '.join(missing)}: add the missing Kaggle file(s), "
            "or point --data-root at an empty folder to generate synthetic data (existing files are never overwritten)")
    return False



@dataclass(frozen=True)
class FileVersion:
    """What identifies one version of an input file without reading it: its size and modification time."""

    path: Path
    size: int
    modified_ns: int

    @property
    def fingerprint(self) -> str:
        return f"{self.size}-{self.modified_ns}"

    @property
    def modified(self) -> str:
        """The modification time, ISO 8601 in UTC to the second."""
        return dt.datetime.fromtimestamp(self.modified_ns / 1e9, dt.timezone.utc).isoformat(timespec="seconds")


def file_version(path: str | os.PathLike[str]) -> FileVersion | None:
    """The version of the file at `path` now (symlinks followed), or None when there is no regular file there."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return FileVersion(Path(path), info.st_size, info.st_mtime_ns)
