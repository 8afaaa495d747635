"""`hm-pipeline run`: every asset, in-process, with output for a person.

Holds the data root's write lock for the whole run (`data_root_lock`), records the runs in the Dagster instance at
`$DAGSTER_HOME` (default: the repo root, the instance `dagster dev` uses; `--ephemeral` for none), shows one line
per step with a counter and elapsed time, sends the full Dagster log (and anything written to stderr, e.g.
TensorFlow) to a log file, and ends with a summary: rows per asset, the MAP@12 table, the submission and what to
run next. A failing step is one message; the steps that do not depend on it still run.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
import traceback
import uuid
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from rich.progress import MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hm_pipeline import data_root_lock
from hm_pipeline.data.input_files import InputFilesError, needs_synthetic_data
from hm_pipeline.layout import DataLayout
from hm_pipeline.run_report import Report, print_summary, terminal, terminal_to_log

REPO_ROOT = Path(__file__).resolve().parents[1]
INGEST_ASSETS = ("articles", "customers", "transactions")
QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # the log file has everything
GROUP_LABELS = {"images": "similar"}  # downstream of the per-folder embeddings, the images group is SIMILAR


class RunConfigError(ValueError):
    """The --config file cannot be used (unreadable, not a mapping, unknown ops)."""


def dagster_home() -> Path:
    """`$DAGSTER_HOME`, else the repo root (where the README runs `dagster dev`); exported for Dagster."""
    home = Path(os.environ.get("DAGSTER_HOME") or REPO_ROOT).resolve()
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def open_instance(home: Path) -> Any:
    """The Dagster instance of `home`, with the relative folders of its dagster.yaml taken relative to `home`
    (Dagster would take them relative to the working directory; `dagster dev` runs in the repo root)."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    home.mkdir(parents=True, exist_ok=True)
    config_file = home / "dagster.yaml"
    config = (yaml.safe_load(config_file.read_text()) or {}) if config_file.exists() else {}
    overrides: dict[str, Any] = {}
    for key, path in (("storage", ("sqlite", "base_dir")), ("local_artifact_storage", ("config", "base_dir")),
                      ("compute_logs", ("config", "base_dir"))):
        section = config.get(key) or {}
        value = (section.get(path[0]) or {}).get(path[1]) if isinstance(section, dict) else None
        if isinstance(value, str) and not os.path.isabs(value):
            overrides[key] = {**section, path[0]: {**section[path[0]], path[1]: str(home / value)}}
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=overrides))


def load_run_config(path: str | None) -> dict[str, Any]:
    """The Dagster run config in a YAML file (`ops: {interaction_matrix: {config: {user_min: 2}}, ...}`)."""
    if not path:
        return {}
    try:
        config = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise RunConfigError(f"--config {path}: {error}") from None
    if config is None:
        return {}
    if not isinstance(config, dict) or set(config) - {"ops"} or not isinstance(config.get("ops", {}), dict):
        raise RunConfigError(f"--config {path}: expected a mapping with one key `ops` (Dagster run config, e.g. "
                             "ops: {interaction_matrix: {config: {user_min: 2}}}), got "
                             f"{list(config) if isinstance(config, dict) else type(config).__name__}")
    return config


def config_for(job: Any, run_config: Mapping[str, Any], layout: DataLayout) -> dict[str, Any]:
    """The part of `run_config` about the ops of `job`, the data root for the `data_root` resource, and the console
    logger silenced."""
    ops = {name: value for name, value in run_config.get("ops", {}).items() if name in job.graph.node_dict}
    resources = {"data_root": {"config": {"data_root": str(layout.root)}}}
    return {**({"ops": ops} if ops else {}), "resources": resources, **QUIET_LOGGERS}


def _image_config(args: Any, run_config: dict[str, Any]) -> dict[str, Any]:
    """--weights / --image-size, when given, override the file's `ops.image_embeddings.config`."""
    ops = run_config.setdefault("ops", {})
    image = ops.setdefault("image_embeddings", {}).setdefault("config", {})
    if args.weights:
        image["weights"] = args.weights
    elif "weights" not in image:
        image["weights"] = "imagenet-or-random"  # the CLI works offline; the fallback is a loud warning
    if args.image_size:
        image["image_size"] = args.image_size
    return run_config


def _execute(job: Any, report: Report, instance: Any, run_config: dict[str, Any], **kwargs: Any) -> Any:
    run_id = str(uuid.uuid4())
    instance.add_event_listener(run_id, report.on_event)
    return job.execute_in_process(instance=instance, run_id=run_id, run_config=run_config,
                                  raise_on_error=False, **kwargs)


def ensure_inputs(layout: DataLayout, args: Any, report: Report) -> None:
    """Generate synthetic Kaggle files when `input/` has none (the report goes to the log)."""
    if needs_synthetic_data(layout.input_dir):
        from hm_pipeline.data.synthetic.generate import generate

        report.note(f"No Kaggle files in {layout.input_dir}: generating synthetic data (scale {args.scale}).")
        report.log.write(generate(args.scale, layout.input_dir, seed=args.seed).to_text() + "\n")


def _pipeline(layout: DataLayout, args: Any, instance: Any, report: Report, run_config: dict[str, Any]) -> None:
    from hm_pipeline.definitions import defs
    from hm_pipeline.defs.images import image_folders
    from hm_pipeline.images.scan import list_folders

    ingest = defs.resolve_job_def("ingest_job")
    embed = defs.resolve_job_def("embed_images_job")
    full = defs.resolve_job_def("full_refresh")
    asset_graph = defs.resolve_asset_graph()
    downstream = [key for key in full.asset_layer.executable_asset_keys
                  if key.to_user_string() not in INGEST_ASSETS]
    groups: dict[str, list[str]] = defaultdict(list)
    for key in [k for k in asset_graph.toposorted_asset_keys if k in set(downstream)]:
        groups[GROUP_LABELS.get(asset_graph.get(key).group_name, asset_graph.get(key).group_name)].append(
            key.to_user_string())
    report.add_line("inputs", 1)
    report.add_line("ingest", len(INGEST_ASSETS), INGEST_ASSETS)
    report.add_line("images", 0, ("image_embeddings",))  # the folders are counted once the inputs are there
    order = ["graph", "similar", "training", "recommendations", "evaluation"]
    for name in sorted(groups, key=lambda g: order.index(g) if g in order else len(order)):
        report.add_line(name, len(groups[name]), tuple(groups[name]))

    report.start("inputs")
    try:
        ensure_inputs(layout, args, report)
        report.advance("inputs")
    except Exception as error:  # noqa: BLE001 - shown as one message; the traceback goes to the log
        report.log.write(traceback.format_exc())
        report.fail("inputs", "inputs", f"{type(error).__name__}: {error}")
    report.finish("inputs")
    if report.lines["inputs"].failed:
        return

    report.start("ingest")
    _execute(ingest, report, instance, config_for(ingest, run_config, layout))
    report.finish("ingest")
    if report.lines["ingest"].failed:
        return  # every later step reads the ingested tables

    folders = list_folders(layout.images_dir)
    report.set_total("images", len(folders))
    report.start("images")
    known = set(instance.get_dynamic_partitions(image_folders.name))
    instance.add_dynamic_partitions(image_folders.name, [f for f in folders if f not in known])
    for folder in folders:
        report.partition = folder
        _execute(embed, report, instance, config_for(embed, run_config, layout), partition_key=folder)
    report.partition = None
    report.finish("images")

    for name in groups:
        report.start(name)
    _execute(full, report, instance, config_for(full, run_config, layout), asset_selection=downstream)
    for name in groups:
        report.finish(name)


def cmd_run(args: Any) -> int:
    """`hm-pipeline run` (see the module docstring); 0 when every step succeeded, 1 otherwise."""
    console = terminal()
    layout = DataLayout.from_env(args.data_root)
    try:
        run_config = _image_config(args, load_run_config(args.config))
    except RunConfigError as error:
        console.print(f"hm-pipeline run: {error}")
        return 2
    try:
        needs_synthetic_data(layout.input_dir)  # a partial or unreadable input/ stops here, before anything is written
    except InputFilesError as error:
        print(f"hm-pipeline run: {error}", file=sys.stderr)
        return 2
    layout.logs_dir.mkdir(parents=True, exist_ok=True)
    log_path = layout.logs_dir / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    home = None if args.ephemeral else dagster_home()
    command = shlex.join(["hm-pipeline", *sys.argv[1:]]) if sys.argv[1:2] == ["run"] else "hm-pipeline run"
    started = time.monotonic()
    try:
        with data_root_lock.hold(layout, command, wait=not args.no_wait, on_wait=console.print):
            import dagster as dg

            unknown = _unknown_ops(run_config)
            if unknown:
                console.print(f"hm-pipeline run: --config {args.config}: no step named {', '.join(unknown)}")
                return 2
            instance = dg.DagsterInstance.ephemeral() if home is None else open_instance(home)
            console.print(f"data root {layout.root}; Dagster instance "
                          f"{'(ephemeral)' if home is None else home}; log {log_path}")
            columns = (TextColumn("{task.description:<16}"), MofNCompleteColumn(), TimeElapsedColumn(),
                       TextColumn("{task.fields[status]}"))
            with open(log_path, "a", encoding="utf-8") as log, instance:
                with Progress(*columns, console=console) as progress, terminal_to_log(log):
                    report = Report(progress, log)
                    _pipeline(layout, args, instance, report, run_config)
    except data_root_lock.DataRootBusy as error:
        console.print(f"hm-pipeline run: {error}")
        return 3
    print_summary(console, layout, report, home, log_path)
    ok = not report.failures and all(line.done == line.total for line in report.lines.values())
    console.print(f"{'finished' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


def _unknown_ops(run_config: Mapping[str, Any]) -> list[str]:
    from hm_pipeline.definitions import defs

    known = set()
    for job in ("ingest_job", "embed_images_job", "full_refresh"):
        known |= set(defs.resolve_job_def(job).graph.node_dict)
    return sorted(set(run_config.get("ops", {})) - known)
