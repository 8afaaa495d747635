"""An invalid submission never replaces the good one, a bad sample_submission.csv is an error naming file, row and
column, the blocking check fails on a 0-row file, and customer ids in any letter case work everywhere.

The data root is built by hand (ingest Parquet + fused.parquet, no model or graph), so `submission_csv` and the
`hm-pipeline recommend` command run for real in a second each.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hm_pipeline.data.csv_columns import IngestError
from hm_pipeline.layout import DataLayout
from hm_pipeline.recommend.candidates import SOURCE_LABELS
from hm_pipeline.recommend.fusion import Path as FusionPath
from hm_pipeline.recommend.stored import FUSED_SCHEMA
from hm_pipeline.recommend.submission import (
    InvalidSubmission,
    read_sample_submission,
    validate_submission,
    write_submission,
)
from hm_pipeline_tests import reliability_fixtures as rf

N, M = 30, 40
CUSTOMERS = sorted(hashlib.sha256(str(i).encode()).hexdigest() for i in range(N))  # hex with letters
ARTICLES = [f"0{108775000 + i:09d}" for i in range(M)]
ORDER = CUSTOMERS[::-1]  # sample_submission order differs from id order
HEADER = "customer_id,prediction"
PREDICTION = " ".join(ARTICLES[:12])


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _sample(ids: list[str], header: str = HEADER) -> str:
    return "\n".join([header, *(f"{c},{PREDICTION}" for c in ids)]) + "\n"


def build_root(root: Path) -> DataLayout:
    layout = DataLayout(root)
    layout.ingest_dir.mkdir(parents=True)
    pq.write_table(pa.table({"customer_idx": pa.array(range(N), pa.int32()), "customer_id": CUSTOMERS}),
                   layout.ingest_table("customers"))
    pq.write_table(pa.table({
        "article_idx": pa.array(range(M), pa.int32()), "article_id": ARTICLES,
        "department_no": pa.array([1000 + i % 4 for i in range(M)], pa.int32()),
        "index_code": [["A", "B"][i % 2] for i in range(M)],
        "prod_name": [f"name {i}" for i in range(M)], "product_type_name": ["Vest top"] * M,
        "colour_group_name": ["Black"] * M,
    }), layout.ingest_table("articles"))
    pq.write_table(pa.table({
        "t_dat": pa.array([18500 + c for c in range(N)], pa.date32()), "customer_id": CUSTOMERS,
        "article_id": [ARTICLES[c % M] for c in range(N)], "customer_idx": pa.array(range(N), pa.int32()),
        "article_idx": pa.array([c % M for c in range(N)], pa.int32()),
    }), layout.ingest_table("transactions"))
    rank = np.tile(np.arange(1, 13), N)
    article = (np.repeat(np.arange(N), 12) + rank) % M
    layout.fused_file.parent.mkdir(parents=True)
    pq.write_table(pa.table({
        "customer_id": np.repeat(CUSTOMERS, 12), "rank": pa.array(rank, pa.int8()),
        "article_id": [ARTICLES[a] for a in article], "source": [SOURCE_LABELS[0]] * (12 * N),
        "path": [next(iter(FusionPath)).label] * (12 * N),
    }, schema=FUSED_SCHEMA), layout.fused_file)
    _write(layout.input_file("sample_submission.csv"), _sample(ORDER))
    return layout


def materialize_submission(layout: DataLayout) -> dg.ExecuteInProcessResult:
    return dg.materialize([*rf.ASSETS, *rf.CHECKS], selection=["submission_csv"], resources=rf.resources(layout),
                          instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def _failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The messages of every step failure and its causes."""
    messages = []
    for event in result.all_events:
        error = event.step_failure_data.error if event.is_step_failure else None
        while error is not None:
            messages.append(error.message.strip())
            error = error.cause
    return " | ".join(messages)


@pytest.fixture
def published(tmp_path) -> DataLayout:
    """A data root whose good submission.csv was written and passed the blocking check."""
    layout = build_root(tmp_path / "root")
    result = materialize_submission(layout)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert [c.passed for c in checks] == [True]
    assert layout.submission_file.read_text().splitlines()[1].startswith(ORDER[0])
    return layout


BAD_SAMPLES = {
    "header only": (HEADER + "\n", None, None, "no data rows"),
    "empty file": ("", None, None, "empty"),
    "wrong header": (_sample(ORDER, "customer,prediction"), None, None, "missing column(s) ['customer_id']"),
    "duplicated row": (_sample([*ORDER, ORDER[3]]), N + 1, "customer_id", "also in row 4"),
    "upper-case id": (_sample([*ORDER[:5], ORDER[5].upper(), *ORDER[6:]]), 6, "customer_id", "upper-case"),
    "malformed id": (_sample([*ORDER[:2], "x" * 64, *ORDER[3:]]), 3, "customer_id", "64 lower-case hex"),
    "blank id": (_sample([*ORDER[:2], "", *ORDER[3:]]), 3, "customer_id", "missing"),
    "unknown id": (_sample([*ORDER[:7], "f" * 64, *ORDER[8:]]), 8, "customer_id", "unknown customer_id"),
}


@pytest.mark.parametrize("case", sorted(BAD_SAMPLES))
def test_bad_sample_submission_fails_naming_row_and_column_and_keeps_the_good_file(published, case):
    text, row, column, says = BAD_SAMPLES[case]
    before = published.submission_file.read_bytes()
    _write(published.input_file("sample_submission.csv"), text)
    result = materialize_submission(published)
    assert not result.success
    message = _failure_message(result)
    assert "sample_submission.csv" in message and says in message, message
    if row is not None:
        assert f"row {row}, column '{column}'" in message, message
    assert published.submission_file.read_bytes() == before
    assert sorted(p.name for p in published.submission_file.parent.iterdir()) == ["submission.csv"]


def test_read_sample_submission_reports_exact_location(tmp_path):
    path = tmp_path / "sample_submission.csv"
    _write(path, _sample([*ORDER, ORDER[3]]))
    with pytest.raises(IngestError) as err:
        read_sample_submission(path)
    assert (err.value.file, err.value.row, err.value.column) == ("sample_submission.csv", N + 1, "customer_id")
    _write(path, _sample(ORDER))
    assert read_sample_submission(path).to_pylist() == ORDER


def test_invalid_written_submission_is_not_published(tmp_path):
    """Validation runs on the temporary file: rows with a repeated article never replace the previous file."""
    path = tmp_path / "submission.csv"
    items = (np.arange(N)[:, None] + np.arange(12)[None, :]) % M
    assert write_submission(path, ORDER, CUSTOMERS, items, ARTICLES) == N
    before = path.read_bytes()
    bad = items.copy()
    bad[4, 11] = bad[4, 0]
    with pytest.raises(InvalidSubmission, match="1 rows repeat an article id") as err:
        write_submission(path, ORDER, CUSTOMERS, bad, ARTICLES)
    assert "previous file is kept" in str(err.value)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["submission.csv"]


def test_blocking_check_fails_on_a_zero_row_file(tmp_path):
    path = tmp_path / "submission.csv"
    _write(path, HEADER + "\n")
    check = validate_submission(path, pa.array([], pa.string()), ARTICLES)
    assert not check.ok and any("no data rows" in p for p in check.problems)


def test_upper_case_ids_in_customers_csv_give_a_valid_submission(tmp_path):
    """Ingest lower-cases customer ids; the submission step (customers.csv order) must do the same."""
    layout = build_root(tmp_path / "root")
    layout.input_file("sample_submission.csv").unlink()
    _write(layout.input_file("customers.csv"), "\n".join(
        ["customer_id,FN,Active,club_member_status,fashion_news_frequency,age,postal_code",
         *(f"{c.upper()},,,ACTIVE,NONE,30,x" for c in ORDER)]) + "\n")
    result = materialize_submission(layout)
    assert result.success, _failure_message(result)
    written = [line.split(",")[0] for line in layout.submission_file.read_text().splitlines()[1:]]
    assert written == ORDER


def _recommend(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hm_pipeline.cli", "recommend", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})


def test_recommend_command_accepts_upper_case_ids(tmp_path):
    layout = build_root(tmp_path / "root")
    result = _recommend(CUSTOMERS[2].upper(), "--data-root", str(layout.root))
    assert result.returncode == 0, result.stderr
    assert f"customer {CUSTOMERS[2]}" in result.stdout
    assert result.stdout.count(ARTICLES[0][:4]) >= 12  # the 12 recommendations are listed


def test_recommend_command_on_a_missing_data_root_says_what_to_run(tmp_path):
    result = _recommend(CUSTOMERS[0], "--data-root", str(tmp_path / "never-run"))
    assert result.returncode == 1
    assert "hm-pipeline run --data-root" in result.stderr and "Traceback" not in result.stderr, result.stderr
