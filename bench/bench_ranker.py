"""The two-stage recommender's added cost at any scale, stage by stage as its assets run it: read inputs, the
training set (label weeks of both recipes: candidates + features, the ALS refits; written to Parquet), the two
LightGBM fits (from the stored training set), the candidates of both target weeks (written to Parquet), ranking
every customer from the stored production candidates (or the first `--score-customers`), and scoring the held-out
week's buyers from the stored eval candidates (what `holdout_evaluation` adds for the ranker).

    flock /work/coord/heavy.lock .venv/bin/python bench/bench_ranker.py --root /work/hm_full2 --out bench/out/ranker_full.json

The two ALS fits `als_model` already makes (data before the held-out week, all data) are fit first with
`--pipeline-iterations` and are NOT counted in the total (their cost is the pipeline's either way; nothing
downstream depends on their iteration count). The label-week refits the ranker adds use `--factors` x
`--refit-iterations` (the recipe's default compromise: 3). Image-filter and age-group rows come from the
purchases and customers.parquet here, not from the graph (the graph calls are timed in `recommendations`'
metadata). Each stage prints wall s, CPU s, the process's peak RSS so far and the 1-minute load average as soon as
it ends (a cut-short run still reports what it measured). Files go to a temporary folder under `--work`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from hm_pipeline.layout import DataLayout  # noqa: E402
from hm_pipeline.recommend import training_set, two_stage  # noqa: E402
from hm_pipeline.recommend.candidate_file import CandidateFile, ComputedCandidates, write_candidates  # noqa: E402
from hm_pipeline.training.als import AlsParams  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="data root with ingest/*.parquet")
    parser.add_argument("--factors", type=int, default=100, help="ALS factors (project default 100)")
    parser.add_argument("--pipeline-iterations", type=int, default=3,
                        help="iterations of the two fits als_model makes anyway (not counted)")
    parser.add_argument("--refit-iterations", type=int, default=3, help="iterations of the label-week refit")
    parser.add_argument("--workers", type=int, default=2, help="threads building label weeks, fitting the two "
                        "rankers and collecting / ranking chunks of customers (the assets' `workers`)")
    parser.add_argument("--chunk", type=int, default=25_000, help="customers per chunk")
    parser.add_argument("--lightgbm-predict", action="store_true", help="score with LightGBM, not compiled trees")
    parser.add_argument("--score-customers", type=int, default=0, help="rank only the first N customers (0: all)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the temporary Parquet files")
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
    layout = DataLayout(root)
    inputs = two_stage.read_inputs(layout, layout.similar_file, config)
    lap("read_inputs", transactions=len(inputs.purchases), customers=inputs.purchases.n_users)
    targets = {"eval": inputs.purchases.last_day + 1 - two_stage.WEEK, "production": inputs.purchases.last_day + 1}
    pipeline_config = replace(config, refit_iterations=0)
    for cutoff in targets.values():  # what als_model fits: supplied to the recipes, as in the assets
        fits = two_stage.Inputs(inputs.purchases, inputs.price, inputs.similar, inputs.product_code,
                                inputs.department, inputs.index, inputs.age_group, pipeline_config)
        inputs.als_fits[cutoff] = fits.als_at(cutoff)
    lap("als_model_fits_not_counted", counted=False)
    with tempfile.TemporaryDirectory(prefix="bench-ranker-", dir=args.work) as tmp:
        work = Path(tmp)
        weeks = two_stage.compute_weeks(inputs, list(targets.values()), config, args.workers)
        training_set.write_training_set(work / "training_set", weeks)
        lap("training_set", rows=int(sum(len(w.y) for w in weeks.values())),
            weeks=[{"first_day": c, "customers_buying": w.customers, "rows": int(len(w.y)),
                    "sampled_rows": int(w.in_sample.sum()), "seconds": round(w.seconds, 1),
                    "recall": round(w.recall["all sources"], 4)} for c, w in weeks.items()])
        del weeks
        stored = training_set.read_training_set(work / "training_set")
        tasks = [(*two_stage.recipe_weeks(stored, target, config), two_stage.FULL) for target in targets.values()]
        rankers = dict(zip(targets, two_stage.fit_rankers(tasks, config, args.workers)))
        del stored
        lap("fit_rankers", best_iterations={r: f.best_iteration for r, f in rankers.items()})
        p = inputs.purchases
        customers = np.arange(p.n_users, dtype=np.int32)[: args.score_customers or None]
        jobs = {"eval": (inputs.at(targets["eval"]), np.unique(p.user[p.day >= targets["eval"]])),
                "production": (inputs.at(targets["production"]), customers)}
        files = {}
        for recipe, (data, who) in jobs.items():
            files[recipe] = work / f"{recipe}.parquet"
            written = write_candidates(files[recipe], ComputedCandidates(data, who, args.chunk), args.workers)
            lap(f"candidates_{recipe}", customers=len(who), rows=written["rows"],
                file_mb=round(written["bytes"] / 2**20, 1))
        data = jobs["production"][0]
        out, stats = two_stage.recommend(data, {"ranked": rankers["production"]}, CandidateFile(files["production"]),
                                         workers=args.workers, compiled=not args.lightgbm_predict)
        lap("rank_customers", customers=len(customers), workers=args.workers, chunk=args.chunk, **stats)
        data = jobs["eval"][0]
        out, stats = two_stage.recommend(data, {"ranked": rankers["eval"]}, CandidateFile(files["eval"]),
                                         bought=inputs.week(targets["eval"]), workers=args.workers,
                                         compiled=not args.lightgbm_predict)
        lap("score_held_out_week", customers=len(jobs["eval"][1]), **stats)
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
