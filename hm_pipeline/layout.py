"""Where every input and output lives under the data root (one obvious place for paths)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_ROOT = "data"
INPUT_FILES = ("articles.csv", "customers.csv", "transactions_train.csv")
#: Optional Kaggle inputs: the submission order and the product photos.
OPTIONAL_INPUTS = ("sample_submission.csv", "images")


class PathOutsideDataRoot(ValueError):
    """A configured path escapes the data root (e.g. through `..`)."""


def link_escape(path: str | os.PathLike[str], base: str | os.PathLike[str]) -> Path | None:
    """Where `path` leads when that is outside `base` (both resolved; symlinks followed), else None.

    Raises `RuntimeError` (Python's "Symlink loop") or `OSError` when the links cannot be resolved.
    """
    target = Path(path).resolve()
    inside = Path(base).resolve()
    return None if target == inside or inside in target.parents else target


@dataclass(frozen=True)
class DataLayout:
    """The data root and the fixed sub-layout beneath it.

    `root` defaults to `$HM_DATA_DIR` or `data/`. Raw Kaggle files live in `input/` (the exact Kaggle layout);
    every derived artefact lives in a folder named after the stage that makes it.
    """

    root: Path

    @classmethod
    def from_env(cls, root: str | os.PathLike[str] | None = None) -> "DataLayout":
        return cls(Path(root or os.environ.get("HM_DATA_DIR") or DEFAULT_DATA_ROOT).resolve())

    def confined(self, relative: str | os.PathLike[str]) -> Path:
        """`root / relative`, refusing anything that resolves outside the root."""
        path = (self.root / relative).resolve()
        if path != self.root and self.root not in path.parents:
            raise PathOutsideDataRoot(f"path {str(relative)!r} resolves to {path}, outside the data root {self.root}")
        return path

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    @property
    def images_dir(self) -> Path:
        return self.input_dir / "images"

    def input_file(self, name: str) -> Path:
        return self.input_dir / name

    @property
    def ingest_dir(self) -> Path:
        return self.root / "ingest"

    def ingest_table(self, name: str) -> Path:
        """Parquet written by the ingest asset `name` (articles, customers, transactions)."""
        return self.ingest_dir / f"{name}.parquet"

    @property
    def graph_dir(self) -> Path:
        return self.root / "graph"

    @property
    def embeddings_dir(self) -> Path:
        return self.root / "embeddings"

    @property
    def training_dir(self) -> Path:
        return self.root / "training"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def logs_dir(self) -> Path:
        """Full logs of `hm-pipeline run` (the terminal shows a summary)."""
        return self.root / "logs"
