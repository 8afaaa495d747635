"""Bad input not covered elsewhere: huge lines, unclosed quotes, other encodings, unreadable files, a missing image
root, and every kind of bad photo reported in the asset metadata.

The main bad-input catalogue (header problems, empty files, bad values, duplicates, orphans, BOM, non-UTF-8 values)
is in test_ingest.py; image files are classified in test_images_scan.py and decoded in test_images_embed.py.
Every error here names the file and, where there is one, the row and column, and leaves no output behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from hm_pipeline.data.csv_columns import IngestError
from hm_pipeline.data.ingest import ingest_articles, ingest_customers, ingest_transactions
from hm_pipeline.defs import automation
from hm_pipeline.defs import images as image_defs
from hm_pipeline.defs.resources import DataRootResource
from hm_pipeline.layout import DataLayout
from hm_pipeline_tests.conftest import REPO_ROOT
from hm_pipeline_tests.image_fixtures import jpeg_bytes, png_bytes, write_articles_parquet
from hm_pipeline_tests.reliability_fixtures import IMAGE_CONFIG
from hm_pipeline_tests.test_ingest import (
    ARTICLE_HEADER,
    ARTICLE_ROWS,
    C1,
    CUSTOMER_HEADER,
    CUSTOMER_ROWS,
    HEADER_CASES,
    TRANSACTION_HEADER,
    TRANSACTION_ROWS,
    valid,  # noqa: F401  (fixture)
    write,
)

NOBODY = 65534


def _ingest_tx(paths: dict, **kwargs):
    return ingest_transactions(paths["transactions_csv"], paths["transactions"], paths["articles"],
                               paths["customers"], **kwargs)


def _no_output(paths: dict) -> None:
    folder = paths["transactions"].parent
    assert sorted(p.name for p in folder.iterdir()) == ["articles.parquet", "customers.parquet"]


# --- nothing half-written -----------------------------------------------------------------------------------------

EMPTY_CASES = {"empty file": b"", "blank lines only": b"\n\n", "header only": (TRANSACTION_HEADER + "\n").encode()}


@pytest.mark.parametrize("case", sorted(HEADER_CASES) + sorted(EMPTY_CASES))
def test_header_and_empty_file_errors_leave_no_output(valid, case):  # noqa: F811
    """test_ingest.py checks these messages; here: the previous good Parquet stays, and no temporary is left."""
    _ingest_tx(valid)
    before = valid["transactions"].read_bytes()
    if case in HEADER_CASES:
        write(valid["transactions_csv"], HEADER_CASES[case][0], TRANSACTION_ROWS)
    else:
        write(valid["transactions_csv"], "", [], raw=EMPTY_CASES[case])
    with pytest.raises(IngestError, match=r"^transactions_train.csv: "):
        _ingest_tx(valid)
    assert valid["transactions"].read_bytes() == before
    assert sorted(p.name for p in valid["transactions"].parent.iterdir()) == [
        "articles.parquet", "customers.parquet", "transactions.parquet"]


def test_duplicate_article_id_keeps_the_previous_articles(valid):  # noqa: F811
    before = valid["articles"].read_bytes()
    write(valid["articles_csv"], ARTICLE_HEADER, [*ARTICLE_ROWS, ARTICLE_ROWS[0]])
    with pytest.raises(IngestError, match=r"^articles.csv, row 4, column 'article_id': duplicate article_id"):
        ingest_articles(valid["articles_csv"], valid["articles"])
    assert valid["articles"].read_bytes() == before
    assert sorted(p.name for p in valid["articles"].parent.iterdir()) == ["articles.parquet", "customers.parquet"]


# --- CSV text -----------------------------------------------------------------------------------------------------

def test_huge_value_is_reported_with_a_short_message(valid):  # noqa: F811
    write(valid["transactions_csv"], TRANSACTION_HEADER, [*TRANSACTION_ROWS, f"2020-09-01,{C1},0108775015,{'9' * 3_000_000},2"])
    with pytest.raises(IngestError) as err:
        _ingest_tx(valid)
    assert (err.value.file, err.value.row, err.value.column) == ("transactions_train.csv", 4, "price")
    assert len(str(err.value)) < 300  # the 3 MB value is abbreviated, not echoed
    _no_output(valid)


@pytest.mark.parametrize("block_bytes", [64 << 20, 1 << 16], ids=["default-block", "line-longer-than-block"])
def test_huge_line_names_its_row(valid, block_bytes):  # noqa: F811
    write(valid["transactions_csv"], TRANSACTION_HEADER, [*TRANSACTION_ROWS, "x" * 3_000_000, TRANSACTION_ROWS[0]])
    with pytest.raises(IngestError) as err:
        _ingest_tx(valid, block_bytes=block_bytes)
    assert (err.value.file, err.value.row) == ("transactions_train.csv", 4)
    assert len(str(err.value)) < 300
    _no_output(valid)


def test_quoted_commas_doubled_quotes_and_newlines_in_detail_desc_survive(tmp_path):
    text = 'Soft, ""relaxed"" fit;\nline two, with a comma\r\nand a CRLF line'
    row = ARTICLE_ROWS[0][: ARTICLE_ROWS[0].index(',"Jersey top')] + f',"{text}"'
    src = write(tmp_path / "articles.csv", ARTICLE_HEADER, [row, ARTICLE_ROWS[2]])
    table = ingest_articles(src, tmp_path / "articles.parquet")
    assert table["detail_desc"].to_pylist()[0] == text.replace('""', '"')
    assert table.num_rows == 2


def test_unclosed_quote_in_detail_desc_names_row_and_column(tmp_path):
    broken = ARTICLE_ROWS[1].replace('"Line one\nline two"', '"Line one, never closed')
    src = write(tmp_path / "articles.csv", ARTICLE_HEADER, [ARTICLE_ROWS[0], broken, ARTICLE_ROWS[2]])
    with pytest.raises(IngestError) as err:
        ingest_articles(src, tmp_path / "out" / "articles.parquet")
    assert (err.value.file, err.value.row, err.value.column) == ("articles.csv", 2, "detail_desc")
    assert "closing quote missing" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_latin1_file_names_row_and_column(tmp_path):
    text = "\n".join([CUSTOMER_HEADER, CUSTOMER_ROWS[0].replace("ACTIVE", "ACTIVÉ"), CUSTOMER_ROWS[1]]) + "\n"
    src = write(tmp_path / "customers.csv", "", [], raw=text.encode("latin-1"))
    with pytest.raises(IngestError, match=r"^customers.csv, row 1, column 'club_member_status': value is not valid "
                                          r"UTF-8"):
        ingest_customers(src, tmp_path / "customers.parquet")
    assert not (tmp_path / "customers.parquet").exists()


def test_non_utf8_header(valid):  # noqa: F811
    raw = ("\n".join([TRANSACTION_HEADER.replace("price", "pr\xefce"), *TRANSACTION_ROWS]) + "\n").encode("latin-1")
    write(valid["transactions_csv"], "", [], raw=raw)
    with pytest.raises(IngestError, match=r"^transactions_train.csv: header row is not UTF-8"):
        _ingest_tx(valid)
    _no_output(valid)


def test_non_utf8_in_an_id_column(valid):  # noqa: F811
    raw = ("\n".join([TRANSACTION_HEADER, *TRANSACTION_ROWS]) + "\n").encode().replace(C1[:4].encode(), b"\xe9aaa", 1)
    write(valid["transactions_csv"], "", [], raw=raw)
    with pytest.raises(IngestError, match=r"transactions_train.csv, row 1, column 'customer_id': value is not valid"):
        _ingest_tx(valid)
    _no_output(valid)


def test_bom_with_semicolons_reports_the_delimiter_not_the_bom(valid):  # noqa: F811
    lines = [line.replace(",", ";") for line in [TRANSACTION_HEADER, *TRANSACTION_ROWS]]
    write(valid["transactions_csv"], "", [], raw=b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode())
    with pytest.raises(IngestError, match=r"^transactions_train.csv: header has a single column 't_dat;customer_id"
                                          r".*is the delimiter ';' instead of ','"):
        _ingest_tx(valid)
    _no_output(valid)


# --- unreadable files ---------------------------------------------------------------------------------------------

def _run_unprivileged(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run `code` where the kernel refuses reads of mode-000 files: this process if it is not root, else a child
    dropped to uid/gid 65534 with `setpriv` (root bypasses permission bits, so chmod alone proves nothing there)."""
    command = [sys.executable, "-c", code, *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv is not available: cannot make a file unreadable")
        command = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


@pytest.fixture
def shared_dir():
    """A folder every user can enter (pytest's tmp_path is private to its owner)."""
    path = Path(tempfile.mkdtemp(prefix="hm-unreadable-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_unreadable_csv_names_the_file_and_writes_nothing(shared_dir):
    src = write(shared_dir / "articles.csv", ARTICLE_HEADER, ARTICLE_ROWS)
    src.chmod(0o000)
    code = ("import sys\nfrom pathlib import Path\nfrom hm_pipeline.data.ingest import ingest_articles\n"
            "try:\n    ingest_articles(Path(sys.argv[1]), Path(sys.argv[2]))\n"
            "except OSError as e:\n    print(type(e).__name__, e)\nelse:\n    print('READ')\n")
    out = _run_unprivileged(code, str(src), str(shared_dir / "out" / "articles.parquet"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"PermissionError [Errno 13] Permission denied: '{src}'"
    assert not (shared_dir / "out" / "articles.parquet").exists()


def test_unreadable_image_is_skipped_with_the_reason(shared_dir):
    folder = shared_dir / "010"
    folder.mkdir()
    folder.chmod(0o755)
    (folder / "0100000001.jpg").write_bytes(jpeg_bytes(1))
    locked = folder / "0100000002.jpg"
    locked.write_bytes(jpeg_bytes(2))
    locked.chmod(0o000)
    code = ("import sys\nfrom hm_pipeline.images.scan import scan_folder\ns = scan_folder(sys.argv[1])\n"
            "print(s.article_ids)\nprint([(k.name, k.reason) for k in s.skipped])\n")
    out = _run_unprivileged(code, str(folder))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["['0100000001']", "[('0100000002.jpg', 'unreadable: Permission denied')]"]


# --- images through Dagster ---------------------------------------------------------------------------------------

def _embed(root: Path, folder: str):
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(image_defs.image_folders.name, [folder])
    return dg.materialize([image_defs.image_embeddings], partition_key=folder, instance=instance,
                          resources={"data_root": DataRootResource(data_root=str(root))}, run_config=IMAGE_CONFIG,
                          raise_on_error=False)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_every_bad_photo_is_skipped_and_listed_in_the_metadata(tmp_path):
    layout = DataLayout(tmp_path)
    ids = ["0100000001", "0100000002", "0100000003", "0100000004", "0100000005", "0110000001"]
    write_articles_parquet(layout.ingest_table("articles"), ids)
    folder = layout.images_dir / "010"
    folder.mkdir(parents=True)
    good = jpeg_bytes(1)
    (folder / "0100000001.jpg").write_bytes(good)
    (folder / "0100000002.jpg").write_bytes(good[: len(good) // 2])  # truncated JPEG
    (folder / "0100000003.jpg").write_bytes(b"")  # zero bytes
    (folder / "0100000004.jpg").write_bytes(png_bytes(4))  # PNG named .jpg
    (folder / "0100000005.jpg").write_bytes(b"\xff\xd8\xff" + bytes(200))  # JPEG magic, garbage after
    (folder / "0110000001.jpg").write_bytes(good)  # belongs in 011/
    (folder / "0109999999.jpg").write_bytes(good)  # not in articles

    result = _embed(tmp_path, "010")
    assert result.success
    meta = {k: v.value for k, v in result.asset_materializations_for_node("image_embeddings")[0].metadata.items()}
    assert (meta["images_embedded"], meta["images_skipped"]) == (1, 6)
    rows = {line.split(" | ")[0].strip("| "): line for line in meta["skipped"].splitlines()[2:]}
    assert "corrupt JPEG" in rows["0100000002.jpg"] and "truncated" in rows["0100000002.jpg"]
    assert "empty file (0 bytes)" in rows["0100000003.jpg"]
    assert "not a JPEG: PNG data in a .jpg file" in rows["0100000004.jpg"]
    assert "corrupt JPEG" in rows["0100000005.jpg"]
    assert "wrong folder: article 0110000001 belongs in 011/" in rows["0110000001.jpg"]
    assert "unknown article 0109999999" in rows["0109999999.jpg"]
    assert pq.read_table(layout.embeddings_file("010")).column("article_id").to_pylist() == ["0100000001"]
    assert not list(layout.embeddings_dir.glob(".tmp-*"))


def test_missing_image_root(tmp_path):
    layout = DataLayout(tmp_path)
    write_articles_parquet(layout.ingest_table("articles"), ["0100000001"])
    result = _embed(tmp_path, "010")
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert f"image folder {layout.images_dir / '010'} does not exist" in message
    assert not layout.embeddings_dir.exists()

    with dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(),
                                 resources={"data_root": DataRootResource(data_root=str(tmp_path))}) as context:
        tick = automation.image_folder_sensor(context)
    assert not tick.run_requests and not tick.dynamic_partitions_requests
