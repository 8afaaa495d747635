"""Child process for the crash tests: run one pipeline step on a data root, optionally pausing mid-write.

    python -m hm_pipeline_tests.reliability_crash_child ROOT STEP MARKER

STEP is `graph` (product_graph: the parent polls for the temporary database folder and kills this process while
the load runs), `embed:<folder>` (one image partition: pauses after the embeddings Parquet was written to its
temporary path, before the rename) or `submission` (submission_csv: pauses after half of the rows were written to
the temporary CSV). The pause is here, in test code: it writes MARKER and sleeps until the parent sends SIGKILL.
Production code is not changed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from hm_pipeline.atomic import TMP_MARK


def _pause(marker: Path, what: str) -> None:
    part = marker.with_name(marker.name + ".part")  # MARKER appears with its text: the parent kills as soon as it
    part.write_text(what)  # exists, and `write_text` creates the file before it writes
    os.replace(part, marker)
    while True:  # until SIGKILL
        time.sleep(60)


def pause_before_rename(marker: Path, target_name: str) -> None:
    """`atomic_path` fsyncs the finished temporary file before renaming it: pause there for `target_name`."""
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        if name.startswith(TMP_MARK) and name.endswith(f"-{target_name}"):
            _pause(marker, name)

    os.fsync = fsync


def pause_mid_csv(marker: Path) -> None:
    """Write the first half of the rows of the next `pyarrow.csv.write_csv` call, flush, then pause."""
    import pyarrow.csv as pv

    real_write = pv.write_csv

    def write_csv(table, sink, *args, **kwargs):
        real_write(table.slice(0, table.num_rows // 2), sink, *args, **kwargs)
        sink.flush()
        _pause(marker, getattr(sink, "name", "csv"))

    pv.write_csv = write_csv


def main(root: str, step: str, marker: str) -> int:
    import dagster as dg

    from hm_pipeline.layout import DataLayout
    from hm_pipeline_tests import reliability_fixtures as rf

    layout = DataLayout(Path(root))
    instance = dg.DagsterInstance.ephemeral()
    if step == "graph":
        rf.materialize(layout, ["product_graph"], instance)
    elif step.startswith("embed:"):
        folder = step.split(":", 1)[1]
        rf.register_folders(layout, instance)
        pause_before_rename(Path(marker), f"{folder}.parquet")
        rf.materialize(layout, ["image_embeddings"], instance, partition_key=folder, run_config=rf.IMAGE_CONFIG)
    elif step == "submission":
        pause_mid_csv(Path(marker))
        rf.materialize(layout, ["submission_csv"], instance)
    else:
        raise SystemExit(f"unknown step {step!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
