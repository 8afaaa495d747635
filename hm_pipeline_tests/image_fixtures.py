"""Tiny JPEG files and broken image files for the image-stage tests."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def jpeg_bytes(seed: int, size: tuple[int, int] = (40, 60)) -> bytes:
    """A small JPEG with a seeded colour gradient and noise (width, height = size)."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.integers(0, 256, 3)
    grad = np.linspace(0, 1, w)[None, :, None] * rng.integers(-120, 120, 3)
    pixels = np.clip(base + grad + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def png_bytes(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((20, 20, 3), seed % 256, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def write_folder(images_root: Path, folder: str, article_ids: list[str], seed: int = 0) -> list[str]:
    """Write one valid JPEG per article id into images_root/folder; returns the ids written."""
    path = images_root / folder
    path.mkdir(parents=True, exist_ok=True)
    for i, article_id in enumerate(article_ids):
        (path / f"{article_id}.jpg").write_bytes(jpeg_bytes(seed * 1000 + i))
    return article_ids


def write_articles_parquet(path: Path, article_ids: list[str]) -> None:
    """A minimal articles.parquet (article_id + the two group columns the SIMILAR sanity figure reads)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids = sorted(article_ids)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(
            {
                "article_idx": pa.array(range(len(ids)), type=pa.int32()),
                "article_id": pa.array(ids, type=pa.string()),
                "product_type_no": pa.array([i % 3 for i in range(len(ids))], type=pa.int32()),
                "colour_group_code": pa.array([i % 5 for i in range(len(ids))], type=pa.int32()),
            }
        ),
        path,
    )
