"""What `hm-pipeline run` shows a person: progress lines, warnings once, one message per failure, the summary.

`Report` listens to the Dagster instance's events of each run (every line also goes to the log file); the
terminal keeps a duplicate of stdout while fds 1 and 2 go to the log (TensorFlow and Keras write there directly).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from hm_pipeline.layout import DataLayout

ENGINE_SKIP_MESSAGE = "Dependencies for step"  # Dagster's error per step not run: the summary lists them once


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
                self.fail(line, step, failure_text(event.step_failure_data))
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                self._warn(f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} did not pass")

    def _warn(self, message: str) -> None:
        self.warnings[message] += 1
        if self.warnings[message] == 1:  # once; the first sentence (the log has the whole text)
            head, dot, rest = message.partition(". ")
            self.note(f"[yellow]warning:[/] {head}{dot.strip()}{' (details in the log)' if rest else ''}")


def failure_text(data: Any) -> str:
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
def terminal_to_log(log: Any) -> Iterator[None]:
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


def terminal() -> Console:
    """A console on a duplicate of stdout, so that redirecting fd 1 to the log does not silence it."""
    width = None if sys.stdout.isatty() else 160  # a pipe or a file: no 80-column wrapping of the tables
    return Console(file=os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1), highlight=False, soft_wrap=True,
                   width=width)


def print_summary(console: Console, layout: DataLayout, report: Report, home: Path | None, log_path: Path) -> None:
    rows = Table(title="rows per asset", title_justify="left", box=None, padding=(0, 2))
    rows.add_column("asset")
    rows.add_column("rows", justify="right")
    order = list(report.line_of)
    for asset in sorted(report.rows, key=lambda a: order.index(a) if a in order else len(order)):
        count = report.rows[asset]
        parts = f" ({report.partitions[asset]} folders)" if report.partitions[asset] else ""
        rows.add_row(asset, f"{count:,}{parts}")
    console.print(rows)
    evaluation = layout.evaluation_file
    if "holdout_evaluation" in report.rows and evaluation.exists():
        results = json.loads(evaluation.read_text())["results"]
        table = Table(title="MAP@12 on the held-out week", title_justify="left", box=None, padding=(0, 2))
        table.add_column("candidate")
        table.add_column("MAP@12", justify="right")
        table.add_column("vs best baseline [95% interval]", justify="right")
        table.add_column("customers", justify="right")
        main = [r for r in results if " without " not in r["candidate"]]  # ablations stay in evaluation.md
        for result in main:
            table.add_row(result["candidate"], f"{result['map@12']:.4f}", _versus_best(result),
                          f"{result['users_evaluated']:,}")
        console.print(table)
        if any(r["candidate"] == "ranked" for r in results):
            from hm_pipeline.training.evaluate import beats_best_baseline  # imports implicit: only when needed

            passed, verdict = beats_best_baseline(results, "ranked")
            console.print(f"[{'green' if passed else 'yellow'}]{verdict}[/]", highlight=False)
        if len(results) > len(main):
            console.print(f"ablations ({len(results) - len(main)} rows): {evaluation.with_suffix('.md')}")
    submission = layout.submission_file
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


def _versus_best(result: dict[str, Any]) -> str:
    """The MAP@12 difference to the best baseline with its bootstrap interval, as evaluation.json records it."""
    diff = result.get("map diff")
    if diff is None or diff == "":
        return ""
    if diff == 0 and not result.get("contender"):
        return "best baseline"
    return f"{diff:+.4f} {result.get('95% interval', '')}".rstrip()
