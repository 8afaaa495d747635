"""Same scale and seed give byte-identical files; another seed gives different data."""

from __future__ import annotations

import hashlib

import pytest

from hm_pipeline.data.synthetic.generate import generate, sample_data
from hm_pipeline.data.synthetic.report import build_report

from .synthetic_fixtures import TINY_SEED, tiny_data  # noqa: F401


def _digest(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_identical_bytes(tiny_data, tmp_path):
    out, _ = tiny_data
    again = tmp_path / "again"
    generate("tiny", again, seed=TINY_SEED, workers=2)  # worker count must not matter
    assert _digest(again) == _digest(out)


def test_other_seed_differs(tiny_data, tmp_path):
    out, _ = tiny_data
    other = tmp_path / "other"
    generate("tiny", other, seed=TINY_SEED + 1, images=False)
    for name in ("articles.csv", "customers.csv", "transactions_train.csv"):
        assert (other / name).read_bytes() != (out / name).read_bytes()
    assert not (other / "images").exists() or not any((other / "images").iterdir())


def test_rerun_refuses_to_overwrite(tmp_path):
    generate("tiny", tmp_path, seed=3, images=False)
    before = _digest(tmp_path)
    with pytest.raises(FileExistsError, match="already holds articles.csv, customers.csv"):
        generate("tiny", tmp_path, seed=4, images=False)
    assert _digest(tmp_path) == before


def test_sample_data_is_what_generate_writes(tiny_data):
    """The in-memory data the statistics tests use is the data `generate` writes for the same seed."""
    out, report = tiny_data
    d = sample_data("tiny", TINY_SEED)
    again = build_report("tiny", TINY_SEED, str(out), d.cat, d.tax, d.cust, d.tx, report.counts["images"],
                         report.counts["image_folders"])
    assert again.stats == report.stats and again.counts == report.counts
    lines = (out / "transactions_train.csv").read_text().splitlines()
    assert len(lines) - 1 == len(d.tx)
    assert float(lines[1].split(",")[3]) == d.tx.price[0]
