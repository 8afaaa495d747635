"""Graph query results vs the same numbers computed with pandas/scipy, for one embedded engine per process.

`python -m hm_pipeline_tests.graph_crosscheck ENGINE OUT.json [--customers N --articles M --transactions T]`
builds `random_ingest(...)` into a fresh database with ENGINE (kuzu or ladybug: the two cannot be imported in one
process), runs the queries and writes their results. `expected_results()` is the pandas/scipy oracle and
`mismatches()` compares the two. Used by tests/test_graph_engines.py and bench/bench_graph_load.py.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from hm_pipeline.graph import eda  # noqa: E402
from hm_pipeline.graph.age_groups import age_group_names, age_group_tables  # noqa: E402
from hm_pipeline.graph.tables import graph_tables  # noqa: E402
from hm_pipeline_tests.graph_fixtures import IngestTables, random_ingest  # noqa: E402

SAMPLE = 12  # customers / products whose per-entity results are compared (2-hop queries are costly)
IDX_RANGE = (3, 60)  # [first_idx, last_idx) of the customers in the range statements (departments, indexes)


def samples(tables: IngestTables) -> tuple[list[str], list[str]]:
    """Deterministic samples: every k-th customer id and product code."""
    customers = tables.customers["customer_id"].to_pylist()
    products = tables.articles["article_id"].to_pylist()
    return customers[:: max(1, len(customers) // SAMPLE)], products[:: max(1, len(products) // SAMPLE)]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "as_integer_ratio") and not isinstance(value, (int, float)):  # Decimal
        return int(value)
    return value


def graph_results(store: Any, customers: list[str], products: list[str]) -> dict[str, Any]:
    """What the graph says, for every compared quantity."""
    def rows(name: str, **params: Any) -> list[dict[str, Any]]:
        return _plain(store.rows(name, params))

    stats = eda.purchase_stats(store)
    return {
        "purchase_count": rows("purchase_count")[0]["purchases"],
        "two_hop_path_count": rows("two_hop_path_count")[0]["paths"],
        "purchases_per_customer": {r["customer_id"]: r["purchases"]
                                   for r in rows("purchases_per_customer", customer_ids=customers)},
        "customer_departments_indexes": sorted([r["customer_idx"], r["department"], r["index_code"]] for r in rows(
            "customer_departments_indexes", first_idx=IDX_RANGE[0], last_idx=IDX_RANGE[1])),
        "co_purchase_scores": sorted([r["customer_id"], r["product"], r["score"]]
                                     for r in rows("co_purchase_scores", customer_ids=customers)),
        "co_purchase_pairs": sorted([r["product"], r["other"], r["paths"]]
                                    for r in rows("co_purchase_pairs", product_codes=products)),
        "purchases_per_product_type": {r["product_type"]: [r["products"], r["purchases"]]
                                       for r in eda.top_product_types(store, limit=1000)},
        "purchases_per_garment_group": {r["garment_group"]: [r["products"], r["purchases"]]
                                        for r in eda.top_garment_groups(store, limit=1000)},
        "purchases_by_month": {r["month"]: r["purchases"] for r in eda.purchases_by_month(store)},
        "purchases_by_age_group": {r["age_group"]: [r["customers"], r["buyers"], r["purchases"]]
                                   for r in eda.purchases_by_age_group(store)},
        "customer_stats": [stats["customer"].entities, stats["customer"].total, round(stats["customer"].sd, 9)],
        "product_stats": [stats["product"].entities, stats["product"].total, round(stats["product"].sd, 9)],
    }


def expected_results(tables: IngestTables, customers: list[str], products: list[str]) -> dict[str, Any]:
    """The same quantities from the ingest tables with pandas and scipy.sparse (every transaction counts)."""
    tx = tables.transactions.to_pandas()
    tx = tx[tx.customer_idx.notna() & tx.article_idx.notna()]
    art = tables.articles.to_pandas()
    cust = tables.customers.to_pandas()
    n = sp.csr_matrix((np.ones(len(tx)), (tx.customer_idx.astype(int), tx.article_idx.astype(int))),
                      shape=(len(cust), len(art)))
    n.sum_duplicates()
    row_of = dict(zip(cust.customer_id, cust.customer_idx))
    col_of = dict(zip(art.article_id, art.article_idx))
    code = art.article_id.to_numpy()

    per_customer = tx.groupby("customer_id").size()
    per_product = tx.groupby("article_id").size()
    totals = np.asarray(n.sum(axis=1)).ravel()
    two_hop = int((totals ** 2).sum() - n.multiply(n).sum())

    scores = []
    cooc = (n.T @ n).tocsr()
    for cid in customers:
        v = n[row_of[cid]]
        s = np.asarray((v @ n.T @ n).todense()).ravel()
        s[v.indices] = 0
        scores += [[cid, code[j], int(s[j])] for j in np.flatnonzero(s)]
    pairs = []
    for pid in products:
        row = cooc[col_of[pid]].toarray().ravel()
        row[col_of[pid]] = 0
        pairs += [[pid, code[j], int(row[j])] for j in np.flatnonzero(row)]

    in_range = tx[(tx.customer_idx >= IDX_RANGE[0]) & (tx.customer_idx < IDX_RANGE[1])].merge(art, on="article_id")
    in_range = in_range.assign(customer_idx=in_range.customer_idx.astype(int))
    joined = tx.merge(art, on="article_id")
    by_type = joined.groupby("product_type_name").agg(products=("article_id", "nunique"), purchases=("t_dat", "size"))
    by_garment = joined.groupby("garment_group_name").agg(products=("article_id", "nunique"),
                                                          purchases=("t_dat", "size"))
    months = pd.to_datetime(tx.t_dat).dt.strftime("%Y-%m").value_counts()
    groups = pd.Series(age_group_names(tables.customers["age"]).to_pylist(), index=cust.customer_id)
    tx_group = groups.loc[tx.customer_id].to_numpy()
    age_rows = {}
    for name in groups.unique():
        in_group = tx_group == name
        age_rows[name] = [int((groups == name).sum()), int(tx.customer_id[in_group].nunique()), int(in_group.sum())]

    def stats(counts: pd.Series) -> list[Any]:
        return [int(len(counts)), int(counts.sum()), round(float(counts.std(ddof=1)), 9)]

    return {
        "purchase_count": int(len(tx)),
        "two_hop_path_count": two_hop,
        "purchases_per_customer": {c: int(per_customer[c]) for c in customers if c in per_customer.index},
        "customer_departments_indexes": sorted(
            [int(c), int(d), i] for c, d, i in in_range[["customer_idx", "department_no", "index_code"]]
            .drop_duplicates().itertuples(index=False)),
        "co_purchase_scores": sorted(scores),
        "co_purchase_pairs": sorted(pairs),
        "purchases_per_product_type": {k: [int(r.products), int(r.purchases)] for k, r in by_type.iterrows()},
        "purchases_per_garment_group": {k: [int(r.products), int(r.purchases)] for k, r in by_garment.iterrows()},
        "purchases_by_month": {k: int(v) for k, v in months.items()},
        "purchases_by_age_group": {**{g: [0, 0, 0] for g in eda.GROUP_NAMES}, **age_rows},
        "customer_stats": stats(per_customer),
        "product_stats": stats(per_product),
    }


def mismatches(actual: dict[str, Any], expected: dict[str, Any]) -> dict[str, str]:
    """Quantity -> short description, for every quantity where the graph differs from pandas."""
    out = {}
    for key, want in expected.items():
        got = actual.get(key)
        if isinstance(want, list) and key.endswith("_stats"):
            same = got[:2] == want[:2] and abs(got[2] - want[2]) <= 1e-6 * max(1.0, abs(want[2]))
        else:
            same = got == want
        if not same:
            if isinstance(want, (int, float)):
                out[key] = f"graph {got} vs pandas {want}"
            else:
                size = len(want) if hasattr(want, "__len__") else "?"
                diff = [x for x in want if x not in got][:3] if isinstance(want, list) else \
                    {k: (got.get(k) if isinstance(got, dict) else None, v) for k, v in want.items()
                     if not isinstance(got, dict) or got.get(k) != v}
                out[key] = f"differs ({size} expected entries); e.g. {str(diff)[:300]}"
    return out


def run_store(store: Any, tables: IngestTables, load_only: bool = False) -> dict[str, Any]:
    """Build the graph + age groups in `store` (any GraphStore); results (unless `load_only`) and timings."""
    customers, products = samples(tables)
    started = time.perf_counter()
    graph = graph_tables(tables.articles, tables.customers, tables.transactions)
    prepared, cpu_before = time.perf_counter(), time.process_time()
    store.rebuild(graph)
    loaded, load_cpu = time.perf_counter(), time.process_time() - cpu_before
    store.replace_age_groups(age_group_tables(graph.nodes["Customer"]))
    grouped = time.perf_counter()
    results = {} if load_only else graph_results(store, customers, products)
    done = time.perf_counter()
    return {
        "engine": store.dialect,
        "results": results,
        "seconds": {"prepare": prepared - started, "load": loaded - prepared, "load_cpu": load_cpu,
                    "age_groups": grouped - loaded,
                    "queries": done - grouped},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_engine(engine: str, tables: IngestTables, workdir: Path, load_only: bool = False) -> dict[str, Any]:
    """`run_store` on a fresh embedded database of `engine` under `workdir`."""
    from hm_pipeline.graph.embedded import EmbeddedGraphStore

    with EmbeddedGraphStore(workdir / engine, engine=engine, buffer_pool_bytes=2 * 1024**3) as store:
        return {**run_store(store, tables, load_only), "engine": engine}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=["kuzu", "ladybug"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--transactions", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--load-only", action="store_true", help="time the load, skip the queries")
    args = parser.parse_args(argv)
    tables = random_ingest(args.customers, args.articles, args.transactions, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        report = run_engine(args.engine, tables, Path(tmp), load_only=args.load_only)
    args.out.write_text(json.dumps(report))


if __name__ == "__main__":
    main()
