"""Benchmark the synthetic generator: wall seconds and peak RSS of one run in a child process, plus its report.

    .venv/bin/python bench/bench_generate.py --scale full --out /tmp/hm_full [--keep]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from hm_pipeline.data.synthetic.generate import generate
report = generate({scale!r}, Path({out!r}), seed={seed}, workers={workers}, images={images})
print(report.to_text())
print("JSON" + json.dumps(report.as_dict()))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", default="full")
    ap.add_argument("--out", default="/tmp/hm_bench_generate")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-images", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the generated files (default: delete them)")
    args = ap.parse_args()
    code = CHILD.format(repo=str(REPO), scale=args.scale, out=args.out, seed=args.seed, workers=args.workers,
                        images=not args.no_images)
    print("load average before: " + " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(proc.returncode)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the run and its image workers
    peak_gb = usage.ru_maxrss / 1024**2
    cpu = usage.ru_utime + usage.ru_stime
    text = "\n".join(line for line in proc.stdout.splitlines() if not line.startswith("JSON"))
    print(text)
    du = subprocess.run(["du", "-sh", args.out], capture_output=True, text=True).stdout.split()[0]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nscale={args.scale} wall_seconds={wall:.1f} cpu_seconds_all_processes={cpu:.1f} "
          f"peak_rss_gb={peak_gb:.2f} (largest single process) output_size={du} load_average_after={load}")
    if not args.keep:
        shutil.rmtree(args.out, ignore_errors=True)


if __name__ == "__main__":
    main()
