"""The ranker's training set on disk: one Parquet file per label week (`two_stage.LabelWeek`) plus a manifest.

A week's file holds customer_idx, article_idx, label, in_sample and one float32 column per feature (the source
rank columns among them, so the per-source ranks the ablations need are read back from the features); the
manifest holds the feature names and groups, and each week's buyers and recall (no timings: re-materializing
writes the same bytes).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hm_pipeline.atomic import atomic_path
from hm_pipeline.recommend.two_stage import LabelWeek, PairTable

MANIFEST = "manifest.json"


def week_file(cutoff: int) -> str:
    return f"week_{cutoff}.parquet"


def write_training_set(folder: Path, weeks: dict[int, LabelWeek], extra: dict | None = None) -> dict:
    """Write `weeks` into `folder` (a temp folder, renamed when complete); returns the manifest."""
    first = next(iter(weeks.values()))
    manifest = {"names": first.pairs.names, "groups": first.pairs.groups, "sources": list(first.pairs.source_names),
                "weeks": {}, **(extra or {})}
    with atomic_path(folder) as tmp:
        tmp.mkdir(parents=True)
        for cutoff, week in sorted(weeks.items()):
            if week.pairs.names != manifest["names"]:
                raise ValueError(f"week {cutoff} has features {week.pairs.names}, not {manifest['names']}")
            columns = {"customer_idx": pa.array(week.pairs.customer, pa.int32()),
                       "article_idx": pa.array(week.pairs.article, pa.int32()),
                       "label": pa.array(week.y, pa.int8()), "in_sample": pa.array(week.in_sample, pa.bool_())}
            columns.update({name: pa.array(np.ascontiguousarray(week.pairs.x[:, j]), pa.float32())
                            for j, name in enumerate(week.pairs.names)})
            pq.write_table(pa.table(columns), tmp / week_file(cutoff), compression="zstd")
            manifest["weeks"][str(cutoff)] = {"file": week_file(cutoff), "rows": int(len(week.y)),
                                              "sampled_rows": int(week.in_sample.sum()),
                                              "positives": int(week.y.sum()), "customers_buying": week.customers,
                                              "recall": {k: round(v, 4) for k, v in week.recall.items()}}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: materialize `ranker_train_set` first")
    return json.loads(path.read_text())


def read_training_set(folder: Path) -> dict[int, LabelWeek]:
    """cutoff -> LabelWeek as `write_training_set` stored it."""
    manifest = read_manifest(folder)
    names, sources = manifest["names"], tuple(manifest["sources"])
    rank_columns = [names.index(f"{s}_rank") for s in sources]
    weeks = {}
    for cutoff, entry in manifest["weeks"].items():
        table = pq.read_table(Path(folder) / entry["file"])
        x = np.empty((table.num_rows, len(names)), np.float32, order="F")
        for j, name in enumerate(names):
            x[:, j] = table[name].to_numpy()
        pairs = PairTable(table["customer_idx"].to_numpy(), table["article_idx"].to_numpy(), x,
                          np.ascontiguousarray(x[:, rank_columns]), sources, list(names),
                          {g: list(v) for g, v in manifest["groups"].items()})
        weeks[int(cutoff)] = LabelWeek(int(cutoff), pairs, table["label"].to_numpy(),
                                       table["in_sample"].to_numpy(zero_copy_only=False), entry["recall"],
                                       entry["customers_buying"], seconds=0.0)
    return weeks
