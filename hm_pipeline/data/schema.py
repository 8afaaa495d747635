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
SALES_CHANNEL_NAMES = {1: "in a store", 2: "online"}
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


#: What each column means, for the schemas the UI shows (Kaggle's data description, in words a reader follows).
COLUMN_DESCRIPTIONS: dict[str, str] = {
    "article_id": "the product variant (10 digits, leading zero kept); the photo is images/<first 3 digits>/<id>.jpg",
    "article_idx": "dense row number of the article in the id-sorted articles table (null: an unknown article)",
    "product_code": "the product; its variants (e.g. colours) share it",
    "prod_name": "product name",
    "product_type_no": "product type code (e.g. Trousers)",
    "product_type_name": "product type",
    "product_group_name": "group of product types (e.g. Garment Lower body)",
    "graphical_appearance_no": "pattern code",
    "graphical_appearance_name": "pattern (e.g. Solid, Stripe)",
    "colour_group_code": "colour code",
    "colour_group_name": "colour",
    "perceived_colour_value_id": "lightness code",
    "perceived_colour_value_name": "lightness (e.g. Dark, Light)",
    "perceived_colour_master_id": "main colour code",
    "perceived_colour_master_name": "main colour",
    "department_no": "department code (the image source keeps similar articles of a department the customer bought)",
    "department_name": "department",
    "index_code": "index letter (e.g. A Ladieswear, F Menswear; index_name names it)",
    "index_name": "index (store section)",
    "index_group_no": "index group code",
    "index_group_name": "index group (Ladieswear, Menswear, Divided, Baby/Children, Sport)",
    "section_no": "section code",
    "section_name": "section",
    "garment_group_no": "garment group code",
    "garment_group_name": "garment group (e.g. Jersey Basic)",
    "detail_desc": "product description",
    "customer_id": "the customer (64 lowercase hex characters)",
    "customer_idx": "dense row number of the customer in the id-sorted customers table (null: an unknown customer)",
    "FN": "1 when the customer gets the Fashion News newsletter, else blank",
    "Active": "1 when the customer is active for communication, else blank",
    "club_member_status": "club membership: ACTIVE, PRE-CREATE or LEFT CLUB",
    "fashion_news_frequency": "how often the customer gets fashion news: NONE, Regularly or Monthly",
    "age": f"age in years ({AGE_RANGE[0]}-{AGE_RANGE[1]}); blank when unknown",
    "postal_code": "postal code (hashed)",
    "t_dat": "day of the purchase",
    "price": "price paid, scaled by Kaggle (not a currency amount)",
    "sales_channel_id": "where the purchase was made: "
                        + ", ".join(f"{k} = {v}" for k, v in SALES_CHANNEL_NAMES.items()),
    "rank": "position in the customer's 12 recommendations (1 = first)",
    "source": "the candidate source that proposed the article (repurchase, image, als, copurchase, ...; "
              "popular = the popularity top-up)",
    "path": "how the customer's list was made (ranked: the learned ranker)",
    "src": "the article whose neighbours these are",
    "dst": "a visually similar article",
    "score": "cosine similarity of the two photos' embeddings (1 = identical direction)",
}
