"""One writer per data root: the lock (`data_root_lock`) and the temp clean-up that spares live writers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import dagster as dg
import pytest

from hm_pipeline import data_root_lock
from hm_pipeline.atomic import TMP_MARK, remove_stale_temps
from hm_pipeline.defs.resources import DataRootResource
from hm_pipeline.layout import DataLayout


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_remove_stale_temps_spares_a_live_writers_temp(tmp_path):
    live = tmp_path / f"{TMP_MARK}{os.getpid()}-0123abcd-graph.db"  # another run, still writing
    dead = tmp_path / f"{TMP_MARK}{_dead_pid()}-4567cdef-graph.db"  # a writer killed mid-write
    for folder in (live, dead):
        folder.mkdir()
        (folder / "data").write_bytes(b"x")
    assert remove_stale_temps(tmp_path) == [dead]
    assert (live / "data").exists() and not dead.exists()


def _holder_process(layout: DataLayout) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import sys, time
        from hm_pipeline import data_root_lock
        from hm_pipeline.layout import DataLayout
        with data_root_lock.hold(DataLayout.from_env({str(layout.root)!r}), "test holder"):
            print("held", flush=True)
            sys.stdin.readline()
    """)
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_second_writer_waits_or_fails_naming_the_holder(tmp_path):
    layout = DataLayout(tmp_path)
    holder = _holder_process(layout)
    try:
        with pytest.raises(data_root_lock.DataRootBusy) as busy:
            with data_root_lock.hold(layout, "second", wait=False):
                pass
        assert f"pid {holder.pid} on " in str(busy.value) and "(test holder)" in str(busy.value)
        messages: list[str] = []
        waited = threading.Event()

        def second() -> None:
            with data_root_lock.hold(layout, "second", on_wait=messages.append):
                waited.set()

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(1.0)
        assert not waited.is_set() and len(messages) == 1 and f"pid {holder.pid}" in messages[0]
        holder.communicate("\n", timeout=30)
        thread.join(timeout=30)
        assert waited.is_set()
    finally:
        holder.kill()
    assert data_root_lock.holder(layout) is None  # the holder information goes with the lock


def test_lock_is_reentrant_in_one_process_and_dagster_steps_take_it(tmp_path):
    layout = DataLayout(tmp_path)
    seen: list[dict | None] = []

    @dg.asset
    def probe(data_root: DataRootResource) -> None:
        seen.append(data_root_lock.holder(data_root.layout()))

    with data_root_lock.hold(layout, "hm-pipeline run (test)"):  # as the CLI: held around execute_in_process
        result = dg.materialize([probe], resources={"data_root": DataRootResource(data_root=str(tmp_path))})
    assert result.success and seen[0]["what"] == "hm-pipeline run (test)" and seen[0]["pid"] == os.getpid()
    result = dg.materialize([probe], resources={"data_root": DataRootResource(data_root=str(tmp_path))})
    assert result.success and seen[1]["what"].startswith(f"dagster run {result.run_id}")
    assert data_root_lock.holder(layout) is None
