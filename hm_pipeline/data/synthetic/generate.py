"""Generate a synthetic data set in the exact Kaggle layout: the public entry point `generate`."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hm_pipeline.atomic import remove_stale_temps
from hm_pipeline.data.schema import ARTICLES, CUSTOMERS, SAMPLE_SUBMISSION_COLUMNS, TRANSACTIONS

from .catalog import Catalog, article_id_strings, article_table, build_catalog, weekly_weights
from .csvio import quote_where_needed, write_csv
from .customers import build_customers, customer_table
from .images import folder_tasks, render_folder, start_pool
from .report import GenerationReport, build_report
from .scales import EPOCH_DAY, N_DAYS, SCALES, Scale
from .taxonomy import Taxonomy, build_taxonomy
from .transactions import Transactions, sample_transactions

__all__ = ["generate", "SCALES", "GenerationReport"]

CHUNK_ROWS = 1_000_000
_TEXT_COLUMNS = {"prod_name", "detail_desc", "product_type_name", "product_group_name", "graphical_appearance_name",
                 "colour_group_name", "perceived_colour_value_name", "perceived_colour_master_name",
                 "department_name", "index_name", "index_group_name", "section_name", "garment_group_name"}


def _write_articles(path: Path, cat: Catalog, tax: Taxonomy) -> None:
    cols = article_table(cat, tax)
    arrays = [quote_where_needed(cols[name]) if name in _TEXT_COLUMNS else cols[name] for name in ARTICLES.names]
    write_csv(path, ARTICLES.names, [arrays])


def _write_customers(path: Path, cols: dict[str, pa.Array]) -> None:
    n = len(cols["customer_id"])
    write_csv(path, CUSTOMERS.names,
              ([cols[name].slice(s, CHUNK_ROWS) for name in CUSTOMERS.names] for s in range(0, n, CHUNK_ROWS)))


def _write_transactions(path: Path, tx: Transactions, customer_ids: pa.Array, article_ids: pa.Array) -> None:
    dates = pc.cast(pa.array(np.arange(N_DAYS, dtype=np.int32) + EPOCH_DAY, pa.date32()), pa.string())
    channels = pa.array(["0", "1", "2"])

    def chunks():
        for s in range(0, len(tx), CHUNK_ROWS):
            e = min(s + CHUNK_ROWS, len(tx))
            yield [dates.take(pa.array(tx.day[s:e])), customer_ids.take(pa.array(tx.customer[s:e])),
                   article_ids.take(pa.array(tx.article[s:e])), pa.array(tx.price[s:e]),
                   channels.take(pa.array(tx.channel[s:e]))]

    write_csv(path, TRANSACTIONS.names, chunks())


def _popular_last_week(tx: Transactions, n_articles: int, k: int = 12) -> np.ndarray:
    last = tx.day >= tx.day.max() - 6
    counts = np.bincount(tx.article[last], minlength=n_articles)
    return np.argsort(-counts, kind="stable")[:k]


def _write_submission(path: Path, customer_ids: pa.Array, prediction: str) -> None:
    n = len(customer_ids)
    write_csv(path, SAMPLE_SUBMISSION_COLUMNS,
              ([customer_ids.slice(s, CHUNK_ROWS),
                pa.array(np.full(min(CHUNK_ROWS, n - s), prediction, dtype=object), pa.string())]
               for s in range(0, n, CHUNK_ROWS)))


def generate(scale: str, out_dir: Path, seed: int = 42, image_size: tuple[int, int] = (64, 96),
             images: bool = True, workers: int = 2) -> GenerationReport:
    """Write articles.csv, customers.csv, transactions_train.csv, sample_submission.csv and images/ into `out_dir`.

    Deterministic: the same scale and seed give byte-identical files. Each file (and image folder) is written
    atomically. `image_size` is (width, height); `workers` processes render image folders in parallel.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}")
    cfg: Scale = SCALES[scale]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out)  # leftovers of a killed run
    remove_stale_temps(out / "images")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        timings[name] = round(now - t0, 2)
        t0 = now

    rng = np.random.default_rng(seed)
    tax = build_taxonomy()
    cat = build_catalog(cfg, tax, rng)
    article_ids = article_id_strings(cat.article_number)
    _write_articles(out / "articles.csv", cat, tax)
    lap("articles")

    pool, pending, tasks = None, None, []
    if images:
        has = np.flatnonzero(cat.has_image)
        ids = np.array(article_ids.to_pylist(), dtype=object)[has]
        tasks = folder_tasks(out / "images", ids, tax.colour_rgb[cat.colour[has]],
                             tax.product_type_shape[cat.product_type[has]],
                             tax.appearance_pattern[cat.appearance[has]], tuple(image_size), seed)
        (out / "images").mkdir(exist_ok=True)
        pool = start_pool(workers)
        if pool is not None:
            pending = pool.map_async(render_folder, tasks, chunksize=1)

    try:
        dept_share = np.bincount(cat.dept, minlength=len(tax.dept_no)) / len(cat)
        cust = build_customers(cfg, tax, dept_share, rng)
        cust_cols = customer_table(cust)
        _write_customers(out / "customers.csv", cust_cols)
        lap("customers")

        weights = weekly_weights(cat)
        tx = sample_transactions(cfg, cat, cust, weights, tax.colour_master[cat.colour], rng)
        del weights
        lap("transactions_sample")
        _write_transactions(out / "transactions_train.csv", tx, cust_cols["customer_id"], article_ids)
        lap("transactions_write")

        top = article_ids.take(pa.array(_popular_last_week(tx, len(cat)))).to_pylist()
        _write_submission(out / "sample_submission.csv", cust_cols["customer_id"], " ".join(top))
        lap("submission")

        if images:
            n_images = sum(pending.get() if pending is not None else map(render_folder, tasks))
        else:
            n_images = 0
        lap("images_wait")
    finally:
        if pool is not None:
            pool.close()
            pool.join()

    report = build_report(scale, seed, str(out), cat, tax, cust, tx, n_images, len(tasks))
    lap("report")
    report.seconds = timings
    return report

