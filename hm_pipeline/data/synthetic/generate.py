"""Generate a synthetic data set in the exact Kaggle layout: the public entry point `generate`."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hm_pipeline.atomic import remove_stale_temps
from hm_pipeline.data.schema import ARTICLES, CUSTOMERS, SAMPLE_SUBMISSION_COLUMNS, TRANSACTIONS

from .catalog import N_STYLES, Catalog, article_id_strings, article_table, build_catalog, weekly_weights
from .csvio import ByteTable, byte_table, fixed_byte_table, quote_where_needed, write_csv, write_table_csv
from .customers import Customers, build_customers, customer_fields
from .images import folder_tasks, render_folder, start_pool
from .report import GenerationReport, build_report
from .scales import EPOCH_DAY, N_DAYS, SCALES, Scale
from .taxonomy import Taxonomy, build_taxonomy
from .transactions import Transactions, sample_transactions, sek_to_price

__all__ = ["generate", "sample_data", "SyntheticData", "SCALES", "GenerationReport"]

CHUNK_ROWS = 1_000_000
_TEXT_COLUMNS = {"prod_name", "detail_desc", "product_type_name", "product_group_name", "graphical_appearance_name",
                 "colour_group_name", "perceived_colour_value_name", "perceived_colour_master_name",
                 "department_name", "index_name", "index_group_name", "section_name", "garment_group_name"}


def _write_articles(path: Path, cat: Catalog, tax: Taxonomy) -> None:
    cols = article_table(cat, tax)
    arrays = [quote_where_needed(cols[name]) if name in _TEXT_COLUMNS else cols[name] for name in ARTICLES.names]
    write_csv(path, ARTICLES.names, [arrays])


def _digits(numbers: np.ndarray, width: int) -> np.ndarray:
    """(n, width) uint8 zero-padded decimal digits of non-negative integers (e.g. 10-digit article ids)."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (numbers.astype(np.int64)[:, None] // powers % 10 + ord("0")).astype(np.uint8)


def _chunks(n: int):
    return ((s, min(s + CHUNK_ROWS, n)) for s in range(0, n, CHUNK_ROWS))


def _write_customers(path: Path, cust: Customers) -> None:
    fields = customer_fields(cust)
    write_table_csv(path, CUSTOMERS.names, ([(t, i[s:e]) for t, i in fields] for s, e in _chunks(len(cust))))


def _write_transactions(path: Path, tx: Transactions, customer_ids: ByteTable, article_ids: ByteTable) -> None:
    dates = byte_table(pc.cast(pa.array(np.arange(N_DAYS, dtype=np.int32) + EPOCH_DAY, pa.date32()), pa.string()),
                       ",")
    # price and channel together: few distinct (SEK tier, channel) pairs, prices formatted by Arrow's float cast
    top = int(tx.price_sek.max()) + 1
    prices = pc.cast(pa.array(sek_to_price(np.arange(top))), pa.string()).to_pylist()
    tails = byte_table([f"{p},{c}" for p in prices for c in "012"], "\n")

    def chunks():
        for s, e in _chunks(len(tx)):
            yield [(dates, tx.day[s:e]), (customer_ids, tx.customer[s:e]), (article_ids, tx.article[s:e]),
                   (tails, tx.price_sek[s:e].astype(np.int64) * 3 + tx.channel[s:e])]

    write_table_csv(path, TRANSACTIONS.names, chunks())


def _popular_last_week(tx: Transactions, n_articles: int, k: int = 12) -> np.ndarray:
    last = tx.day >= tx.day.max() - 6
    counts = np.bincount(tx.article[last], minlength=n_articles)
    return np.argsort(-counts, kind="stable")[:k]


def _write_submission(path: Path, customer_ids: ByteTable, prediction: str) -> None:
    n = len(customer_ids.cells)
    pred = fixed_byte_table(np.frombuffer(prediction.encode(), dtype=np.uint8)[None, :], "\n")
    write_table_csv(path, SAMPLE_SUBMISSION_COLUMNS,
                    ([(customer_ids, np.arange(s, e)), (pred, np.zeros(e - s, dtype=np.int64))]
                     for s, e in _chunks(n)))


@dataclass
class SyntheticData:
    """The in-memory data set `generate` writes: taxonomy, catalogue, customers, transactions."""

    tax: Taxonomy
    cat: Catalog
    cust: Customers
    tx: Transactions


def _scale(name: str) -> Scale:
    if name not in SCALES:
        raise ValueError(f"unknown scale {name!r}; choose one of {sorted(SCALES)}")
    return SCALES[name]


def _customers(cfg: Scale, tax: Taxonomy, cat: Catalog, rng: np.random.Generator) -> Customers:
    dept_share = np.bincount(cat.dept, minlength=len(tax.dept_no)) / len(cat)
    return build_customers(cfg, tax, dept_share, rng, n_styles=N_STYLES)


def _transactions(cfg: Scale, tax: Taxonomy, cat: Catalog, cust: Customers, rng: np.random.Generator) -> Transactions:
    return sample_transactions(cfg, cat, cust, weekly_weights(cat), tax.colour_master[cat.colour], rng,
                               dept_index=tax.section_index[tax.dept_section])


def sample_data(scale: str, seed: int = 42) -> SyntheticData:
    """The arrays behind `generate(scale, ..., seed=seed)`, without writing files (same random draws, same order)."""
    cfg = _scale(scale)
    rng = np.random.default_rng(seed)
    tax = build_taxonomy()
    cat = build_catalog(cfg, tax, rng)
    cust = _customers(cfg, tax, cat, rng)
    return SyntheticData(tax, cat, cust, _transactions(cfg, tax, cat, cust, rng))


OUTPUT_FILES = ("articles.csv", "customers.csv", "transactions_train.csv", "sample_submission.csv")


def existing_outputs(out_dir: Path, images: bool = True) -> list[str]:
    """What `generate` would write that is already in `out_dir`: its files, and a non-empty images/."""
    found = [name for name in OUTPUT_FILES if os.path.lexists(out_dir / name)]
    image_dir = out_dir / "images"
    if images and os.path.lexists(image_dir) and (not image_dir.is_dir() or any(image_dir.iterdir())):
        found.append("images/")
    return found


def generate(scale: str, out_dir: Path, seed: int = 42, image_size: tuple[int, int] = (64, 96),
             images: bool = True, workers: int = 2) -> GenerationReport:
    """Write articles.csv, customers.csv, transactions_train.csv, sample_submission.csv and images/ into `out_dir`.

    Deterministic: the same scale and seed give byte-identical files. Each file (and image folder) is written
    atomically, and never over an existing one: `FileExistsError` when `out_dir` already holds any of them.
    `image_size` is (width, height); `workers` processes render image folders in parallel.
    """
    cfg = _scale(scale)
    out = Path(out_dir)
    existing = existing_outputs(out, images)
    if existing:
        raise FileExistsError(f"{out} already holds {', '.join(existing)}: synthetic data is only generated into a "
                              "folder without Kaggle files (existing files are never overwritten)")
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(out)  # leftovers of a killed run
    remove_stale_temps(out / "images")
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    t0, c0 = time.perf_counter(), time.process_time()

    def lap(name: str) -> None:
        nonlocal t0, c0
        now, cnow = time.perf_counter(), time.process_time()
        timings[name], cpu[name] = round(now - t0, 2), round(cnow - c0, 2)
        t0, c0 = now, cnow

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
        cust = _customers(cfg, tax, cat, rng)
        _write_customers(out / "customers.csv", cust)
        customer_ids = fixed_byte_table(cust.id_bytes, ",")
        lap("customers")

        tx = _transactions(cfg, tax, cat, cust, rng)
        lap("transactions_sample")
        _write_transactions(out / "transactions_train.csv", tx, customer_ids,
                            fixed_byte_table(_digits(cat.article_number, 10), ","))
        lap("transactions_write")

        top = article_ids.take(pa.array(_popular_last_week(tx, len(cat)))).to_pylist()
        _write_submission(out / "sample_submission.csv", customer_ids, " ".join(top))
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
    report.seconds, report.cpu_seconds = timings, cpu
    return report

