"""Real input is never overwritten: `hm-pipeline run` generates synthetic data only into an input/ holding none of
the Kaggle files; a partial or unreadable input/ stops the run with a message naming the file, and nothing in
input/ changes (the CLI is driven in a subprocess, as a user runs it)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hm_pipeline.atomic import atomic_path
from hm_pipeline.data.input_files import InputFilesError, needs_synthetic_data, present_inputs
from hm_pipeline_tests.test_reliability_bad_input import _run_unprivileged, shared_dir  # noqa: F401
from hm_pipeline_tests.test_ingest import ARTICLE_HEADER, ARTICLE_ROWS, CUSTOMER_HEADER, CUSTOMER_ROWS, write

CLI_TIMEOUT = 120  # the refusal takes about a second; the old behaviour (generate, then run everything) much longer


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hm_pipeline.cli", *args], capture_output=True, text=True,
                          timeout=CLI_TIMEOUT, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})


def _snapshot(folder: Path) -> dict[str, str]:
    """Every entry under `folder` (links not followed) with the hash of its bytes."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


def _hand_written_input(input_dir: Path) -> None:
    write(input_dir / "articles.csv", ARTICLE_HEADER, ARTICLE_ROWS)
    write(input_dir / "customers.csv", CUSTOMER_HEADER, CUSTOMER_ROWS)


def test_run_refuses_real_articles_and_customers_without_transactions(real_sample, tmp_path):
    """The reported case: real articles.csv + customers.csv, no transactions_train.csv."""
    input_dir = tmp_path / "root" / "input"
    input_dir.mkdir(parents=True)
    for name in ("articles.csv", "customers.csv"):
        shutil.copyfile(real_sample / name, input_dir / name)
    before = _snapshot(tmp_path)
    result = _cli("run", "--data-root", str(tmp_path / "root"))
    assert result.returncode != 0
    assert "transactions_train.csv" in result.stderr and "not" in result.stderr, result.stderr
    assert "generating" not in result.stdout
    assert _snapshot(tmp_path) == before  # byte-identical, no images/ added, no ingest started


@pytest.mark.parametrize("present", [("articles.csv",), ("articles.csv", "customers.csv"), ("images",),
                                     ("sample_submission.csv",)])
def test_run_refuses_any_partial_input_and_leaves_it_alone(tmp_path, present):
    input_dir = tmp_path / "root" / "input"
    _hand_written_input(input_dir)
    for name in ("articles.csv", "customers.csv"):
        if name not in present:
            (input_dir / name).unlink()
    if "images" in present:  # real photos of another data set: no synthetic folder may be added beside them
        write(input_dir / "images" / "010" / "0100000001.jpg", "", [], raw=b"\xff\xd8\xff\xe0 real photo")
    if "sample_submission.csv" in present:
        write(input_dir / "sample_submission.csv", "customer_id,prediction", [f"{'a' * 64},0108775015"])
    before = _snapshot(tmp_path)
    result = _cli("run", "--data-root", str(tmp_path / "root"))
    assert result.returncode != 0
    assert "transactions_train.csv" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert _snapshot(tmp_path) == before


def _loop(path: Path) -> None:
    path.symlink_to(path.name)


def _directory(path: Path) -> None:
    path.mkdir()


def _broken_link(path: Path) -> None:
    path.symlink_to(path.parent / "gone.csv")


def _link_outside(path: Path) -> None:
    outside = path.parent.parent.parent / "elsewhere.csv"
    outside.write_text(CUSTOMER_HEADER + "\n")
    path.symlink_to(outside)


@pytest.mark.parametrize("make, says", [(_loop, "symbolic link loop"), (_directory, "not a regular file"),
                                        (_broken_link, "broken symbolic link"), (_link_outside, "outside")])
def test_unreadable_input_is_named_never_missing(tmp_path, make, says):
    input_dir = tmp_path / "root" / "input"
    _hand_written_input(input_dir)
    make(input_dir / "transactions_train.csv")
    with pytest.raises(InputFilesError) as err:
        needs_synthetic_data(input_dir)
    assert says in str(err.value) and str(input_dir / "transactions_train.csv") in str(err.value)
    (input_dir / "articles.csv").unlink()
    (input_dir / "customers.csv").unlink()
    before = _snapshot(tmp_path)
    result = _cli("run", "--data-root", str(tmp_path / "root"))  # alone, it must not count as "no Kaggle files"
    assert result.returncode != 0 and says in result.stderr, result.stderr
    assert "generating" not in result.stdout
    assert _snapshot(tmp_path) == before


def test_permission_denied_is_named(shared_dir):  # noqa: F811
    input_dir = shared_dir / "input"
    _hand_written_input(input_dir)
    write(input_dir / "transactions_train.csv", "t_dat", [])
    for path in (input_dir, *input_dir.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (input_dir / "transactions_train.csv").chmod(0)
    code = ("import sys\nfrom hm_pipeline.data.input_files import needs_synthetic_data\n"
            "try:\n    needs_synthetic_data(sys.argv[1])\nexcept ValueError as e:\n    print(e)\n")
    out = _run_unprivileged(code, str(input_dir))
    assert out.stdout.strip() == f"{input_dir / 'transactions_train.csv'} cannot be read: Permission denied", out


def test_empty_or_absent_input_is_generated_and_complete_input_is_used(tmp_path):
    assert needs_synthetic_data(tmp_path / "absent") is True
    (tmp_path / "input" / "images").mkdir(parents=True)  # an empty images/ holds nothing
    assert needs_synthetic_data(tmp_path / "input") is True
    _hand_written_input(tmp_path / "input")
    write(tmp_path / "input" / "transactions_train.csv", "t_dat", [])
    assert needs_synthetic_data(tmp_path / "input") is False
    assert present_inputs(tmp_path / "input") == ["articles.csv", "customers.csv", "transactions_train.csv"]


def test_input_folder_itself_may_be_a_link(tmp_path):
    """Pointing input/ at a Kaggle download is how real data is used; links inside it may not leave it."""
    download = tmp_path / "download"
    _hand_written_input(download)
    write(download / "transactions_train.csv", "t_dat", [])
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "input").symlink_to(download)
    assert needs_synthetic_data(tmp_path / "root" / "input") is False


def test_generate_command_never_overwrites(tmp_path):
    _hand_written_input(tmp_path / "out")
    before = _snapshot(tmp_path)
    result = _cli("generate", "--out", str(tmp_path / "out"), "--no-images")
    assert result.returncode != 0 and "already holds articles.csv, customers.csv" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("existing", ["file", "dangling link", "directory"])
def test_atomic_path_without_replace_keeps_what_is_there(tmp_path, existing):
    target = tmp_path / "target"
    if existing == "file":
        target.write_text("real")
    elif existing == "dangling link":
        target.symlink_to(tmp_path / "nowhere")
    else:
        (target / "inner").mkdir(parents=True)
    before = _snapshot(tmp_path)
    with pytest.raises(FileExistsError, match="not overwritten"):
        with atomic_path(target, replace=False) as tmp:
            if existing == "directory":
                tmp.mkdir()
            else:
                tmp.write_text("synthetic")
    assert _snapshot(tmp_path) == before  # and the temporary is gone
    with atomic_path(tmp_path / "new", replace=False) as tmp:
        tmp.write_text("fresh")
    assert (tmp_path / "new").read_text() == "fresh"


def test_dagster_dev_state_is_git_ignored():
    """`dagster dev` writes .nux/ into the repo root; it must never show up as a change to commit."""
    repo = Path(__file__).resolve().parents[1]
    if not (repo / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(["git", "-C", str(repo), "check-ignore", "-q", ".nux/nux.yaml"])
    assert result.returncode == 0
