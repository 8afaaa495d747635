"""Typed ingest: the real files' quirks are accepted, every bad input fails naming file, row and column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hm_pipeline.data import schema
from hm_pipeline.data.csv_columns import IngestError
from hm_pipeline.data.ingest import ingest_articles, ingest_customers, ingest_transactions

ARTICLE_HEADER = ",".join(f.name for f in schema.ARTICLES)
ARTICLE_ROWS = [
    '0108775015,108775,Strap top,253,Vest top,Garment Upper body,1010016,Solid,9,Black,4,Dark,5,Black,1676,'
    'Jersey Basic,A,Ladieswear,1,Ladieswear,16,Womens Everyday Basics,1002,Jersey Basic,'
    '"Jersey top with narrow shoulder straps, soft."',
    '0108775044,108775,Strap top,253,Vest top,Garment Upper body,1010016,Solid,10,White,3,Light,9,White,1676,'
    'Jersey Basic,A,Ladieswear,1,Ladieswear,16,Womens Everyday Basics,1002,Jersey Basic,"Line one\nline two"',
    '0110065001,110065,OP T-shirt (Idro),306,Bra,Underwear,1010016,Solid,9,Black,4,Dark,5,Black,1339,'
    'Clean Lingerie,B,Lingeries/Tights,1,Ladieswear,61,"Womens Lingerie",1017,"Under-, Nightwear",',
]
CUSTOMER_HEADER = ",".join(f.name for f in schema.CUSTOMERS)
C1, C2 = "a" * 63 + "1", "b" * 63 + "2"
CUSTOMER_ROWS = [f"{C1},1.0,1.0,ACTIVE,Regularly,49.0,{'c' * 64}", f"{C2},,,,NONE,,{'d' * 64}"]
TRANSACTION_HEADER = ",".join(f.name for f in schema.TRANSACTIONS)
TRANSACTION_ROWS = [
    f"2020-09-01,{C1},0108775015,0.0508305084745762,2",
    f"2020-09-01,{C1},108775044,0.0338813559322034,2",
    f"2020-09-02,{C2},0110065001,0.0169322033898305,1",
]


def write(path: Path, header: str, rows: list[str], *, raw: bytes | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw if raw is not None else ("\n".join([header, *rows]) + "\n").encode())
    return path


@pytest.fixture
def valid(tmp_path: Path) -> dict[str, Path]:
    src = tmp_path / "input"
    out = tmp_path / "ingest"
    paths = {
        "articles_csv": write(src / "articles.csv", ARTICLE_HEADER, ARTICLE_ROWS),
        "customers_csv": write(src / "customers.csv", CUSTOMER_HEADER, CUSTOMER_ROWS),
        "transactions_csv": write(src / "transactions_train.csv", TRANSACTION_HEADER, TRANSACTION_ROWS),
        "articles": out / "articles.parquet",
        "customers": out / "customers.parquet",
        "transactions": out / "transactions.parquet",
    }
    ingest_articles(paths["articles_csv"], paths["articles"])
    ingest_customers(paths["customers_csv"], paths["customers"])
    return paths


def test_valid_files_typed_and_indexed(valid):
    summary = ingest_transactions(valid["transactions_csv"], valid["transactions"], valid["articles"], valid["customers"])
    articles = pq.read_table(valid["articles"])
    assert articles.schema == schema.ARTICLES_TABLE
    assert articles["article_idx"].to_pylist() == [0, 1, 2]
    assert articles["detail_desc"].to_pylist() == ["Jersey top with narrow shoulder straps, soft.",
                                                   "Line one\nline two", None]
    assert articles["garment_group_name"][2].as_py() == "Under-, Nightwear"
    customers = pq.read_table(valid["customers"])
    assert customers.to_pylist()[1] == {"customer_idx": 1, "customer_id": C2, "FN": None, "Active": None,
                                        "club_member_status": None, "fashion_news_frequency": "NONE", "age": None,
                                        "postal_code": "d" * 64}
    assert customers["age"][0].as_py() == 49
    table = pq.read_table(valid["transactions"])
    assert table.schema == schema.TRANSACTIONS_TABLE
    assert table["article_id"].to_pylist() == ["0108775015", "0108775044", "0110065001"]
    assert table["article_idx"].to_pylist() == [0, 1, 2]
    assert table["customer_idx"].to_pylist() == [0, 0, 1]
    assert (summary.rows, summary.first_date, summary.last_date) == (3, dt.date(2020, 9, 1), dt.date(2020, 9, 2))
    assert summary.orphan_article_rows == summary.orphan_customer_rows == 0


def test_orphans_are_kept_and_counted(valid):
    rows = [*TRANSACTION_ROWS, f"2020-09-03,{'e' * 64},0999999001,0.01,1"]
    write(valid["transactions_csv"], TRANSACTION_HEADER, rows)
    summary = ingest_transactions(valid["transactions_csv"], valid["transactions"], valid["articles"], valid["customers"])
    assert (summary.rows, summary.orphan_article_rows, summary.orphan_customer_rows) == (4, 1, 1)
    last = pq.read_table(valid["transactions"]).to_pylist()[-1]
    assert (last["article_idx"], last["customer_idx"]) == (None, None)


def test_utf8_bom_and_crlf_are_accepted(tmp_path):
    text = "\r\n".join([CUSTOMER_HEADER, *CUSTOMER_ROWS]) + "\r\n"
    src = write(tmp_path / "customers.csv", "", [], raw=b"\xef\xbb\xbf" + text.encode())
    table = ingest_customers(src, tmp_path / "customers.parquet")
    assert table["customer_id"].to_pylist() == [C1, C2]


def test_pandas_index_column_and_lost_leading_zero(tmp_path):
    rows = [f"{i},{row[1:]}" for i, row in enumerate(ARTICLE_ROWS)]
    src = write(tmp_path / "articles.csv", "," + ARTICLE_HEADER, rows)
    table = ingest_articles(src, tmp_path / "articles.parquet")
    assert table["article_id"].to_pylist() == ["0108775015", "0108775044", "0110065001"]


# --- the real H&M sample (skipped when ../shared is absent) -----------------------------------------------------

def test_real_articles(real_sample, tmp_path):
    table = ingest_articles(real_sample / "articles.csv", tmp_path / "a.parquet")
    assert table.num_rows == 150
    assert all(len(a) == 10 and a.startswith("0") for a in table["article_id"].to_pylist())
    assert "Womens Nightwear, Socks & Tigh" in table["section_name"].to_pylist()
    for article_id in table["article_id"].to_pylist():  # every sample article has its photo
        assert (real_sample / schema.image_relpath(article_id)).is_file()


def test_real_pandas_export_matches_kaggle_form(real_sample, tmp_path):
    table = ingest_articles(real_sample / "articles_pandas_export.csv", tmp_path / "a.parquet")
    assert table.num_rows == 100
    assert all(len(a) == 10 and a.startswith("0") for a in table["article_id"].to_pylist())
    assert table.column_names == schema.ARTICLES_TABLE.names


def test_real_customers_and_transactions(real_sample, tmp_path):
    ingest_articles(real_sample / "articles.csv", tmp_path / "a.parquet")
    customers = ingest_customers(real_sample / "customers.csv", tmp_path / "c.parquet")
    assert customers.num_rows == 300
    assert customers["FN"].null_count > 0 and customers["Active"].null_count > 0
    ages = [a for a in customers["age"].to_pylist() if a is not None]
    assert ages and min(ages) >= 16 and max(ages) <= 99
    summary = ingest_transactions(real_sample / "transactions_train.csv", tmp_path / "t.parquet",
                                  tmp_path / "a.parquet", tmp_path / "c.parquet")
    assert summary.rows == 600
    ids = pq.read_table(tmp_path / "t.parquet", columns=["article_id"])["article_id"].to_pylist()
    assert all(len(a) == 10 for a in ids)
    assert 0 < summary.orphan_article_rows < 600  # the sample's articles are not all in articles.csv


# --- bad input: each case names file, row and column; nothing is written ----------------------------------------

def _bad_transactions(row: str) -> list[str]:
    return [TRANSACTION_ROWS[0], row]


BAD_TRANSACTIONS = {
    "non-numeric price": (_bad_transactions(f"2020-09-01,{C1},0108775015,abc,2"), 2, "price"),
    "negative price": (_bad_transactions(f"2020-09-01,{C1},0108775015,-0.5,2"), 2, "price"),
    "blank price": (_bad_transactions(f"2020-09-01,{C1},0108775015,,2"), 2, "price"),
    "unparseable date": (_bad_transactions(f"01/09/2020,{C1},0108775015,0.1,2"), 2, "t_dat"),
    "impossible date": (_bad_transactions(f"2020-02-30,{C1},0108775015,0.1,2"), 2, "t_dat"),
    "date out of range": (_bad_transactions(f"2021-01-01,{C1},0108775015,0.1,2"), 2, "t_dat"),
    "unknown sales channel": (_bad_transactions(f"2020-09-01,{C1},0108775015,0.1,3"), 2, "sales_channel_id"),
    "article id too long": (_bad_transactions(f"2020-09-01,{C1},01087750150,0.1,2"), 2, "article_id"),
    "article id not numeric": (_bad_transactions(f"2020-09-01,{C1},01087750x5,0.1,2"), 2, "article_id"),
    "customer id not hex": (_bad_transactions(f"2020-09-01,{'z' * 64},0108775015,0.1,2"), 2, "customer_id"),
    "customer id too short": (_bad_transactions(f"2020-09-01,{'a' * 63},0108775015,0.1,2"), 2, "customer_id"),
}


@pytest.mark.parametrize("case", sorted(BAD_TRANSACTIONS))
def test_bad_transaction_values(valid, case):
    rows, row, column = BAD_TRANSACTIONS[case]
    write(valid["transactions_csv"], TRANSACTION_HEADER, rows)
    with pytest.raises(IngestError) as err:
        ingest_transactions(valid["transactions_csv"], valid["transactions"], valid["articles"], valid["customers"])
    assert (err.value.file, err.value.row, err.value.column) == ("transactions_train.csv", row, column)
    assert f"transactions_train.csv, row {row}, column '{column}'" in str(err.value)
    assert not valid["transactions"].exists()
    assert list(valid["transactions"].parent.iterdir()) == [valid["articles"], valid["customers"]] or \
        sorted(valid["transactions"].parent.iterdir()) == sorted([valid["articles"], valid["customers"]])


BAD_CUSTOMERS = {
    "age out of range": ([CUSTOMER_ROWS[0], f"{C2},,,,NONE,140.0,{'d' * 64}"], 2, "age"),
    "age fractional": ([CUSTOMER_ROWS[0], f"{C2},,,,NONE,40.5,{'d' * 64}"], 2, "age"),
    "FN not 0/1": ([CUSTOMER_ROWS[0], f"{C2},2.0,,,NONE,40,{'d' * 64}"], 2, "FN"),
    "duplicate customer id": ([CUSTOMER_ROWS[0], CUSTOMER_ROWS[1], CUSTOMER_ROWS[0]], 3, "customer_id"),
}


@pytest.mark.parametrize("case", sorted(BAD_CUSTOMERS))
def test_bad_customer_values(tmp_path, case):
    rows, row, column = BAD_CUSTOMERS[case]
    src = write(tmp_path / "customers.csv", CUSTOMER_HEADER, rows)
    with pytest.raises(IngestError) as err:
        ingest_customers(src, tmp_path / "out" / "customers.parquet")
    assert (err.value.file, err.value.row, err.value.column) == ("customers.csv", row, column)
    assert not (tmp_path / "out" / "customers.parquet").exists()


def test_duplicate_article_id_names_both_rows(tmp_path):
    src = write(tmp_path / "articles.csv", ARTICLE_HEADER, [*ARTICLE_ROWS, ARTICLE_ROWS[1]])
    with pytest.raises(IngestError) as err:
        ingest_articles(src, tmp_path / "articles.parquet")
    assert (err.value.row, err.value.column) == (4, "article_id")
    assert "0108775044" in str(err.value) and "also in row 2" in str(err.value)


def test_missing_product_code_value(tmp_path):
    row = ARTICLE_ROWS[0].replace(",108775,", ",,", 1)
    src = write(tmp_path / "articles.csv", ARTICLE_HEADER, [row])
    with pytest.raises(IngestError, match=r"articles.csv, row 1, column 'product_code': value is missing"):
        ingest_articles(src, tmp_path / "articles.parquet")


HEADER_CASES = {
    "missing column": (TRANSACTION_HEADER.replace(",price", ""), r"missing column\(s\) \['price'\]"),
    "renamed column": (TRANSACTION_HEADER.replace("t_dat", "date"),
                       r"missing column\(s\) \['t_dat'\]; unexpected column\(s\) \['date'\]"),
    "extra column": (TRANSACTION_HEADER + ",store", r"unexpected column\(s\) \['store'\]"),
    "wrong delimiter": (TRANSACTION_HEADER.replace(",", ";"), r"header has a single column .*is the delimiter ';' instead of ','"),
    "duplicated column": (TRANSACTION_HEADER + ",price", r"duplicated column\(s\) \['price'\]"),
}


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_bad_headers(valid, case):
    header, message = HEADER_CASES[case]
    write(valid["transactions_csv"], header, TRANSACTION_ROWS)
    with pytest.raises(IngestError, match=r"^transactions_train.csv: " + message):
        ingest_transactions(valid["transactions_csv"], valid["transactions"], valid["articles"], valid["customers"])


@pytest.mark.parametrize("content, message", [
    (b"", "file is empty"),
    (b"\n\n", "file is empty"),
    ((TRANSACTION_HEADER + "\n").encode(), "file has a header but no data rows"),
])
def test_empty_files(valid, content, message):
    write(valid["transactions_csv"], "", [], raw=content)
    with pytest.raises(IngestError, match=f"^transactions_train.csv: {message}"):
        ingest_transactions(valid["transactions_csv"], valid["transactions"], valid["articles"], valid["customers"])


def test_wrong_field_count_names_row(valid):
    rows = [*TRANSACTION_ROWS, f"2020-09-03,{C1},0108775015,0.1"]
    write(valid["transactions_csv"], TRANSACTION_HEADER, rows)
    with pytest.raises(IngestError, match=r"transactions_train.csv, row 4: expected 5 fields, found 4"):
        ingest_transactions(valid["transactions_csv"], valid["transactions"], valid["articles"], valid["customers"])


def test_non_utf8_bytes_name_row_and_column(tmp_path):
    text = "\n".join([ARTICLE_HEADER, *ARTICLE_ROWS]).encode()
    raw = text.replace(b"Strap top,253", b"Strap \xff top,253", 1)
    src = write(tmp_path / "articles.csv", "", [], raw=raw)
    with pytest.raises(IngestError, match=r"articles.csv, row 1, column 'prod_name': value is not valid UTF-8"):
        ingest_articles(src, tmp_path / "articles.parquet")


def test_failed_ingest_keeps_previous_good_output(valid):
    before = valid["customers"].read_bytes()
    write(valid["customers_csv"], CUSTOMER_HEADER, [CUSTOMER_ROWS[0], "not-a-customer,,,,,,"])
    with pytest.raises(IngestError):
        ingest_customers(valid["customers_csv"], valid["customers"])
    assert valid["customers"].read_bytes() == before
    assert sorted(p.name for p in valid["customers"].parent.iterdir()) == ["articles.parquet", "customers.parquet"]


def test_reingest_is_byte_identical(valid):
    first = valid["articles"].read_bytes()
    ingest_articles(valid["articles_csv"], valid["articles"])
    assert valid["articles"].read_bytes() == first


def test_missing_file(tmp_path):
    with pytest.raises(IngestError, match="file not found"):
        ingest_articles(tmp_path / "articles.csv", tmp_path / "a.parquet")


# --- text that looks like a null is data; only an empty field is missing -----------------------------------------

NULL_LIKE = ["NA", "null", "N/A", "NULL", "n/a", "nan", "None"]


@pytest.mark.parametrize("text", NULL_LIKE)
def test_null_like_text_stays_text(tmp_path, text):
    """A product named `NA` and an optional text column holding `null` keep their text (pyarrow's default null
    strings would turn them into nulls: a false "missing" error, or silently lost text)."""
    name_row = ARTICLE_ROWS[0].replace(",Strap top,", f",{text},", 1).replace('"Jersey top', f'"{text}', 1)
    ingest_articles(write(tmp_path / "articles.csv", ARTICLE_HEADER, [name_row]), tmp_path / "a.parquet")
    article = pq.read_table(tmp_path / "a.parquet").to_pylist()[0]
    assert article["prod_name"] == text
    assert article["detail_desc"].startswith(text)
    row = f"{C1},,,{text},{text},,{text}"
    ingest_customers(write(tmp_path / "customers.csv", CUSTOMER_HEADER, [row]), tmp_path / "c.parquet")
    customer = pq.read_table(tmp_path / "c.parquet").to_pylist()[0]
    assert [customer[c] for c in ("club_member_status", "fashion_news_frequency", "postal_code")] == [text] * 3
    assert customer["age"] is None and customer["FN"] is None  # empty fields are still missing


def test_empty_field_is_missing_and_quoted_empty_too(tmp_path):
    rows = [f"{C1},,,,NONE,,x", f'{C2},,,"",NONE,,y']
    ingest_customers(write(tmp_path / "customers.csv", CUSTOMER_HEADER, rows), tmp_path / "c.parquet")
    assert pq.read_table(tmp_path / "c.parquet")["club_member_status"].to_pylist() == [None, None]


@pytest.mark.parametrize("price, reason", [("nan", "is not a number"), ("NaN", "is not a number"),
                                          ("inf", "is infinite"), ("-0.5", "is negative"), ("NA", "decimal number")])
def test_price_problems_say_what_is_wrong(valid, price, reason):
    write(valid["transactions_csv"], TRANSACTION_HEADER, _bad_transactions(f"2020-09-01,{C1},0108775015,{price},2"))
    with pytest.raises(IngestError) as err:
        ingest_transactions(valid["transactions_csv"], valid["transactions"], valid["articles"], valid["customers"])
    assert (err.value.row, err.value.column) == (2, "price")
    assert reason in err.value.reason and "blank" not in err.value.reason and "missing" not in err.value.reason


def test_null_like_text_in_a_number_column_is_not_blank(tmp_path):
    src = write(tmp_path / "customers.csv", CUSTOMER_HEADER, [f"{C1},,,,NONE,NA,x"])
    with pytest.raises(IngestError, match=r"row 1, column 'age': expected a whole number, got 'NA'"):
        ingest_customers(src, tmp_path / "c.parquet")
