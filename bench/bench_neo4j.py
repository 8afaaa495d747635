"""Neo4j (a real local server, `hm_pipeline.graph.neo4j_server`) side by side with kuzu and with itself.

    flock /work/coord/heavy.lock .venv/bin/python bench/bench_neo4j.py knn --products 10000 105000 --heap 6g
    flock /work/coord/heavy.lock .venv/bin/python bench/bench_neo4j.py load --from-layout /tmp/small [--unwind]

`knn`: the seed's SIMILAR (GDS kNN, topK 10, cosine, one thread, fixed seed) against the project's exact top-10
(`hm_pipeline.images.knn.topk_full`) on the same generated 2048-d embeddings: clustered Gaussians (one centre per
20 products, noise of the centre's scale), L2-normalised. Prints recall@10 of GDS against exact and the wall
seconds of each (GDS: projection + kNN + write + ranking; embeddings loaded into Neo4j beforehand, timed apart: by
the offline import of the product graph with an `embedding` column, or `--load unwind` batches). A size too large
for one run goes in two: `--only-exact --exact-cache DIR`, then the same `--exact-cache DIR` without it.

`load`: the graph of ROOT/ingest/*.parquet into kuzu (`EmbeddedGraphStore.rebuild`), into Neo4j by
`neo4j-admin database import full` (files from `graph/admin_import.py`, server stopped, then started and counted)
and, with `--unwind`, into Neo4j by the transactional UNWIND load; then the EDA queries on each store, timed.
Each server gets its own data root under /tmp; everything is stopped by PID at the end.

`compare`: kuzu and Neo4j side by side on ROOT's ingest tables (e.g. full scale), in one run. Loads: kuzu
`EmbeddedGraphStore.rebuild` + the age groups, against the `hm-pipeline neo4j import` path (the same graph and age
groups, offline, into ROOT's local server; `--unwind-slice N` adds the rate of the transactional UNWIND load on the
first N purchases). Then every statement the graph assets run, interleaved (kuzu, then Neo4j), each checked to give
the same rows on both: graph_eda's (cold, then warm), the fusion's Customer.idx range statements (department/index
rows and age groups, `GraphStore.customer_chunk` customers per call), and age_groups' query and write.

    flock /work/coord/heavy.lock .venv/bin/python bench/bench_neo4j.py compare --root /tmp/full --heap 2g \
        --pagecache 4g --unwind-slice 200000

`unwind`: the transactional load alone (`Neo4jGraphStore.rebuild`, what `product_graph` runs on Neo4j) of ROOT's
graph into a fresh local server, `--repeats` times (a repeat first deletes the previous graph), with the seconds
of each table; run it from two checkouts in turn to compare two versions of the load.
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
#: Every statement `graph_eda` runs (and its checks), with the parameters it passes.
EDA_STATEMENTS: tuple[tuple[str, dict], ...] = (
    ("node_counts", {}), ("relationship_counts", {}), ("purchase_count", {}),
    ("purchase_stats_per_customer", {}), ("purchase_stats_per_product", {}),
    ("top_product_types", {"limit": 10}), ("top_garment_groups", {"limit": 10}), ("purchases_by_month", {}),
    ("customers_per_age_group", {}), ("purchases_by_age_group", {}), ("age_group_membership", {}),
)
#: The Customer.idx range statements of `ranker_candidates` / `recommendations` and their value columns.
RANGE_STATEMENTS = {"customer_departments_indexes": ("department", "index_code"), "customer_age_group": ("age_group",)}


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


def _exact_top10(x: np.ndarray, cache: Path | None) -> tuple[np.ndarray, np.ndarray, float]:
    """The exact top-10 (src, dst) and its seconds; with `cache`, computed once per size and kept there (the
    embeddings are seeded, so a later run at the same size has the same neighbours)."""
    from hm_pipeline.images.knn import topk_full

    path = cache / f"exact_top10_{len(x)}.npz" if cache else None
    if path is not None and path.exists():
        saved = np.load(path)
        return saved["src"], saved["dst"], float(saved["seconds"])
    started = time.perf_counter()
    exact = topk_full(x, k=10)
    seconds = time.perf_counter() - started
    src, dst = np.asarray(exact.src), np.asarray(exact.dst)
    if path is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(path, src=src, dst=dst, seconds=seconds)
    return src, dst, seconds


def _products_with_embeddings(n: int):
    """A generated catalogue of `n` products (the graph tables) and the embeddings in product-code order."""
    from hm_pipeline.graph.tables import graph_tables
    from hm_pipeline_tests.graph_fixtures import random_ingest

    t = random_ingest(200, n, 1000, 5)
    graph = graph_tables(t.articles, t.customers, t.transactions)
    codes = np.array(graph.nodes["Product"]["code"].to_pylist())
    return graph, codes, clustered_embeddings(len(codes))


def _recall(codes: np.ndarray, src: np.ndarray, dst: np.ndarray, store: Neo4jGraphStore) -> float:
    got: dict[str, set[str]] = {}
    for pair in store.rows("similar_pairs"):
        got.setdefault(pair["source"], set()).add(pair["target"])
    want: dict[str, set[str]] = {}
    for s, d in zip(codes[src], codes[dst]):
        want.setdefault(s, set()).add(d)
    return statistics.fmean(len(got.get(c, set()) & want[c]) / len(want[c]) for c in want)


def bench_knn(sizes: list[int], heap: str, load: str, exact_cache: Path | None, only_exact: bool) -> None:
    """For each size: exact top-10, embeddings into Neo4j (offline import of the product graph with them, or
    UNWIND batches into a running server), GDS kNN, recall@10 of GDS against exact."""
    from hm_pipeline.graph.admin_import import import_graph

    for n in sizes:
        graph, codes, x = _products_with_embeddings(n)
        src, dst, exact_s = _exact_top10(x, exact_cache)
        print(f"products={len(codes)}: exact top-10 {exact_s:.1f} s | loadavg {loadavg()}", flush=True)
        if only_exact:
            continue
        with tempfile.TemporaryDirectory(prefix="t17-bench-knn-") as tmp:
            layout = DataLayout.from_env(Path(tmp))
            store = None
            try:
                started = time.perf_counter()
                if load == "admin":
                    products = graph.nodes["Product"]
                    graph.nodes["Product"] = products.append_column(
                        "embedding", pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), x.shape[1]))
                    stages = import_graph(layout, graph, heap=heap, pagecache="2g", progress=lambda line: None)
                    store = Neo4jGraphStore.connect(*_credentials(layout))
                    how = "offline import of the product graph with them (" + ", ".join(
                        f"{k} {v:.1f} s" for k, v in stages.items()) + ")"
                else:
                    layout, store = _server(Path(tmp), heap, "1g")
                    store.rebuild(graph)
                    started = time.perf_counter()
                    store.replace_embeddings(pa.table({
                        "article_id": codes,
                        "embedding": pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), x.shape[1])}))
                    how = f"driver batches of {min(store.batch_size, 1000):,} (transactional)"
                load_s = time.perf_counter() - started
                print(f"products={len(codes)}: embeddings into Neo4j {load_s:.1f} s, {how} | loadavg {loadavg()}",
                      flush=True)
                started = time.perf_counter()
                stats = store.similar_by_gds_knn(top_k=10)
                gds_s = time.perf_counter() - started
                recall = _recall(codes, src, dst, store)
                print(f"knn products={len(codes)}: exact top-10 {exact_s:.1f} s | GDS kNN {gds_s:.1f} s "
                      f"(compute {stats['computeMillis'] / 1000:.1f} s, write {stats['writeMillis'] / 1000:.1f} s, "
                      f"{stats['ranIterations']} iterations, converged {stats['didConverge']}) | ratio GDS/exact "
                      f"{gds_s / exact_s:.2f} | recall@10 {recall:.4f} | embeddings into Neo4j {load_s:.1f} s "
                      f"| loadavg {loadavg()}", flush=True)
            finally:
                if store is not None:
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


def _timed(call):
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def _canonical(rows: list[dict]) -> list[tuple]:
    """Rows in a comparable form: Decimal sums as int, floats to 6 significant digits (float32 prices summed in
    another order differ from the 8th; `graph_eda` reports 4 decimals), sorted (engines differ in order)."""
    def plain(value):
        if hasattr(value, "as_integer_ratio") and not isinstance(value, int | float):  # Decimal
            value = float(value) if value % 1 else int(value)
        return float(f"{value:.6g}") if isinstance(value, float) else value
    return sorted(tuple((k, plain(v)) for k, v in sorted(r.items())) for r in rows)


def _range_rows(store, statement: str, n_customers: int) -> tuple[pa.Table, int]:
    """The statement over every Customer.idx range as one table sorted by all its columns, and the calls made."""
    from hm_pipeline.recommend.inputs import graph_rows

    values = RANGE_STATEMENTS[statement]
    customers, columns, calls = graph_rows(store, statement, n_customers, values)
    table = pa.table({"customer_idx": customers, **{k: v.cast(pa.string()) for k, v in columns.items()}})
    return table.sort_by([(name, "ascending") for name in table.column_names]), calls


def _peak_rss_gb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024**2
    return float("nan")


def bench_compare(root: Path, heap: str, pagecache: str, unwind_slice: int) -> None:
    """kuzu vs Neo4j on ROOT's ingest tables: loads, then every graph statement of the assets, side by side."""
    from hm_pipeline.graph.admin_import import import_graph, import_tables
    from hm_pipeline.graph.age_groups import age_group_tables
    from hm_pipeline.graph.embedded import EmbeddedGraphStore
    from hm_pipeline.graph.model import AGE_GROUP, IS_AGE_GROUP, PURCHASED
    from hm_pipeline.graph.tables import GraphTables

    layout = DataLayout.from_env(root)
    graph, tables_s = _timed(lambda: import_tables(layout))
    product_graph = GraphTables(
        nodes={k: v for k, v in graph.nodes.items() if k != AGE_GROUP.label},
        rels={k: v for k, v in graph.rels.items() if k != IS_AGE_GROUP.name})
    n_customers = graph.nodes["Customer"].num_rows
    print(f"tables from {root / 'ingest'} (graph + age groups, shared by both loads): {tables_s:.1f} s; "
          f"{sum(graph.node_counts().values()):,} nodes, {sum(t.num_rows for t in graph.rels.values()):,} "
          f"relationships | loadavg {loadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="t17-bench-compare-", dir=root) as tmp:
        kuzu = EmbeddedGraphStore(Path(tmp) / "kuzu", engine="kuzu")
        _, rebuild_s = _timed(lambda: kuzu.rebuild(product_graph))
        _, groups_s = _timed(lambda: kuzu.replace_age_groups(age_group_tables(kuzu.run("customer_ages"))))
        kuzu.close()  # its queries below start cold, as on the freshly started server
        print(f"load kuzu: {rebuild_s + groups_s:.1f} s (rebuild {rebuild_s:.1f} s + age groups {groups_s:.1f} s) "
              f"| loadavg {loadavg()}", flush=True)
        stages, import_s = _timed(lambda: import_graph(layout, graph, heap=heap, pagecache=pagecache,
                                                       progress=lambda line: None))
        print(f"load neo4j (hm-pipeline neo4j import path): {import_s:.1f} s (" + ", ".join(
            f"{k} {v:.1f} s" for k, v in stages.items()) + f") | loadavg {loadavg()}", flush=True)
        purchases = graph.rels[PURCHASED.name].slice(0, unwind_slice)
        del graph, product_graph
        neo = Neo4jGraphStore.connect(*_credentials(layout))
        try:
            for label in ("cold", "warm"):
                totals = {"kuzu": 0.0, "neo4j": 0.0}
                for name, params in EDA_STATEMENTS:
                    k_rows, k_s = _timed(lambda: kuzu.rows(name, params))
                    n_rows, n_s = _timed(lambda: neo.rows(name, params))
                    totals["kuzu"] += k_s
                    totals["neo4j"] += n_s
                    diff = [(k, n) for k, n in zip(_canonical(k_rows), _canonical(n_rows)) if k != n]
                    same = len(k_rows) == len(n_rows) and not diff
                    print(f"eda {label} {name}: kuzu {k_s:.2f} s | neo4j {n_s:.2f} s | ratio {n_s / k_s:.1f} | "
                          f"rows {len(k_rows)} / {len(n_rows)}, equal {same}"
                          + (f" (first difference: kuzu {diff[0][0]}, neo4j {diff[0][1]})" if diff else ""), flush=True)
                print(f"eda {label} total: kuzu {totals['kuzu']:.2f} s | neo4j {totals['neo4j']:.2f} s | ratio "
                      f"{totals['neo4j'] / totals['kuzu']:.1f} | loadavg {loadavg()}", flush=True)
            for statement in RANGE_STATEMENTS:
                (k_rows, k_calls), k_s = _timed(lambda: _range_rows(kuzu, statement, n_customers))
                (n_rows, n_calls), n_s = _timed(lambda: _range_rows(neo, statement, n_customers))
                print(f"range {statement}: kuzu {k_s:.1f} s ({k_calls} calls) | neo4j {n_s:.1f} s ({n_calls} calls) "
                      f"| ratio {n_s / k_s:.1f} | rows {k_rows.num_rows:,} / {n_rows.num_rows:,}, equal "
                      f"{k_rows.equals(n_rows)} | loadavg {loadavg()}", flush=True)
                del k_rows, n_rows
            for engine, store in (("kuzu", kuzu), ("neo4j", neo)):
                ages, query_s = _timed(lambda: store.run("customer_ages"))
                _, write_s = _timed(lambda: store.replace_age_groups(age_group_tables(ages)))
                counts = store.relationship_counts()[IS_AGE_GROUP.type]
                print(f"age_groups {engine}: query {query_s:.1f} s + write {write_s:.1f} s "
                      f"({counts:,} IS_AGE_GROUP) | loadavg {loadavg()}", flush=True)
            if unwind_slice:
                neo.create_constraints()
                _, unwind_s = _timed(lambda: neo.load_table(PURCHASED, purchases))
                print(f"neo4j transactional load of the first {purchases.num_rows:,} purchases (relationships created, "
                      f"ends found by their unique keys, on top of the imported graph, batches of {neo.batch_size:,}): {unwind_s:.1f} s, "
                      f"{purchases.num_rows / unwind_s:,.0f} purchases/s | loadavg {loadavg()}", flush=True)
            server = neo4j_server.connection(layout)
            print(f"neo4j server peak RSS {_peak_rss_gb(server.pid):.2f} GB", flush=True)
        finally:
            neo.close()
            kuzu.close()
            neo4j_server.stop(layout)


def bench_unwind(root: Path, repeats: int, heap: str, pagecache: str) -> None:
    """`Neo4jGraphStore.rebuild` of ROOT's graph, `repeats` times, with the seconds of every table's load."""
    from hm_pipeline.graph.tables import graph_tables_from_layout

    graph = graph_tables_from_layout(DataLayout.from_env(root))
    with tempfile.TemporaryDirectory(prefix="t17-bench-unwind-") as tmp:
        layout, store = _server(Path(tmp), heap, pagecache)
        tables: dict[str, float] = {}
        load_table = store.load_table

        def timed_load(spec, table, batch_size=None):
            started = time.perf_counter()
            batches = load_table(spec, table, batch_size)
            name = getattr(spec, "label", None) or spec.name
            tables[name] = tables.get(name, 0.0) + time.perf_counter() - started
            return batches

        store.load_table = timed_load
        try:
            for repeat in range(repeats):
                tables.clear()
                _, total = _timed(lambda: store.rebuild(graph))
                counts = store.relationship_counts()
                assert counts.get("PURCHASED") == graph.rels["PURCHASED"].num_rows, counts
                nodes = sum(v for k, v in tables.items() if k in graph.nodes)
                rels = {k: v for k, v in tables.items() if k in graph.rels}
                print(f"unwind repeat {repeat + 1}: rebuild {total:.1f} s = node tables {nodes:.1f} s + PURCHASED "
                      f"{rels.pop('PURCHASED'):.1f} s ({graph.rels['PURCHASED'].num_rows:,} rows) + other "
                      f"relationships {sum(rels.values()):.1f} s + constraints, deletes, markers "
                      f"{total - sum(tables.values()):.1f} s | batches of {store.batch_size:,} | loadavg {loadavg()}",
                      flush=True)
        finally:
            store.close()
            neo4j_server.stop(layout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    knn = sub.add_parser("knn")
    knn.add_argument("--products", type=int, nargs="+", default=[10_000])
    knn.add_argument("--heap", default="4g")
    knn.add_argument("--load", choices=["admin", "unwind"], default="admin",
                     help="embeddings into Neo4j by the offline import (default) or UNWIND batches")
    knn.add_argument("--exact-cache", type=Path, default=None,
                     help="keep/reuse the exact top-10 per size here (to split a large size over two runs)")
    knn.add_argument("--only-exact", action="store_true", help="compute (and cache) the exact top-10 only")
    load = sub.add_parser("load")
    load.add_argument("--from-layout", type=Path, required=True)
    load.add_argument("--unwind", action="store_true")
    load.add_argument("--heap", default="2g")
    load.add_argument("--pagecache", default="2g")
    compare = sub.add_parser("compare")
    compare.add_argument("--root", type=Path, required=True,
                         help="data root with ingest/*.parquet; its local Neo4j server's database is replaced")
    compare.add_argument("--heap", default="2g")
    compare.add_argument("--pagecache", default="4g")
    compare.add_argument("--unwind-slice", type=int, default=0,
                         help="also time the transactional UNWIND load of the first N purchases (0: not)")
    unwind = sub.add_parser("unwind")
    unwind.add_argument("--from-layout", type=Path, required=True)
    unwind.add_argument("--repeats", type=int, default=2)
    unwind.add_argument("--heap", default="1g")
    unwind.add_argument("--pagecache", default="1g")
    args = parser.parse_args()
    neo4j_server.install()
    if args.what == "knn":
        bench_knn(args.products, args.heap, args.load, args.exact_cache, args.only_exact)
    elif args.what == "unwind":
        bench_unwind(args.from_layout, args.repeats, args.heap, args.pagecache)
    elif args.what == "compare":
        bench_compare(args.root, args.heap, args.pagecache, args.unwind_slice)
    else:
        bench_load(args.from_layout, args.unwind, args.heap, args.pagecache)


if __name__ == "__main__":
    main()
