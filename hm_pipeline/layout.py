"""Where every input and output lives under the data root (one obvious place for paths)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_ROOT = "data"
DATA_ROOT_ENV = "HM_DATA_DIR"
INPUT_FILES = ("articles.csv", "customers.csv", "transactions_train.csv")
#: Optional Kaggle inputs: the submission order and the product photos.
OPTIONAL_INPUTS = ("sample_submission.csv", "images")
#: Every stage folder that records the settings it ran with holds one.
MANIFEST = "manifest.json"
SIMILAR_FILE = "similar.parquet"
#: An image folder (and `image_embeddings` partition) name: 0 and two digits, never a path.
IMAGE_FOLDER_RE = re.compile(r"^0\d\d$")


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
        return cls(Path(root or os.environ.get(DATA_ROOT_ENV) or DEFAULT_DATA_ROOT).resolve())

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

    def embeddings_file(self, folder: str) -> Path:
        """`embeddings/<folder>.parquet` of one image folder; `folder` must be a folder name (0XX), never a path."""
        if not IMAGE_FOLDER_RE.match(folder):
            raise ValueError(f"image folder partition {folder!r} is not a folder name like '010' (0 and two digits)")
        return self.embeddings_dir / f"{folder}.parquet"

    @property
    def similar_dir(self) -> Path:
        """similar.parquet and the embedding state it was computed from (`similar_products`)."""
        return self.root / "similar"

    @property
    def similar_file(self) -> Path:
        return self.similar_dir / SIMILAR_FILE

    @property
    def training_dir(self) -> Path:
        return self.root / "training"

    @property
    def interactions_dir(self) -> Path:
        """`interaction_matrix`: the `train` (before the held-out week) and `full` matrices, each a folder."""
        return self.training_dir / "interactions"

    @property
    def als_dir(self) -> Path:
        return self.training_dir / "als"

    def als_model_file(self, fit: str) -> Path:
        """`als_model`'s fit on the `train` matrix (`eval`) or on the `full` one (`production`)."""
        if fit not in ("eval", "production"):
            raise ValueError(f"ALS fit must be 'eval' or 'production', got {fit!r}")
        return self.als_dir / f"{fit}_model.npz"

    @property
    def ranker_train_set_dir(self) -> Path:
        """`ranker_train_set`: one Parquet file per label week and a manifest."""
        return self.training_dir / "ranker_train_set"

    @property
    def ranker_dir(self) -> Path:
        """`ranker_model`: one folder per recipe (`eval`, `production`) with its boosters and manifest."""
        return self.training_dir / "ranker"

    @property
    def candidates_dir(self) -> Path:
        return self.root / "recommendations" / "candidates"

    def candidates_file(self, recipe: str) -> Path:
        """`ranker_candidates` of one recipe (`eval`: the held-out week's buyers; `production`: every customer)."""
        return self.candidates_dir / f"{recipe}.parquet"

    @property
    def evaluation_dir(self) -> Path:
        return self.training_dir / "evaluation"

    @property
    def evaluation_file(self) -> Path:
        return self.evaluation_dir / "evaluation.json"

    @property
    def fused_file(self) -> Path:
        """`recommendations`: 12 ranked articles per customer, long form."""
        return self.root / "recommendations" / "fused.parquet"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def submission_file(self) -> Path:
        return self.output_dir / "submission.csv"

    @property
    def logs_dir(self) -> Path:
        """Full logs of `hm-pipeline run` (the terminal shows a summary)."""
        return self.root / "logs"
