"""The seed's exploratory numbers, computed with Cypher on the graph through any `GraphStore`."""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import Any

from hm_pipeline.graph.age_groups import GROUP_NAMES
from hm_pipeline.graph.store import GraphStore


@dataclass(frozen=True)
class CountStats:
    """Purchases per entity over the entities with at least one purchase (sd: sample standard deviation)."""

    entities: int
    total: int
    mean: float
    sd: float


def _stats(row: dict[str, Any]) -> CountStats:
    n, total, total_sq = int(row["entities"] or 0), int(row["total"] or 0), int(row["total_sq"] or 0)
    if n == 0:
        return CountStats(0, 0, math.nan, math.nan)
    mean = total / n
    sd = math.sqrt(max(total_sq - total * total / n, 0.0) / (n - 1)) if n > 1 else math.nan
    return CountStats(n, total, mean, sd)


def purchase_stats(store: GraphStore) -> dict[str, CountStats]:
    """{"customer": ..., "product": ...}: purchases per customer and per product (mean, sd), every transaction."""
    return {
        "customer": _stats(store.rows("purchase_stats_per_customer")[0]),
        "product": _stats(store.rows("purchase_stats_per_product")[0]),
    }


def _ints(rows: list[dict[str, Any]], *columns: str) -> list[dict[str, Any]]:
    """Engines return sums as int64 or decimal; make the count columns plain ints."""
    return [{k: (int(v) if k in columns and v is not None else v) for k, v in r.items()} for r in rows]


def top_product_types(store: GraphStore, limit: int = 10) -> list[dict[str, Any]]:
    return _ints(store.rows("top_product_types", {"limit": limit}), "products", "purchases")


def top_garment_groups(store: GraphStore, limit: int = 10) -> list[dict[str, Any]]:
    return _ints(store.rows("top_garment_groups", {"limit": limit}), "products", "purchases")


def purchases_by_month(store: GraphStore) -> list[dict[str, Any]]:
    rows = _ints(store.rows("purchases_by_month"), "year", "month", "purchases")
    return [{"month": f"{r['year']:04d}-{r['month']:02d}", "purchases": r["purchases"],
             "revenue": round(float(r["revenue"]), 4)} for r in rows]


def customers_per_age_group(store: GraphStore) -> dict[str, int]:
    """Every group in bucket order, zero where a group has no customer."""
    found = {r["age_group"]: int(r["customers"]) for r in store.rows("customers_per_age_group")}
    return {name: found.get(name, 0) for name in GROUP_NAMES}


def purchases_by_age_group(store: GraphStore) -> list[dict[str, Any]]:
    customers = customers_per_age_group(store)
    bought = {r["age_group"]: r for r in _ints(store.rows("purchases_by_age_group"), "buyers", "purchases")}
    return [{"age_group": name, "customers": customers[name], "buyers": bought.get(name, {}).get("buyers", 0),
             "purchases": bought.get(name, {}).get("purchases", 0)} for name in GROUP_NAMES]


def bar_chart_png(labels: list[str], values: list[float], title: str, ylabel: str) -> bytes:
    """A bar chart as PNG bytes (matplotlib, headless)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
    try:
        ax.bar(range(len(values)), values, color="#3b6ea8")
        ax.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) > 6 else 0, ha="right", fontsize=8)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(fig)


def png_markdown(png: bytes, alt: str) -> str:
    """Markdown that shows `png` inline (how the Dagster UI renders an image held in metadata)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
