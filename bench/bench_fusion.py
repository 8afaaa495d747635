"""Fusion + submission CSV at full H&M scale on synthetic inputs, and the seed's per-customer loop for the ratio.

    .venv/bin/python bench/bench_fusion.py                 # full scale (1,371,980 customers, ~28M purchases)
    .venv/bin/python bench/bench_fusion.py --scale 0.05    # quick look

Reports wall seconds (median of --repeats) of: building the inputs (history, SIMILAR CSR, department/index pairs),
fusion for every customer, CSV write, validation; peak RSS of the process; and, on the same subset of customers,
seconds per customer of the seed's loop (Python, one customer at a time: SIMILAR of purchases, department AND index
filter, ALS rank, random top-up, co-purchase fallback) vs the batched fusion on that subset.

    .venv/bin/python bench/bench_fusion.py --graph small   # the graph comparison only (tiny | small)

`--graph` compares, on one embedded (kuzu) graph built by the pipeline's own assets from generated Kaggle files,
the seed's per-customer Cypher loop (one `seed_similar_filter` call per customer, the co-purchase Cypher per customer
left empty, ALS rank / top-up in Python) with the pipeline's batched path (`UNWIND $customer_ids` chunks for
departments, indexes and age groups, then `fuse` for every customer): medians of seconds per customer, and ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hm_pipeline.recommend.attribute_filter import AttributeFilter  # noqa: E402
from hm_pipeline.recommend.config import FusionConfig, FusionData, similar_matrix  # noqa: E402
from hm_pipeline.recommend.fusion import fuse  # noqa: E402
from hm_pipeline.recommend.history import PurchaseHistory  # noqa: E402
from hm_pipeline.recommend.ranking import AlsFactors  # noqa: E402
from hm_pipeline.recommend.submission import validate_submission, write_submission  # noqa: E402

CUSTOMERS, ARTICLES, PURCHASES, DAYS, FACTORS, NEIGHBOURS = 1_371_980, 105_542, 28_000_000, 734, 64, 10


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def synthetic(scale: float, seed: int = 0):
    """Skewed article popularity, 5% cold-start customers, 250 departments x 10 indexes, top-10 SIMILAR within a
    department for 95% of articles, ALS for 60% of customers / 70% of articles."""
    rng = np.random.default_rng(seed)
    n, m, t = int(CUSTOMERS * scale), int(ARTICLES * max(scale, 0.25)), int(PURCHASES * scale)
    warm = rng.random(n) >= 0.05
    customer = rng.choice(np.flatnonzero(warm), t).astype(np.int32)
    weights = 1.0 / np.arange(1, m + 1) ** 0.8
    article = rng.choice(m, t, p=weights / weights.sum()).astype(np.int32)
    article = rng.permutation(m).astype(np.int32)[article]
    day = (18_500 + rng.integers(0, DAYS, t)).astype(np.int32)
    department = rng.integers(0, 250, m).astype(np.int32)
    index = (department % 10).astype(np.int32)
    with_image = np.flatnonzero(rng.random(m) < 0.95)
    by_dept = with_image[np.argsort(department[with_image], kind="stable")]  # neighbours mostly in the same department
    src = np.repeat(with_image, NEIGHBOURS)
    offsets = rng.integers(1, 300, len(src))
    dst = by_dept[(np.repeat(np.searchsorted(by_dept, with_image), NEIGHBOURS) + offsets) % len(by_dept)]
    score = rng.random(len(src)).astype(np.float32)
    als_users = np.sort(rng.choice(np.flatnonzero(warm), int(0.6 * warm.sum()), replace=False))
    als_items = np.sort(rng.choice(m, int(0.7 * m), replace=False))
    return dict(
        n=n, m=m, customer=customer, article=article, day=day, department=department, index=index,
        src=src, dst=dst, score=score, als_users=als_users, als_items=als_items,
        user_factors=rng.standard_normal((len(als_users), FACTORS), dtype=np.float32) * 0.1,
        item_factors=rng.standard_normal((len(als_items), FACTORS), dtype=np.float32) * 0.1,
        age_group=rng.integers(0, 7, n).astype(np.int8),
    )


def build(raw) -> FusionData:
    n, m = raw["n"], raw["m"]
    history = PurchaseHistory.from_transactions(raw["customer"], raw["article"], raw["day"], n, m)
    return FusionData(
        history,
        similar_matrix(raw["src"], raw["dst"], raw["score"], m),
        AttributeFilter.from_history(history, raw["department"], raw["index"]),
        AlsFactors.from_id_maps(raw["user_factors"], raw["item_factors"], raw["als_users"], raw["als_items"], n, m),
        raw["age_group"],
    )


def seed_loop(data: FusionData, customers: np.ndarray, config: FusionConfig) -> dict[int, list[int]]:
    """The seed's fusion, one customer at a time (its bugs fixed: order kept, top-up without replacement)."""
    h, sim, f, als = data.history, data.similar, data.attributes, data.als
    rng = np.random.default_rng(config.seed)
    since = h.last_date - (config.copurchase_days or 10**9)
    recent = h.tx_day > since
    tx_c, tx_a = h.tx_customer[recent], h.tx_article[recent]
    order = np.argsort(tx_a, kind="stable")
    buyers_sorted, items_sorted = tx_c[order], tx_a[order]
    order_c = np.argsort(tx_c, kind="stable")
    tx_c_sorted, tx_a_by_c = tx_c[order_c], tx_a[order_c]
    out = {}
    for c in customers.tolist():
        bought = h.article[h.indptr[c]:h.indptr[c + 1]].tolist()
        own = set(bought)
        departments = {int(f.article_department[a]) for a in bought}
        indexes = {int(f.article_index[a]) for a in bought}
        recs = []
        for p in bought:
            for rec in sim.indices[sim.indptr[p]:sim.indptr[p + 1]].tolist():
                if rec not in own and f.article_department[rec] in departments and f.article_index[rec] in indexes:
                    recs.append(rec)
        recs = list(dict.fromkeys(recs))
        row = als.user_row[c]
        scored = [r for r in recs if als.item_col[r] >= 0] if row >= 0 else []
        top = []
        if scored:
            s = als.item_factors[als.item_col[scored]] @ als.user_factors[row]
            top = [scored[i] for i in np.argsort(-s, kind="stable")[: config.k]]
        if len(top) < config.k and recs:
            rest = [r for r in recs if r not in set(top)]
            top += rng.choice(rest, min(len(rest), config.k - len(top)), replace=False).tolist() if rest else []
        if not top and bought:  # co-purchase fallback, per customer
            counts: dict[int, int] = {}
            for p in bought:
                lo, hi = np.searchsorted(items_sorted, p), np.searchsorted(items_sorted, p, "right")
                for other in buyers_sorted[lo:hi].tolist():
                    a, b = np.searchsorted(tx_c_sorted, other), np.searchsorted(tx_c_sorted, other, "right")
                    for rec in tx_a_by_c[a:b].tolist():
                        if rec not in own:
                            counts[rec] = counts.get(rec, 0) + 1
            top = [a for a, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: config.k]]
        out[c] = top
    return out


LAST_CPU = [0.0]  # median CPU seconds of the last `timed` call


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(fn, repeats: int):
    """Median wall seconds and the result; median CPU seconds in LAST_CPU[0] (on a shared machine CPU seconds are
    what the step costs, wall seconds what it took)."""
    times, cpus, result = [], [], None
    for _ in range(repeats):
        start, cpu = time.perf_counter(), cpu_seconds()
        result = fn()
        times.append(time.perf_counter() - start)
        cpus.append(cpu_seconds() - cpu)
    LAST_CPU[0] = statistics.median(cpus)
    return statistics.median(times), result


def graph_world(scale: str, root: Path, seed: int = 5):
    """Generated Kaggle files (no images) -> ingest, product_graph, age_groups with the pipeline's assets;
    then random SIMILAR (top-10 within the department) and random ALS factors, as the image / training stages would
    give (their cost is not what is compared)."""
    import dagster as dg

    from hm_pipeline.data.synthetic.generate import generate
    from hm_pipeline.defs import graph as graph_defs
    from hm_pipeline.defs import ingest as ingest_defs
    from hm_pipeline.defs.resources import DataRootResource, EmbeddedGraphStoreResource
    from hm_pipeline_tests.defs_fixtures import module_defs
    from hm_pipeline.layout import DataLayout
    from hm_pipeline.recommend import inputs

    layout = DataLayout(root)
    generate(scale, layout.input_dir, seed=seed, images=False, workers=1)
    resources = {"data_root": DataRootResource(data_root=str(root)), "graph_store": EmbeddedGraphStoreResource()}
    start = time.perf_counter()
    result = dg.materialize([*module_defs(ingest_defs).assets, *module_defs(graph_defs).assets],
                            selection=["articles", "customers", "transactions", "product_graph", "age_groups"],
                            resources=resources)
    assert result.success
    print(f"[progress] ingest + graph load {time.perf_counter() - start:.1f} s", flush=True)
    catalog = inputs.Catalog.read(layout)
    history = inputs.read_history(layout, catalog)
    rng = np.random.default_rng(seed)
    m = catalog.n_articles
    department = np.unique(catalog.department_no, return_inverse=True)[1]
    by_dept = np.argsort(department, kind="stable")
    src = np.repeat(np.arange(m), NEIGHBOURS)
    dst = by_dept[(np.repeat(np.searchsorted(department[by_dept], department), NEIGHBOURS)
                   + rng.integers(1, 50, len(src))) % m]
    keep = src != dst
    similar = similar_matrix(src[keep], dst[keep], rng.random(int(keep.sum())).astype(np.float32), m)
    warm = np.flatnonzero(history.has_purchases())
    als = AlsFactors.from_id_maps(rng.standard_normal((len(warm), FACTORS), dtype=np.float32) * 0.1,
                                  rng.standard_normal((m, FACTORS), dtype=np.float32) * 0.1,
                                  warm, np.arange(m), catalog.n_customers, m)
    return layout, catalog, history, similar, als


def seed_graph_loop(store, catalog, history: PurchaseHistory, similar, als: AlsFactors, customers: np.ndarray,
                    k: int = 12, seed: int = 0) -> tuple[list[float], dict[str, list[str]]]:
    """The seed's per-customer fusion against the graph: seconds of each customer and their recommendations."""
    rng = np.random.default_rng(seed)
    article_ids = np.array(catalog.article_ids.to_pylist(), dtype=object)
    article_pos = {a: i for i, a in enumerate(article_ids)}
    per_customer, out = [], {}
    for c in customers.tolist():
        start = time.perf_counter()
        customer_id = catalog.customer_ids[c].as_py()
        bought = history.article[history.indptr[c]:history.indptr[c + 1]]
        neighbours = np.unique(similar[bought].indices) if len(bought) else np.empty(0, np.int64)
        candidates = article_ids[np.setdiff1d(neighbours, bought)].tolist()
        found = store.run("seed_similar_filter", {"customer_id": customer_id, "candidates": candidates})
        recs = [article_pos[a] for a in found["recommended_item"].to_pylist()]
        row = als.user_row[c]
        scored = [r for r in recs if als.item_col[r] >= 0] if row >= 0 else []
        top = []
        if scored:
            s = als.item_factors[als.item_col[scored]] @ als.user_factors[row]
            top = [scored[i] for i in np.argsort(-s, kind="stable")[:k]]
        rest = [r for r in recs if r not in set(top)]
        if len(top) < k and rest:
            top += rng.choice(rest, min(len(rest), k - len(top)), replace=False).tolist()
        ids = article_ids[top].tolist()
        if not ids:  # the seed's co-purchase query, for this one customer
            scores = store.run("co_purchase_scores", {"customer_ids": [customer_id]})
            ids = scores["product"].to_pylist()[:k]
        out[customer_id] = ids
        per_customer.append(time.perf_counter() - start)
    return per_customer, out


def graph_comparison(scale: str, subset: int, repeats: int, out: Path | None = None) -> None:
    from hm_pipeline.defs.resources import EmbeddedGraphStoreResource
    from hm_pipeline.recommend import inputs

    with tempfile.TemporaryDirectory() as tmp:
        layout, catalog, history, similar, als = graph_world(scale, Path(tmp))
        config = FusionConfig()
        with EmbeddedGraphStoreResource().open(layout, read_only=True) as store:
            def batched():
                attributes, calls = inputs.graph_attribute_filter(store, catalog)
                age_group, age_calls = inputs.graph_age_groups(store, catalog)
                return fuse(FusionData(history, similar, attributes, als, age_group), config), calls + age_calls

            batch_s, (recs, calls) = timed(batched, repeats)
            rng = np.random.default_rng(2)
            sample = np.sort(rng.choice(catalog.n_customers, min(subset, catalog.n_customers), replace=False))
            seed_graph_loop(store, catalog, history, similar, als, sample[:5])  # warm-up (plans, caches)
            loop_times, _ = seed_graph_loop(store, catalog, history, similar, als, sample)
        n = catalog.n_customers
        loop_median = statistics.median(loop_times)
        print(f"graph comparison on one embedded kuzu graph ({scale}: {n:,} customers, {catalog.n_articles:,} articles, "
              f"{len(history.tx_day):,} purchases); load average {os.getloadavg()}")
        print(f"  batched (graph pairs in {calls} calls + fuse, every customer): {batch_s:.2f} s median of {repeats}"
              f" = {batch_s / n * 1e6:.1f} us per customer")
        print(f"  seed-style loop ({len(loop_times)} customers, one graph call each + co-purchase call when empty): "
              f"median {loop_median * 1e3:.2f} ms per customer (p90 {np.percentile(loop_times, 90) * 1e3:.2f} ms)")
        print(f"  ratio seed loop / batched, per customer: {loop_median / (batch_s / n):,.0f}x "
              f"(goal >= 1000x); seed loop extrapolated to {n:,} customers: {loop_median * n:,.0f} s")
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps({
                "scale": scale, "customers": n, "batched_s_median": batch_s, "batched_repeats": repeats,
                "batched_us_per_customer": batch_s / n * 1e6, "loop_customers": len(loop_times),
                "loop_ms_per_customer_median": loop_median * 1e3, "ratio": loop_median / (batch_s / n),
                "load_average": os.getloadavg()}, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=1, help="repeats of the full-scale steps (median reported)")
    parser.add_argument("--subset", type=int, default=2000, help="customers for the per-customer comparison")
    parser.add_argument("--subset-repeats", type=int, default=3)
    parser.add_argument("--graph", choices=["tiny", "small"], default=None,
                        help="only the graph comparison (seed per-customer Cypher loop vs batched) at this scale")
    parser.add_argument("--graph-subset", type=int, default=300, help="customers in the seed-style graph loop")
    parser.add_argument("--out", type=Path, help="write the graph comparison's figures as JSON here")
    args = parser.parse_args()
    if args.graph:
        graph_comparison(args.graph, args.graph_subset, max(args.repeats, 3), args.out)
        return

    start = time.perf_counter()
    raw = synthetic(args.scale)
    gen_s = time.perf_counter() - start
    config = FusionConfig()
    cpu = {}
    build_s, data = timed(lambda: build(raw), args.repeats)
    cpu["build"] = LAST_CPU[0]
    print(f"[progress] build {build_s:.1f} s wall, {cpu['build']:.1f} s CPU, RSS {peak_rss_gb():.2f} GB", flush=True)
    del raw
    fuse_s, recs = timed(lambda: fuse(data, config), args.repeats)
    cpu["fuse"] = LAST_CPU[0]
    print(f"[progress] fuse {fuse_s:.1f} s wall, {cpu['fuse']:.1f} s CPU, RSS {peak_rss_gb():.2f} GB", flush=True)
    customer_ids = np.char.mod("%064x", np.arange(data.n_customers))
    article_ids = np.char.mod("%010d", 100_000_000 + np.arange(data.n_articles))
    order = customer_ids[::-1]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "submission.csv"
        csv_s, _ = timed(lambda: write_submission(path, order, customer_ids, recs.items, article_ids), args.repeats)
        cpu["csv"] = LAST_CPU[0]
        size_mb = path.stat().st_size / 1e6
        validate_s, check = timed(lambda: validate_submission(path, order, article_ids), 1)
        cpu["validate"] = LAST_CPU[0]
    rss_full = peak_rss_gb()

    rng = np.random.default_rng(1)
    subset = np.sort(rng.choice(data.n_customers, min(args.subset, data.n_customers), replace=False)).astype(np.int32)
    loop_s, _ = timed(lambda: seed_loop(data, subset, config), args.subset_repeats)
    cpu["loop"] = LAST_CPU[0]
    batch_s, _ = timed(lambda: fuse(data, config, customers=subset), args.subset_repeats)
    cpu["subset"] = LAST_CPU[0]

    print(f"scale {args.scale}: {data.n_customers:,} customers, {data.n_articles:,} articles, "
          f"{len(data.history.tx_day):,} purchases, {data.similar.nnz:,} SIMILAR, "
          f"{data.als.user_factors.shape[1]} factors (synthetic, generated in {gen_s:.1f} s)")
    print(f"load average at the end: {os.getloadavg()} on {os.cpu_count()} cores")
    print(f"{'step':<44}{'wall s':>10}{'CPU s':>10}   (medians)")
    for name, s, c in (("build inputs (history, SIMILAR, dept/index)", build_s, cpu["build"]),
                       ("fusion, every customer", fuse_s, cpu["fuse"]), ("submission CSV write", csv_s, cpu["csv"]),
                       ("submission validate", validate_s, cpu["validate"])):
        print(f"{name:<44}{s:>10.2f}{c:>10.2f}")
    print(f"{'fusion + CSV':<44}{fuse_s + csv_s:>10.2f}{cpu['fuse'] + cpu['csv']:>10.2f}   (target <= 300 s)")
    print(f"peak RSS after full run: {rss_full:.2f} GB (target <= 10 GB); CSV {size_mb:.0f} MB; validator ok={check.ok}")
    print(f"paths: { {k: round(v, 4) for k, v in recs.path_shares().items()} }")
    print(f"source mix: {recs.source_mix()}")
    n = len(subset)
    print(f"per customer, CPU us (wall us), same {n} customers, median of {args.subset_repeats}:")
    rows = (("seed-style Python loop", cpu["loop"] / n, loop_s / n),
            ("batched fusion on the subset", cpu["subset"] / n, batch_s / n),
            ("batched fusion, full run", cpu["fuse"] / data.n_customers, fuse_s / data.n_customers))
    for name, c, w in rows:
        print(f"  {name:<30}{c * 1e6:10.1f} ({w * 1e6:10.1f})   loop / this = {rows[0][1] / c:8.1f}x CPU, {rows[0][2] / w:8.1f}x wall")
    print(f"  seed's graph loop: 104 ms per customer (published, not re-measured here) = "
          f"{0.104 / (cpu['fuse'] / data.n_customers):,.0f}x the full run's CPU per customer")


if __name__ == "__main__":
    main()
