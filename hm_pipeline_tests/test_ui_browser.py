"""The Dagster UI in a real browser, on the real instance, as the README tells a user: `hm-pipeline run` (the real
command, in a subprocess) on tiny generated data, then `dagster dev` (webserver + daemon) on the same temp
DAGSTER_HOME with the repo's dagster.yaml, driven by headless Chromium through Playwright, with every outcome also
asserted through Dagster's GraphQL API.

One `dagster dev` for the module; the tests run in order on it:
catalog after `hm-pipeline run` (every asset materialized, no queued or failed runs, the sensor's first tick
launched nothing) -> asset graph -> automation listed -> two concurrent graph-writing runs serialized by the pool ->
new image folders picked up by the sensor as ONE backfill, and backfilled from the UI -> materialize from the UI
(last: the run queue holds 2 runs, and the image runs would keep it waiting).
Screenshots and the dagster dev log go to $HM_TEST_ARTIFACTS/ui or hm_pipeline_tests/artifacts/ui (git-ignored).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from hm_pipeline.layout import DataLayout
from hm_pipeline_tests.cli_fixtures import cli_env, copy_tiny_root, finish, start_run
from hm_pipeline_tests.conftest import REPO_ROOT
from hm_pipeline_tests.dagster_ui import LOCATION, REPOSITORY, DagsterDev, wait_for, write_instance_yaml
from hm_pipeline_tests.synthetic_fixtures import tiny_data  # noqa: F401 - pytest fixture

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: The story, in order (the lineage reads left to right in it).
STORY = ["ingest", "graph", "images", "training", "recommendations", "evaluation"]
GROUPS = set(STORY)
GRAPH_WRITERS = ["product_graph", "age_groups"]  # both in pool `graph_writer`
INITIAL_FOLDERS = 2  # embedded by `hm-pipeline run` before the UI starts
NEW_FOLDERS = 2  # a backfill (not a single run) needs 2+ partitions in the UI's launch dialog
RUN_TIMEOUT = 600  # s; generous: 2 shared cores, and every step waits for the data-root lock held by another run's step

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found (CI installs Debian's "
                                "`chromium` in .ci/setup)")


@dataclass
class Session:
    dev: DagsterDev
    layout: DataLayout
    artifacts: Path
    new_folders: list[str]
    initial_folders: list[str]
    cli_output: str
    first_tick: dict  # the image sensor's first tick, before the new folders land
    landed_at: float  # when the new image folders were copied in (epoch seconds)
    notes: dict[str, object] = field(default_factory=dict)

    def gql(self, query: str, **variables) -> dict:
        return self.dev.gql(query, variables)


def _artifacts_dir() -> Path:
    root = Path(os.environ.get("HM_TEST_ARTIFACTS") or REPO_ROOT / "hm_pipeline_tests" / "artifacts")
    out = root / "ui"
    out.mkdir(parents=True, exist_ok=True)  # files are overwritten; never removed (another run may be writing)
    return out


def _data_root(generated: Path, root: Path) -> tuple[DataLayout, dict[str, Path]]:
    """The tiny Kaggle files and INITIAL_FOLDERS image folders in `root/input`; NEW_FOLDERS more are held back."""
    layout = copy_tiny_root(generated, root, INITIAL_FOLDERS)
    folders = sorted(p for p in (generated / "images").iterdir() if p.is_dir() and len(list(p.glob("*.jpg"))) >= 2)
    return layout, {p.name: p for p in folders[INITIAL_FOLDERS:INITIAL_FOLDERS + NEW_FOLDERS]}


def _hm_pipeline_run(layout: DataLayout, home: Path, keras: Path) -> str:
    """The README's first command (with --data-root: the test never writes the repo's data/) and its output."""
    env = cli_env(home, keras)
    write_instance_yaml(REPO_ROOT / "dagster.yaml", home)  # absolute folders (dagster dev runs in the repo root)
    done = finish(start_run(layout.root, env, REPO_ROOT), timeout=RUN_TIMEOUT * 2)
    assert done.returncode == 0, done.output
    return done.output


def _sensor_ticks(dev: DagsterDev, limit: int = 20, sensor: str = "image_folder_sensor") -> list[dict]:
    """A sensor's latest ticks (the image sensor's by default), newest first."""
    return dev.gql(SENSOR_QUERY, {"limit": limit, "sensor": sensor})["sensorOrError"]["sensorState"]["ticks"]


@pytest.fixture(scope="module")
def ui(tiny_data, tmp_path_factory) -> Iterator[Session]:  # noqa: F811 - the imported fixture
    tmp = tmp_path_factory.mktemp("ui")
    layout, held_back = _data_root(tiny_data[0], tmp / "data")
    home = tmp / "dagster_home"
    cli_output = _hm_pipeline_run(layout, home, tmp / "keras")
    artifacts = _artifacts_dir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "HM_DATA_DIR": str(layout.root), "HM_GRAPH_BACKEND": "embedded",
           "HM_IMAGE_WEIGHTS": "random", "OPENBLAS_NUM_THREADS": "1", "DAGSTER_DISABLE_TELEMETRY": "1",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = time.monotonic()
    dev = DagsterDev(REPO_ROOT, env, artifacts / "dagster_dev.log", Path(sys.executable).parent / "dagster")
    try:
        dev.wait_ready(timeout=180)
        dev.gql("mutation { setNuxSeen }")  # no first-visit community dialog over the screenshots
        # New product photos land while the UI is up, after the sensor's first look at the (empty) image folder.
        (first_tick,) = wait_for(lambda: [t for t in _sensor_ticks(dev, 1) if t["status"] != "STARTED"], 90,
                                 "the image sensor's first tick")
        landed_at = time.time()
        for name, source in held_back.items():
            shutil.copytree(source, layout.images_dir / name)
        initial = sorted(p.name for p in layout.images_dir.iterdir() if p.name not in held_back)
        session = Session(dev, layout, artifacts, sorted(held_back), initial, cli_output, first_tick, landed_at)
        session.notes["startup_seconds"] = round(time.monotonic() - started, 1)
        yield session
        session.notes["module_seconds"] = round(time.monotonic() - started, 1)
        (artifacts / "notes.json").write_text(json.dumps(session.notes, indent=1, default=str))
    finally:
        dev.stop()


@pytest.fixture(scope="module")
def browser(ui):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, ui):
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=ui.dev.url)
    context.set_default_timeout(60_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


# ---------------------------------------------------------------------------------------------------------------
# GraphQL

SENSOR_QUERY = """query($limit: Int, $sensor: String!) {
  sensorOrError(sensorSelector: {repositoryLocationName: "%s", repositoryName: "%s", sensorName: $sensor}) {
    ... on Sensor { minIntervalSeconds sensorState { status ticks(limit: $limit) {
      status timestamp runIds skipReason
      dynamicPartitionsRequestResults { partitionsDefName partitionKeys type } } } }
  } }""" % (LOCATION, REPOSITORY)

RUNS_QUERY = """query($filter: RunsFilter) { runsOrError(filter: $filter) { ... on Runs { results {
  runId status jobName startTime endTime tags { key value } } } } }"""

EVENTS_QUERY = """query($runId: ID!) { logsForRun(runId: $runId, limit: 5000) {
  ... on EventConnection { events { __typename
    ... on MessageEvent { message timestamp stepKey }
    ... on MaterializationEvent { assetKey { path } partition
          metadataEntries { label ... on IntMetadataEntry { intValue } } }
  } } } }"""

LAUNCH_MUTATION = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""

ASSET_QUERY = """query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { ... on AssetNode {
  partitionKeys } } }"""

TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def _runs(session: Session, **filters) -> list[dict]:
    return session.gql(RUNS_QUERY, filter=filters)["runsOrError"]["results"]


def _wait_finished(session: Session, run_ids: list[str], timeout: float = RUN_TIMEOUT) -> list[dict]:
    def finished():
        runs = _runs(session, runIds=run_ids)
        return runs if len(runs) == len(run_ids) and all(r["status"] in TERMINAL for r in runs) else None

    return wait_for(finished, timeout, f"runs {run_ids} to finish", interval=2)


def _events(session: Session, run_id: str) -> list[dict]:
    return session.gql(EVENTS_QUERY, runId=run_id)["logsForRun"]["events"]


def _step_windows(events: list[dict]) -> dict[str, tuple[float, float]]:
    """step key -> (STEP_START, STEP_SUCCESS|FAILURE) in epoch seconds."""
    starts = {e["stepKey"]: int(e["timestamp"]) / 1000 for e in events if e["__typename"] == "ExecutionStepStartEvent"}
    ends = {e["stepKey"]: int(e["timestamp"]) / 1000 for e in events
            if e["__typename"] in ("ExecutionStepSuccessEvent", "ExecutionStepFailureEvent")}
    return {k: (starts[k], ends[k]) for k in starts if k in ends}


def _metadata(events: list[dict], asset: str, partition: str | None = None) -> dict[str, int | None]:
    (event,) = [e for e in events if e["__typename"] == "MaterializationEvent" and e["assetKey"]["path"] == [asset]
                and e.get("partition") == partition]
    return {m["label"]: m.get("intValue") for m in event["metadataEntries"]}


def _launch_assets(session: Session, assets: list[str]) -> str:
    """Launch a run of `assets` (no checks) as the UI's Materialize does (default executor: a process per step)."""
    params = {
        "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": "__ASSET_JOB",
                     "assetSelection": [{"path": [a]} for a in assets], "assetCheckSelection": []},
        "mode": "default",
    }
    result = session.gql(LAUNCH_MUTATION, params=params)["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


def _run_id_from_toast(session: Session, page) -> str:
    """The UI says 'Launched run 1a2b3c4d'; the full run id from GraphQL."""
    toast = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}")).first
    toast.wait_for()
    prefix = re.search(r"Launched run ([0-9a-f]{8})", toast.inner_text()).group(1)
    return wait_for(lambda: next((r["runId"] for r in _runs(session) if r["runId"].startswith(prefix)), None), 30,
                    f"run {prefix} in GraphQL")


def _customers(layout: DataLayout) -> int:
    return pq.read_metadata(layout.ingest_table("customers")).num_rows


def _expected_purchases(layout: DataLayout) -> int:
    ids = pq.read_table(layout.ingest_table("transactions"), columns=["customer_idx", "article_idx"])
    return int(pc.sum(pc.and_(pc.is_valid(ids["customer_idx"]), pc.is_valid(ids["article_idx"]))).as_py())


# ---------------------------------------------------------------------------------------------------------------
# Tests, in order


CATALOG_QUERY = """{ assetNodes { assetKey { path } isPartitioned
  assetMaterializations(limit: 1) { runId timestamp }
  partitionStats { numMaterialized numPartitions numFailed } } }"""


def test_after_hm_pipeline_run_every_asset_is_materialized_and_no_run_waits_or_failed(ui, page):
    """The README's two steps: `hm-pipeline run`, then `dagster dev`: the catalog shows everything built, the Runs
    page only the CLI's successful runs, and the image sensor's first tick launched nothing."""
    nodes = ui.gql(CATALOG_QUERY)["assetNodes"]
    never = [n["assetKey"]["path"][-1] for n in nodes if not n["isPartitioned"] and not n["assetMaterializations"]]
    assert not never, f"not materialized after hm-pipeline run: {never}"
    (images,) = [n for n in nodes if n["isPartitioned"]]
    assert images["partitionStats"] == {"numMaterialized": INITIAL_FOLDERS, "numPartitions": INITIAL_FOLDERS,
                                        "numFailed": 0}
    tick = ui.first_tick
    assert tick["status"] == "SKIPPED" and not tick["runIds"], tick
    assert "embeddings are current" in tick["skipReason"], tick
    # The input file sensor finds the CSVs the CLI ingested: nothing new to record.
    (tick,) = wait_for(lambda: [t for t in _sensor_ticks(ui.dev, 1, "input_files_sensor") if t["status"] != "STARTED"],
                       90, "the input file sensor's first tick")
    assert tick["status"] == "SKIPPED" and "version last ingested" in tick["skipReason"], tick
    runs = _runs(ui)
    assert {r["status"] for r in runs} == {"SUCCESS"}, [(r["jobName"], r["status"]) for r in runs]
    assert sorted(r["jobName"] for r in runs) == sorted(["ingest_job", "full_refresh"] +
                                                        ["embed_images_job"] * INITIAL_FOLDERS)
    backfills = ui.gql("{ partitionBackfillsOrError { ... on PartitionBackfills { results { id } } } }")
    assert backfills["partitionBackfillsOrError"]["results"] == []
    ui.notes["cli_output"] = ui.cli_output

    page.set_viewport_size({"width": 1600, "height": 1300})  # every asset's row
    page.goto("/assets")
    page.get_by_text("submission_csv", exact=True).first.wait_for()
    wait_for(lambda: page.get_by_text("Loading...").count() == 0, 60, "the catalog's statuses")
    page.wait_for_timeout(500)
    page.screenshot(path=ui.artifacts / "00_catalog_after_cli_run.png")
    assert page.get_by_text("Never materialized").count() == 0
    assert page.get_by_text("Materialized", exact=True).count() >= len(nodes) - 1  # all but the partitioned one
    page.goto("/runs")
    page.get_by_text("full_refresh").first.wait_for()
    wait_for(lambda: page.get_by_text("Success", exact=True).count() >= len(runs), 30,
             f"{len(runs)} runs tagged Success on the Runs page")
    page.screenshot(path=ui.artifacts / "00_runs_after_cli_run.png")
    for status in ("Queued", "Failure", "Started"):  # the run status tags (the page's tabs say "Failed")
        assert page.get_by_text(status, exact=True).count() == 0, f"the Runs page shows {status!r}"


def test_asset_graph_shows_every_asset(ui, page):
    nodes = ui.gql("{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
    assets = {n["assetKey"]["path"][-1] for n in nodes}
    from hm_pipeline.definitions import defs

    assert assets == {k.path[-1] for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {n["groupName"] for n in nodes} == GROUPS

    groups = ",".join(f"global@global:{g}" for g in sorted(GROUPS))  # every group expanded (the UI's own key)
    page.add_init_script(f"localStorage.setItem('asset-graph-open-graph-nodes-global-__GLOBAL__', "
                         f"JSON.stringify({{expanded: '{groups}'}}))")
    page.goto("/asset-groups")
    names = page.locator("[class*=AssetNode_assetName]")
    names.first.wait_for()
    page.locator("button:has([aria-label=panel_show_right])").filter(has_not_text="navigation").click()  # sidebar
    page.set_viewport_size({"width": 1600, "height": 1400})  # the story's six groups, whole

    def in_view() -> bool:  # every node drawn, none under the top bar or below the window
        boxes = [el.bounding_box() for el in names.all()]
        return len(boxes) >= len(assets) and all(b and 110 < b["y"] and b["y"] + b["height"] < 1400 for b in boxes)

    for _ in range(8):  # zoom out until every group fits (the graph draws only the nodes in view)
        if in_view():
            break
        page.locator("button:has([aria-label=zoom_out])").click()
        page.wait_for_timeout(1000)
    labels = page.locator("[class*=AssetNode_assetName]").all_inner_texts()
    page.screenshot(path=ui.artifacts / "01_asset_graph.png")
    missing = sorted(assets - set(labels))
    assert not missing, f"assets not drawn in the asset graph: {missing} (labels: {labels})"
    # Readable names: the UI draws nodes of a fixed width and middle-truncates longer names ("fused_re…endations");
    # every asset's name is short enough to be drawn whole.
    cut = sorted(label for label in labels if "…" in label)
    assert not cut, f"names cut in the lineage: {cut}"
    # The story reads left to right: ingest first; graph, images and training (each needs only what comes before it
    # in the story) next; recommendations and evaluation last.
    group_of = {n["assetKey"]["path"][-1]: n["groupName"] for n in nodes}
    boxes = {a: names.filter(has_text=re.compile(f"^{a}$")).first.bounding_box() for a in assets}
    left = {g: min(b["x"] for a, b in boxes.items() if group_of[a] == g) for g in STORY}
    ui.notes["lineage_group_left_edges"] = left
    middle = [left[g] for g in ("graph", "images", "training")]
    assert left["ingest"] < min(middle) and max(middle) < min(left["recommendations"], left["evaluation"]), left


def test_schedule_and_sensor_are_listed(ui, page):
    repo = ui.gql("""{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name }
        jobs { name } schedules { name cronSchedule executionTimezone scheduleState { status } }
        sensors { name minIntervalSeconds sensorState { status } } } } } }""")["repositoriesOrError"]["nodes"]
    (repo,) = [r for r in repo if r["location"]["name"] == LOCATION]
    assert {"full_refresh", "image_backfill_job", "embed_images_job", "ingest_job"} <= {j["name"] for j in repo["jobs"]}
    (schedule,) = repo["schedules"]
    assert schedule["name"] == "weekly_full_refresh"
    assert schedule["cronSchedule"] == os.environ.get("HM_REFRESH_CRON", "0 3 * * 1")
    assert schedule["scheduleState"]["status"] == "STOPPED"  # turned on deliberately
    sensors = {s["name"]: (s["sensorState"]["status"], s["minIntervalSeconds"]) for s in repo["sensors"]}
    assert sensors == {"image_folder_sensor": ("RUNNING", 60),  # new photos -> embeddings -> SIMILAR
                       "input_files_sensor": ("RUNNING", 60),  # a changed Kaggle CSV -> a new version of it
                       "refresh_after_new_input": ("STOPPED", 60)}  # declarative automation, turned on deliberately

    page.goto("/automation")
    page.get_by_text("weekly_full_refresh", exact=True).first.wait_for()
    page.get_by_text("image_folder_sensor", exact=True).first.wait_for()
    page.get_by_text("refresh_after_new_input", exact=True).first.wait_for()
    switches = page.locator("label[class*=formatSwitch] input[type=checkbox]")
    # image and input sensors on, automation sensor and schedule off (rows in name order); states load after rows
    wait_for(lambda: [s.is_checked() for s in switches.all()] == [True, True, False, False], 30,
             "switches showing the image and input sensors on, the automation sensor and the schedule off")
    page.screenshot(path=ui.artifacts / "02_automation.png")


def _contention(session: Session, run_ids: list[str], events: dict[str, list[dict]]) -> list[str]:
    """The instance's own records of a run waiting for pool `graph_writer`: a step blocked by the pool (run events)
    or a queued run held for it (daemon log)."""
    blocked = [f"{rid[:8]}: {e['message']}" for rid in run_ids for e in events[rid]
               if e["__typename"] == "EngineEvent" and "pool graph_writer" in e["message"]]
    log = session.dev.log_path.read_text(errors="replace")
    held = [f"{rid[:8]}: held in the queue" for rid in run_ids
            if f'Run {rid} is blocked by global concurrency limits: {{"graph_writer"' in log]
    return blocked + held


def test_two_concurrent_graph_writing_runs_are_serialized(ui):
    """Two runs that both write the embedded (single-writer) graph, launched at once: the instance lets one write
    at a time (pool `graph_writer`, limit 1 from dagster.yaml), both succeed, the graph is whole afterwards."""
    instance = ui.gql("""{ instance { runQueueConfig { maxConcurrentRuns } poolConfig { poolGranularity
        defaultPoolLimit } concurrencyLimit(concurrencyKey: "graph_writer") { limit usingDefaultLimit } } }""")
    instance = instance["instance"]
    assert instance["runQueueConfig"]["maxConcurrentRuns"] == 2  # the repo's dagster.yaml, as loaded
    assert instance["poolConfig"] == {"poolGranularity": "op", "defaultPoolLimit": 1}
    assert instance["concurrencyLimit"] == {"limit": 1, "usingDefaultLimit": True}
    expected = _expected_purchases(ui.layout)
    contention: list[str] = []
    for attempt in range(2):  # launch skew can leave nothing to serialize; then the pair is tried once more
        run_ids = [_launch_assets(ui, GRAPH_WRITERS) for _ in range(2)]
        runs = _wait_finished(ui, run_ids)
        assert [r["status"] for r in runs] == ["SUCCESS", "SUCCESS"], [(r["runId"], r["status"]) for r in runs]
        events = {rid: _events(ui, rid) for rid in run_ids}
        windows = [(rid, step, *span) for rid in run_ids for step, span in _step_windows(events[rid]).items()
                   if step in GRAPH_WRITERS]
        assert len(windows) == 2 * len(GRAPH_WRITERS), windows
        for i, (run_a, step_a, start_a, end_a) in enumerate(windows):
            for run_b, step_b, start_b, end_b in windows[i + 1:]:
                if run_a != run_b:
                    assert end_a <= start_b or end_b <= start_a, (
                        f"graph writes overlapped: {step_a} of {run_a} {start_a:.2f}-{end_a:.2f} and {step_b} of "
                        f"{run_b} {start_b:.2f}-{end_b:.2f}")
        for rid in run_ids:  # each run wrote a whole graph (counts read back from the store after the load)
            assert _metadata(events[rid], "product_graph")["purchases"] == expected
            groups = _metadata(events[rid], "age_groups")
            assert groups["customers_placed"] == _customers(ui.layout)
        contention = _contention(ui, run_ids, events)
        ui.notes[f"graph_writer_attempt_{attempt}"] = {"windows": windows, "contention": contention}
        if contention:
            break
    assert contention, "the two runs never wanted the graph at the same time (twice): serialization not exercised"
    last = max(run_ids, key=lambda r: _step_windows(events[r])["age_groups"][1])
    ui.notes["age_groups_metadata"] = _metadata(events[last], "age_groups")


def test_sensor_adds_new_image_folders_and_ui_backfills_them(ui, page):
    folders = ui.new_folders

    every = sorted(ui.initial_folders + folders)

    def partitions():
        keys = ui.gql(ASSET_QUERY, key={"path": ["image_embeddings"]})["assetNodeOrError"]["partitionKeys"]
        return sorted(keys) if sorted(keys) == every else None

    def adding_tick():  # the tick that saw the new folders, once it has launched its runs
        ticks = [t for t in _sensor_ticks(ui.dev) if t["timestamp"] > ui.landed_at]
        adding = [t for t in ticks if t["dynamicPartitionsRequestResults"]]
        assert len(adding) <= 1, adding
        return adding[0] if adding and adding[0]["status"] != "STARTED" else None

    adding = wait_for(adding_tick, 120, f"a sensor tick adding partitions {folders}", interval=2)
    assert adding["status"] == "SUCCESS", adding
    assert partitions() == every
    (request,) = adding["dynamicPartitionsRequestResults"]
    assert (request["type"], sorted(request["partitionKeys"])) == ("ADD_PARTITIONS", folders)
    (backfill_id,) = adding["runIds"]  # no run per folder: ONE backfill of the new folders (then similar_products)
    (sensor_backfill,) = [b for b in _backfills(ui) if b["id"] == backfill_id]
    assert sorted(sensor_backfill["partitionNames"]) == folders, sensor_backfill

    # backfill every folder from the UI while the sensor's backfill is still running
    page.goto("/assets/image_embeddings?view=partitions")
    page.get_by_text(folders[-1], exact=True).first.wait_for()
    page.get_by_role("button", name="Materialize").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="All", exact=True).click()
    dialog.get_by_text(f"{len(every)} partitions", exact=True).wait_for()
    page.screenshot(path=ui.artifacts / "03_backfill_dialog.png")
    launched_at = time.time()
    dialog.get_by_role("button", name="Launch backfill").click()

    def finished(backfill_id):
        found = [b for b in _backfills(ui) if b["id"] == backfill_id]
        return found[0] if found and found[0]["status"] not in ("REQUESTED", "CANCELING", "FAILING") else None

    by_sensor = wait_for(lambda: finished(sensor_backfill["id"]), RUN_TIMEOUT, "the sensor's backfill to finish",
                         interval=2)
    assert by_sensor["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), by_sensor
    sensor_runs = _runs(ui, tags=[{"key": "dagster/backfill", "value": sensor_backfill["id"]}])
    assert {r["status"] for r in sensor_runs} == {"SUCCESS"}
    assert sorted(p for p in map(_partition, sensor_runs) if p) == folders  # then one similar_products run

    ui_backfill = wait_for(lambda: next((b for b in _backfills(ui) if b["id"] != sensor_backfill["id"]), None), 60,
                           "the UI backfill")
    done = wait_for(lambda: finished(ui_backfill["id"]), RUN_TIMEOUT, "the UI backfill to finish", interval=2)
    assert done["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), done
    assert sorted(done["partitionNames"]) == every
    backfill_runs = _runs(ui, tags=[{"key": "dagster/backfill", "value": done["id"]}])
    assert len(backfill_runs) == len(every) and {r["status"] for r in backfill_runs} == {"SUCCESS"}
    page.goto(f"/runs/b/{done['id']}?tab=runs")
    page.get_by_text("Succeeded").first.wait_for()
    page.wait_for_timeout(1000)
    page.screenshot(path=ui.artifacts / "04_backfill.png")
    page.goto("/assets/image_embeddings?view=partitions")
    page.get_by_text(folders[-1], exact=True).first.click()
    page.get_by_text("images_embedded", exact=True).wait_for()
    page.get_by_text("random(seed=0)", exact=True).wait_for()  # HM_IMAGE_WEIGHTS reached runs without config
    page.screenshot(path=ui.artifacts / "05_image_partition_metadata.png")

    for folder in folders:  # every usable photo embedded, once
        table = pq.read_table(ui.layout.embeddings_file(folder), columns=["article_id"])
        photos = {p.stem for p in (ui.layout.images_dir / folder).glob("*.jpg")}
        assert sorted(table.column("article_id").to_pylist()) == sorted(photos)
        meta = _metadata(_events(ui, next(r["runId"] for r in backfill_runs if _partition(r) == folder)),
                         "image_embeddings", folder)
        assert meta["images_embedded"] == len(photos)

    # the sensor evaluating during/after the backfill is harmless: unchanged folders request nothing
    wait_for(lambda: any(t["timestamp"] > launched_at for t in _sensor_ticks(ui.dev, 5)), 90,
             "a sensor tick after the backfill was launched", interval=3)
    later = [t for t in _sensor_ticks(ui.dev) if t["timestamp"] > adding["timestamp"]]
    assert later and all(not t["runIds"] and not t["dynamicPartitionsRequestResults"] for t in later), later
    assert partitions() == every
    ui.notes["ticks_during_backfill"] = sum(launched_at < t["timestamp"] < done["endTimestamp"] for t in later)


def test_materialize_from_the_ui(ui, page):
    page.goto("/assets/graph_eda")
    page.get_by_role("button", name="Materialize").click()
    run_id = _run_id_from_toast(ui, page)
    (run,) = _wait_finished(ui, [run_id])
    assert run["status"] == "SUCCESS", run
    meta = _metadata(_events(ui, run_id), "graph_eda")
    assert "age_groups_metadata" in ui.notes, "needs test_two_concurrent_graph_writing_runs_are_serialized"
    # read from the graph after both concurrent writes: the last writer's counts, nothing doubled or lost
    assert meta["relationship_count"] == ui.notes["age_groups_metadata"]["relationship_count"]
    assert meta["node_count"] == ui.notes["age_groups_metadata"]["node_count"]

    page.goto("/locations/hm_pipeline/asset-groups/graph")  # the group's graph: statuses, checks, kinds
    page.get_by_text("graph_eda", exact=True).first.wait_for()
    wait_for(lambda: page.get_by_text("Materialized", exact=True).count() >= 3, 30,
             "product_graph, age_groups and graph_eda shown materialized")
    page.wait_for_timeout(1000)
    page.screenshot(path=ui.artifacts / "06_graph_group.png")
    page.set_viewport_size({"width": 1600, "height": 1500})  # the whole metadata table
    page.goto("/assets/graph_eda?view=events")
    page.get_by_text("relationship_count", exact=True).wait_for()
    page.screenshot(path=ui.artifacts / "07_asset_page_metadata.png")
    assert page.get_by_text("[Show Markdown]").count() <= 4  # one report, not a link per plot
    page.locator("tr", has=page.get_by_text("report", exact=True)).get_by_text("[Show Markdown]").click()
    dialog = page.get_by_role("dialog")
    plots = dialog.locator("img[src^='data:image/png']")
    plots.first.wait_for()
    titles = [plots.nth(i).get_attribute("alt") for i in range(plots.count())]
    assert titles == ["Top product types (purchases)", "Top garment groups (purchases)",
                      "Purchases per month (count)", "Purchases per age group (count)"], titles
    for i in range(plots.count()):
        assert plots.nth(i).evaluate("img => img.complete && img.naturalWidth") > 100  # decoded PNGs
    for heading in ("Seasonality", "Age groups"):
        dialog.get_by_role("heading", name=heading).wait_for()
    page.screenshot(path=ui.artifacts / "08_asset_metadata_plot.png")


def test_the_evaluation_table_is_readable(ui, page):
    """The MAP@12 table as the UI renders it: a real table, one row per recommender, scores rounded."""
    page.set_viewport_size({"width": 1600, "height": 1300})
    page.goto("/assets/holdout_evaluation?view=events")
    page.get_by_text("customers_evaluated", exact=True).wait_for()
    assert page.get_by_text(re.compile(r"^map@12 ")).count() == 0  # no flat 16-digit copies of the table
    page.locator("tr", has=page.get_by_text("results", exact=True)).get_by_text("[Show Markdown]").click()
    table = page.get_by_role("dialog").locator("table")
    table.wait_for()
    header = table.locator("th").all_inner_texts()
    assert header[:3] == ["candidate", "map@12", "precision@12"], header
    rows = {r.locator("td").first.inner_text(): r.locator("td").nth(1).inner_text()
            for r in table.locator("tbody tr").all()}
    assert {"popularity", "ALS (recency): als_model", "fused", "ranked"} <= set(rows), rows
    assert all(re.fullmatch(r"\d\.\d{5}", v) for v in rows.values()), rows
    page.screenshot(path=ui.artifacts / "09_evaluation_table.png")


def test_each_asset_shows_its_code_reference(ui, page):
    nodes = ui.gql("""{ assetNodes { assetKey { path } metadataEntries { label
        ... on CodeReferencesMetadataEntry { codeReferences { ... on LocalFileCodeReference { filePath lineNumber } } }
        } } }""")["assetNodes"]
    references = {n["assetKey"]["path"][-1]: [r for e in n["metadataEntries"] if e["label"] == "dagster/code_references"
                                             for r in e["codeReferences"]] for n in nodes}
    assert all(len(refs) == 1 and "/hm_pipeline/defs/" in refs[0]["filePath"] for refs in references.values()), \
        references
    page.goto("/assets/graph_eda")
    page.get_by_text("graph_eda", exact=True).first.wait_for()
    page.wait_for_timeout(2000)
    page.screenshot(path=ui.artifacts / "10_code_reference.png")
    page.get_by_text(re.compile(r"graph\.py")).first.wait_for()  # the asset's page names its source file


def _backfills(session: Session) -> list[dict]:
    """Every backfill, newest first."""
    return session.gql("""{ partitionBackfillsOrError { ... on PartitionBackfills { results {
        id status timestamp endTimestamp partitionNames } } } }""")["partitionBackfillsOrError"]["results"]


def _partition(run: dict) -> str | None:
    return next((t["value"] for t in run["tags"] if t["key"] == "dagster/partition"), None)
