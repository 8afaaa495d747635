"""The one `Definitions` of hm-pipeline: every domain's assets, checks and automation, merged."""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads OpenBLAS: implicit's ALS is faster so

import dagster as dg

from hm_pipeline.defs import graph, images, ingest, training
from hm_pipeline.defs.resources import DataRootResource

#: Image embeddings are partitioned by image folder: the sensor and backfills materialize them, not full_refresh.
UNPARTITIONED = dg.AssetSelection.all() - dg.AssetSelection.assets(images.image_embeddings)

ingest_job = dg.define_asset_job("ingest_job", selection=dg.AssetSelection.groups("ingest"),
                                 description="The Kaggle CSVs → typed Parquet.")
embed_images_job = dg.define_asset_job("embed_images_job", selection=[images.image_embeddings],
                                       description="Embed one image folder (partition) without refreshing SIMILAR.")
full_refresh_job = dg.define_asset_job(
    "full_refresh",
    selection=UNPARTITIONED,
    description="Every unpartitioned asset, from the Kaggle CSVs to the submission, on the image embeddings "
    "already materialized (new image folders arrive through the image sensor / backfills).",
)

defs = dg.Definitions.merge(
    ingest.defs,
    graph.defs,
    images.defs,
    training.defs,
    dg.Definitions(jobs=[ingest_job, embed_images_job, full_refresh_job],
                   resources={"data_root": DataRootResource()}),
)
