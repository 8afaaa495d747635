"""Statistics of the `small` scale are realistic (tolerances around the real H&M figures)."""

from __future__ import annotations

import numpy as np

from hm_pipeline.data.synthetic.scales import SCALES, day_of_year

from .synthetic_fixtures import small_data  # noqa: F401


def test_small_counts_exact(small_data):
    _, report = small_data
    s = SCALES["small"]
    c = report.counts
    assert (c["articles"], c["customers"], c["active_customers"], c["transactions"]) == (
        s.n_articles, s.n_customers, s.n_active_customers, s.n_transactions)
    assert report.first_date == "2018-09-20" and report.last_date == "2020-09-22"


def test_small_statistics_realistic(small_data):
    st = small_data[1].stats
    assert 22.5 <= st["transactions_per_active_customer_mean"] <= 24.0
    assert 28 <= st["transactions_per_active_customer_sd"] <= 50
    # at this scale the catalogue is 10x smaller than the real one, so customers hit the same article by chance
    # more often: more repeats and fewer distinct articles than the real 9% and 21-23 (the full scale matches those)
    assert 18.0 <= st["distinct_articles_per_active_customer_mean"] <= 23.5
    assert 0.02 <= st["repeat_share_of_transactions"] <= 0.22
    cv = st["transactions_per_article_sd"] / st["transactions_per_article_mean"]
    # heavy-tailed article popularity over two years (real: ~2.3 over 105k articles); at this scale's 10k articles a
    # week's concentration calibrated to the real one (issue #14: top-12 take 2.8%) leaves less spread: ~1.5
    assert 1.35 <= cv <= 4.0
    assert st["transactions_per_article_max"] >= 20 * st["transactions_per_article_mean"]  # blockbusters (real: 167x)
    assert 0.003 <= st["articles_never_sold_share"] <= 0.03  # real: 0.9%
    assert 0.005 <= st["age_blank_share"] <= 0.02
    assert st["age_min"] == 16 and st["age_max"] <= 99
    assert 19 <= st["age_mode_under_35"] <= 27 and 44 <= st["age_mode_35_plus"] <= 56
    assert 0.0005 <= st["price_min"] and st["price_max"] <= 0.6
    assert 0.62 <= st["sales_channel_2_share"] <= 0.78
    assert st["top_index_group_share_of_purchases"] >= 0.45  # tastes (they drift over two years: issue #14)
    assert st["last_week_on_articles_sold_week_before"] >= 0.6  # recency signal


def test_tastes_lifecycle_and_seasons(small_data):
    """Direct checks on the sampler: age drives index group, articles sell after launch, seasons shift sales."""
    d, _ = small_data
    tax, cat, cust, tx = d.tax, d.cat, d.cust, d.tx
    assert len(tx) == SCALES["small"].n_transactions
    assert (tx.day >= cat.launch[tx.article]).all(), "no sale before launch"

    group = tax.dept_index_group[cat.dept[tx.article]]
    # a customer's top index group takes more of their purchases than with articles shuffled between customers
    top = [np.bincount(tx.customer.astype(np.int64) * 5 + g, minlength=len(cust) * 5).reshape(-1, 5).max(axis=1).sum()
           for g in (group, np.random.default_rng(0).permutation(group))]
    assert top[0] > top[1] + 0.05 * len(tx)
    age = cust.age[tx.customer]
    divided = list(tax.index_group_name).index("Divided")
    young, older = age < 25, (age >= 45) & (age < 60)
    assert (group[young] == divided).mean() > 2 * (group[older] == divided).mean()

    doy = day_of_year(tx.day.astype(np.int64))
    summer = (doy >= 152) & (doy < 244)
    winter = (doy >= 335) | (doy < 59)
    ss = cat.season[tx.article] == 1
    assert ss[summer].mean() > 1.3 * ss[winter].mean()

    # customers come back to their departments of the time (favourites drift): far above chance
    favourite = cust.fav_depts[tx.customer, cust.epoch(tx.customer, tx.day)] == cat.dept[tx.article][:, None]
    chance = (np.bincount(cat.dept) / len(cat))[cust.fav_depts[tx.customer, 0]].sum(axis=1).mean()
    assert favourite.any(axis=1).mean() > 0.5 > chance
