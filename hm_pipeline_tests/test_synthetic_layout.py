"""The generated files follow the exact Kaggle layout and formatting."""

from __future__ import annotations

import csv
import re

import pyarrow.csv as pacsv
import pytest

from hm_pipeline.data.schema import ARTICLES, CUSTOMERS, FIRST_DATE, LAST_DATE, TRANSACTIONS
from hm_pipeline.data.synthetic.scales import SCALES

from .synthetic_fixtures import tiny_data  # noqa: F401

HEX64 = re.compile(r"^[0-9a-f]{64}$")
ART_ID = re.compile(r"^0\d{9}$")


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_files_and_headers_match_schema(tiny_data):
    out, _ = tiny_data
    for name, schema in [("articles.csv", ARTICLES), ("customers.csv", CUSTOMERS),
                         ("transactions_train.csv", TRANSACTIONS)]:
        assert (out / name).read_text().splitlines()[0] == ",".join(schema.names)
    assert (out / "sample_submission.csv").read_text().splitlines()[0] == "customer_id,prediction"
    assert not [p for p in out.rglob(".tmp-*")], "temporary files left behind"


def test_headers_match_real_sample(tiny_data, real_sample):
    out, _ = tiny_data
    for name in ("articles.csv", "customers.csv", "transactions_train.csv"):
        real = (real_sample / name).read_text().splitlines()[0]
        assert (out / name).read_text().splitlines()[0] == real


def test_articles_format_and_hierarchy(tiny_data):
    out, _ = tiny_data
    header, *rows = _rows(out / "articles.csv")
    scale = SCALES["tiny"]
    assert len(rows) == scale.n_articles and all(len(r) == 25 for r in rows)
    col = {name: i for i, name in enumerate(header)}
    ids = [r[0] for r in rows]
    assert all(ART_ID.match(a) for a in ids) and ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(r[0][1:7] == r[col["product_code"]] for r in rows)
    assert len({r[col["product_code"]] for r in rows}) == scale.n_product_codes
    assert any("," in r[col["detail_desc"]] for r in rows)  # quoted fields with commas round-trip
    raw = (out / "articles.csv").read_text()
    assert '"' in raw and not raw.splitlines()[1].startswith('"')

    def functional(child, parent):
        pairs = {(r[col[child]], r[col[parent]]) for r in rows}
        return len(pairs) == len({c for c, _ in pairs})

    assert functional("department_no", "section_no")
    assert functional("department_no", "department_name")
    assert functional("section_no", "index_code")
    assert functional("index_code", "index_group_no")
    assert functional("product_type_no", "product_group_name")
    assert functional("colour_group_code", "colour_group_name")


def test_customers_format(tiny_data):
    out, _ = tiny_data
    _, *rows = _rows(out / "customers.csv")
    assert len(rows) == SCALES["tiny"].n_customers
    ids = [r[0] for r in rows]
    assert all(HEX64.match(c) for c in ids) and ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {r[1] for r in rows} == {"1.0", ""} and {r[2] for r in rows} == {"1.0", ""}
    assert {r[3] for r in rows} <= {"ACTIVE", "PRE-CREATE", "LEFT CLUB", ""}
    assert {r[4] for r in rows} <= {"NONE", "Regularly", "Monthly", ""}
    ages = [r[5] for r in rows]
    assert all(re.fullmatch(r"\d{2}\.0", a) or a == "" for a in ages)
    assert "" in ages and all(16 <= float(a) <= 99 for a in ages if a)
    assert all(HEX64.match(r[6]) for r in rows)


def test_transactions_format_and_references(tiny_data):
    out, _ = tiny_data
    table = pacsv.read_csv(out / "transactions_train.csv", convert_options=pacsv.ConvertOptions(
        column_types={"article_id": "string", "customer_id": "string", "t_dat": "string"}))
    assert table.num_rows == SCALES["tiny"].n_transactions
    dates = table["t_dat"].to_pylist()
    assert dates == sorted(dates)
    assert dates[0] == FIRST_DATE.isoformat() and dates[-1] == LAST_DATE.isoformat()
    arts = set(table["article_id"].to_pylist())
    assert all(ART_ID.match(a) for a in arts)
    assert arts <= {r[0] for r in _rows(out / "articles.csv")[1:]}
    custs = set(table["customer_id"].to_pylist())
    assert custs <= {r[0] for r in _rows(out / "customers.csv")[1:]}
    assert len(custs) == SCALES["tiny"].n_active_customers
    prices = table["price"].to_numpy()
    assert prices.min() > 0 and prices.max() < 0.6
    assert set(table["sales_channel_id"].to_pylist()) == {1, 2}


def test_sample_submission(tiny_data):
    out, _ = tiny_data
    _, *rows = _rows(out / "sample_submission.csv")
    assert [r[0] for r in rows] == [r[0] for r in _rows(out / "customers.csv")[1:]]
    article_ids = {r[0] for r in _rows(out / "articles.csv")[1:]}
    for _, prediction in rows[:50]:
        ids = prediction.split(" ")
        assert len(ids) == 12 and set(ids) <= article_ids


def test_image_layout(tiny_data):
    out, report = tiny_data
    ids = [r[0] for r in _rows(out / "articles.csv")[1:]]
    files = sorted((out / "images").rglob("*.jpg"))
    assert len(files) == len(ids) - SCALES["tiny"].n_without_image == report.counts["images"]
    assert all(f.parent.name == f.stem[:3] and f.stem in ids for f in files)


@pytest.mark.parametrize("scale", ["tiny", "small"])
def test_unknown_scale_rejected(scale, tmp_path):
    from hm_pipeline.data.synthetic.generate import generate

    with pytest.raises(ValueError, match="unknown scale"):
        generate(scale + "x", tmp_path)
