"""Statistics of the `small` scale are realistic (tolerances around the real H&M figures)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from hm_pipeline.data.synthetic import catalog, customers, transactions
from hm_pipeline.data.synthetic.generate import generate
from hm_pipeline.data.synthetic.scales import SCALES, day_of_year
from hm_pipeline.data.synthetic.taxonomy import build_taxonomy


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    t0 = time.perf_counter()
    report = generate("small", tmp_path_factory.mktemp("small"), seed=11, images=False)
    if time.perf_counter() - t0 > 90:
        pytest.skip("small-scale generation too slow on this machine for the test suite")
    return report


def test_small_counts_exact(small_report):
    s = SCALES["small"]
    c = small_report.counts
    assert (c["articles"], c["customers"], c["active_customers"], c["transactions"]) == (
        s.n_articles, s.n_customers, s.n_active_customers, s.n_transactions)
    assert small_report.first_date == "2018-09-20" and small_report.last_date == "2020-09-22"


def test_small_statistics_realistic(small_report):
    st = small_report.stats
    assert 22.5 <= st["transactions_per_active_customer_mean"] <= 24.0
    assert 28 <= st["transactions_per_active_customer_sd"] <= 50
    assert 18.0 <= st["distinct_articles_per_active_customer_mean"] <= 23.5
    assert 0.02 <= st["repeat_share_of_transactions"] <= 0.22
    cv = st["transactions_per_article_sd"] / st["transactions_per_article_mean"]
    assert 1.2 <= cv <= 4.0  # heavy-tailed article popularity (real: ~2.3)
    assert 0.001 <= st["articles_never_sold_share"] <= 0.08
    assert 0.005 <= st["age_blank_share"] <= 0.02
    assert st["age_min"] == 16 and st["age_max"] <= 99
    assert 19 <= st["age_mode_under_35"] <= 27 and 44 <= st["age_mode_35_plus"] <= 56
    assert 0.0005 <= st["price_min"] and st["price_max"] <= 0.6
    assert 0.62 <= st["sales_channel_2_share"] <= 0.78
    assert st["top_index_group_share_of_purchases"] >= 0.55  # stable tastes
    assert st["last_week_on_articles_sold_week_before"] >= 0.6  # recency signal


def test_tastes_lifecycle_and_seasons():
    """Direct checks on the sampler: age drives index group, articles sell after launch, seasons shift sales."""
    scale = SCALES["small"]
    rng = np.random.default_rng(5)
    tax = build_taxonomy()
    cat = catalog.build_catalog(scale, tax, rng)
    share = np.bincount(cat.dept, minlength=len(tax.dept_no)) / len(cat)
    cust = customers.build_customers(scale, tax, share, rng)
    tx = transactions.sample_transactions(scale, cat, cust, catalog.weekly_weights(cat),
                                          tax.colour_master[cat.colour], rng)
    assert len(tx) == scale.n_transactions
    assert (tx.day >= cat.launch[tx.article]).all(), "no sale before launch"

    group = tax.dept_index_group[cat.dept[tx.article]]
    age = cust.age[tx.customer]
    divided = list(tax.index_group_name).index("Divided")
    young, older = age < 25, (age >= 45) & (age < 60)
    assert (group[young] == divided).mean() > 2 * (group[older] == divided).mean()

    doy = day_of_year(tx.day.astype(np.int64))
    summer = (doy >= 152) & (doy < 244)
    winter = (doy >= 335) | (doy < 59)
    ss = cat.season[tx.article] == 1
    assert ss[summer].mean() > 1.3 * ss[winter].mean()

    # customers come back to their departments: the next purchase's department was seen before far above chance
    repeat_dept = cust.fav_depts[tx.customer] == cat.dept[tx.article][:, None]
    assert repeat_dept.any(axis=1).mean() > 0.5
