"""Product photos: small JPEGs whose pixels carry colour group, graphical appearance and product-type silhouette.

One task per image folder (`images/0XX/`), rendered in a process pool; each folder is written to a temporary
directory and renamed into place, so a crash never leaves a half folder.
"""

from __future__ import annotations

import functools
import io
import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from hm_pipeline.atomic import atomic_path

BACKGROUND = np.array([238, 236, 232], dtype=np.float32)
SHAPES = ("top", "longsleeve", "outer", "trousers", "shorts", "dress", "skirt", "shoe", "bag", "hat", "socks",
          "underwear", "bra", "small", "scarf", "swimsuit", "set", "box")
PATTERNS = ("solid", "stripe", "dot", "check", "melange", "print", "allover", "blocks", "denim", "mesh", "sparkle")


@functools.lru_cache(maxsize=256)
def silhouette(shape: str, w: int, h: int) -> np.ndarray:
    """(h, w) bool mask of a product-type silhouette, drawn in unit coordinates (cached: do not modify)."""
    mask = _silhouette(shape, w, h)
    mask.flags.writeable = False
    return mask


def _silhouette(shape: str, w: int, h: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    u, v = (x + 0.5) / w, (y + 0.5) / h  # 0..1 across, 0..1 down
    cx = np.abs(u - 0.5)
    body = (cx < 0.25) & (v > 0.2) & (v < 0.75)
    if shape == "top":
        return body | ((cx < 0.4) & (v > 0.2) & (v < 0.35))
    if shape == "longsleeve":
        return body | ((cx < 0.42) & (v > 0.2) & (v < 0.3)) | ((cx > 0.3) & (cx < 0.42) & (v > 0.2) & (v < 0.7))
    if shape == "outer":
        return ((cx < 0.3) & (v > 0.15) & (v < 0.85)) | ((cx > 0.3) & (cx < 0.45) & (v > 0.15) & (v < 0.78))
    if shape == "trousers":
        return ((cx < 0.25) & (v > 0.1) & (v < 0.3)) | ((cx > 0.03) & (cx < 0.25) & (v >= 0.3) & (v < 0.92))
    if shape == "shorts":
        return ((cx < 0.27) & (v > 0.3) & (v < 0.45)) | ((cx > 0.03) & (cx < 0.27) & (v >= 0.45) & (v < 0.6))
    if shape == "dress":
        return (v > 0.1) & (v < 0.9) & (cx < 0.12 + 0.3 * (v - 0.1))
    if shape == "skirt":
        return (v > 0.3) & (v < 0.75) & (cx < 0.15 + 0.3 * (v - 0.3))
    if shape == "shoe":
        return ((v > 0.55) & (v < 0.7) & (u > 0.15) & (u < 0.85)) | ((v > 0.4) & (v < 0.7) & (u > 0.15) & (u < 0.4))
    if shape == "bag":
        return ((v > 0.4) & (v < 0.8) & (cx < 0.3)) | ((np.abs(np.hypot(u - 0.5, (v - 0.4) * w / h * 1.5) - 0.15)
                                                        < 0.03) & (v < 0.4))
    if shape == "hat":
        return ((v > 0.35) & (v < 0.55) & (cx < 0.2)) | ((v > 0.52) & (v < 0.58) & (cx < 0.38))
    if shape == "socks":
        return ((v > 0.2) & (v < 0.7) & (np.abs(u - 0.4) < 0.1)) | ((v > 0.62) & (v < 0.72) & (u > 0.3) & (u < 0.7))
    if shape == "underwear":
        return (v > 0.4) & (v < 0.6) & (cx < 0.3 - 0.6 * np.maximum(v - 0.45, 0))
    if shape == "bra":
        return (v > 0.38) & (v < 0.52) & ((np.hypot(np.abs(u - 0.5) - 0.15, (v - 0.5) * 1.5) < 0.14))
    if shape == "small":
        return np.hypot(u - 0.5, (v - 0.5) * h / w) < 0.18
    if shape == "scarf":
        return (v > 0.15) & (v < 0.85) & (np.abs(u - 0.35 - 0.3 * v) < 0.1)
    if shape == "swimsuit":
        return (v > 0.25) & (v < 0.65) & (cx < 0.22 - 0.4 * np.maximum(v - 0.55, 0))
    if shape == "set":
        return ((cx < 0.27) & (v > 0.12) & (v < 0.5)) | ((cx > 0.03) & (cx < 0.25) & (v >= 0.5) & (v < 0.9))
    return (cx < 0.3) & (v > 0.3) & (v < 0.7)  # box


_RANDOM_PATTERNS = ("melange", "sparkle")


def pattern(kind: str, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """(h, w) float32 brightness modulation in about [-1, 1] for a graphical appearance (do not modify)."""
    return _pattern(kind, w, h, rng) if kind in _RANDOM_PATTERNS else _fixed_pattern(kind, w, h)


@functools.lru_cache(maxsize=256)
def _fixed_pattern(kind: str, w: int, h: int) -> np.ndarray:
    mod = _pattern(kind, w, h, None)
    mod.flags.writeable = False
    return mod


def _pattern(kind: str, w: int, h: int, rng: np.random.Generator | None) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    p = max(4.0, w / 8)
    if kind == "stripe":
        return np.where((y // (p / 2)) % 2 == 0, 0.6, -0.6).astype(np.float32)
    if kind == "dot":
        return np.where(np.hypot((x % p) - p / 2, (y % p) - p / 2) < p / 4, 0.8, 0.0).astype(np.float32)
    if kind == "check":
        return np.where(((x // p) + (y // p)) % 2 == 0, 0.5, -0.5).astype(np.float32)
    if kind == "melange":
        return rng.normal(0, 0.35, (h, w)).astype(np.float32)
    if kind == "print":
        return np.where((np.abs(x - w / 2) < w / 6) & (np.abs(y - h / 2.4) < h / 10), -0.9, 0.0).astype(np.float32)
    if kind == "allover":
        return (0.6 * np.sin(x / p * 2.1 + 1.3) * np.sin(y / p * 1.7)).astype(np.float32)
    if kind == "blocks":
        return np.where(y < h / 2, 0.5, -0.5).astype(np.float32)
    if kind == "denim":
        return (0.25 * np.sin((x + y) * 1.6)).astype(np.float32)
    if kind == "mesh":
        return np.where(((x % 3) == 0) | ((y % 3) == 0), -0.5, 0.1).astype(np.float32)
    if kind == "sparkle":
        return np.where(rng.random((h, w)) < 0.08, 0.9, 0.0).astype(np.float32)
    return np.zeros((h, w), dtype=np.float32)


def render(rgb: np.ndarray, shape: str, kind: str, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """(h, w, 3) uint8 image: silhouette filled with the colour modulated by the pattern, light background, noise."""
    w, h = size
    mask = silhouette(shape, w, h)[..., None]
    colour = rgb.astype(np.float32)
    mod = pattern(kind, w, h, rng)[..., None]
    # modulate towards white (positive) or black (negative) so patterns stay visible on any colour
    fill = np.where(mod >= 0, colour + mod * (255 - colour) * 0.6, colour * (1 + mod * 0.6))
    img = np.where(mask, fill, BACKGROUND) + rng.standard_normal((h, w, 3), dtype=np.float32) * 4.0
    return np.clip(img, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class FolderTask:
    """Everything a worker needs to render one image folder."""

    folder: Path
    article_ids: tuple[str, ...]
    rgb: np.ndarray  # (n, 3) uint8
    shapes: tuple[str, ...]
    patterns: tuple[str, ...]
    size: tuple[int, int]
    seed: int


def render_folder(task: FolderTask) -> int:
    """Render and write one new folder atomically (never over an existing one); return the number of images."""
    rng = np.random.default_rng([task.seed, int(task.folder.name)])
    with atomic_path(task.folder, replace=False) as tmp:
        tmp.mkdir(parents=True)
        for i, aid in enumerate(task.article_ids):
            arr = render(task.rgb[i], task.shapes[i], task.patterns[i], task.size, rng)
            buf = io.BytesIO()
            Image.fromarray(arr).save(buf, format="JPEG", quality=85)
            (tmp / f"{aid}.jpg").write_bytes(buf.getvalue())
    return len(task.article_ids)


def folder_tasks(images_dir: Path, article_ids: np.ndarray, rgb: np.ndarray, shapes: np.ndarray,
                 patterns: np.ndarray, size: tuple[int, int], seed: int) -> list[FolderTask]:
    """One task per folder (first three digits of the id); inputs are parallel arrays of articles with a photo."""
    folders = np.array([a[:3] for a in article_ids])
    tasks = []
    for f in np.unique(folders):
        sel = np.flatnonzero(folders == f)
        tasks.append(FolderTask(images_dir / f, tuple(article_ids[sel]), rgb[sel], tuple(shapes[sel]),
                                tuple(patterns[sel]), size, seed))
    return tasks


def start_pool(workers: int):
    """A spawn-context pool (no copy of the parent's large arrays); None when `workers` <= 1."""
    if workers <= 1:
        return None
    return mp.get_context("spawn").Pool(workers)
