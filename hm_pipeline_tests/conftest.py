"""Shared fixtures: repo paths, the real H&M sample (skipped when ../shared is absent)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_SAMPLE = REPO_ROOT.parent / "shared" / "real_sample"

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


@pytest.fixture
def real_sample() -> Path:
    """The folder of real H&M rows and photos; the test is skipped when it is not beside the repo."""
    if not REAL_SAMPLE.is_dir():
        pytest.skip(f"real sample not found at {REAL_SAMPLE}")
    return REAL_SAMPLE


@pytest.fixture(scope="session")
def neo4j_local(tmp_path_factory):
    """One real Neo4j server (with GDS) for the session, from the jars `.ci/setup` installs; stopped at the end.

    Yields `(layout, state)`: the data root it belongs to and its `ServerState` (uri, password, pid)."""
    from hm_pipeline.graph import neo4j_server
    from hm_pipeline.layout import DataLayout

    neo4j_server.install()  # quick when .ci/setup already did it; fails with Maven's message otherwise
    layout = DataLayout.from_env(tmp_path_factory.mktemp("neo4j-root"))
    state = neo4j_server.start(layout, heap="768m", pagecache="256m")
    try:
        yield layout, state
    finally:
        neo4j_server.stop(layout)
