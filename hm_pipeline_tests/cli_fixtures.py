"""Running the real `hm-pipeline` command in a subprocess on tiny data, as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from hm_pipeline.layout import DataLayout
from hm_pipeline_tests.conftest import REPO_ROOT

IMAGE_FOLDERS = 2
RUN_TIMEOUT = 900  # s: two runs back to back on a shared 2-core machine


def hm_pipeline_command() -> list[str]:
    script = Path(sys.executable).parent / "hm-pipeline"
    return [str(script)] if script.exists() else [sys.executable, "-m", "hm_pipeline.cli"]


def copy_tiny_root(generated: Path, root: Path, folders: int = IMAGE_FOLDERS) -> DataLayout:
    """The tiny Kaggle files and the first `folders` image folders (2+ photos each) under `root/input`."""
    layout = DataLayout(root)
    layout.images_dir.mkdir(parents=True)
    for name in ("articles.csv", "customers.csv", "transactions_train.csv", "sample_submission.csv"):
        shutil.copy(generated / name, layout.input_file(name))
    kept = sorted(p for p in (generated / "images").iterdir() if p.is_dir() and len(list(p.glob("*.jpg"))) >= 2)
    for source in kept[:folders]:
        shutil.copytree(source, layout.images_dir / source.name)
    return layout


def cli_env(home: Path, keras: Path) -> dict[str, str]:
    """A user's environment: DAGSTER_HOME with the repo's dagster.yaml, an empty Keras cache (offline)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")  # relative folders: under home, not the cwd
    env = {k: v for k, v in os.environ.items() if k not in ("HM_IMAGE_WEIGHTS", "HM_DATA_DIR")}
    return {**env, "DAGSTER_HOME": str(home), "KERAS_HOME": str(keras), "OPENBLAS_NUM_THREADS": "1",
            "DAGSTER_DISABLE_TELEMETRY": "1"}


def start_run(root: Path, env: dict[str, str], cwd: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([*hm_pipeline_command(), "run", "--data-root", str(root), "--image-size", "32", *extra],
                            env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@dataclass
class Finished:
    pid: int
    returncode: int
    output: str


def finish(process: subprocess.Popen, timeout: float = RUN_TIMEOUT) -> Finished:
    output, _ = process.communicate(timeout=timeout)
    return Finished(process.pid, process.returncode, output)
