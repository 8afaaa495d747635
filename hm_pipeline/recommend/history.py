"""Distinct (customer, article) purchases with count and last day, CSR-ordered by customer (built once per run)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class PurchaseHistory:
    """Per customer_idx, the articles bought (ascending), how often, and the last day (days since epoch).

    Row `c` is `article[indptr[c]:indptr[c+1]]`. Transactions are kept too (`tx_*`) for window counts.
    """

    n_customers: int
    n_articles: int
    indptr: np.ndarray  # int64, n_customers + 1
    article: np.ndarray  # int32
    count: np.ndarray  # int32
    last_day: np.ndarray  # int32
    tx_customer: np.ndarray  # int32, one per transaction
    tx_article: np.ndarray  # int32
    tx_day: np.ndarray  # int32

    @classmethod
    def from_transactions(
        cls, customer: np.ndarray, article: np.ndarray, day: np.ndarray, n_customers: int, n_articles: int
    ) -> "PurchaseHistory":
        """From one row per transaction (orphan rows, i.e. negative idx, must be dropped by the caller)."""
        customer = np.asarray(customer, dtype=np.int32)
        article = np.asarray(article, dtype=np.int32)
        day = np.asarray(day, dtype=np.int32)
        if not (len(customer) == len(article) == len(day)):
            raise ValueError("customer, article and day must have the same length")
        for name, values, bound in (("customer_idx", customer, n_customers), ("article_idx", article, n_articles)):
            if len(values) and (values.min() < 0 or values.max() >= bound):
                raise ValueError(f"transactions: {name} outside [0, {bound})")
        key = customer.astype(np.int64) * n_articles + article
        order = np.lexsort((day, key))
        key_sorted = key[order]
        last = np.flatnonzero(np.r_[key_sorted[1:] != key_sorted[:-1], True]) if len(key) else np.empty(0, np.int64)
        first = np.r_[0, last[:-1] + 1] if len(last) else last
        pair = key_sorted[last]
        pair_customer = (pair // n_articles).astype(np.int32)
        indptr = np.zeros(n_customers + 1, dtype=np.int64)
        np.cumsum(np.bincount(pair_customer, minlength=n_customers), out=indptr[1:])
        return cls(
            n_customers=n_customers,
            n_articles=n_articles,
            indptr=indptr,
            article=(pair % n_articles).astype(np.int32),
            count=(last - first + 1).astype(np.int32),
            last_day=day[order][last].astype(np.int32),
            tx_customer=customer,
            tx_article=article,
            tx_day=day,
        )

    @property
    def last_date(self) -> int:
        """The most recent transaction day (the reference for "last N weeks")."""
        if not len(self.tx_day):
            raise ValueError("no transactions")
        return int(self.tx_day.max())

    def has_purchases(self) -> np.ndarray:
        return np.diff(self.indptr) > 0

    def rows(self, customers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in `customers`, flat index into `article`/`count`/`last_day`) of every pair of those customers."""
        customers = np.asarray(customers, dtype=np.int64)
        starts, ends = self.indptr[customers], self.indptr[customers + 1]
        lengths = ends - starts
        owner = np.repeat(np.arange(len(customers)), lengths)
        flat = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths) + np.repeat(starts, lengths)
        return owner, flat

    def matrix(self, customers: np.ndarray, data: str = "binary") -> sp.csr_matrix:
        """len(customers) x n_articles CSR of those customers' purchases: `binary` (1 per pair) or `count`."""
        owner, flat = self.rows(customers)
        values = np.ones(len(flat), np.float32) if data == "binary" else self.count[flat].astype(np.float32)
        indptr = np.zeros(len(customers) + 1, dtype=np.int64)
        np.cumsum(np.bincount(owner, minlength=len(customers)), out=indptr[1:])
        return sp.csr_matrix((values, self.article[flat], indptr), shape=(len(customers), self.n_articles))

    def window_counts(self, days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Transactions of the last `days` days (day > last_date - days): customer, article, day."""
        if days < 1:
            raise ValueError(f"window must be >= 1 day, got {days}")
        keep = self.tx_day > self.last_date - days
        return self.tx_customer[keep], self.tx_article[keep], self.tx_day[keep]
