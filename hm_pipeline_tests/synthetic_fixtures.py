"""Session-scoped synthetic data sets shared by the generator tests (imported by the test modules that use them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hm_pipeline.data.synthetic.generate import generate

TINY_SEED = 7


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> tuple[Path, object]:
    """A tiny data set with images (seed 7) and its report."""
    out = tmp_path_factory.mktemp("tiny")
    report = generate("tiny", out, seed=TINY_SEED, workers=1)
    return out, report
