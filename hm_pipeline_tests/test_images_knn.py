"""Exact top-k cosine neighbours, and the incremental update being identical to a full rebuild."""

from __future__ import annotations

import numpy as np
import pytest

from hm_pipeline.images.knn import diff_rows, row_hashes, topk_full, topk_update


def _ids(n: int, start: int = 0) -> np.ndarray:
    return np.array([f"{i:010d}" for i in range(start, start + n)], dtype=object)


def _brute_force(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Float64 cosine, self excluded, ordered by (score desc, index asc)."""
    x64 = x.astype(np.float64)
    xn = x64 / np.linalg.norm(x64, axis=1, keepdims=True)
    s = xn @ xn.T
    np.fill_diagonal(s, -np.inf)
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(s, order, axis=1)


@pytest.mark.parametrize(("n", "d", "block"), [(300, 48, 64), (3000, 32, 1024)])  # 3000: group-maxima prefilter
def test_topk_full_equals_brute_force(n, d, block):
    x = np.random.default_rng(n).standard_normal((n, d)).astype(np.float32)
    got = topk_full(x, k=10, block=block)
    order, scores = _brute_force(x, 10)
    assert np.array_equal(got.src, np.repeat(np.arange(n), 10))
    assert np.array_equal(got.dst.reshape(n, 10), order)
    assert np.allclose(got.score.reshape(n, 10), scores, atol=1e-6)
    assert np.array_equal(got.rank.reshape(n, 10), np.tile(np.arange(1, 11, dtype=np.int8), (n, 1)))
    assert got.score.dtype == np.float32 and got.rank.dtype == np.int8


def test_ties_are_broken_by_dst_index_and_short_lists_when_k_exceeds_n():
    x = np.array([[1, 0], [1, 0], [1, 0], [0, 1]], dtype=np.float32)  # rows 0-2 identical
    got = topk_full(x, k=10)
    assert got.dst[got.src == 2].tolist() == [0, 1, 3]
    assert got.dst[got.src == 3].tolist() == [0, 1, 2]  # all score 0: ascending id
    assert np.bincount(got.src).tolist() == [3, 3, 3, 3]


def test_scores_do_not_depend_on_block_size():
    x = np.random.default_rng(1).standard_normal((500, 64)).astype(np.float32)
    a, b = topk_full(x, 10, block=7), topk_full(x, 10, block=500)
    assert np.array_equal(a.dst, b.dst) and np.array_equal(a.score, b.score)


def _update_vs_full(old_ids, old_x, new_ids, new_x, k=10, block=64):
    old = topk_full(old_x, k, block)
    added, changed, removed = diff_rows(old_ids, row_hashes(old_x), new_ids, row_hashes(new_x))
    got, stats = topk_update(
        new_x, new_ids, old_ids[old.src], old_ids[old.dst], old.score, added, changed, removed, k, block
    )
    ref = topk_full(new_x, k, 1024)
    for field in ("src", "dst", "score", "rank"):
        assert np.array_equal(getattr(got, field), getattr(ref, field)), field
    return stats, (added, changed, removed)


def test_incremental_update_equals_full_rebuild_with_additions_changes_removals():
    rng = np.random.default_rng(7)
    n, d = 800, 32
    # clustered data with exact duplicates, so that ties and close scores occur
    centres = rng.standard_normal((20, d))
    x = (centres[rng.integers(0, 20, n)] + 0.3 * rng.standard_normal((n, d))).astype(np.float32)
    x[10] = x[11]
    ids = _ids(n)
    present = rng.random(n) > 0.1  # ~80 rows only in the new snapshot
    old_ids, old_x = ids[present], x[present]
    new_x = x.copy()
    changed_rows = rng.choice(np.flatnonzero(present), 15, replace=False)
    new_x[changed_rows] = (centres[rng.integers(0, 20, 15)] + 0.3 * rng.standard_normal((15, d))).astype(np.float32)
    keep = np.ones(n, dtype=bool)
    keep[rng.choice(np.flatnonzero(present), 12, replace=False)] = False
    stats, (added, changed, removed) = _update_vs_full(old_ids, old_x, ids[keep], new_x[keep])
    assert stats.mode == "incremental"
    assert len(added) > 50 and 0 < len(changed) <= 15 and len(removed) == 12
    assert stats.lists_merged > 0


def test_incremental_add_only_recomputes_only_new_lists():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((600, 16)).astype(np.float32)
    ids = _ids(600)
    stats, _ = _update_vs_full(ids[:550], x[:550], ids, x)
    assert (stats.mode, stats.added, stats.lists_recomputed) == ("incremental", 50, 50)


def test_incremental_without_changes_is_a_no_op_and_falls_back_to_full_when_most_changed():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((200, 16)).astype(np.float32)
    ids = _ids(200)
    stats, _ = _update_vs_full(ids, x, ids, x)
    assert (stats.lists_recomputed, stats.lists_merged) == (0, 200)
    y = x.copy()
    y[:150] += 1.0
    stats, _ = _update_vs_full(ids, x, ids, y)
    assert stats.mode == "full"


@pytest.mark.parametrize("n", [0, 1, 2])
def test_tiny_inputs(n):
    x = np.eye(2, 8, dtype=np.float32)[:n]
    got = topk_full(x, k=10)
    assert len(got.src) == n * (n - 1)
    stats, _ = _update_vs_full(_ids(n), x, _ids(n), x)
    assert stats.mode in ("incremental", "full")


@pytest.mark.parametrize("n, d, block, shift", [(3000, 64, 256, 0.0), (1500, 256, 1024, 2.0), (300, 16, 7, 0.5)])
def test_symmetric_pass_equals_row_blocks_bit_for_bit(n, d, block, shift):
    """The half-flops symmetric candidate pass (default) and the every-row-against-all pass give the same lists."""
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, d), dtype=np.float32) + shift * rng.standard_normal((1, d), dtype=np.float32)
    x[5] = x[9]  # exact ties
    a, b = topk_full(x, 10, block, symmetric=False), topk_full(x, 10, block, symmetric=True)
    for field in ("src", "dst", "score", "rank"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_symmetric_pass_pruning_on_the_way_keeps_every_neighbour(monkeypatch):
    """Pruning the candidate pairs after every block (floors raised from the pairs so far) changes nothing."""
    from hm_pipeline.images import knn

    rng = np.random.default_rng(7)
    x = rng.standard_normal((2000, 48), dtype=np.float32) + 0.7 * rng.standard_normal((1, 48), dtype=np.float32)
    x[11] = x[1500]  # an exact tie across blocks
    expected = topk_full(x, 10, 128, symmetric=False)
    monkeypatch.setattr(knn, "PRUNE_AT", 0)
    got = topk_full(x, 10, 128, symmetric=True)
    for field in ("src", "dst", "score", "rank"):
        np.testing.assert_array_equal(getattr(expected, field), getattr(got, field))


def test_prune_keys_order_pairs_by_src_then_value_descending():
    from hm_pipeline.images.knn import _descending_keys

    val = np.array([-np.inf, -3.0, -0.5, -0.0, 0.0, 1e-30, 0.5, 1.0, np.inf], dtype=np.float32)
    src = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1])
    order = np.argsort(_descending_keys(src, val), kind="stable")
    assert src[order].tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1]
    expected = np.array([1.0, 1e-30, -0.0, -3.0, np.inf, 0.5, 0.0, -0.5, -np.inf], dtype=np.float32)
    np.testing.assert_array_equal(val[order], expected)
    assert np.signbit(val[order][2]) and not np.signbit(val[order][6])  # -0.0 after +1e-30, +0.0 before -0.5
