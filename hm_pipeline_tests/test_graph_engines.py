"""Graph query results vs pandas, for each embedded engine in its own process (kuzu and ladybug cannot share one).

The data has heavy repeat purchases, so every 2-hop count runs over parallel PURCHASED edges. The default engine
(`DEFAULT_ENGINE`) must agree with pandas on every quantity; so must any other installed engine before anyone
switches to it (see the README for the 1M-purchase comparison behind the default).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from hm_pipeline.graph.embedded import DEFAULT_ENGINE, ENGINES
from hm_pipeline_tests.conftest import REPO_ROOT
from hm_pipeline_tests.graph_crosscheck import expected_results, mismatches, samples
from hm_pipeline_tests.graph_fixtures import random_ingest

SIZES = {"customers": 300, "articles": 40, "transactions": 4000, "seed": 7}


@pytest.fixture(scope="module")
def expected():
    tables = random_ingest(SIZES["customers"], SIZES["articles"], SIZES["transactions"], SIZES["seed"])
    want = expected_results(tables, *samples(tables))
    assert want["two_hop_path_count"] > 10 * want["purchase_count"]  # the data really has shared/repeat purchases
    assert len(want["co_purchase_scores"]) > 100
    return want


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_results_equal_pandas(engine, expected, tmp_path):
    if importlib.util.find_spec(engine) is None:
        if engine == DEFAULT_ENGINE:
            pytest.fail(f"the default graph engine {engine!r} is not installed")
        pytest.skip(f"{engine} is not installed")
    out = tmp_path / f"{engine}.json"
    args = [f"--{k}={v}" for k, v in SIZES.items()]
    done = subprocess.run([sys.executable, "-m", "hm_pipeline_tests.graph_crosscheck", engine, str(out), *args],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert mismatches(report["results"], expected) == {}


def test_the_oracle_notices_a_wrong_count(expected):
    wrong = json.loads(json.dumps(expected))
    wrong["two_hop_path_count"] -= 1
    wrong["co_purchase_scores"] = wrong["co_purchase_scores"][1:]
    assert set(mismatches(wrong, expected)) == {"two_hop_path_count", "co_purchase_scores"}
