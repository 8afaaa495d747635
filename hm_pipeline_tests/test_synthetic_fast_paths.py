"""The vectorized building blocks of the generator agree with their plain (slow) definitions."""

from __future__ import annotations

import numpy as np
import pytest

from hm_pipeline.data.synthetic.csvio import byte_table, fixed_byte_table, table_rows
from hm_pipeline.data.synthetic.transactions import stable_argsort


def test_stable_argsort_matches_numpy_with_ties():
    rng = np.random.default_rng(0)
    for keys in (rng.integers(0, 50, 10_000), rng.integers(0, 2**40, 5_000), np.array([3]), np.zeros(7, int)):
        assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))
    huge = np.array([2**62, 1, 2**62, 0])  # no room to pack positions: falls back to numpy
    assert np.array_equal(stable_argsort(huge), np.argsort(huge, kind="stable"))


def test_table_rows_equal_joined_strings():
    rng = np.random.default_rng(1)
    ids = rng.integers(ord("a"), ord("z") + 1, (5, 4)).astype(np.uint8)
    words = ["", "x", "long value", None, "1.0"]
    tails = ["0.1,1", "0.05422033898305084,2", ""]
    n = 200
    i, j, k = rng.integers(0, 5, n), rng.integers(0, 5, n), rng.integers(0, 3, n)
    got = table_rows([(fixed_byte_table(ids, ","), i), (byte_table(words, ","), j), (byte_table(tails, "\n"), k)])
    want = "".join(f"{bytes(ids[a]).decode()},{words[b] or ''},{tails[c]}\n" for a, b, c in zip(i, j, k))
    assert got.tobytes().decode() == want


def test_table_rows_rejects_out_of_range_index():
    table = byte_table(["a", "b"], "\n")
    with pytest.raises(IndexError, match="out of range"):
        table_rows([(table, np.array([0, 2]))])
