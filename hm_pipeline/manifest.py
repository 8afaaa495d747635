"""`manifest.json`: what a stage folder was made with (settings, sizes, timings), written beside its files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hm_pipeline.layout import MANIFEST


def read_manifest(folder: Path, asset: str) -> dict[str, Any]:
    """The manifest of `folder`; a clear `FileNotFoundError` naming the asset to materialize when absent."""
    path = folder / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: materialize `{asset}` first")
    return json.loads(path.read_text())


def write_manifest(folder: Path, manifest: dict[str, Any], indent: int = 2) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=indent))
