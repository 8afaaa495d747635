"""`hm-pipeline run`: every asset, in-process, with output for a person.

Holds the data root's write lock for the whole run (`data_root_lock`), records the runs in the Dagster instance at
`$DAGSTER_HOME` (default: the repo root, the instance `dagster dev` uses; `--ephemeral` for none), shows one line
per step with a counter and elapsed time, sends the full Dagster log (and anything written to stderr, e.g.
TensorFlow) to a log file, and ends with a summary: rows per asset, the MAP@12 table, the submission and what to
run next. A failing step is one message; the steps that do not depend on it still run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shlex
import sys
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from hm_pipeline import data_root_lock
from hm_pipeline.layout import DataLayout

REPO_ROOT = Path(__file__).resolve().parents[1]
INGEST_ASSETS = ("articles", "customers", "transactions")
QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # the log file has everything
ENGINE_SKIP_MESSAGE = "Dependencies for step"  # Dagster's error per step not run: the summary lists them once
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


def config_for(job: Any, run_config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of `run_config` about the ops of `job`, with the console logger silenced."""
    ops = {name: value for name, value in run_config.get("ops", {}).items() if name in job.graph.node_dict}
    return {**({"ops": ops} if ops else {}), **QUIET_LOGGERS}


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


@dataclass
class StepLine:
    """One line of the progress display."""

    task: TaskID
    total: int
    done: int = 0
    failed: list[str] = field(default_factory=list)


class Report:
    """Collects what the runs did (from their events) and draws the progress lines."""

    def __init__(self, progress: Progress, log: Any) -> None:
        self.progress = progress
        self.log = log
        self.lines: dict[str, StepLine] = {}
        self.rows: dict[str, int] = defaultdict(int)
        self.partitions: Counter[str] = Counter()
        self.failures: dict[str, list[str]] = defaultdict(list)  # message -> steps
        self.warnings: Counter[str] = Counter()
        self.line_of: dict[str, str] = {}  # asset -> line
        self.skipped: list[str] = []  # asset steps not run because a step they need failed
        self.partition: str | None = None  # of the run being executed, to name its failed step

    def add_line(self, name: str, total: int, assets: tuple[str, ...] = ()) -> None:
        task = self.progress.add_task(name, total=total, start=False, status="")
        self.lines[name] = StepLine(task, total)
        for asset in assets:
            self.line_of[asset] = name

    def set_total(self, name: str, total: int) -> None:
        self.lines[name].total = total
        self.progress.update(self.lines[name].task, total=total)

    def start(self, name: str) -> None:
        self.progress.start_task(self.lines[name].task)
        self.progress.update(self.lines[name].task, status="running")

    def advance(self, name: str) -> None:
        line = self.lines[name]
        line.done += 1
        self.progress.update(line.task, completed=line.done)

    def fail(self, name: str, step: str, message: str) -> None:
        self.lines[name].failed.append(step)
        self.failures[message].append(step)

    def finish(self, name: str) -> None:
        line = self.lines[name]
        if line.failed:
            status = f"[red]FAILED ({len(line.failed)})"
        elif line.done == line.total:
            status = "[green]done"
        else:
            status = "[yellow]incomplete" if line.done else "[yellow]skipped"
        self.progress.update(line.task, status=status)
        self.progress.stop_task(line.task)

    def note(self, text: str) -> None:
        self.progress.console.print(text, highlight=False)

    def on_event(self, entry: Any) -> None:
        """Instance event listener: write the log line; count materializations, failures, warnings."""
        event = entry.dagster_event
        kind = event.event_type_value if event else ""
        when = dt.datetime.fromtimestamp(entry.timestamp, dt.timezone.utc).strftime("%H:%M:%S")
        self.log.write(f"{when} {logging.getLevelName(entry.level)} {entry.job_name} {entry.run_id[:8]} "
                       f"{entry.step_key or '-'} {kind} {entry.message}\n")
        self.log.flush()
        if event is None:
            if entry.user_message.startswith(ENGINE_SKIP_MESSAGE):
                if (entry.step_key or "").split("[")[0] in self.line_of:  # asset steps; their checks go unsaid
                    self.skipped.append(entry.step_key)
            elif entry.level >= logging.WARNING:
                self._warn(entry.user_message)
            return
        if kind == "ASSET_MATERIALIZATION":
            asset = event.asset_key.to_user_string()
            materialization = event.step_materialization_data.materialization
            row_count = materialization.metadata.get("dagster/row_count")
            if row_count is not None:
                self.rows[asset] += int(row_count.value)
            if materialization.partition:
                self.partitions[asset] += 1
            if asset in self.line_of:
                self.advance(self.line_of[asset])
        elif kind == "STEP_FAILURE":
            asset = (entry.step_key or "").split("[")[0]
            line = self.line_of.get(asset) or next((n for a, n in self.line_of.items()
                                                    if asset.startswith(f"{a}_")), None)
            if line:
                step = f"{entry.step_key}[{self.partition}]" if self.partition else entry.step_key
                self.fail(line, step, _failure_text(event.step_failure_data))
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                self._warn(f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} did not pass")

    def _warn(self, message: str) -> None:
        self.warnings[message] += 1
        if self.warnings[message] == 1:  # once; the first sentence (the log has the whole text)
            head, dot, rest = message.partition(". ")
            self.note(f"[yellow]warning:[/] {head}{dot.strip()}{' (details in the log)' if rest else ''}")


def _failure_text(data: Any) -> str:
    """The user's words for a failed step: a `dg.Failure` description, else the innermost exception."""
    if data is None:
        return "failed (no error recorded)"
    user = getattr(data, "user_failure_data", None)
    if user is not None and user.description:
        return user.description
    error = data.error
    while error is not None and error.cause is not None:
        error = error.cause
    return error.message.strip() if error is not None else "failed"


@contextlib.contextmanager
def _terminal_to_log(log: Any) -> Iterator[None]:
    """Send fds 1 and 2 (Keras downloads, Python warnings, TensorFlow's C++ messages) to the log for the block;
    the progress display keeps writing to the terminal through its own duplicate of stdout."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


def _terminal() -> Console:
    """A console on a duplicate of stdout, so that redirecting fd 1 to the log does not silence it."""
    return Console(file=os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1), highlight=False, soft_wrap=True)


def _execute(job: Any, report: Report, instance: Any, run_config: dict[str, Any], **kwargs: Any) -> Any:
    run_id = str(uuid.uuid4())
    instance.add_event_listener(run_id, report.on_event)
    return job.execute_in_process(instance=instance, run_id=run_id, run_config=run_config,
                                  raise_on_error=False, **kwargs)


def ensure_inputs(layout: DataLayout, args: Any, report: Report) -> None:
    """Generate synthetic Kaggle files when `input/` has none (the report goes to the log)."""
    if not layout.has_inputs():
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
    order = ["graph", "similar", "training", "recommendations"]
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
    _execute(ingest, report, instance, config_for(ingest, run_config))
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
        _execute(embed, report, instance, config_for(embed, run_config), partition_key=folder)
    report.partition = None
    report.finish("images")

    for name in groups:
        report.start(name)
    _execute(full, report, instance, config_for(full, run_config), asset_selection=downstream)
    for name in groups:
        report.finish(name)


def _summary(console: Console, layout: DataLayout, report: Report, home: Path | None, log_path: Path) -> None:
    rows = Table(title="rows per asset", title_justify="left", box=None, padding=(0, 2))
    rows.add_column("asset")
    rows.add_column("rows", justify="right")
    order = list(report.line_of)
    for asset in sorted(report.rows, key=lambda a: order.index(a) if a in order else len(order)):
        count = report.rows[asset]
        parts = f" ({report.partitions[asset]} folders)" if report.partitions[asset] else ""
        rows.add_row(asset, f"{count:,}{parts}")
    console.print(rows)
    evaluation = layout.training_dir / "evaluation" / "evaluation.json"
    if "recommendation_evaluation" in report.rows and evaluation.exists():
        results = json.loads(evaluation.read_text())["results"]
        table = Table(title="MAP@12 on the held-out week", title_justify="left", box=None, padding=(0, 2))
        table.add_column("candidate")
        table.add_column("MAP@12", justify="right")
        table.add_column("customers", justify="right")
        for result in results:
            table.add_row(result["candidate"], f"{result['map@12']:.4f}", f"{result['users_evaluated']:,}")
        console.print(table)
    submission = layout.output_dir / "submission.csv"
    if "submission_csv" in report.rows and submission.exists():
        console.print(f"submission: {submission}")
    for message, steps in report.failures.items():
        more = ", …" if len(steps) > 3 else ""
        where = steps[0] if len(steps) == 1 else f"{len(steps)} steps ({', '.join(steps[:3])}{more})"
        console.print(f"[red]FAILED[/] {where}: {message}", highlight=False)
    if report.skipped:
        console.print(f"skipped (they need a failed step): {', '.join(report.skipped)}")
    console.print(f"full log: {log_path}")
    next_steps = []
    if home is not None:
        next_steps.append(f"DAGSTER_HOME={home} .venv/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000")
    if submission.exists():
        first = submission.open().readlines()[1:2]
        customer = first[0].split(",")[0] if first else "<customer_id>"
        next_steps.append(f".venv/bin/hm-pipeline recommend {customer} --data-root {layout.root}")
    if next_steps:
        console.print("next:\n  " + "\n  ".join(next_steps), highlight=False, soft_wrap=True)


def cmd_run(args: Any) -> int:
    """`hm-pipeline run` (see the module docstring); 0 when every step succeeded, 1 otherwise."""
    console = _terminal()
    layout = DataLayout.from_env(args.data_root)
    os.environ["HM_DATA_DIR"] = str(layout.root)  # the data_root resource reads it
    try:
        run_config = _image_config(args, load_run_config(args.config))
    except RunConfigError as error:
        console.print(f"hm-pipeline run: {error}")
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
                with Progress(*columns, console=console) as progress, _terminal_to_log(log):
                    report = Report(progress, log)
                    _pipeline(layout, args, instance, report, run_config)
    except data_root_lock.DataRootBusy as error:
        console.print(f"hm-pipeline run: {error}")
        return 3
    _summary(console, layout, report, home, log_path)
    ok = not report.failures and all(line.done == line.total for line in report.lines.values())
    console.print(f"{'finished' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


def _unknown_ops(run_config: Mapping[str, Any]) -> list[str]:
    from hm_pipeline.definitions import defs

    known = set()
    for job in ("ingest_job", "embed_images_job", "full_refresh"):
        known |= set(defs.resolve_job_def(job).graph.node_dict)
    return sorted(set(run_config.get("ops", {})) - known)
