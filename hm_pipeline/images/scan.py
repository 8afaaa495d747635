"""List the Kaggle image tree (`images/0XX/0XXXXXXXXX.jpg`): folders, usable files, skipped files and why.

Two costs, two functions: `folder_fingerprint` only stats directory entries (the sensor runs it over the whole tree
every tick), `scan_folder` also reads the first bytes of each file (the embedding step runs it on one folder).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

FOLDER_RE = re.compile(r"^0\d\d$")
ARTICLE_FILE_RE = re.compile(r"^(0\d{9})\.jpg$")
JPEG_MAGIC = b"\xff\xd8\xff"
_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"RIFF": "RIFF/WebP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


@dataclass(frozen=True)
class Skipped:
    """A file left out of the embedding, with the reason shown in the asset metadata."""

    name: str
    reason: str


@dataclass
class FolderScan:
    """Usable images of one folder (article ids sorted, paths aligned) and the files skipped."""

    folder: str
    article_ids: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def list_folders(images_root: str | os.PathLike[str]) -> list[str]:
    """Sorted names of the `0XX` sub-folders of the image root (anything else is ignored); [] if the root is absent."""
    try:
        with os.scandir(images_root) as entries:
            return sorted(e.name for e in entries if FOLDER_RE.match(e.name) and e.is_dir())
    except FileNotFoundError:
        return []


def folder_fingerprint(folder: str | os.PathLike[str]) -> str:
    """Hash of (name, size, mtime_ns) of every entry in `folder`: changes when a file is added, removed or rewritten.

    One `scandir` plus one `stat` per entry (served from the directory entry where the OS allows it); no file is opened.
    """
    h = hashlib.blake2b(digest_size=16)
    with os.scandir(folder) as entries:
        rows = []
        for entry in entries:
            st = entry.stat(follow_symlinks=False)
            rows.append(f"{entry.name}\x00{st.st_size}\x00{st.st_mtime_ns}")
    rows.sort()
    h.update("\n".join(rows).encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def fingerprint_tree(images_root: str | os.PathLike[str]) -> dict[str, str]:
    """{folder name: fingerprint} for every `0XX` folder under the image root."""
    root = Path(images_root)
    return {name: folder_fingerprint(root / name) for name in list_folders(root)}


def _content_problem(path: str, size: int) -> str | None:
    """Why the bytes of a `.jpg` cannot be a JPEG (empty, other format), else None. Reads 8 bytes."""
    if size == 0:
        return "empty file (0 bytes)"
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    if head.startswith(JPEG_MAGIC):
        return None
    for magic, kind in _SIGNATURES.items():
        if head.startswith(magic):
            return f"not a JPEG: {kind} data in a .jpg file"
    return f"not a JPEG: starts with bytes {head[:4].hex()}"


def classify(name: str, folder: str, known_article_ids: Collection[str] | None) -> str | None:
    """Reason a directory entry named `name` in image folder `folder` is not a usable image by its name, else None."""
    if name.startswith("."):
        return f"hidden/system file ({name})"
    if not name.lower().endswith(".jpg"):
        return "not a .jpg file"
    match = ARTICLE_FILE_RE.match(name)
    if match is None:
        return "file name is not a 10-digit article id + .jpg (0XXXXXXXXX.jpg)"
    article_id = match.group(1)
    if article_id[:3] != folder:
        return f"wrong folder: article {article_id} belongs in {article_id[:3]}/, found in {folder}/"
    if known_article_ids is not None and article_id not in known_article_ids:
        return f"unknown article {article_id} (not in articles)"
    return None


def scan_folder(
    folder_path: str | os.PathLike[str], known_article_ids: Collection[str] | None = None
) -> FolderScan:
    """Classify every entry of one image folder: usable `0XXXXXXXXX.jpg` files or a `Skipped` with the reason.

    Checks names, folder, known articles (when `known_article_ids` is given), empty files and the JPEG signature.
    Files whose bytes are a damaged JPEG (e.g. truncated) pass here and are caught when decoded (`embed.py`).
    """
    folder_path = Path(folder_path)
    folder = folder_path.name
    scan = FolderScan(folder=folder)
    good: list[tuple[str, str]] = []
    with os.scandir(folder_path) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if not entry.is_file():
                scan.skipped.append(Skipped(entry.name, "not a regular file"))
                continue
            reason = classify(entry.name, folder, known_article_ids)
            if reason is None:
                reason = _content_problem(entry.path, entry.stat().st_size)
            if reason is None:
                good.append((entry.name[:10], entry.path))
            else:
                scan.skipped.append(Skipped(entry.name, reason))
    scan.article_ids = [a for a, _ in good]
    scan.paths = [p for _, p in good]
    return scan


@dataclass(frozen=True)
class FolderChanges:
    """What the sensor must do: folders to register as partitions, to (re-)embed, and partitions to drop."""

    add: list[str]
    run: list[str]
    delete: list[str]


def plan_folder_changes(
    current: dict[str, str], previous: dict[str, str], partitions: Collection[str]
) -> FolderChanges:
    """Compare folder fingerprints now vs. at the last tick (`previous`) and the registered partitions.

    New folder -> add + run; known folder with a different (or unrecorded) fingerprint -> run; registered partition
    whose folder is gone -> delete.
    """
    known = set(partitions)
    add = sorted(f for f in current if f not in known)
    run = sorted(f for f, fp in current.items() if f not in known or previous.get(f) != fp)
    delete = sorted(known - set(current))
    return FolderChanges(add=add, run=run, delete=delete)
