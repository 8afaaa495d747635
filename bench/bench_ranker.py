"""The two-stage recommender's added cost at any scale: read inputs, label weeks (candidates + features + ALS refit
per week), LightGBM fit, and ranking of every customer (or the first `--score-customers`), stage by stage.

    flock /work/coord/heavy.lock .venv/bin/python bench/bench_ranker.py --root /work/hm_full --out bench/out/ranker_full.json

Each stage prints wall s, CPU s and the process's peak RSS so far as soon as it ends (a cut-short run still reports
what it measured). ALS uses `--factors` x `--iterations` (the end-to-end benchmark's 64 x 3 by default).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from hm_pipeline.layout import DataLayout  # noqa: E402
from hm_pipeline.recommend import two_stage  # noqa: E402
from hm_pipeline.training.als import AlsParams  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="data root with ingest/*.parquet")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--score-customers", type=int, default=0, help="rank only the first N customers (0: all)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    stages: list[dict] = []
    clock = [time.perf_counter(), time.process_time()]

    def lap(name: str, **extra) -> None:
        now = [time.perf_counter(), time.process_time()]
        row = {"stage": name, "wall_s": round(now[0] - clock[0], 1), "cpu_s": round(now[1] - clock[1], 1),
               "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
               "loadavg": open("/proc/loadavg").read().split()[0], **extra}
        stages.append(row)
        print(json.dumps(row), flush=True)
        clock[:] = now

    root = Path(args.root)
    config = two_stage.RankerConfig(als=AlsParams(factors=args.factors, iterations=args.iterations))
    inputs = two_stage.read_inputs(DataLayout(root), root / "similar" / "similar.parquet", config)
    lap("read_inputs", transactions=len(inputs.purchases), customers=inputs.purchases.n_users)
    target = inputs.purchases.last_day + 1
    train, valid = two_stage.label_weeks(inputs, target, config)
    lap("label_weeks", rows=int(sum(len(w.y) for w in (*train, valid))),
        weeks=[{"rows": int(len(w.y)), "seconds": round(w.seconds, 1), "recall": w.recall["all sources"]}
               for w in (*train, valid)])
    ranker = two_stage.fit_ranker(train, valid, config)
    del train, valid
    lap("fit_ranker", best_iteration=ranker.best_iteration)
    data = inputs.at(target)
    lap("features_at_target_and_als")
    customers = np.arange(inputs.purchases.n_users, dtype=np.int32)
    if args.score_customers:
        customers = customers[: args.score_customers]
    out, stats = two_stage.recommend(data, {"ranked": ranker}, customers)
    lap("rank_customers", customers=len(customers), **stats)
    total = {"wall_s": round(sum(s["wall_s"] for s in stages), 1), "cpu_s": round(sum(s["cpu_s"] for s in stages), 1),
             "peak_rss_gb": max(s["peak_rss_gb"] for s in stages)}
    print(json.dumps({"total": total}), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"stages": stages, "total": total, "argv": sys.argv}, indent=2))


if __name__ == "__main__":
    main()
