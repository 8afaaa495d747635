"""Synthetic data sets shared by the generator tests, built once per test session.

Test modules import these fixtures; pytest then registers one fixture per module, so the results are memoized
here to build each data set only once per session.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hm_pipeline.data.synthetic.generate import SyntheticData, generate, sample_data
from hm_pipeline.data.synthetic.report import GenerationReport, build_report

TINY_SEED = 7
SMALL_SEED = 11
_built: dict[str, object] = {}


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> tuple[Path, GenerationReport]:
    """A tiny data set written with images (seed 7), and its report."""
    if "tiny" not in _built:
        out = tmp_path_factory.mktemp("tiny")
        _built["tiny"] = out, generate("tiny", out, seed=TINY_SEED, workers=1)
    return _built["tiny"]


@pytest.fixture(scope="session")
def small_data() -> tuple[SyntheticData, GenerationReport]:
    """The in-memory `small` data set (seed 11; what `generate` would write) and its statistics report."""
    if "small" not in _built:
        d = sample_data("small", SMALL_SEED)
        _built["small"] = d, build_report("small", SMALL_SEED, "(memory)", d.cat, d.tax, d.cust, d.tx, 0, 0)
    return _built["small"]
