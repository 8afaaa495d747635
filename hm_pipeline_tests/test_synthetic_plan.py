"""The full-scale plan has the exact real counts (checked without generating the full data)."""

from __future__ import annotations

import numpy as np

from hm_pipeline.data.synthetic.catalog import build_catalog
from hm_pipeline.data.synthetic.scales import SCALES
from hm_pipeline.data.synthetic.taxonomy import build_taxonomy
from hm_pipeline.data.synthetic.transactions import customer_counts


def test_full_scale_counts_are_the_real_ones():
    full = SCALES["full"]
    assert (full.n_articles, full.n_customers, full.n_active_customers, full.n_transactions) == (
        105_542, 1_371_980, 1_362_281, 31_788_324)
    assert full.n_articles - full.n_without_image == 105_100


def test_full_customer_counts_sum_exactly():
    full = SCALES["full"]
    counts = customer_counts(full.n_active_customers, full.n_transactions, np.random.default_rng(0))
    assert len(counts) == 1_362_281 and counts.min() >= 1
    assert int(counts.sum()) == 31_788_324
    assert 30 <= counts.std() <= 45  # heavy tail
    assert np.median(counts) < counts.mean() / 1.5


def test_full_catalog_codes_and_folders():
    tax = build_taxonomy()
    cat = build_catalog(SCALES["full"], tax, np.random.default_rng(0))
    ids = cat.article_number
    assert len(ids) == 105_542 and len(np.unique(ids)) == 105_542
    assert len(np.unique(cat.product_code)) == 47_224
    folders = np.unique(ids[cat.has_image] // 10_000_000)  # "0XX" folder = leading digits of the 10-digit id
    assert folders.min() >= 10 and folders.max() <= 95 and 80 <= len(folders) <= 86
    assert int(cat.has_image.sum()) == 105_100


def test_taxonomy_sizes_match_real_catalogue():
    assert build_taxonomy().sizes() == {
        "product_types": 131, "product_groups": 19, "graphical_appearances": 30, "colour_groups": 50,
        "perceived_colour_values": 8, "perceived_colour_masters": 20, "departments": 299, "indexes": 10,
        "index_groups": 5, "sections": 57, "garment_groups": 21}
