"""Embedded graph engines side by side: bulk-load time, peak RSS and correctness vs pandas.

    .venv/bin/python bench/bench_graph_load.py --transactions 1000000 --repeats 3

Each engine runs in its own subprocess (kuzu and ladybug cannot be imported in one process) on the same seeded
data with repeat purchases (hm_pipeline_tests.graph_fixtures.random_ingest); every query result is compared with
pandas/scipy. Prints medians of the load seconds (wall and process CPU, all threads), the peak RSS and the quantities where the graph disagrees.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from hm_pipeline_tests.graph_crosscheck import expected_results, mismatches, samples  # noqa: E402
from hm_pipeline_tests.graph_fixtures import random_ingest  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--engines", nargs="+", default=["kuzu", "ladybug"])
    parser.add_argument("--load-only", action="store_true", help="time the loads only (full scale), no cross-check")
    args = parser.parse_args()
    sizes = ["--customers", str(args.customers), "--articles", str(args.articles),
             "--transactions", str(args.transactions), "--seed", str(args.seed)]
    if args.load_only:
        sizes.append("--load-only")
        expected = None
    else:
        tables = random_ingest(args.customers, args.articles, args.transactions, args.seed)
        expected = expected_results(tables, *samples(tables))
        del tables
    print(f"data: {args.customers:,} customers, {args.articles:,} articles, {args.transactions:,} purchases"
          + ("" if expected is None else f"; 2-hop paths (pandas): {expected['two_hop_path_count']:,}"))
    runs: dict[str, list[dict]] = {engine: [] for engine in args.engines}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for engine in args.engines:  # interleaved, so both see the same machine state
                out = Path(tmp) / f"{engine}-{repeat}.json"
                subprocess.run([sys.executable, "-m", "hm_pipeline_tests.graph_crosscheck", engine, str(out), *sizes],
                               check=True, cwd=REPO_ROOT)
                runs[engine].append(json.loads(out.read_text()))
    base = None
    for engine, reports in runs.items():
        load = statistics.median(r["seconds"]["load"] for r in reports)
        base = base or load
        rss = max(r["peak_rss_mb"] for r in reports)
        wrong = {} if expected is None else mismatches(reports[0]["results"], expected)
        cpu = statistics.median(r["seconds"]["load_cpu"] for r in reports)
        print(f"{engine:8s} load median {load:6.2f}s ({load / base:.2f}x, CPU {cpu:6.2f}s)  prepare "
              f"{statistics.median(r['seconds']['prepare'] for r in reports):5.2f}s  queries "
              f"{statistics.median(r['seconds']['queries'] for r in reports):6.2f}s  peak RSS {rss:,.0f} MB  "
              + ("" if expected is None else f"mismatches vs pandas: {len(wrong)}"))
        for key, what in wrong.items():
            print(f"    {key}: {what}")


if __name__ == "__main__":
    main()
