"""Customer age buckets (the seed's AgeGroup nodes), disjoint, plus an explicit `unknown` group.

The seed's buckets overlapped at 65 ([56, 65] and [65, 99]), put blank ages into a fake age 100 and left
under-16s in no group. Here every customer is in exactly one group: a null age, or one below 16 (not a valid
member age), is `unknown`; 66 and over is `66+`.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hm_pipeline.graph.model import AGE_GROUP, IS_AGE_GROUP
from hm_pipeline.graph.tables import GraphTables

#: (name, lower, upper) with inclusive bounds; `None` = open.
AGE_BUCKETS: tuple[tuple[str, int | None, int | None], ...] = (
    ("16-25", 16, 25),
    ("26-35", 26, 35),
    ("36-45", 36, 45),
    ("46-55", 46, 55),
    ("56-65", 56, 65),
    ("66+", 66, None),
)
UNKNOWN = "unknown"
GROUP_NAMES: tuple[str, ...] = (*(name for name, _, _ in AGE_BUCKETS), UNKNOWN)


def age_group_names(ages: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The group name of each age (vectorized)."""
    values = pc.fill_null(pc.cast(ages, pa.int32()), -1).to_numpy(zero_copy_only=False)
    lowers = np.array([lower for _, lower, _ in AGE_BUCKETS])
    slot = np.searchsorted(lowers, values, side="right") - 1  # -1 below the first lower bound
    names = np.array(GROUP_NAMES, dtype=object)
    return pa.array(names[np.where(slot >= 0, slot, len(AGE_BUCKETS))], pa.string())


def age_group_nodes() -> pa.Table:
    return pa.table(
        {
            "name": pa.array(GROUP_NAMES, pa.string()),
            "lower": pa.array([lo for _, lo, _ in AGE_BUCKETS] + [None], pa.int16()),
            "upper": pa.array([hi for _, _, hi in AGE_BUCKETS] + [None], pa.int16()),
        }
    )


def age_group_tables(customers: pa.Table) -> GraphTables:
    """AgeGroup nodes and one IS_AGE_GROUP edge per customer, from a table with `id` and `age` (the Customer nodes)."""
    rels = pa.table({"source": customers["id"], "target": age_group_names(customers["age"])})
    return GraphTables(nodes={AGE_GROUP.label: age_group_nodes()}, rels={IS_AGE_GROUP.name: rels})


def customers_per_group(groups: GraphTables) -> dict[str, int]:
    """Customers in each group, every group listed (zero included), in bucket order."""
    counts = groups.rels[IS_AGE_GROUP.name]["target"].value_counts().to_pylist()
    found = {c["values"]: c["counts"] for c in counts}
    return {name: int(found.get(name, 0)) for name in GROUP_NAMES}
