"""`hm-pipeline run` as a user runs it: the real command in subprocesses on tiny data (2 image folders, 32 px).

One scenario for the module: run A, and run B on the same data root 1 s later (B must wait for A's lock, both
succeed), both recorded in a DAGSTER_HOME holding the repo's dagster.yaml. The tests then read their output,
the instance and the image sensor's first tick; `--no-wait` and `--config` have their own (cheaper) runs.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import yaml

from hm_pipeline import data_root_lock
from hm_pipeline.layout import DataLayout
from hm_pipeline.run_all import open_instance
from hm_pipeline_tests.cli_fixtures import IMAGE_FOLDERS, cli_env, copy_tiny_root, finish, start_run
from hm_pipeline_tests.synthetic_fixtures import tiny_data  # noqa: F401 - pytest fixture


@dataclass
class TwoRuns:
    layout: DataLayout
    home: Path
    cwd: Path
    env: dict[str, str]
    a: Finished
    b: Finished


@pytest.fixture(scope="module")
def two_runs(tiny_data, tmp_path_factory) -> TwoRuns:  # noqa: F811 - the imported fixture
    tmp = tmp_path_factory.mktemp("cli_run")
    layout = copy_tiny_root(tiny_data[0], tmp / "data")
    home, cwd = tmp / "dagster_home", tmp / "elsewhere"
    cwd.mkdir()
    env = cli_env(home, tmp / "keras")
    a = start_run(layout.root, env, cwd)
    time.sleep(1.0)
    b = start_run(layout.root, env, cwd)
    return TwoRuns(layout, home, cwd, env, finish(a), finish(b))


def test_two_runs_on_one_data_root_both_succeed_the_second_waits(two_runs):
    assert two_runs.a.returncode == 0, two_runs.a.output
    assert two_runs.b.returncode == 0, two_runs.b.output
    waited = re.search(rf"data root {re.escape(str(two_runs.layout.root))} is in use by pid (\d+) on \S+ "
                       r"\(hm-pipeline run --data-root .*\), since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; waiting",
                       two_runs.b.output)
    assert waited and int(waited.group(1)) == two_runs.a.pid, two_runs.b.output
    assert "is in use" not in two_runs.a.output
    assert data_root_lock.holder(two_runs.layout) is None


def test_first_run_prints_progress_and_a_summary_not_a_log(two_runs):
    out = two_runs.a.output
    lines = out.splitlines()
    assert len(lines) <= 60, out  # one screen
    assert "DEBUG" not in out and "Traceback" not in out and "oneDNN" not in out, out
    for step, total in (("ingest", 3), ("images", IMAGE_FOLDERS), ("graph", 3), ("similar", 2), ("training", 4),
                        ("recommendations", 3), ("evaluation", 1)):
        assert re.search(rf"^{step} +{total}/{total} \d+:\d\d:\d\d done *$", out, re.M), (step, out)
    assert out.count("FALLING BACK TO RANDOM WEIGHTS") == 1, out  # once, not once per folder
    assert re.search(r"^ *transactions +34,", out, re.M) and "MAP@12" in out and "popularity" in out
    submission = two_runs.layout.output_dir / "submission.csv"
    assert f"submission: {submission}" in out and submission.exists()
    assert "dagster dev -w workspace.yaml" in out and re.search(r"hm-pipeline recommend [0-9a-f]{64}", out)
    log = Path(re.search(r"full log: (\S+)", out).group(1))
    assert log.parent == two_runs.layout.logs_dir and "STEP_START" in log.read_text()
    assert re.search(r"^finished in \d+ s$", out, re.M)


def test_runs_are_recorded_in_the_dagster_home_instance(two_runs):
    from hm_pipeline.definitions import defs

    assert not (two_runs.cwd / ".dagster").exists()  # dagster.yaml's relative folders are under DAGSTER_HOME
    assert (two_runs.home / ".dagster" / "storage").is_dir()
    with open_instance(two_runs.home) as instance:
        keys = defs.resolve_asset_graph().get_all_asset_keys()
        missing = [k.to_user_string() for k in keys if instance.get_latest_materialization_event(k) is None]
        assert not missing, missing
        embedded = instance.get_materialized_partitions(dg.AssetKey("image_embeddings"))
        assert sorted(embedded) == sorted(p.name for p in two_runs.layout.images_dir.iterdir())
        event = instance.get_latest_materialization_event(dg.AssetKey("submission_csv"))
        assert event.asset_materialization.metadata["dagster/row_count"].value == 1500
        runs = instance.get_runs()
        assert runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)


def test_image_sensor_first_tick_after_the_run_launches_nothing(two_runs, monkeypatch):
    from hm_pipeline.defs import automation
    from hm_pipeline.defs.resources import WEIGHTS_ENV, DataRootResource

    monkeypatch.setenv(WEIGHTS_ENV, "imagenet-or-random")  # weights available: only currency decides
    with open_instance(two_runs.home) as instance, dg.build_sensor_context(
            instance=instance, resources={"data_root": DataRootResource(data_root=str(two_runs.layout.root))}
    ) as context:
        tick = automation.image_folder_sensor(context)
    assert not tick.run_requests and not tick.dynamic_partitions_requests
    assert "embeddings are current" in tick.skip_reason.skip_message


def test_no_wait_fails_at_once_naming_the_holder(tmp_path):
    layout = DataLayout(tmp_path / "data")
    env = cli_env(tmp_path / "home", tmp_path / "keras")
    with data_root_lock.hold(layout, "the test"):
        started = time.monotonic()
        done = finish(start_run(layout.root, env, tmp_path, "--no-wait"), timeout=120)
    assert done.returncode == 3, done.output
    assert f"is in use by pid {os.getpid()} on " in done.output and "(the test)" in done.output
    assert "not waiting (--no-wait)" in done.output and "Traceback" not in done.output
    assert time.monotonic() - started < 60 and not layout.input_dir.exists()  # nothing generated


def test_config_file_reaches_the_steps_and_an_empty_k_core_is_one_clear_message(two_runs, tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"ops": {"interaction_matrix": {"config": {"user_min": 1000}},
                                              "als_model": {"config": {"factors": 8}}}}))
    done = finish(start_run(two_runs.layout.root, two_runs.env, two_runs.cwd, "--config", str(config),
                            "--ephemeral"))
    out = done.output
    assert done.returncode == 1, out
    assert "Traceback" not in out and "DEBUG" not in out, out
    failed = re.search(r"FAILED interaction_matrix: the k-core \(user_min=1000, article_min=5\) leaves no "
                       r"customers: ([\d,]+) customers x [\d,]+ articles with purchases before, 0 x 0 after", out)
    assert failed and int(failed.group(1).replace(",", "")) > 1000, out
    assert "Lower `user_min`" in out and "full log: " in out
    assert re.search(r"^graph +3/3 .* done *$", out, re.M), out  # steps that do not need the matrix still ran
    assert re.search(r"^training +0/4 .* FAILED", out, re.M), out
    skipped = re.search(r"^skipped \(they need a failed step\): (.*)$", out, re.M)
    assert skipped and set(skipped.group(1).split(", ")) == {"als_model", "ranker_train_set", "ranker_model",
                                                             "ranker_candidates", "holdout_evaluation",
                                                             "recommendations", "submission_csv"}, out
    assert "Dependencies for step" not in out, out  # the engine's words go to the log

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"ops": {"no_such_step": {"config": {}}}}))
    done = finish(start_run(two_runs.layout.root, two_runs.env, two_runs.cwd, "--config", str(bad), "--ephemeral"))
    assert done.returncode == 2 and "no step named no_such_step" in done.output, done.output
