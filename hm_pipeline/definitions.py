"""The one `Definitions` of hm-pipeline: every domain's assets, checks and automation, merged."""

from __future__ import annotations

import dagster as dg

from hm_pipeline.defs import graph, ingest
from hm_pipeline.defs.resources import DataRootResource

full_refresh_job = dg.define_asset_job(
    "full_refresh",
    selection=dg.AssetSelection.all(),
    description="Every asset, from the Kaggle CSVs to the submission.",
)

defs = dg.Definitions.merge(
    ingest.defs,
    graph.defs,
    dg.Definitions(jobs=[full_refresh_job], resources={"data_root": DataRootResource()}),
)
