"""Small ingest tables (the Parquet schema of hm_pipeline.data.schema) for the graph tests.

`hand_made()` is tiny and readable: repeat purchases (same customer, same article, several transactions), customers
with blank fields and unknown or boundary ages, and two orphan transactions. `random_ingest()` is larger, seeded,
with a small catalogue so that repeats and shared purchases are common.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hm_pipeline.data.schema import ARTICLES_TABLE, CUSTOMERS_TABLE, TRANSACTIONS_TABLE
from hm_pipeline.layout import DataLayout


@dataclass
class IngestTables:
    articles: pa.Table
    customers: pa.Table
    transactions: pa.Table

    def write(self, layout: DataLayout) -> DataLayout:
        layout.ingest_dir.mkdir(parents=True, exist_ok=True)
        for name in ("articles", "customers", "transactions"):
            pq.write_table(getattr(self, name), layout.ingest_table(name))
        return layout


def customer_id(n: int) -> str:
    return hashlib.sha256(f"customer-{n}".encode()).hexdigest()


# (product_type_no, type name, product group), (department_no, name, section_no, section name),
# (index_code, index name, index_group_no, group name), (garment_group_no, name)
_TYPES = [(253, "Vest top", "Garment Upper body"), (272, "Trousers", "Garment Lower body"),
          (255, "T-shirt", "Garment Upper body")]
_DEPARTMENTS = [(1676, "Jersey Basic", 16, "Womens Everyday Basics"), (1722, "Trousers", 15, "Womens Everyday Collection"),
                (3608, "Young Girl Jersey", 76, "Kids Girl")]
_INDEXES = [("A", "Ladieswear", 1, "Ladieswear"), ("D", "Divided", 2, "Divided"), ("H", "Children Sizes 92-140", 4,
                                                                                   "Baby/Children")]
_GARMENTS = [(1002, "Jersey Basic"), (1009, "Trousers")]
_COLOURS = [(9, "Black", 4, "Dark", 5, "Black"), (10, "White", 3, "Light", 9, "White"),
            (73, "Dark Blue", 4, "Dark", 2, "Blue")]


def _articles(specs: list[tuple[int, int, int, int, int, int]]) -> pa.Table:
    """specs: (article number, type, department, index, garment, colour) positions into the lists above."""
    rows = []
    for number, ti, di, ii, gi, ci in specs:
        ptype, dept, index, garment, colour = _TYPES[ti], _DEPARTMENTS[di], _INDEXES[ii], _GARMENTS[gi], _COLOURS[ci]
        rows.append({
            "article_id": f"{number:010d}", "product_code": number // 1000, "prod_name": f"Product {number}",
            "product_type_no": ptype[0], "product_type_name": ptype[1], "product_group_name": ptype[2],
            "graphical_appearance_no": 1010016, "graphical_appearance_name": "Solid",
            "colour_group_code": colour[0], "colour_group_name": colour[1],
            "perceived_colour_value_id": colour[2], "perceived_colour_value_name": colour[3],
            "perceived_colour_master_id": colour[4], "perceived_colour_master_name": colour[5],
            "department_no": dept[0], "department_name": dept[1], "index_code": index[0], "index_name": index[1],
            "index_group_no": index[2], "index_group_name": index[3], "section_no": dept[2], "section_name": dept[3],
            "garment_group_no": garment[0], "garment_group_name": garment[1],
            "detail_desc": None if number % 5 == 0 else f"Description of {number}",
        })
    rows.sort(key=lambda r: r["article_id"])
    for i, row in enumerate(rows):
        row["article_idx"] = i
    return pa.Table.from_pylist(rows, schema=ARTICLES_TABLE)


def _customers(specs: list[tuple[int, int | None, int | None, str | None, str | None, int | None, str | None]]) -> pa.Table:
    """specs: (n, FN, Active, club_member_status, fashion_news_frequency, age, postal_code)."""
    rows = [dict(zip(("customer_id", "FN", "Active", "club_member_status", "fashion_news_frequency", "age",
                      "postal_code"), (customer_id(s[0]), *s[1:]))) for s in specs]
    rows.sort(key=lambda r: r["customer_id"])
    for i, row in enumerate(rows):
        row["customer_idx"] = i
    return pa.Table.from_pylist(rows, schema=CUSTOMERS_TABLE)


def _transactions(rows: list[tuple[dt.date, str, str, float, int]], articles: pa.Table,
                  customers: pa.Table) -> pa.Table:
    art_idx = dict(zip(articles["article_id"].to_pylist(), articles["article_idx"].to_pylist()))
    cust_idx = dict(zip(customers["customer_id"].to_pylist(), customers["customer_idx"].to_pylist()))
    records = [{"t_dat": d, "customer_id": c, "article_id": a, "price": p, "sales_channel_id": ch,
                "customer_idx": cust_idx.get(c), "article_idx": art_idx.get(a)} for d, c, a, p, ch in rows]
    return pa.Table.from_pylist(records, schema=TRANSACTIONS_TABLE)


def hand_made() -> IngestTables:
    """6 articles, 7 customers, 22 transactions (2 orphans) with repeats."""
    articles = _articles([
        (108775015, 0, 0, 0, 0, 0), (108775044, 0, 0, 0, 0, 1), (110065001, 2, 0, 0, 0, 0),
        (176209023, 1, 1, 0, 1, 2), (176209025, 1, 1, 1, 1, 0), (189616006, 2, 2, 2, 0, 1),
    ])
    customers = _customers([
        (1, 1, 1, "ACTIVE", "Regularly", 24, "p1"),
        (2, None, None, "ACTIVE", "NONE", 65, "p2"),        # blank FN/Active, boundary age 65
        (3, None, None, None, None, None, None),             # every field blank, unknown age
        (4, 1, 1, "PRE-CREATE", "Monthly", 66, "p4"),        # boundary age 66
        (5, None, 1, "LEFT CLUB", None, 15, "p5"),           # under 16
        (6, 1, None, "ACTIVE", "Regularly", 40, None),       # no purchases
        (7, None, None, "ACTIVE", "NONE", 99, "p7"),
    ])
    c = customer_id
    d = dt.date
    rows = [
        (d(2019, 1, 5), c(1), "0108775015", 0.0169, 2), (d(2019, 1, 5), c(1), "0108775015", 0.0169, 2),
        (d(2019, 3, 9), c(1), "0108775015", 0.0152, 1), (d(2019, 3, 9), c(1), "0176209023", 0.0339, 2),
        (d(2019, 3, 9), c(1), "0110065001", 0.0085, 2),
        (d(2019, 1, 7), c(2), "0108775015", 0.0169, 1), (d(2019, 6, 1), c(2), "0176209025", 0.0254, 2),
        (d(2019, 6, 1), c(2), "0176209025", 0.0254, 2),
        (d(2019, 6, 2), c(3), "0108775044", 0.0101, 1), (d(2019, 6, 2), c(3), "0110065001", 0.0085, 1),
        (d(2019, 6, 9), c(3), "0108775015", 0.0169, 2),
        (d(2020, 2, 1), c(4), "0189616006", 0.0203, 2), (d(2020, 2, 1), c(4), "0189616006", 0.0203, 2),
        (d(2020, 2, 1), c(4), "0189616006", 0.0203, 2), (d(2020, 2, 3), c(4), "0176209023", 0.0339, 1),
        (d(2020, 9, 1), c(5), "0110065001", 0.0085, 2), (d(2020, 9, 1), c(5), "0108775044", 0.0101, 2),
        (d(2020, 9, 2), c(7), "0176209023", 0.0339, 2), (d(2020, 9, 2), c(7), "0108775015", 0.0169, 2),
        (d(2020, 9, 3), c(7), "0108775015", 0.0169, 1),
        (d(2020, 9, 3), c(99), "0108775015", 0.0169, 1),     # orphan: unknown customer
        (d(2020, 9, 3), c(1), "0999999999", 0.0169, 1),      # orphan: unknown article
    ]
    return IngestTables(articles, customers, _transactions(rows, articles, customers))


def random_ingest(n_customers: int = 300, n_articles: int = 40, n_transactions: int = 4000,
                  seed: int = 7) -> IngestTables:
    """Seeded random tables with heavy repeats (few articles, skewed popularity, customers buying again);
    vectorized, so 1M transactions take a couple of seconds. ~9% of customers have no age."""
    rng = np.random.default_rng(seed)
    specs = [(100000001 + 17 * i, int(rng.integers(3)), int(rng.integers(3)), int(rng.integers(3)),
              int(rng.integers(2)), int(rng.integers(3))) for i in range(n_articles)]
    articles = _articles(specs)
    ages = rng.integers(14, 100, n_customers)
    customers = _customers([(i, 1, 1, "ACTIVE", "NONE", None if i % 11 == 0 else int(ages[i]), f"p{i}")
                            for i in range(n_customers)])
    popularity = 1.0 / np.arange(1, n_articles + 1) ** 0.8
    who = rng.integers(0, n_customers, n_transactions)
    what = rng.choice(n_articles, n_transactions, p=popularity / popularity.sum())
    days = rng.integers(0, 700, n_transactions)
    start = np.datetime64("2018-09-20", "D")
    transactions = pa.table(
        {
            "t_dat": pa.array(start + days.astype("timedelta64[D]"), pa.date32()),
            "customer_id": pc.take(customers["customer_id"], pa.array(who)),
            "article_id": pc.take(articles["article_id"], pa.array(what)),
            "price": pa.array(np.round(rng.uniform(0.005, 0.05, n_transactions), 4), pa.float32()),
            "sales_channel_id": pa.array(rng.integers(1, 3, n_transactions), pa.int8()),
            "customer_idx": pa.array(who, pa.int32()),
            "article_idx": pa.array(what, pa.int32()),
        },
        schema=TRANSACTIONS_TABLE,
    )
    return IngestTables(articles, customers, transactions)
