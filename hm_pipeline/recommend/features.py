"""Features of every (customer, candidate) pair, vectorized over a chunk of customers (numpy / scipy.sparse only).

Everything comes from `SourceData` (purchases strictly before the cutoff) and the candidate table. Missing values
are NaN (LightGBM treats them as missing). `pair_features` also returns the feature groups the ablations switch
off (sources, als, image, history, popularity, article, customer).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from hm_pipeline.recommend.candidate_sources import CandidateTable, SourceData, distinct_buyers


def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """values[i] where keys[i] == query (keys sorted and unique), NaN where absent (float32)."""
    out = np.full(len(query), np.nan, np.float32)
    if not len(keys):
        return out
    pos = np.searchsorted(keys, query).clip(max=len(keys) - 1)
    hit = keys[pos] == query
    out[hit] = values[pos[hit]]
    return out


def _grouped(key: np.ndarray, count: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct key (sorted): summed count and latest day."""
    order = np.argsort(key, kind="stable")
    key, count, day = key[order], count[order], day[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.empty(0, np.int64)
    return key[starts], np.add.reduceat(count, starts) if len(key) else count, \
        np.maximum.reduceat(day, starts) if len(key) else day


def _sparse_lookup(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """matrix[rows[i], cols[i]] for every i (0 where not stored), without densifying."""
    coo = matrix.tocoo()
    keys = coo.row.astype(np.int64) * matrix.shape[1] + coo.col
    order = np.argsort(keys)
    found = _lookup(keys[order], coo.data[order].astype(np.float32), rows.astype(np.int64) * matrix.shape[1] + cols)
    return np.nan_to_num(found, nan=0.0)


def article_features(data: SourceData) -> dict[str, np.ndarray]:
    """Per article: distinct buyers over 1 / 7 / 28 days, trend (7-day vs 28-day rate), days since first sale
    (NaN: never sold), mean price. Cached on `data`."""
    if "article_features" not in data.cache:
        h = data.history
        b1, b7, b28 = (distinct_buyers(data, d)[0] for d in (1, 7, 28))
        first = np.full(h.n_articles, np.iinfo(np.int32).max, np.int64)
        np.minimum.at(first, h.tx_article, h.tx_day)
        sold = first < np.iinfo(np.int32).max
        n_tx = np.bincount(h.tx_article, minlength=h.n_articles)
        price_sum = np.bincount(h.tx_article, weights=data.price, minlength=h.n_articles)
        data.cache["article_features"] = {
            "buyers_1d": b1, "buyers_7d": b7, "buyers_28d": b28,
            "trend_7d_vs_28d": (b7 / (b28 / 4 + 1)).astype(np.float32),
            "article_age_days": np.where(sold, data.cutoff - first, np.nan).astype(np.float32),
            "article_price": np.where(n_tx > 0, price_sum / np.maximum(n_tx, 1), np.nan).astype(np.float32),
        }
    return data.cache["article_features"]


def customer_features(data: SourceData) -> dict[str, np.ndarray]:
    """Per customer: purchases in all / the last 28 days, distinct articles, days since the last purchase, mean
    price paid, age group code. Cached on `data`."""
    if "customer_features" not in data.cache:
        h = data.history
        n = h.n_customers
        last = np.full(n, -1, np.int64)
        np.maximum.at(last, h.tx_customer, h.tx_day)
        n_tx = np.bincount(h.tx_customer, minlength=n)
        recent = h.tx_day >= data.cutoff - 28
        data.cache["customer_features"] = {
            "customer_purchases": n_tx.astype(np.float32),
            "customer_purchases_28d": np.bincount(h.tx_customer[recent], minlength=n).astype(np.float32),
            "customer_articles": np.diff(h.indptr).astype(np.float32),
            "customer_days_since_last": np.where(last >= 0, data.cutoff - last, np.nan).astype(np.float32),
            "customer_price": np.where(n_tx > 0, np.bincount(h.tx_customer, weights=data.price, minlength=n)
                                       / np.maximum(n_tx, 1), np.nan).astype(np.float32),
            "age_group": data.age_group.astype(np.float32),
        }
    return data.cache["customer_features"]


def _history_by(data: SourceData, customers: np.ndarray, code: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """The chunk's purchases grouped by (customer, code of the article) — code None: by article —
    as (sorted key customer * n_codes + code, count, last day, n_codes)."""
    h = data.history
    owner, flat = h.rows(customers)
    customer = np.asarray(customers, np.int64)[owner]
    if code is None:
        return customer * h.n_articles + h.article[flat], h.count[flat], h.last_day[flat], h.n_articles
    n_codes = int(code.max(initial=0)) + 1
    key, count, day = _grouped(customer * n_codes + code[h.article[flat]], h.count[flat], h.last_day[flat])
    return key, count, day, n_codes


def pair_features(data: SourceData, table: CandidateTable) -> tuple[np.ndarray, list[str], dict[str, list[str]]]:
    """(len(table) x n_features) float32 features, their names, and group -> names (for the ablations).

    `table` should hold a chunk of customers (memory: rows x ~45 x 4 bytes)."""
    customer, article = table.customer, table.article
    columns: dict[str, np.ndarray] = {}
    groups: dict[str, list[str]] = {}

    def add(group: str, name: str, values: np.ndarray) -> None:
        columns[name] = np.asarray(values, np.float32)
        groups.setdefault(group, []).append(name)

    for s, name in enumerate(table.names):
        add("sources", f"{name}_rank", table.rank[:, s])
        add("sources", f"{name}_score", table.score[:, s])
    add("sources", "n_sources", (~np.isnan(table.rank)).sum(axis=1))
    if data.als is not None:
        add("als", "als_score", data.als.scores(customer, article))
    customers = np.unique(customer)
    local = np.searchsorted(customers, customer)
    image = data.history.matrix(customers, "binary") @ data.similar
    add("image", "image_similarity", _sparse_lookup(image, local, article))
    for level, code in (("article", None), ("product_code", data.product_code), ("department", data.department),
                        ("index", data.index)):
        key, count, day, n_codes = _history_by(data, customers, code)
        query = customer.astype(np.int64) * n_codes + (article if code is None else code[article])
        add("history", f"bought_{level}_count", np.nan_to_num(_lookup(key, count.astype(np.float32), query)))
        add("history", f"bought_{level}_days_ago", data.cutoff - _lookup(key, day.astype(np.float32), query))
    art = article_features(data)
    for name in ("buyers_1d", "buyers_7d", "buyers_28d", "trend_7d_vs_28d"):
        add("popularity", name, art[name][article])
    add("article", "article_age_days", art["article_age_days"][article])
    add("article", "article_price", art["article_price"][article])
    cust = customer_features(data)
    for name, values in cust.items():
        add("customer", name, values[customer])
    add("article", "price_vs_customer", art["article_price"][article] / cust["customer_price"][customer])
    names = list(columns)
    x = np.empty((len(customer), len(names)), np.float32, order="F")  # column-wise fill: 20x faster than C order;
    for j, name in enumerate(names):  # LightGBM predicts from column-major input as fast
        x[:, j] = columns.pop(name)
    return x, names, groups
