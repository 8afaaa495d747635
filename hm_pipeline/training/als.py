"""ALS (implicit 0.7, CPU) fit / save / load / batch recommend, with OpenBLAS pinned to one thread.

implicit parallelises ALS itself (OpenMP over users/items); an OpenBLAS thread pool underneath it only adds
contention, so the fit and the batch recommend run inside `threadpoolctl.threadpool_limits(1, "blas")`. That works
after numpy is imported, unlike `OPENBLAS_NUM_THREADS`, which OpenBLAS reads only when it is loaded (see
bench/bench_training.py for the measured effect of both).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import implicit.als
import implicit.gpu
import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from hm_pipeline.atomic import atomic_path
from hm_pipeline.devices import resolve_device


@dataclass(frozen=True)
class AlsParams:
    """Hyper-parameters; the defaults are implicit's (which the seed used), plus a fixed seed."""

    factors: int = 100
    regularization: float = 0.01
    alpha: float = 1.0
    iterations: int = 15
    random_state: int = 42
    device: str = "cpu"  # cpu | gpu (implicit.gpu, CUDA; fails clearly without one) | auto

    def __post_init__(self) -> None:
        if self.factors < 1 or self.iterations < 1:
            raise ValueError(f"factors and iterations must be >= 1, got {self.factors}, {self.iterations}")
        if self.regularization < 0 or self.alpha <= 0:
            raise ValueError(f"regularization must be >= 0 and alpha > 0, got {self.regularization}, {self.alpha}")

    def as_dict(self) -> dict:
        return asdict(self)


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Pin BLAS to one thread for the block (threadpoolctl, effective at run time) and set OPENBLAS_NUM_THREADS
    for any BLAS loaded later; both are restored afterwards."""
    previous = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        if previous is None:
            os.environ.pop("OPENBLAS_NUM_THREADS", None)
        else:
            os.environ["OPENBLAS_NUM_THREADS"] = previous


def new_model(params: AlsParams) -> AlternatingLeastSquares:
    """implicit's CPU model, or its GPU model when `params.device` resolves to the GPU (saved as a CPU model)."""
    device = resolve_device(params.device, implicit.gpu.HAS_CUDA, "ALS (implicit)")
    with single_threaded_blas():  # implicit warns at construction when BLAS is multi-threaded
        return implicit.als.AlternatingLeastSquares(
            factors=params.factors,
            regularization=params.regularization,
            alpha=params.alpha,
            iterations=params.iterations,
            random_state=params.random_state,
            dtype=np.float32,
            use_gpu=device == "gpu",
        )


def fit_als(matrix: sp.csr_matrix, params: AlsParams) -> tuple[AlternatingLeastSquares, float]:
    """Fit on a users x items confidence matrix; returns the model and the fit's wall seconds."""
    if matrix.shape[0] == 0 or matrix.shape[1] == 0 or matrix.nnz == 0:
        raise ValueError(f"cannot fit ALS on an empty matrix of shape {matrix.shape}")
    model = new_model(params)
    with single_threaded_blas():
        start = time.perf_counter()
        model.fit(matrix.astype(np.float32, copy=False), show_progress=False)
        seconds = time.perf_counter() - start
    return model, seconds


def save_model(model: AlternatingLeastSquares, path: str | os.PathLike[str]) -> None:
    """implicit's own `save` (numpy .npz), written to a temp sibling and renamed."""
    if hasattr(model, "to_cpu"):  # a GPU model: save the CPU copy, which every reader loads
        model = model.to_cpu()
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        model.save(fh)


def load_model(path: str | os.PathLike[str]) -> AlternatingLeastSquares:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ALS model not found: {path}")
    with single_threaded_blas():
        return AlternatingLeastSquares.load(str(path))


def recommend_rows(
    model: AlternatingLeastSquares,
    rows: np.ndarray,
    matrix: sp.csr_matrix,
    n: int = 12,
    filter_already_liked_items: bool = False,
) -> np.ndarray:
    """Top-n matrix columns for the given matrix rows, one batched `recommend` call; (len(rows), n) int32, -1 pad."""
    rows = np.asarray(rows, dtype=np.int32)
    out = np.full((len(rows), n), -1, dtype=np.int32)
    if not len(rows):
        return out
    with single_threaded_blas():
        ids, scores = model.recommend(
            rows, matrix[rows], N=n, filter_already_liked_items=filter_already_liked_items
        )
    ids = np.asarray(ids).reshape(len(rows), -1)
    valid = np.isfinite(np.asarray(scores).reshape(len(rows), -1)) & (ids >= 0)
    width = min(n, ids.shape[1])
    out[:, :width] = np.where(valid[:, :width], ids[:, :width], -1)
    return out
