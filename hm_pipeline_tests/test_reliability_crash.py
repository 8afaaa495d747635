"""Crash safety: a step killed with SIGKILL mid-write leaves the previous output intact; the next run completes,
equals an uninterrupted run and leaves no temporary file behind. A run that fails on bad input destroys nothing.

Each test copies the fully materialized tiny root of `reliability_fixtures.pipeline_runs` and runs one step in a
child process (`reliability_crash_child.py`): the graph load is killed as soon as its temporary database exists
(polled, no pause); the image partition and the submission pause in the child's test code (after the temporary
Parquet is complete but not renamed; after half of the CSV rows were written) and are killed there.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from hm_pipeline.atomic import TMP_MARK
from hm_pipeline.layout import DataLayout
from hm_pipeline_tests import reliability_fixtures as rf
from hm_pipeline_tests.conftest import REPO_ROOT
from hm_pipeline_tests.reliability_fixtures import pipeline_runs  # noqa: F401  (fixture)

CHILD_TIMEOUT_S = 300  # TensorFlow's import alone takes ~5 s on an idle machine; the CI box is shared


@pytest.fixture
def root(pipeline_runs, tmp_path) -> DataLayout:  # noqa: F811
    """A private copy of the materialized root `a` (after its second run)."""
    shutil.copytree(pipeline_runs["a"].root, tmp_path / "root", symlinks=True)
    return DataLayout(tmp_path / "root")


def _spawn(layout: DataLayout, step: str, tmp_path: Path) -> tuple[subprocess.Popen, Path, Path]:
    marker, log = tmp_path / "paused", tmp_path / "child.log"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "OPENBLAS_NUM_THREADS": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hm_pipeline_tests.reliability_crash_child", str(layout.root),
                                 step, str(marker)], cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return proc, marker, log


def _wait_then_kill(proc: subprocess.Popen, ready: Callable[[], bool], log: Path) -> None:
    """Poll `ready` every 2 ms while the child runs; then SIGKILL it. Fails if the child ended on its own."""
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    try:
        while not ready():
            if proc.poll() is not None:
                pytest.fail(f"child ended (rc {proc.returncode}) before the moment to kill it:\n"
                            f"{log.read_text(errors='replace')[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"child did not reach the moment to kill it in {CHILD_TIMEOUT_S}s")
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _temps(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{TMP_MARK}*"))


def test_kill_during_graph_load(root, tmp_path, pipeline_runs):  # noqa: F811
    reference = pipeline_runs["a2_graph"]
    assert rf.graph_counts(root) == reference
    proc, _, log = _spawn(root, "graph", tmp_path)
    _wait_then_kill(proc, lambda: any(root.graph_dir.glob(f"{TMP_MARK}*/graph.db")), log)

    assert [p.name.endswith("-kuzu") for p in _temps(root.graph_dir)] == [True]  # killed mid-load
    assert rf.graph_counts(root) == reference  # the previous graph is untouched and readable

    instance = dg.DagsterInstance.ephemeral()
    rf.register_folders(root, instance)
    rf.materialize(root, ["product_graph", "age_groups", "similar_graph"], instance)
    assert rf.graph_counts(root) == reference
    assert rf.temp_leftovers(root.root) == []


def test_kill_during_image_partition_write(root, tmp_path):
    folder = max(os.listdir(root.images_dir), key=lambda f: len(os.listdir(root.images_dir / f)))
    target = root.embeddings_file(folder)
    before = target.read_bytes()
    proc, marker, log = _spawn(root, f"embed:{folder}", tmp_path)
    _wait_then_kill(proc, marker.exists, log)

    left = _temps(target.parent)
    assert [p.name for p in left] == [marker.read_text()] and left[0].stat().st_size > 0  # killed before rename
    assert target.read_bytes() == before

    instance = dg.DagsterInstance.ephemeral()
    rf.register_folders(root, instance)
    rf.materialize(root, ["image_embeddings"], instance, partition_key=folder, run_config=rf.IMAGE_CONFIG)
    assert target.read_bytes() == before  # equals the uninterrupted run's file
    assert rf.temp_leftovers(root.root) == []


def test_kill_during_submission_write(root, tmp_path):
    target = root.submission_file
    before = target.read_bytes()
    proc, marker, log = _spawn(root, "submission", tmp_path)
    _wait_then_kill(proc, marker.exists, log)

    [partial] = _temps(target.parent)
    written = partial.read_bytes()
    assert written.startswith(b"customer_id,prediction\n") and 1 < written.count(b"\n") < before.count(b"\n")
    assert target.read_bytes() == before

    rf.materialize(root, ["submission_csv"], dg.DagsterInstance.ephemeral())
    assert target.read_bytes() == before
    assert rf.temp_leftovers(root.root) == []


def test_failed_ingest_run_keeps_the_previous_outputs(root):
    snapshot = rf.snapshot(root)
    csv = root.input_file("transactions_train.csv")
    lines = csv.read_bytes().split(b"\n")
    fields = lines[7].split(b",")
    fields[3] = b"12,5"  # a decimal comma: one field too many
    lines[7] = b",".join(fields)
    csv.write_bytes(b"\n".join(lines))

    result = dg.materialize([*rf.ASSETS, *rf.CHECKS], selection=["transactions", "product_graph"],
                            instance=dg.DagsterInstance.ephemeral(), resources=rf.resources(root),
                            raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "transactions"
    assert "transactions_train.csv, row 7: expected 5 fields, found 6" in str(failure.step_failure_data.error)
    assert rf.snapshot(root) == snapshot  # nothing rewritten, nothing removed
    assert rf.temp_leftovers(root.root) == []


def test_only_temporaries_of_dead_writers_are_removed(tmp_path):
    from hm_pipeline.atomic import atomic_path, remove_dead_writers_temps

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead_pid = int(dead.stdout)
    target = tmp_path / "fused.parquet"
    stale = tmp_path / f"{TMP_MARK}{dead_pid}-0123abcd-fused.parquet"
    live = tmp_path / f"{TMP_MARK}{os.getpid()}-4567cdef-fused.parquet"  # a writer still running (this process)
    other = tmp_path / f"{TMP_MARK}{dead_pid}-89abcdef-submission.csv"  # another file's temporary
    for path in (stale, live, other):
        path.write_bytes(b"partial")
    with atomic_path(target) as tmp:
        assert tmp.name.startswith(f"{TMP_MARK}{os.getpid()}-")
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert not stale.exists() and live.exists() and other.exists()
    assert remove_dead_writers_temps(tmp_path / "submission.csv") == [other]
