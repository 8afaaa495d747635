"""How faithful a faster embedding is to the fp32 reference: per-photo cosine and top-k SIMILAR overlap."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hm_pipeline.images import knn


@dataclass(frozen=True)
class Faithfulness:
    """`cosine_*`: cosine of each photo's embedding to its fp32 embedding; `overlap_*`: per product, the share of
    its fp32 top-k SIMILAR list (exact, `knn.topk_full`) that the other embeddings' top-k list also holds."""

    photos: int
    cosine_min: float
    cosine_median: float
    overlap_mean: float
    overlap_min: float
    products_with_full_overlap: float  # share of products whose top-k list is identical as a set

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 5) if isinstance(v, float) else v for k, v in asdict(self).items()}


def topk_overlap(reference: np.ndarray, other: np.ndarray, k: int = knn.DEFAULT_K) -> np.ndarray:
    """Per row, |top-k(reference) ∩ top-k(other)| / |top-k(reference)| (exact neighbours, self excluded)."""
    a, b = knn.topk_full(reference, k), knn.topk_full(other, k)
    n = len(reference)
    sets_a = np.zeros((n, n), dtype=bool)
    sets_b = np.zeros((n, n), dtype=bool)
    sets_a[a.src, a.dst] = True
    sets_b[b.src, b.dst] = True
    return (sets_a & sets_b).sum(axis=1) / np.maximum(sets_a.sum(axis=1), 1)


def compare(reference: np.ndarray, other: np.ndarray, k: int = knn.DEFAULT_K) -> Faithfulness:
    """Faithfulness of `other` to `reference` (same photos, same row order)."""
    if reference.shape != other.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {other.shape}")
    ra, rb = knn.normalize_rows(reference).astype(np.float64), knn.normalize_rows(other).astype(np.float64)
    cosine = (ra * rb).sum(axis=1)
    overlap = topk_overlap(reference, other, k)
    return Faithfulness(len(reference), float(cosine.min()), float(np.median(cosine)), float(overlap.mean()),
                        float(overlap.min()), float((overlap == 1).mean()))
