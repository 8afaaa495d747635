"""What runs by itself, and the jobs operators launch: the input file sensor (a changed Kaggle CSV is recorded as a
new version of it), the image folder sensor (new photos -> embeddings -> SIMILAR), the automation sensor that
carries such updates downstream and the weekly full refresh (both off until turned on), and the jobs
`hm-pipeline run` executes.

Assets are selected by key or group (never by their Python objects), so this module depends on the stage
modules only for the image folders' partitions and fingerprints and for the Kaggle CSVs' assets and versions.
"""

import json

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset  # no public form yet

from hm_pipeline.data.input_files import file_version
from hm_pipeline.defs.images import embedded_fingerprint, image_folders
from hm_pipeline.defs.ingest import INPUT_CSV, INPUT_FILE_OF, input_version_event
from hm_pipeline.defs.resources import WEIGHTS_ENV, DataRootResource, default_weights, refresh_schedule
from hm_pipeline.images.embed import WEIGHTS_FILE, cached_imagenet_weights
from hm_pipeline.images.scan import fingerprint_tree, plan_folder_changes

IMAGE_EMBEDDINGS = dg.AssetKey("image_embeddings")
SIMILAR_PRODUCTS = dg.AssetKey("similar_products")
#: Image embeddings are partitioned by image folder: the sensor and backfills materialize them, not full_refresh.
UNPARTITIONED = dg.AssetSelection.all() - dg.AssetSelection.assets(IMAGE_EMBEDDINGS)

ingest_job = dg.define_asset_job("ingest_job", selection=dg.AssetSelection.groups("ingest"),
                                 description="The Kaggle CSVs → typed Parquet.")
embed_images_job = dg.define_asset_job("embed_images_job", selection=dg.AssetSelection.assets(IMAGE_EMBEDDINGS),
                                       description="Embed one image folder (partition) without refreshing SIMILAR.")
image_backfill_job = dg.define_asset_job(
    "image_backfill_job",
    selection=dg.AssetSelection.assets(IMAGE_EMBEDDINGS, SIMILAR_PRODUCTS),
    description="Embed image folders (one partition per run) and refresh the SIMILAR table incrementally.",
)
full_refresh_job = dg.define_asset_job(
    "full_refresh",
    selection=UNPARTITIONED,
    description="Every unpartitioned asset, from the Kaggle CSVs to the submission, on the image embeddings "
    "already materialized (new image folders arrive through the image sensor / backfills).",
)


def weights_problem(weights: str) -> str | None:
    """Why runs with `weights` would fail here (ImageNet requested but not in the Keras cache), else None."""
    if weights == "imagenet" and cached_imagenet_weights() is None:
        return (f"{WEIGHTS_ENV}=imagenet but {WEIGHTS_FILE} is not in the Keras cache ($KERAS_HOME or ~/.keras, "
                f"models/): copy it there, or set {WEIGHTS_ENV}=imagenet-or-random (offline demo) for `dagster dev`")
    return None


@dg.sensor(asset_selection=dg.AssetSelection.assets(IMAGE_EMBEDDINGS, SIMILAR_PRODUCTS), minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING)
def image_folder_sensor(context: dg.SensorEvaluationContext, data_root: DataRootResource) -> dg.SensorResult:
    """Watch `input/images/`: a new `0XX` folder becomes a partition; the folders whose embeddings on disk are not
    of their current contents are embedded by ONE backfill (their partitions, then `similar_products`); a vanished
    folder's partition is deleted.

    Cursor: JSON {folder: fingerprint} of the folders handled (launched, or found current). A folder whose
    `embeddings/<folder>.parquet` records its current fingerprint (e.g. written by `hm-pipeline run`) launches
    nothing. When the configured weights cannot be had, nothing is launched and the skip reason says why.
    """
    layout = data_root.layout()
    if not layout.images_dir.is_dir():  # unmounted or moved: keep every partition and the cursor, request nothing
        return dg.SensorResult(skip_reason=f"image root {layout.images_dir} does not exist")
    current = fingerprint_tree(layout.images_dir)
    previous = json.loads(context.cursor) if context.cursor else {}
    changes = plan_folder_changes(current, previous, context.instance.get_dynamic_partitions(image_folders.name))
    requests: list[dg.DynamicPartitionsRequest] = []
    if changes.add:
        requests.append(image_folders.build_add_request(changes.add))
    if changes.delete:
        requests.append(image_folders.build_delete_request(changes.delete))
    stale = [f for f in changes.run if embedded_fingerprint(layout, f) != current[f]]
    handled = {f: fp for f, fp in current.items() if f not in stale}
    if not stale:
        return dg.SensorResult(dynamic_partitions_requests=requests, cursor=json.dumps(current),
                               skip_reason=f"every image folder's embeddings are current ({len(current)} folders)")
    problem = weights_problem(default_weights())
    if problem:  # record nothing for the stale folders: they are launched once the weights are there
        return dg.SensorResult(dynamic_partitions_requests=requests, cursor=json.dumps(handled),
                               skip_reason=f"{len(stale)} image folders need embeddings, none launched: {problem}")
    subset = AssetGraphSubset(
        partitions_subsets_by_asset_key={IMAGE_EMBEDDINGS: image_folders.empty_subset().with_partition_keys(stale)},
        non_partitioned_asset_keys={SIMILAR_PRODUCTS},
    )
    backfill = dg.RunRequest.for_asset_graph_subset(subset, tags={"hm_pipeline/image_folders": ",".join(stale)})
    return dg.SensorResult(run_requests=[backfill], dynamic_partitions_requests=requests, cursor=json.dumps(current))


def _last_recorded(instance: dg.DagsterInstance, key: dg.AssetKey) -> str | None:
    """The fingerprint of the CSV version last recorded for `key` (by an ingest run or by this sensor)."""
    event = instance.get_latest_materialization_event(key)
    entry = event.asset_materialization.metadata.get("fingerprint") if event and event.asset_materialization else None
    return entry.value if entry is not None else None


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Records a new version of a Kaggle CSV in input/ (size or modification time changed since the "
           "version last ingested or recorded); the ingest assets follow it once `refresh_after_new_input` is on.")
def input_files_sensor(context: dg.SensorEvaluationContext, data_root: DataRootResource) -> dg.SensorResult:
    """Stats the three CSVs (never reads them); no runs, only materializations of the external `*_csv` assets."""
    layout = data_root.layout()
    events = []
    for asset, name in INPUT_FILE_OF.items():
        version = file_version(layout.input_file(name))
        if version is not None and version.fingerprint != _last_recorded(context.instance, INPUT_CSV[asset].key):
            events.append(input_version_event(asset, version, f"a new version of {name} in {layout.input_dir}"))
    if not events:
        return dg.SensorResult(skip_reason=f"every Kaggle CSV in {layout.input_dir} is the version last ingested "
                                           "(or missing: `ingest_job` says which)")
    return dg.SensorResult(asset_events=events)


#: Declarative automation: the assets with an AutomationCondition (eager: when an upstream asset was updated, once
#: none is missing or running) follow new input without waiting for the weekly refresh: a changed CSV (input file
#: sensor) -> ingest -> graph, training, ranker, recommendations, submission, evaluation; new photos (image sensor)
#: -> embeddings -> similar_products -> SIMILAR in the graph, the ranker and what follows it.
#: Off until turned on, like the schedule (a full-scale refresh is many minutes of CPU).
refresh_after_new_input = dg.AutomationConditionSensorDefinition(
    "refresh_after_new_input",
    target=dg.AssetSelection.all() - dg.AssetSelection.assets(IMAGE_EMBEDDINGS),
    default_status=dg.DefaultSensorStatus.STOPPED,
    minimum_interval_seconds=60,
    description="Materializes what follows an update upstream (the assets with an AutomationCondition): the whole "
    "pipeline after a new Kaggle CSV, the SIMILAR relationships in the graph and the recommendations after the "
    "image sensor's backfill.",
)


@dg.definitions
def automation() -> dg.Definitions:
    """Built when Dagster loads the code location (the refresh's cron is read from the environment then)."""
    cron, timezone = refresh_schedule()
    weekly_full_refresh = dg.ScheduleDefinition(
        name="weekly_full_refresh",
        job=full_refresh_job,
        cron_schedule=cron,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,  # turned on deliberately, in the UI or `dagster schedule`
        description="Re-run the whole pipeline weekly on the latest files (cron from HM_REFRESH_CRON, default "
        "Monday 03:00 UTC).",
    )
    return dg.Definitions(jobs=[ingest_job, embed_images_job, image_backfill_job, full_refresh_job],
                          schedules=[weekly_full_refresh], sensors=[input_files_sensor, image_folder_sensor, refresh_after_new_input])
