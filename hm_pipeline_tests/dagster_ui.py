"""A `dagster dev` process (webserver + daemon) for the browser test: start in a temp instance, query, stop.

Started with `env --default-signal=INT,TERM` in its own process group (dagster dev started in the background
ignores SIGINT/SIGTERM otherwise); `stop()` signals that group only (INT, then TERM, then KILL), which also ends
the run workers it launched.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

LOCATION = "hm_pipeline"  # workspace.yaml's location_name
REPOSITORY = "__repository__"  # the repository of a single Definitions
T = TypeVar("T")


class DagsterDevError(RuntimeError):
    """dagster dev did not start, died, or a GraphQL call failed."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_instance_yaml(repo_yaml: Path, home: Path) -> dict[str, Any]:
    """The repo's dagster.yaml with every storage folder moved under `home`; written to home/dagster.yaml."""
    config = yaml.safe_load(repo_yaml.read_text())
    config["storage"]["sqlite"]["base_dir"] = str(home / "storage")
    for key in ("local_artifact_storage", "compute_logs"):
        config[key]["config"]["base_dir"] = str(home / key)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return config


def wait_for(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 1.0) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class DagsterDev:
    """`dagster dev -w workspace.yaml -h 127.0.0.1 -p <port>` run from `cwd` with `env`, logging to `log_path`."""

    def __init__(self, cwd: Path, env: Mapping[str, str], log_path: Path, dagster: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        cmd = ["env", "--default-signal=INT,TERM", str(dagster), "dev", "-w", "workspace.yaml",
               "-h", "127.0.0.1", "-p", str(self.port)]
        self.process = subprocess.Popen(cmd, cwd=cwd, env=dict(env), stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.pgid = self.process.pid  # start_new_session: the leader's pid is the group id

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def gql(self, query: str, variables: Mapping[str, Any] | None = None, timeout: float = 60) -> dict[str, Any]:
        """POST a GraphQL query; its `data`, or DagsterDevError with the errors."""
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read())
        if payload.get("errors"):
            raise DagsterDevError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def wait_ready(self, timeout: float) -> None:
        """Until the webserver answers and the code location is loaded (fails early if dagster dev exits)."""

        def loaded() -> bool:
            if self.process.poll() is not None:
                raise DagsterDevError(f"dagster dev exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                data = self.gql("{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                                "locationOrLoadError { __typename ... on PythonError { message } } } } } }",
                                timeout=5)
            except (urllib.error.URLError, ConnectionError, TimeoutError, socket.timeout):
                return False
            entries = data["workspaceOrError"]["locationEntries"]
            for entry in entries:
                error = entry["locationOrLoadError"] or {}
                if error.get("__typename") == "PythonError":
                    raise DagsterDevError(f"code location {entry['name']} failed to load: {error['message']}")
            return any(e["name"] == LOCATION and e["loadStatus"] == "LOADED" and e["locationOrLoadError"]
                       for e in entries)

        try:
            wait_for(loaded, timeout, f"dagster dev on {self.url} with location {LOCATION!r} loaded")
        except TimeoutError as exc:
            raise DagsterDevError(f"{exc}\n{self.log_tail()}") from None

    def stop(self, grace: float = 30) -> None:
        """SIGINT to the process group, then SIGTERM, then SIGKILL for anything left in the group."""
        try:
            for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                if not self._group_alive():
                    break
                os.killpg(self.pgid, sig)
                deadline = time.monotonic() + wait
                while self._group_alive() and time.monotonic() < deadline:
                    time.sleep(0.3)
        finally:
            self._log.close()

    def _group_alive(self) -> bool:
        self.process.poll()  # reap the leader so that a finished leader does not count as alive
        try:
            os.killpg(self.pgid, 0)
        except ProcessLookupError:
            return False
        if self.process.returncode is None:
            return True
        # leader gone: the group is alive only if another process (not a zombie) still belongs to it
        return any(_pgid_of(pid) == self.pgid for pid in _all_pids())


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _pgid_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "(comm)": state ppid pgrp ...
    return int(fields[2]) if fields[0] != "Z" else None
