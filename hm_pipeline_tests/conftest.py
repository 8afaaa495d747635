"""Shared fixtures: repo paths, the real H&M sample (skipped when ../shared is absent); the order in which the
suite's two pytest-xdist workers (`-n 2` in pyproject.toml) take the modules."""

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

# Modules that share one session fixture run on the same worker (session fixtures are built once per worker).
SHARED_WORKER = {
    "test_reliability_crash": "pipeline_runs",  # reliability_fixtures.pipeline_runs: 4 pipeline runs
    "test_reliability_idempotency": "pipeline_runs",
}
# Slowest first (longest-processing-time scheduling): a worker takes the next module when it is nearly done, so a
# long module taken last would leave the other worker idle. Seconds from `--durations` on 2 shared cores
# (bench/RESULTS.md, "Test suite time"); every other module follows in collection order.
SLOWEST_FIRST = [
    "test_ui_browser",  # 590 s: `hm-pipeline run`, then dagster dev, its runs and sensor ticks (much of it waiting)
    "test_graph_neo4j_server",  # 340 s: a real Neo4j server, started twice
    "test_images_precision",  # 250 s: 300 photos at 224 px in fp32, bf16 and int8 (+ one int8 conversion)
    "test_cli_run",  # 210 s: four `hm-pipeline run` subprocesses
    "test_reliability_crash",  # 80 s (+ idempotency): the pipeline_runs fixture, then children killed mid-write
    "test_recommend_defs",
    "test_graph_generated",
    "test_graph_cypher_lint",
]


def _module(item: pytest.Item) -> str:
    return Path(str(item.path)).stem


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """xdist's module-at-a-time scheduling (`--dist loadfile`), with the SHARED_WORKER modules as one unit.

    (A scheduler rather than `xdist_group` marks: xdist 3.8 adds the group to `item._nodeid`, which pytest 9 no
    longer reads, so `--dist loadgroup` silently sends every test on its own.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return SHARED_WORKER.get(Path(path).stem, path)

    return ModuleScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slowest modules first; tests keep their order within a module (the browser and Neo4j server modules rely
    on it)."""
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(_module(item), len(rank)))  # stable: collection order otherwise


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
        neo4j_server.stop(layout, force=True)  # a slow shutdown leaves its thread dump, never a stray server
