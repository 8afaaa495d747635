"""Benchmark: interaction matrix (CSR build + k-core) and ALS fit at full H&M scale, our wrapper vs bare implicit.

    .venv/bin/python bench/bench_training.py                       # full scale: 1.36M x 105k, 31M purchases
    .venv/bin/python bench/bench_training.py --users 200000 --items 30000 --rows 4000000 --runs 3   # quick

Data: random heavy-tailed purchases (lognormal customer activity and article popularity) over two years, the
same shape as the Kaggle data. Reports medians of `--runs` interleaved runs and the wrapper/bare ratio, then
(in fresh subprocesses, since OPENBLAS_NUM_THREADS is read only when OpenBLAS loads) the ALS fit time with
OPENBLAS_NUM_THREADS=1, with threadpoolctl only, and with neither. Writes JSON to bench/out/training.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def synthetic(n_users: int, n_items: int, n_rows: int, seed: int = 0):
    import numpy as np

    from hm_pipeline.training.split import Purchases, to_day

    rng = np.random.default_rng(seed)
    user_w = rng.lognormal(0.0, 1.3, n_users)
    item_w = rng.lognormal(0.0, 1.6, n_items)
    user = np.searchsorted(np.cumsum(user_w / user_w.sum()), rng.random(n_rows)).clip(max=n_users - 1)
    item = np.searchsorted(np.cumsum(item_w / item_w.sum()), rng.random(n_rows)).clip(max=n_items - 1)
    first, last = to_day(dt.date(2018, 9, 20)), to_day(dt.date(2020, 9, 22))
    day = rng.integers(first, last + 1, n_rows)
    return Purchases(day.astype(np.int32), user.astype(np.int32), item.astype(np.int32), n_users, n_items)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bare_fit(matrix, params):
    """implicit called directly, the way its README does (no BLAS pinning of our own)."""
    import numpy as np
    from implicit.cpu.als import AlternatingLeastSquares

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = AlternatingLeastSquares(factors=params.factors, regularization=params.regularization,
                                        alpha=params.alpha, iterations=params.iterations,
                                        random_state=params.random_state, dtype=np.float32)
    model.fit(matrix, show_progress=False)
    return model


def child(mode: str, matrix_path: str, factors: int, iterations: int) -> None:
    """One ALS fit in a fresh process: `env` (OPENBLAS_NUM_THREADS=1 set by the parent), `threadpoolctl`, `none`."""
    import scipy.sparse as sp
    from threadpoolctl import threadpool_info

    from hm_pipeline.training.als import AlsParams, fit_als

    matrix = sp.load_npz(matrix_path).tocsr()
    params = AlsParams(factors=factors, iterations=iterations)
    blas = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    if mode == "threadpoolctl":
        _, seconds = fit_als(matrix, params)
    else:  # env / none: bare implicit, whatever the process environment says
        seconds, _ = timed(lambda: bare_fit(matrix, params))
    print(json.dumps({"mode": mode, "seconds": seconds, "blas_threads_at_start": blas}))


def blas_modes(matrix, factors: int, iterations: int, runs: int) -> dict:
    import scipy.sparse as sp

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.npz")
        sp.save_npz(path, matrix, compressed=False)
        times: dict[str, list[float]] = {"env": [], "threadpoolctl": [], "none": []}
        for _ in range(runs):
            for mode in times:
                env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
                if mode == "env":
                    env["OPENBLAS_NUM_THREADS"] = "1"
                out = subprocess.run([sys.executable, __file__, "--child", mode, path, str(factors), str(iterations)],
                                     env=env, capture_output=True, text=True, check=True)
                times[mode].append(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])
    med = {m: statistics.median(v) for m, v in times.items()}
    return {"runs": times, "median_seconds": med,
            "ratio_threadpoolctl_over_env": med["threadpoolctl"] / med["env"],
            "ratio_none_over_env": med["none"] / med["env"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=1_362_281)
    ap.add_argument("--items", type=int, default=104_547)
    ap.add_argument("--rows", type=int, default=31_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--factors", type=int, default=100)
    ap.add_argument("--iterations", type=int, default=3, help="ALS iterations per fit (fit time is linear in it)")
    ap.add_argument("--blas-rows", type=int, default=6_000_000, help="size of the BLAS-threads experiment; 0 skips")
    ap.add_argument("--out", default=str(REPO / "bench" / "out" / "training.json"))
    args = ap.parse_args()

    import numpy as np
    from threadpoolctl import threadpool_limits

    from hm_pipeline.training.als import AlsParams, fit_als
    from hm_pipeline.training.interactions import build_interactions

    report: dict = {"args": vars(args)}
    seconds, purchases = timed(lambda: synthetic(args.users, args.items, args.rows))
    print(f"generated {len(purchases):,} purchases in {seconds:.1f}s", flush=True)

    build_times, im = [], None
    for _ in range(args.runs):
        s, im = timed(lambda: build_interactions(purchases, 5, 5, "recency"))
        build_times.append(s)
        print(f"  build_interactions (CSR + k-core, recency): {s:.2f}s", flush=True)
    report["matrix"] = {**im.stats, "seconds_runs": build_times, "median_seconds": statistics.median(build_times)}
    print(f"matrix {im.matrix.shape}, nnz {im.matrix.nnz:,}, k-core passes {im.stats['kcore_passes']}, "
          f"users lost {im.stats['users_lost_share']:.1%}, items lost {im.stats['items_lost_share']:.1%}; "
          f"median {statistics.median(build_times):.2f}s", flush=True)

    params = AlsParams(factors=args.factors, iterations=args.iterations)
    def pinned_bare() -> None:
        with threadpool_limits(1, "blas"):
            bare_fit(im.matrix, params)

    variants = {"wrapper": lambda: fit_als(im.matrix, params), "bare_pinned": pinned_bare,
                "bare": lambda: bare_fit(im.matrix, params)}
    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for run in range(args.runs):  # interleaved on the same matrix; the order rotates so none always goes first
        for name in names[run % 3:] + names[: run % 3]:
            times[name].append(timed(variants[name])[0])
        print("  ALS fit: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    report["als"] = {"factors": args.factors, "iterations": args.iterations, "runs": times, "median_seconds": med,
                     "ratio_wrapper_over_bare_pinned": med["wrapper"] / med["bare_pinned"],
                     "ratio_wrapper_over_bare": med["wrapper"] / med["bare"],
                     "openblas_num_threads_env": os.environ.get("OPENBLAS_NUM_THREADS")}
    print(f"ALS median ({args.factors} factors, {args.iterations} iterations): wrapper {med['wrapper']:.2f}s, "
          f"bare implicit with BLAS pinned {med['bare_pinned']:.2f}s (ratio "
          f"{report['als']['ratio_wrapper_over_bare_pinned']:.3f}), bare implicit as loaded {med['bare']:.2f}s "
          f"(ratio {report['als']['ratio_wrapper_over_bare']:.3f}); OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS')}", flush=True)

    if args.blas_rows:
        rows = np.flatnonzero(np.cumsum(np.diff(im.matrix.indptr)) <= args.blas_rows)
        sub = im.matrix[: len(rows)]
        report["blas_threads"] = {"shape": list(sub.shape), "nnz": int(sub.nnz),
                                  **blas_modes(sub, args.factors, args.iterations, args.runs)}
        b = report["blas_threads"]
        print(f"BLAS threads on {sub.shape}, nnz {sub.nnz:,}: median env {b['median_seconds']['env']:.2f}s, "
              f"threadpoolctl {b['median_seconds']['threadpoolctl']:.2f}s, none {b['median_seconds']['none']:.2f}s; "
              f"threadpoolctl/env {b['ratio_threadpoolctl_over_env']:.3f}, none/env {b['ratio_none_over_env']:.3f}",
              flush=True)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
