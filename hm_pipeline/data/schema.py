"""The Kaggle file contract (CSV columns) and the typed Parquet tables ingest writes.

One canonical id form everywhere: `article_id` is a 10-digit zero-padded string, `customer_id` is 64 lowercase
hex characters. Numeric work uses the dense int32 indexes `article_idx` / `customer_idx`, which are the row
positions of the id-sorted `articles` / `customers` tables.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

ARTICLE_ID_DIGITS = 10
CUSTOMER_ID_HEX = 64
SALES_CHANNELS = (1, 2)
#: The Kaggle transaction window; dates outside it are rejected by ingest.
FIRST_DATE = dt.date(2018, 9, 20)
LAST_DATE = dt.date(2020, 9, 22)
AGE_RANGE = (16, 99)

ARTICLES = pa.schema(
    [
        ("article_id", pa.string()),
        ("product_code", pa.int32()),
        ("prod_name", pa.string()),
        ("product_type_no", pa.int32()),
        ("product_type_name", pa.string()),
        ("product_group_name", pa.string()),
        ("graphical_appearance_no", pa.int32()),
        ("graphical_appearance_name", pa.string()),
        ("colour_group_code", pa.int32()),
        ("colour_group_name", pa.string()),
        ("perceived_colour_value_id", pa.int32()),
        ("perceived_colour_value_name", pa.string()),
        ("perceived_colour_master_id", pa.int32()),
        ("perceived_colour_master_name", pa.string()),
        ("department_no", pa.int32()),
        ("department_name", pa.string()),
        ("index_code", pa.string()),
        ("index_name", pa.string()),
        ("index_group_no", pa.int32()),
        ("index_group_name", pa.string()),
        ("section_no", pa.int32()),
        ("section_name", pa.string()),
        ("garment_group_no", pa.int32()),
        ("garment_group_name", pa.string()),
        ("detail_desc", pa.string()),
    ]
)

CUSTOMERS = pa.schema(
    [
        ("customer_id", pa.string()),
        ("FN", pa.int8()),
        ("Active", pa.int8()),
        ("club_member_status", pa.string()),
        ("fashion_news_frequency", pa.string()),
        ("age", pa.int16()),
        ("postal_code", pa.string()),
    ]
)

TRANSACTIONS = pa.schema(
    [
        ("t_dat", pa.date32()),
        ("customer_id", pa.string()),
        ("article_id", pa.string()),
        ("price", pa.float32()),
        ("sales_channel_id", pa.int8()),
    ]
)

SAMPLE_SUBMISSION_COLUMNS = ("customer_id", "prediction")

#: CSV file name -> schema of its columns, in Kaggle order.
CSV_FILES: dict[str, pa.Schema] = {
    "articles.csv": ARTICLES,
    "customers.csv": CUSTOMERS,
    "transactions_train.csv": TRANSACTIONS,
}

# Columns ingest adds to the Parquet tables (besides the CSV columns above).
ARTICLE_IDX = pa.field("article_idx", pa.int32(), nullable=False)
CUSTOMER_IDX = pa.field("customer_idx", pa.int32(), nullable=False)
#: In transactions these are null for rows whose article/customer is not in articles.csv/customers.csv (orphans).
ARTICLE_IDX_REF = pa.field("article_idx", pa.int32())
CUSTOMER_IDX_REF = pa.field("customer_idx", pa.int32())

ARTICLES_TABLE = pa.schema([ARTICLE_IDX, *ARTICLES])
CUSTOMERS_TABLE = pa.schema([CUSTOMER_IDX, *CUSTOMERS])
TRANSACTIONS_TABLE = pa.schema([*TRANSACTIONS, CUSTOMER_IDX_REF, ARTICLE_IDX_REF])


def image_relpath(article_id: str) -> str:
    """`images/0XX/0XXXXXXXXX.jpg` relative to the input folder (folder = first 3 digits of the 10-digit id)."""
    return f"images/{article_id[:3]}/{article_id}.jpg"
