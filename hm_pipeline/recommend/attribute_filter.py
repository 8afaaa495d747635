"""The seed's department AND index filter, batched: keep a candidate only if the customer has bought from its
department and from its index.

The graph answers with (customer_idx, code) pairs for every customer in one batched query
(`cypher/shared/customer_departments_indexes.cypher`); `bought_codes` derives the same pairs from
the purchase history (for tests and graph-less runs). Membership is a sorted int64 key customer * n_codes + code and
`np.searchsorted`, so the filter costs O(candidates * log pairs) with no per-customer work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hm_pipeline.recommend.candidates import sorted_unique
from hm_pipeline.recommend.history import PurchaseHistory


DENSE_LIMIT = 1 << 27  # largest customers x codes bitmap `contains` builds (128 MB); above it, binary search


@dataclass(frozen=True)
class CustomerCodes:
    """Sorted unique keys customer_idx * n_codes + code: which codes (departments, indexes) each customer bought from."""

    keys: np.ndarray  # int64, sorted, unique
    n_codes: int

    @classmethod
    def from_pairs(cls, customer: np.ndarray, code: np.ndarray, n_codes: int) -> "CustomerCodes":
        customer = np.asarray(customer, dtype=np.int64)
        code = np.asarray(code, dtype=np.int64)
        if len(code) and (code.min() < 0 or code.max() >= n_codes):
            raise ValueError(f"customer/code pairs: code outside [0, {n_codes})")
        return cls(sorted_unique(customer * n_codes + code), n_codes)

    def contains(self, customer: np.ndarray, code: np.ndarray) -> np.ndarray:
        """Boolean mask: has `customer[i]` bought from `code[i]`? (a negative code, i.e. unknown, never matches)."""
        code = np.asarray(code, dtype=np.int64)
        customer = np.asarray(customer, dtype=np.int64)
        if not len(code) or not len(self.keys):
            return np.zeros(len(code), bool)
        first, span = int(customer.min()), int(customer.max()) - int(customer.min()) + 1
        base = first * self.n_codes
        lo, hi = np.searchsorted(self.keys, [base, base + span * self.n_codes])
        keys = self.keys[lo:hi] - base  # only the queried customers' keys
        known = code >= 0
        query = np.where(known, (customer - first) * self.n_codes + code, 0)
        if span * self.n_codes <= DENSE_LIMIT:  # a bitmap of the customers' codes: one lookup per candidate
            bitmap = np.zeros(span * self.n_codes, bool)
            bitmap[keys] = True
            found = bitmap[query]
        elif len(keys):
            found = keys[np.minimum(np.searchsorted(keys, query), len(keys) - 1)] == query
        else:
            found = np.zeros(len(query), bool)
        return found & known


def encode_codes(article_values: np.ndarray, pair_values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Dense int codes for a per-article attribute (e.g. index_code 'A'..'J' or department_no) and for the values in
    the graph's (customer, value) pairs, over the articles' vocabulary: (article_codes, pair_codes, n_codes).
    A pair value no article has gets -1 (it can never match a candidate)."""
    vocabulary, article_codes = np.unique(np.asarray(article_values), return_inverse=True)
    pair_values = np.asarray(pair_values)
    pos = np.searchsorted(vocabulary, pair_values)
    pos_clipped = np.minimum(pos, len(vocabulary) - 1)
    known = (pos < len(vocabulary)) & (vocabulary[pos_clipped] == pair_values)
    return article_codes.astype(np.int32), np.where(known, pos, -1).astype(np.int32), len(vocabulary)


def bought_codes(history: PurchaseHistory, article_code: np.ndarray, n_codes: int) -> CustomerCodes:
    """The (customer, code) pairs implied by the purchases: what the graph's batched query returns."""
    owner = np.repeat(np.arange(history.n_customers, dtype=np.int64), np.diff(history.indptr))
    code = np.asarray(article_code)[history.article]
    known = code >= 0
    return CustomerCodes.from_pairs(owner[known], code[known], n_codes)


@dataclass(frozen=True)
class AttributeFilter:
    """Department and index of each article (int codes, -1 unknown) and the codes each customer bought from."""

    article_department: np.ndarray
    article_index: np.ndarray
    departments: CustomerCodes
    indexes: CustomerCodes

    @classmethod
    def from_history(
        cls, history: PurchaseHistory, article_department: np.ndarray, article_index: np.ndarray
    ) -> "AttributeFilter":
        n_dep, n_idx = int(np.max(article_department, initial=-1)) + 1, int(np.max(article_index, initial=-1)) + 1
        return cls(
            np.asarray(article_department, np.int32),
            np.asarray(article_index, np.int32),
            bought_codes(history, article_department, n_dep),
            bought_codes(history, article_index, n_idx),
        )

    def keep(self, customer: np.ndarray, article: np.ndarray) -> np.ndarray:
        """Mask of candidates whose department AND index the customer has bought from."""
        mask = self.departments.contains(customer, self.article_department[article])
        mask[mask] = self.indexes.contains(customer[mask], self.article_index[article[mask]])
        return mask
