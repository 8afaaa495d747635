"""The two-stage recommender's added cost at any scale, as the pipeline runs its production recipe: read inputs,
label weeks (candidates + features; the training week's ALS refit), LightGBM fit, and ranking of every customer
(or the first `--score-customers`), stage by stage.

    flock /work/coord/heavy.lock .venv/bin/python bench/bench_ranker.py --root /work/hm_full --out bench/out/ranker_full.json

The two ALS fits `als_model` already makes (data before the last week, all data) are fit first with
`--pipeline-iterations` and are NOT counted in the total (their cost is the pipeline's either way; nothing
downstream depends on their iteration count). The label-week refit that the ranker adds uses `--factors` x
`--refit-iterations` (the recipe's default compromise: 3). Each stage prints wall s, CPU s, the process's peak RSS
so far and the 1-minute load average as soon as it ends (a cut-short run still reports what it measured).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from dataclasses import replace
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
    parser.add_argument("--factors", type=int, default=100, help="ALS factors (project default 100)")
    parser.add_argument("--pipeline-iterations", type=int, default=3,
                        help="iterations of the two fits als_model makes anyway (not counted)")
    parser.add_argument("--refit-iterations", type=int, default=3, help="iterations of the label-week refit")
    parser.add_argument("--workers", type=int, default=2, help="threads ranking chunks of customers")
    parser.add_argument("--chunk", type=int, default=25_000, help="customers per chunk")
    parser.add_argument("--lightgbm-predict", action="store_true", help="score with LightGBM, not compiled trees")
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
    config = two_stage.RankerConfig(als=AlsParams(factors=args.factors, iterations=args.pipeline_iterations),
                                    refit_iterations=args.refit_iterations)
    inputs = two_stage.read_inputs(DataLayout(root), root / "similar" / "similar.parquet", config)
    lap("read_inputs", transactions=len(inputs.purchases), customers=inputs.purchases.n_users)
    target = inputs.purchases.last_day + 1
    pipeline_config = replace(config, refit_iterations=0)
    for cutoff in (target - two_stage.WEEK, target):  # what als_model fits: supplied to the recipe, as in ranker_model
        fits = two_stage.Inputs(inputs.purchases, inputs.price, inputs.similar, inputs.product_code,
                                inputs.department, inputs.index, inputs.age_group, pipeline_config)
        inputs.als_fits[cutoff] = fits.als_at(cutoff)
    lap("als_model_fits_not_counted", counted=False)
    train, valid = two_stage.label_weeks(inputs, target, config)
    lap("label_weeks", rows=int(sum(len(w.y) for w in (*train, valid))),
        weeks=[{"customers_buying": w.customers, "rows": int(len(w.y)), "seconds": round(w.seconds, 1),
                "recall": round(w.recall["all sources"], 4)} for w in (*train, valid)])
    ranker = two_stage.fit_ranker(train, valid, config)
    del train, valid
    lap("fit_ranker", best_iteration=ranker.best_iteration)
    data = inputs.at(target)
    lap("history_at_target")
    customers = np.arange(inputs.purchases.n_users, dtype=np.int32)
    if args.score_customers:
        customers = customers[: args.score_customers]
    out, stats = two_stage.recommend(data, {"ranked": ranker}, customers, chunk=args.chunk, workers=args.workers,
                                     compiled=not args.lightgbm_predict)
    lap("rank_customers", customers=len(customers), workers=args.workers, chunk=args.chunk, **stats)
    counted = [s for s in stages if s.get("counted", True)]
    total = {"wall_s": round(sum(s["wall_s"] for s in counted), 1), "cpu_s": round(sum(s["cpu_s"] for s in counted), 1),
             "peak_rss_gb": max(s["peak_rss_gb"] for s in stages), "not_counted": [s["stage"] for s in stages
                                                                                   if not s.get("counted", True)]}
    print(json.dumps({"total": total}), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"stages": stages, "total": total, "argv": sys.argv}, indent=2))


if __name__ == "__main__":
    main()
