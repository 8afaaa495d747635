"""Embedded graph engines side by side: bulk-load time, peak RSS and correctness vs pandas.

    .venv/bin/python bench/bench_graph_load.py --transactions 1000000 --repeats 3
    .venv/bin/python bench/bench_graph_load.py --from-layout /tmp/fullroot --repeats 1   # real ingest Parquet


Each engine runs in its own subprocess (kuzu and ladybug cannot be imported in one process) on the same seeded
data with repeat purchases (hm_pipeline_tests.graph_fixtures.random_ingest); every query result is compared with
pandas/scipy. Prints medians of the load seconds (wall and process CPU, all threads), the peak RSS and the quantities where the graph disagrees.

`--from-layout ROOT` instead times the product_graph path on an existing data root (ROOT/ingest/*.parquet, written
by the ingest assets; the graph goes to ROOT/graph/): `graph_tables_from_layout` then `EmbeddedGraphStore.rebuild`,
each run in a fresh subprocess, wall and CPU seconds per stage and the peak RSS after each stage.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from hm_pipeline_tests.graph_crosscheck import expected_results, mismatches, samples  # noqa: E402
from hm_pipeline_tests.graph_fixtures import random_ingest  # noqa: E402


def _from_layout_child(root: str, engine: str, out: str) -> None:
    """One timed prepare + load of the graph from the ingest tables under `root` (runs in a subprocess)."""
    from hm_pipeline.graph.embedded import EmbeddedGraphStore
    from hm_pipeline.graph.tables import graph_tables_from_layout
    from hm_pipeline.layout import DataLayout

    def peak_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    layout = DataLayout.from_env(root)
    wall, cpu = time.perf_counter(), time.process_time()
    tables = graph_tables_from_layout(layout)
    report = {"prepare": time.perf_counter() - wall, "prepare_cpu": time.process_time() - cpu,
              "prepare_peak_rss_mb": peak_mb(), "purchases": tables.rels["PURCHASED"].num_rows}
    wall, cpu = time.perf_counter(), time.process_time()
    with EmbeddedGraphStore(layout.graph_dir / engine, engine=engine) as store:
        store.rebuild(tables)
        report.update(load=time.perf_counter() - wall, load_cpu=time.process_time() - cpu, peak_rss_mb=peak_mb())
        report["edges"] = store.relationship_counts().get("PURCHASED", 0)
    Path(out).write_text(json.dumps(report))


def from_layout(root: str, engines: list[str], repeats: int) -> None:
    """Time the graph build from the ingest Parquet under `root`, each run in its own process."""
    runs: dict[str, list[dict]] = {engine: [] for engine in engines}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(repeats):
            for engine in engines:
                out = Path(tmp) / f"{engine}-{repeat}.json"
                subprocess.run([sys.executable, __file__, "--from-layout-child", root, engine, str(out)],
                               check=True, cwd=REPO_ROOT)
                runs[engine].append(json.loads(out.read_text()))
    for engine, reports in runs.items():
        med = {k: statistics.median(r[k] for r in reports) for k in ("prepare", "prepare_cpu", "load", "load_cpu")}
        print(f"{engine:8s} {reports[0]['purchases']:,} purchases ({reports[0]['edges']:,} PURCHASED edges); "
              f"median of {repeats}: tables {med['prepare']:.1f}s (CPU {med['prepare_cpu']:.1f}s, peak RSS "
              f"{max(r['prepare_peak_rss_mb'] for r in reports):,.0f} MB)  load {med['load']:.1f}s "
              f"(CPU {med['load_cpu']:.1f}s)  peak RSS {max(r['peak_rss_mb'] for r in reports):,.0f} MB")


def main() -> None:
    if sys.argv[1:2] == ["--from-layout-child"]:
        _from_layout_child(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--engines", nargs="+", default=["kuzu", "ladybug"])
    parser.add_argument("--load-only", action="store_true", help="time the loads only (full scale), no cross-check")
    parser.add_argument("--from-layout", metavar="ROOT",
                        help="time tables + load from the ingest Parquet under this data root instead")
    args = parser.parse_args()
    if args.from_layout:
        from_layout(args.from_layout, args.engines if "--engines" in sys.argv else ["kuzu"], args.repeats)
        return
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
