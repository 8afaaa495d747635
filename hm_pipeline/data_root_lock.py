"""One writer per data root: an OS file lock (`filelock`) taken by `hm-pipeline run` and by every Dagster run step.

The lock file is `<root>/.hm-pipeline.lock`; beside it `<root>/.hm-pipeline.lock.json` says who holds it (pid, host,
command or run id, since when), so that a second writer can tell the user whom it is waiting for. The lock is
reentrant within a process (`is_singleton`): `hm-pipeline run` holds it and the Dagster runs it executes in-process
take it again without deadlock. The OS releases it when the holder dies, so a killed writer never blocks the root.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator

import filelock

from hm_pipeline.layout import DataLayout

LOCK_FILE = ".hm-pipeline.lock"
HOLDER_FILE = ".hm-pipeline.lock.json"


class DataRootBusy(RuntimeError):
    """Another writer holds the data root and the caller chose not to wait."""


def _lock(layout: DataLayout) -> filelock.FileLock:
    layout.root.mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(layout.root / LOCK_FILE, is_singleton=True, thread_local=False)


def holder(layout: DataLayout) -> dict | None:
    """What the current (or last) holder wrote beside the lock, or None."""
    try:
        return json.loads((layout.root / HOLDER_FILE).read_text())
    except (OSError, ValueError):
        return None


def describe_holder(info: dict | None) -> str:
    if not info:
        return "another process (no holder information)"
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(info.get("since", 0)))
    return f"pid {info.get('pid')} on {info.get('host')} ({info.get('what')}), since {since}"


def _write_holder(layout: DataLayout, what: str) -> None:
    info = {"pid": os.getpid(), "host": socket.gethostname(), "what": what, "since": round(time.time(), 3)}
    tmp = layout.root / f"{HOLDER_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps(info))
    os.replace(tmp, layout.root / HOLDER_FILE)


@contextlib.contextmanager
def hold(layout: DataLayout, what: str, wait: bool = True,
         on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the data root's write lock for the block.

    `what` names the writer (e.g. "hm-pipeline run", "dagster run 1a2b3c4d (full_refresh)"). When another process
    holds it: with `wait`, call `on_wait(message naming the holder)` once and block until it is free; without,
    raise `DataRootBusy` naming the holder. Reentrant in one process: an inner `hold` neither waits nor rewrites
    the holder information.
    """
    lock = _lock(layout)
    outer = not lock.is_locked
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        message = f"data root {layout.root} is in use by {describe_holder(holder(layout))}"
        if not wait:
            raise DataRootBusy(f"{message}; not waiting (--no-wait)") from None
        (on_wait or (lambda m: print(m, file=sys.stderr)))(f"{message}; waiting for it to finish")
        lock.acquire(poll_interval=0.5)
    try:
        if outer:
            _write_holder(layout, what)
        yield
    finally:
        if outer:
            (layout.root / HOLDER_FILE).unlink(missing_ok=True)
        lock.release()
