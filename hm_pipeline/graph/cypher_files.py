"""Every Cypher statement lives in `cypher/`; this finds one by name for a dialect.

`cypher/<dialect>/<name>.cypher` wins over `cypher/shared/<name>.cypher` (what both engines run). A file holds one
statement or a script of several, each ended by `;`; whole-line `//` comments are documentation.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

DIALECTS = ("kuzu", "neo4j")
SHARED = "shared"


def cypher_root() -> Path:
    """`$HM_CYPHER_DIR`, else `cypher/` at the repository root."""
    configured = os.environ.get("HM_CYPHER_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "cypher"


class UnknownStatement(KeyError):
    """No Cypher file with that name exists for the dialect."""


@functools.lru_cache(maxsize=None)
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def statement_path(dialect: str, name: str) -> Path:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown Cypher dialect {dialect!r}; expected one of {DIALECTS}")
    root = cypher_root()
    for folder in (dialect, SHARED):
        path = root / folder / f"{name}.cypher"
        if path.is_file():
            return path
    raise UnknownStatement(f"no Cypher statement {name!r} for {dialect}: looked in {root / dialect} and {root / SHARED}")


def split_statements(text: str) -> list[str]:
    """The statements of a script: comment lines dropped, split at `;` that ends a line."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("//")]
    statements, current = [], []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current).strip().rstrip(";").strip())
            current = []
    tail = "\n".join(current).strip()
    if tail:
        statements.append(tail)
    return [s for s in statements if s]


def statements(dialect: str, name: str) -> list[str]:
    """Every statement in the named file, in order."""
    return split_statements(_read(statement_path(dialect, name)))


def statement(dialect: str, name: str) -> str:
    """The single statement in the named file."""
    found = statements(dialect, name)
    if len(found) != 1:
        raise ValueError(f"{statement_path(dialect, name)} holds {len(found)} statements, expected exactly one")
    return found[0]
