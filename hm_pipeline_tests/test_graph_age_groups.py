"""Age buckets: disjoint, every customer in exactly one, null/under-16 ages in `unknown`."""

from __future__ import annotations

import pyarrow as pa
import pytest

from hm_pipeline.graph.age_groups import AGE_BUCKETS, GROUP_NAMES, age_group_names, age_group_tables, \
    customers_per_group


@pytest.mark.parametrize(
    ("age", "group"),
    [(None, "unknown"), (0, "unknown"), (15, "unknown"), (16, "16-25"), (25, "16-25"), (26, "26-35"),
     (45, "36-45"), (46, "46-55"), (55, "46-55"), (56, "56-65"), (65, "56-65"), (66, "66+"), (99, "66+"),
     (100, "66+")],
)
def test_age_boundaries(age, group):
    assert age_group_names(pa.array([age], pa.int16())).to_pylist() == [group]


def test_buckets_are_disjoint_and_cover_16_and_over():
    bounds = [(lo, hi if hi is not None else 10**6) for _, lo, hi in AGE_BUCKETS]
    for (_, hi), (lo, _) in zip(bounds, bounds[1:]):
        assert lo == hi + 1
    ages = pa.array(range(0, 130), pa.int16())
    names = age_group_names(ages).to_pylist()
    for age, name in zip(range(0, 130), names):
        matching = [n for (n, lo, hi) in AGE_BUCKETS if lo <= age <= (hi if hi is not None else 10**6)]
        assert [name] == (matching or ["unknown"])


def test_tables_put_every_customer_in_one_group():
    customers = pa.table({"id": ["a", "b", "c", "d", "e"], "age": pa.array([None, 65, 66, 15, 30], pa.int16())})
    groups = age_group_tables(customers)
    assert groups.nodes["AgeGroup"].column("name").to_pylist() == list(GROUP_NAMES)
    assert groups.nodes["AgeGroup"].to_pylist()[-1] == {"name": "unknown", "lower": None, "upper": None}
    assert groups.nodes["AgeGroup"].to_pylist()[-2] == {"name": "66+", "lower": 66, "upper": None}
    assert groups.rels["IS_AGE_GROUP"].to_pylist() == [
        {"source": "a", "target": "unknown"}, {"source": "b", "target": "56-65"}, {"source": "c", "target": "66+"},
        {"source": "d", "target": "unknown"}, {"source": "e", "target": "26-35"}]
    assert customers_per_group(groups) == {"16-25": 0, "26-35": 1, "36-45": 0, "46-55": 0, "56-65": 1, "66+": 1,
                                           "unknown": 2}
