"""The one `Definitions` of hm-pipeline: every domain's assets, checks and automation, merged."""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads OpenBLAS: implicit's ALS is faster so

import dagster as dg

from hm_pipeline.defs import graph, images, ingest, ranker, recommend, training
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

weekly_full_refresh = dg.ScheduleDefinition(
    name="weekly_full_refresh",
    job=full_refresh_job,
    cron_schedule=os.environ.get("HM_REFRESH_CRON", "0 3 * * 1"),  # Monday 03:00 by default
    execution_timezone=os.environ.get("HM_REFRESH_TIMEZONE", "UTC"),
    default_status=dg.DefaultScheduleStatus.STOPPED,  # turned on deliberately, in the UI or `dagster schedule start`
    description="Re-run the whole pipeline weekly on the latest files (cron from HM_REFRESH_CRON).",
)

defs = dg.Definitions.merge(
    ingest.defs,
    graph.defs,
    images.defs,
    training.defs,
    ranker.defs,
    recommend.defs,
    dg.Definitions(jobs=[ingest_job, embed_images_job, full_refresh_job], schedules=[weekly_full_refresh],
                   resources={"data_root": DataRootResource()}),
)
