"""Issue #14: the generated shoppers match statistics measured on real H&M rows, and the catalogue's structure
matches the complete real articles table (`../shared/real_sample/articles_full.parquet`, skipped when absent)."""

from __future__ import annotations

import numpy as np
import pytest

from hm_pipeline.data.synthetic.catalog import build_catalog
from hm_pipeline.data.synthetic.scales import SCALES
from hm_pipeline.data.synthetic.shopper_stats import REFERENCE, TARGETS, basket_pair_shares, department_jaccard, \
    rebuy_share, stats_table
from hm_pipeline.data.synthetic.taxonomy import build_taxonomy

from .synthetic_fixtures import small_data  # noqa: F401


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.key)
def test_small_statistic_within_tolerance_of_real(small_data, target):
    value = small_data[1].shopper[target.key]
    assert target.ok(value), f"{target.label}: {value:.4g}, real {target.real} ({target.lo:.4g}..{target.hi:.4g})"


def test_report_prints_every_statistic_beside_its_real_value(small_data):
    text = small_data[1].to_text()
    for t in TARGETS:
        assert t.label in text
    assert all(label in text for label, _ in REFERENCE.values())
    assert "out of range" not in stats_table(small_data[1].shopper)


def test_statistics_on_hand_made_rows():
    """The vectorized statistics equal their definitions on rows small enough to count by hand."""
    # baskets: [a, a', b] and [c, c]; department of a, a' = 0; b = 1; c = 2
    basket = np.array([0, 0, 0, 1, 1])
    shares = basket_pair_shares(basket, {"dept": np.array([0, 0, 1, 2, 2])})
    assert shares["dept"] == pytest.approx(2 / 4)  # pairs: 3 in the first basket, 1 in the second; 2 agree
    # customer 0 buys article 5 on days 1, 1 and 3 (one re-buy); customer 1 buys 5 once
    assert rebuy_share(np.array([0, 0, 0, 1]), np.array([5, 5, 5, 5]), np.array([1, 1, 3, 3]), 10) == 0.25
    # customer 0: year 1 {0, 1, 2}, year 2 {1, 2, 3} -> 2 / 4; customer 1 has too few departments in year 2
    cust = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    dept = np.array([0, 1, 2, 1, 2, 3, 0, 1, 2, 0])
    day = np.array([1, 2, 3, 400, 401, 402, 1, 2, 3, 400])
    assert department_jaccard(cust, dept, day, 4) == pytest.approx(0.5)


@pytest.fixture
def real_articles(real_sample):
    path = real_sample / "articles_full.parquet"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=["product_code", "department_no", "index_code", "product_type_no"]).to_pandas()


def _sizes(values: np.ndarray) -> np.ndarray:
    return np.unique(values, return_counts=True)[1]


@pytest.mark.parametrize("scale", ["small", "full"])
def test_catalogue_structure_matches_the_real_catalogue(real_articles, scale):
    tax = build_taxonomy()
    cat = build_catalog(SCALES[scale], tax, np.random.default_rng(5))
    real_dept, ours_dept = _sizes(real_articles.department_no.to_numpy()), _sizes(cat.dept)
    # departments of the real size at every scale (fewer of them at a smaller scale)
    for q in (25, 50, 75):
        assert np.percentile(ours_dept, q) == pytest.approx(np.percentile(real_dept, q), rel=0.3), q
    assert ours_dept.mean() == pytest.approx(real_dept.mean(), rel=0.3)
    # colour variants per product code: mean, median, share of single-article codes, a long tail
    real_var, ours_var = _sizes(real_articles.product_code.to_numpy()), _sizes(cat.code_pos)
    assert ours_var.mean() == pytest.approx(real_var.mean(), rel=0.2)
    assert np.median(ours_var) == np.median(real_var) == 1
    assert (ours_var == 1).mean() == pytest.approx((real_var == 1).mean(), abs=0.06)
    assert ours_var.max() >= (0.5 * real_var.max() if scale == "full" else 20)
    # every index, with its real share of the articles
    real_index = real_articles.index_code.value_counts(normalize=True)
    ours_index = dict(zip(*np.unique(tax.index_code[tax.section_index[tax.dept_section[cat.dept]]],
                                     return_counts=True)))
    for code, share in real_index.items():
        assert ours_index[code] / len(cat) == pytest.approx(share, abs=0.04), code
    if scale == "full":  # the taxonomy's breadth
        assert len(ours_dept) >= 0.95 * len(real_dept)
        assert len(np.unique(cat.product_type)) >= 0.95 * real_articles.product_type_no.nunique()


def test_explored_departments_are_drawn_by_their_weeks_weight():
    from hm_pipeline.data.synthetic.transactions import _draw_by_week
    weight = np.array([[1.0, 0.0, 5.0], [0.0, 0.0, 5.0], [3.0, 1.0, 0.0]])  # departments x weeks
    rng = np.random.default_rng(0)
    week = rng.integers(0, 3, 60_000)
    dept = _draw_by_week(weight, week, rng.random(len(week)))
    for w in range(3):
        share = np.bincount(dept[week == w], minlength=3) / (week == w).sum()
        assert share == pytest.approx(weight[:, w] / weight[:, w].sum(), abs=0.01), w


def test_hits_take_their_share_of_the_week_only_near_their_peak_at_full():
    from hm_pipeline.data.synthetic.catalog import HIT_SHARE, weekly_weights
    cat = build_catalog(SCALES["full"], build_taxonomy(), np.random.default_rng(3))
    w = weekly_weights(cat)
    plain = weekly_weights(type(cat)(**{**cat.__dict__, "hit": np.zeros(len(cat), dtype=bool)}))
    boosted = cat.hit[:, None] & (w > plain * 1.01)
    last = w[:, -1].astype(np.float64)
    assert last[boosted[:, -1]].sum() / last.sum() == pytest.approx(HIT_SHARE[1], abs=0.01)
    # past its peak (life cycle < HIT_PEAK) a hit on sale sells like any article
    on_sale = cat.hit & (plain[:, -1] > 0)
    assert (on_sale & ~boosted[:, -1]).sum() > 0.2 * on_sale.sum()
    assert 60 <= boosted[:, -1].sum() <= 300  # a week's hot articles: about its top 100, not all 700 hits
