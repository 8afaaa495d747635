"""One customer's recommendations next to their own recent purchases (`hm-pipeline recommend CUSTOMER_ID`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from hm_pipeline.recommend.candidates import SOURCE_LABELS
from hm_pipeline.recommend.fusion import Path, Recommendations
from hm_pipeline.recommend.history import PurchaseHistory
from hm_pipeline.recommend.submission import customer_rows

EPOCH = dt.date(1970, 1, 1)
ARTICLE_COLUMNS = ("article_id", "prod_name", "product_type_name", "colour_group_name")


@dataclass(frozen=True)
class CustomerExplanation:
    customer_id: str
    path: str
    recommended: list[dict]  # rank, article_id, prod_name, product_type_name, colour_group_name, source
    recent_purchases: list[dict]  # last_bought (ISO date), times_bought, article_id, prod_name, ...


def _describe(articles: pa.Table, article_idx: np.ndarray) -> list[dict]:
    return articles.select(list(ARTICLE_COLUMNS)).take(pa.array(article_idx, pa.int64())).to_pylist()


def explain_customer(
    customer_id: str,
    customer_ids: np.ndarray | pa.Array,
    recommendations: Recommendations,
    history: PurchaseHistory,
    articles: pa.Table,
    recent: int = 12,
) -> CustomerExplanation:
    """`customer_ids`: id of each customer_idx; `articles`: the articles table in article_idx order (needs
    ARTICLE_COLUMNS). Raises KeyError for an unknown customer or one without recommendations."""
    try:
        idx = int(customer_rows(np.array([customer_id]), customer_ids)[0])
    except ValueError:
        raise KeyError(f"unknown customer_id {customer_id!r}") from None
    row = np.flatnonzero(recommendations.customers == idx)
    if not len(row):
        raise KeyError(f"customer {customer_id!r} (customer_idx {idx}) has no recommendations")
    r = int(row[0])
    recommended = [
        {"rank": rank + 1, **info, "source": SOURCE_LABELS[int(recommendations.source[r, rank])]}
        for rank, info in enumerate(_describe(articles, recommendations.items[r]))
    ]
    _, flat = history.rows(np.array([idx]))
    order = flat[np.lexsort((history.article[flat], -history.last_day[flat].astype(np.int64)))][:recent]
    purchases = [
        {"last_bought": (EPOCH + dt.timedelta(days=int(history.last_day[f]))).isoformat(), "times_bought": int(history.count[f]), **info}
        for f, info in zip(order, _describe(articles, history.article[order]))
    ]
    return CustomerExplanation(customer_id, Path(int(recommendations.path[r])).label, recommended, purchases)
