"""Neo4j (a real local server, `hm_pipeline.graph.neo4j_server`) side by side with kuzu and with itself.

    flock /work/coord/heavy.lock .venv/bin/python bench/bench_neo4j.py knn --products 10000 105000 --heap 6g
    flock /work/coord/heavy.lock .venv/bin/python bench/bench_neo4j.py load --from-layout /tmp/small [--unwind]

`knn`: the seed's SIMILAR (GDS kNN, topK 10, cosine, one thread, fixed seed) against the project's exact top-10
(`hm_pipeline.images.knn.topk_full`) on the same generated 2048-d embeddings: clustered Gaussians (one centre per
20 products, noise of the centre's scale), L2-normalised. Prints recall@10 of GDS against exact and the wall
seconds of each (GDS: projection + kNN + write + ranking; embeddings loaded into Neo4j beforehand, timed apart).

`load`: the graph of ROOT/ingest/*.parquet into kuzu (`EmbeddedGraphStore.rebuild`), into Neo4j by
`neo4j-admin database import full` (files from `graph/admin_import.py`, server stopped, then started and counted)
and, with `--unwind`, into Neo4j by the transactional UNWIND load; then the EDA queries on each store, timed.
Each server gets its own data root under /tmp; everything is stopped by PID at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from hm_pipeline.graph import neo4j_server  # noqa: E402
from hm_pipeline.graph.neo4j_store import Neo4jGraphStore  # noqa: E402
from hm_pipeline.layout import DataLayout  # noqa: E402

QUERIES = ("purchase_count", "top_product_types", "top_garment_groups", "purchases_by_month",
           "purchase_stats_per_customer", "purchase_stats_per_product")


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def clustered_embeddings(n: int, dim: int = 2048, per_cluster: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // per_cluster), dim)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _server(root: Path, heap: str, pagecache: str) -> tuple[DataLayout, Neo4jGraphStore]:
    layout = DataLayout.from_env(root)
    state = neo4j_server.start(layout, heap=heap, pagecache=pagecache, timeout_s=600)
    return layout, Neo4jGraphStore.connect(state.uri, neo4j_server.USER, state.password)


def bench_knn(sizes: list[int], heap: str) -> None:
    from hm_pipeline.graph.tables import graph_tables
    from hm_pipeline.images.knn import topk_full
    from hm_pipeline_tests.graph_fixtures import random_ingest

    with tempfile.TemporaryDirectory(prefix="t17-bench-knn-") as tmp:
        layout, store = _server(Path(tmp), heap, "1g")
        try:
            for n in sizes:
                t = random_ingest(200, n, 1000, 5)
                store.rebuild(graph_tables(t.articles, t.customers, t.transactions))
                codes = np.array(store.product_codes().to_pylist())
                x = clustered_embeddings(len(codes))
                started = time.perf_counter()
                exact = topk_full(x, k=10)
                exact_s = time.perf_counter() - started
                print(f"products={len(codes)}: exact top-10 {exact_s:.1f} s | loadavg {loadavg()}", flush=True)
                emb = pa.table({"article_id": codes,
                                "embedding": pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), 2048)})
                started = time.perf_counter()
                store.replace_embeddings(emb)
                load_s = time.perf_counter() - started
                print(f"products={len(codes)}: embeddings into Neo4j {load_s:.1f} s | loadavg {loadavg()}", flush=True)
                started = time.perf_counter()
                stats = store.similar_by_gds_knn(top_k=10)
                gds_s = time.perf_counter() - started
                got: dict[str, set[str]] = {}
                for pair in store.rows("similar_pairs"):
                    got.setdefault(pair["source"], set()).add(pair["target"])
                src, dst = np.asarray(exact.src), np.asarray(exact.dst)
                want: dict[str, set[str]] = {}
                for s, d in zip(codes[src], codes[dst]):
                    want.setdefault(s, set()).add(d)
                recall = statistics.fmean(len(got.get(c, set()) & want[c]) / len(want[c]) for c in want)
                print(f"knn products={len(codes)}: exact top-10 {exact_s:.1f} s | GDS kNN {gds_s:.1f} s "
                      f"(compute {stats['computeMillis'] / 1000:.1f} s, {stats['ranIterations']} iterations, "
                      f"converged {stats['didConverge']}) | ratio GDS/exact {gds_s / exact_s:.2f} | "
                      f"recall@10 {recall:.4f} | embeddings into Neo4j {load_s:.1f} s | loadavg {loadavg()}",
                      flush=True)
        finally:
            store.close()
            neo4j_server.stop(layout)


def _eda_seconds(store) -> float:
    started = time.perf_counter()
    for name in QUERIES:
        store.rows(name, {"limit": 20})
    return time.perf_counter() - started


def _credentials(layout: DataLayout) -> tuple[str, str, str]:
    state = neo4j_server.connection(layout)
    return state.uri, neo4j_server.USER, state.password


def bench_load(root: Path, unwind: bool, heap: str, pagecache: str) -> None:
    from hm_pipeline.graph.admin_import import import_graph
    from hm_pipeline.graph.embedded import EmbeddedGraphStore
    from hm_pipeline.graph.tables import graph_tables_from_layout

    started = time.perf_counter()
    graph = graph_tables_from_layout(DataLayout.from_env(root))
    purchases = graph.rels["PURCHASED"].num_rows
    print(f"graph tables from {root}: {time.perf_counter() - started:.1f} s, {purchases:,} purchases", flush=True)
    with tempfile.TemporaryDirectory(prefix="t17-bench-load-") as tmp:
        tmp = Path(tmp)
        started = time.perf_counter()
        with EmbeddedGraphStore(tmp / "kuzu", engine="kuzu") as kuzu:
            kuzu.rebuild(graph)
            kuzu_load = time.perf_counter() - started
            kuzu_eda = _eda_seconds(kuzu), _eda_seconds(kuzu)
            kuzu_counts = kuzu.relationship_counts()
        print(f"kuzu: load {kuzu_load:.1f} s, EDA queries {kuzu_eda[0]:.2f} s cold, {kuzu_eda[1]:.2f} s warm "
              f"| loadavg {loadavg()}", flush=True)

        layout = DataLayout.from_env(tmp / "admin")
        store = None
        try:
            seconds = import_graph(layout, graph, heap=heap, pagecache=pagecache, progress=lambda line: None)
            store = Neo4jGraphStore.connect(*_credentials(layout))
            cold_eda = _eda_seconds(store)
            warm_eda = _eda_seconds(store)
            assert store.relationship_counts() == kuzu_counts
            total = sum(seconds.values())
            print(f"neo4j-admin import path: {total:.1f} s (" + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())
                  + f"); EDA queries {cold_eda:.2f} s cold, {warm_eda:.2f} s warm | loadavg {loadavg()}", flush=True)
            if unwind:
                started = time.perf_counter()
                store.rebuild(graph)
                unwind_s = time.perf_counter() - started
                assert store.relationship_counts()["PURCHASED"] == kuzu_counts["PURCHASED"]
                print(f"neo4j transactional load (batches of {store.batch_size:,} rows): {unwind_s:.1f} s; "
                      f"EDA queries {_eda_seconds(store):.2f} s | loadavg {loadavg()}", flush=True)
        finally:
            if store is not None:
                store.close()
            neo4j_server.stop(layout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    knn = sub.add_parser("knn")
    knn.add_argument("--products", type=int, nargs="+", default=[10_000])
    knn.add_argument("--heap", default="4g")
    load = sub.add_parser("load")
    load.add_argument("--from-layout", type=Path, required=True)
    load.add_argument("--unwind", action="store_true")
    load.add_argument("--heap", default="2g")
    load.add_argument("--pagecache", default="2g")
    args = parser.parse_args()
    neo4j_server.install()
    if args.what == "knn":
        bench_knn(args.products, args.heap)
    else:
        bench_load(args.from_layout, args.unwind, args.heap, args.pagecache)


if __name__ == "__main__":
    main()
