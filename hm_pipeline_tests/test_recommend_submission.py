"""Submission CSV: format, order, leading zeros, and every validator failure mode; the explain view."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from hm_pipeline.recommend.candidates import Source
from hm_pipeline.recommend.explain import explain_customer
from hm_pipeline.recommend.fusion import fuse
from hm_pipeline.recommend.submission import validate_submission, write_submission
from hm_pipeline_tests.recommend_fixtures import random_world

N, M = 400, 120


@pytest.fixture(scope="module")
def world():
    data = random_world(0, n=N, m=M)
    recs = fuse(data)
    article_ids = np.array([f"{i:010d}" if i % 3 else f"0{108775000 + i:09d}" for i in range(M)])  # leading zeros
    customer_ids = np.array([f"{i:064x}" for i in range(N)])
    order = customer_ids[np.random.default_rng(1).permutation(N)]  # sample_submission order differs from idx order
    return data, recs, article_ids, customer_ids, order


def test_written_file_has_header_order_and_12_zero_padded_ids(world, tmp_path):
    data, recs, article_ids, customer_ids, order = world
    path = tmp_path / "submission.csv"
    assert write_submission(path, order, customer_ids, recs.items, article_ids) == N
    lines = path.read_text().splitlines()
    assert lines[0] == "customer_id,prediction"
    assert len(lines) == N + 1
    first_customer, prediction = lines[1].split(",")
    assert first_customer == order[0]
    idx = int(order[0], 16)
    assert prediction.split(" ") == article_ids[recs.items[idx]].tolist()
    assert all(len(token) == 10 for token in prediction.split(" "))
    assert any(line.split(",")[1].startswith("0") for line in lines[1:])
    check = validate_submission(path, order, article_ids)
    assert check.ok, check.problems
    assert (check.rows, check.unique_customers, check.rows_without_12_ids) == (N, N, 0)


def _rewrite(path, transform):
    lines = path.read_text().splitlines()
    path.write_text("\n".join(transform(lines)) + "\n")


@pytest.mark.parametrize(
    "name, transform, field, message",
    [
        ("header", lambda ls: ["customer,prediction", *ls[1:]], None, "header"),
        ("missing row", lambda ls: ls[:-1], "rows", "rows, expected"),
        ("duplicate customer", lambda ls: [*ls[:-1], ls[1]], "unique_customers", "duplicate"),
        ("11 ids", lambda ls: [ls[0], ls[1].rsplit(" ", 1)[0], *ls[2:]], "rows_without_12_ids", "exactly 12"),
        ("repeated id", lambda ls: [ls[0], ls[1].rsplit(" ", 1)[0] + " " + ls[1].split(",")[1].split(" ")[0], *ls[2:]],
         "rows_with_repeated_ids", "repeat"),
        ("lost leading zero", lambda ls: [ls[0], *(l.replace(" 0", " ", 1) for l in ls[1:])], "malformed_ids", "10 digits"),
        ("unknown article", lambda ls: [ls[0], ls[1].rsplit(" ", 1)[0] + " 9999999999", *ls[2:]], "unknown_ids", "not known"),
        ("order", lambda ls: [ls[0], ls[2], ls[1], *ls[3:]], "order_matches", "order"),
    ],
)
def test_validator_detects_each_failure(world, tmp_path, name, transform, field, message):
    data, recs, article_ids, customer_ids, order = world
    path = tmp_path / "submission.csv"
    write_submission(path, order, customer_ids, recs.items, article_ids)
    _rewrite(path, transform)
    check = validate_submission(path, order, article_ids)
    assert not check.ok
    assert any(message in p for p in check.problems), check.problems
    if field == "order_matches":
        assert check.order_matches is False
    elif field == "rows":
        assert check.rows == N - 1
    elif field == "unique_customers":
        assert check.unique_customers == N - 1
    elif field:
        assert getattr(check, field) >= 1


def test_unknown_customer_in_order_is_refused_and_nothing_written(world, tmp_path):
    data, recs, article_ids, customer_ids, order = world
    path = tmp_path / "submission.csv"
    with pytest.raises(ValueError, match="unknown"):
        write_submission(path, np.concatenate([order, ["f" * 64]]), customer_ids, recs.items, article_ids)
    assert list(tmp_path.iterdir()) == []


def test_explain_customer_lists_items_with_names_and_sources(world):
    data, recs, article_ids, customer_ids, _ = world
    articles = pa.table({
        "article_id": article_ids,
        "prod_name": [f"name {i}" for i in range(M)],
        "product_type_name": [f"type {i % 5}" for i in range(M)],
        "colour_group_name": [f"colour {i % 7}" for i in range(M)],
    })
    warm = int(np.flatnonzero(recs.source[:, 0] == Source.REPURCHASE)[0])
    out = explain_customer(customer_ids[warm], customer_ids, recs, data.history, articles)
    assert [r["rank"] for r in out.recommended] == list(range(1, 13))
    assert out.recommended[0]["source"] == "repurchase"
    assert out.recommended[3]["prod_name"] == f"name {recs.items[warm, 3]}"
    assert out.recent_purchases and out.recent_purchases[0]["last_bought"] >= out.recent_purchases[-1]["last_bought"]
    with pytest.raises(KeyError):
        explain_customer("nope", customer_ids, recs, data.history, articles)
