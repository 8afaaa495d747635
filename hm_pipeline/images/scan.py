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

from hm_pipeline.layout import IMAGE_FOLDER_RE as FOLDER_RE
from hm_pipeline.layout import link_escape

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


@dataclass
class TreeScan:
    """The `0XX` folders of the image root, and every other entry there with the reason it is left out."""

    folders: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _outside(entry: os.DirEntry, base: Path) -> str | None:
    """Why a symbolic link `entry` is not followed (it leads outside `base`, loops or dangles), else None."""
    if not entry.is_symlink():
        return None
    try:
        target = link_escape(entry.path, base)
    except (RuntimeError, OSError):
        return "symbolic link that cannot be resolved (loop): not followed"
    if target is not None:
        return f"symbolic link to {target}, outside the image root {base}: not followed"
    return None if os.path.exists(entry.path) else "broken symbolic link: not followed"


def _folder_name_problem(name: str) -> str:
    if name.startswith("."):
        return f"hidden/system folder ({name})"
    if name.isdigit():
        return (f"folder name has {len(name)} digit(s): image folders are named by the first 3 digits of the "
                "article id (0XX), so its images are not embedded")
    return "folder name is not 0 and two digits (0XX, the first 3 digits of the article id): not embedded"


def scan_tree(images_root: str | os.PathLike[str]) -> TreeScan:
    """Classify the entries of the image root: `0XX` folders (sorted) and the rest (misnamed folders such as `abc/`
    or `1000/`, stray files, links leaving the root) with the reason. An absent root gives an empty scan."""
    root = Path(images_root)
    scan = TreeScan()
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except FileNotFoundError:
        return scan
    base = root.resolve()
    for entry in entries:
        reason = _outside(entry, base)
        try:
            is_dir = entry.is_dir()
        except OSError:  # a link loop
            is_dir = False
        if reason is None and not is_dir:
            reason = "file directly in the image root: photos belong in a folder 0XX/ (first 3 digits of the id)"
        if reason is None and not FOLDER_RE.match(entry.name):
            reason = _folder_name_problem(entry.name)
        if reason is None:
            scan.folders.append(entry.name)
        else:
            scan.skipped.append(Skipped(entry.name + ("/" if is_dir else ""), reason))
    return scan


def list_folders(images_root: str | os.PathLike[str]) -> list[str]:
    """Sorted names of the `0XX` sub-folders of the image root (`scan_tree` says why anything else is left out);
    [] if the root is absent."""
    return scan_tree(images_root).folders


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
    suffix = os.path.splitext(name)[1]
    if suffix.lower() == ".jpg" and suffix != ".jpg":
        return f"extension {suffix} is not lower-case .jpg (the Kaggle layout; rename the file to use it)"
    if suffix != ".jpg":
        return f"not a .jpg file ({suffix or 'no extension'})"
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

    Checks links (none may lead outside the image root), names, folder, known articles (when `known_article_ids` is
    given), empty files and the JPEG signature.
    Files whose bytes are a damaged JPEG (e.g. truncated) pass here and are caught when decoded (`embed.py`).
    """
    folder_path = Path(folder_path)
    folder = folder_path.name
    scan = FolderScan(folder=folder)
    good: list[tuple[str, str]] = []
    base = folder_path.parent.resolve()  # the image root: links leading outside it are not followed
    folder_outside = None if folder_path.resolve().parent == base else \
        f"the folder {folder}/ is a link to {folder_path.resolve()}, outside the image root {base}: not followed"
    with os.scandir(folder_path) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            outside = folder_outside or _outside(entry, base)
            if outside is not None:
                scan.skipped.append(Skipped(entry.name, outside))
                continue
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
