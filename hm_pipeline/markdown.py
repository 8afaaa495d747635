"""Markdown tables for asset metadata and reports (the one place they are formatted)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, *,
                   float_digits: int = 2, max_cell: int | None = None) -> str:
    """A GitHub-style table: ints with thousands separators, floats to `float_digits`, numeric columns right-aligned,
    `|` and newlines escaped, cells cut to `max_cell` characters when given."""
    if not rows:
        return "_(no rows)_"
    columns = list(columns or rows[0])

    def numeric(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def fmt(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            text = str(value)
        elif isinstance(value, int):
            text = f"{value:,}"
        elif isinstance(value, float):
            text = f"{value:,.{float_digits}f}"
        else:
            text = str(value).replace("|", "\\|").replace("\n", " ")
        return text if max_cell is None or len(text) <= max_cell else text[: max_cell - 3] + "..."

    align = ["---:" if numeric(rows[0].get(c)) else "---" for c in columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(fmt(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)
