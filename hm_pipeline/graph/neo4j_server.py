"""A local Neo4j Community server (with Graph Data Science) run from the jars `neo4j/pom.xml` resolves.

`install()` copies the server's jars to `<home>/lib` and GDS's to `<home>/plugins` with Maven (once; cached by the
pom's hash). `start()` runs one server per data root: 127.0.0.1 on a free port, a generated password, its data,
logs and configuration under `<data root>/neo4j/`; it returns once Bolt answers and records pid, port and password
in `<data root>/neo4j/server.json` (mode 0600), which `connection()` reads for the pipeline. `stop()` sends SIGTERM
to that pid only (the server shuts down cleanly on it).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from hm_pipeline.layout import DataLayout

REPO_ROOT = Path(__file__).resolve().parents[2]
POM = REPO_ROOT / "neo4j" / "pom.xml"
ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
ADMIN_TOOL = "org.neo4j.cli.AdminTool"
USER = "neo4j"
DEFAULT_HEAP = "1g"
DEFAULT_PAGECACHE = "512m"
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0
#: JVM flags of Neo4j 5.26's own launcher (its default `server.jvm.additional`; the `--add-opens` are what
#: `neo4j-admin server migrate-configuration` adds, neo4j-dbms's ConfigFileMigrator). Without java.nio opened the
#: page cache and the import tool fall back to slower buffer access ("Reflection access to
#: java.nio.DirectByteBuffer is not available, using fallback mode"). Used for the server and `neo4j-admin`.
JVM_FLAGS = (
    "-XX:+UseG1GC", "-XX:-OmitStackTraceInFastThrow", "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields", "-XX:+DisableExplicitGC", "-XX:+ExitOnOutOfMemoryError",
    "-Djdk.nio.maxCachedBufferSize=1024", "-Dio.netty.tryReflectionSetAccessible=true", "-Dlog4j2.disable.jmx=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED",
)


class Neo4jServerError(RuntimeError):
    """The local server could not be installed, started or stopped; the message says why and where to look."""


@dataclass(frozen=True)
class ServerState:
    """What `server.json` records about a running server."""

    pid: int
    port: int
    password: str
    home: str

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"


def default_home() -> Path:
    """Where the jars live: `$HM_NEO4J_HOME`, else `.venv/neo4j` in the repository."""
    return Path(os.environ.get("HM_NEO4J_HOME") or REPO_ROOT / ".venv" / "neo4j")


def server_dir(layout: DataLayout) -> Path:
    return layout.root / "neo4j"


def state_file(layout: DataLayout) -> Path:
    return server_dir(layout) / "server.json"


def _pom_hash() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def is_installed(home: Path) -> bool:
    stamp = home / "installed.sha256"
    return stamp.exists() and stamp.read_text().strip() == _pom_hash()


def install(home: Path | None = None) -> Path:
    """Resolve the server and GDS jars into `home` with Maven (nothing to do when the pom is unchanged)."""
    home = home or default_home()
    if is_installed(home):
        return home
    mvn = shutil.which("mvn")
    if mvn is None:
        raise Neo4jServerError("installing Neo4j needs Maven (`mvn`) and Java 17 on PATH")
    for sub in ("lib", "plugins"):
        shutil.rmtree(home / sub, ignore_errors=True)
    done = subprocess.run([mvn, "-q", "-B", "-f", str(POM), "package", f"-Dneo4j.home={home}"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise Neo4jServerError(f"Maven could not resolve Neo4j from {POM}:\n{(done.stdout + done.stderr)[-3000:]}")
    (home / "installed.sha256").write_text(_pom_hash() + "\n")
    return home


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = Path(java_home) / "bin" / "java" if java_home else shutil.which("java")
    if not java:
        raise Neo4jServerError("Neo4j needs Java 17 (`java` on PATH or JAVA_HOME)")
    return str(java)


def classpath(home: Path) -> str:
    """Server jars and the plugins (GDS registers its extension from the class path)."""
    return f"{home / 'lib'}/*:{home / 'plugins'}/*"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(folder: Path, home: Path, port: int, pagecache: str = DEFAULT_PAGECACHE) -> Path:
    """`neo4j.conf` for a loopback-only server with Bolt on `port`, HTTP off, GDS procedures allowed."""
    conf = folder / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    settings = {
        "server.directories.data": folder / "data",
        "server.directories.logs": folder / "logs",
        "server.directories.run": folder / "run",
        "server.directories.import": folder / "import",
        "server.directories.plugins": home / "plugins",
        "server.default_listen_address": "127.0.0.1",
        "server.bolt.listen_address": f"127.0.0.1:{port}",
        "server.bolt.advertised_address": f"127.0.0.1:{port}",
        "server.http.enabled": "false",
        "server.https.enabled": "false",
        "server.memory.pagecache.size": pagecache,
        "dbms.security.procedures.unrestricted": "gds.*",
        "dbms.security.procedures.allowlist": "gds.*",
        "dbms.usage_report.enabled": "false",
        "db.tx_log.rotation.retention_policy": "1 files",
    }
    (conf / "neo4j.conf").write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    return conf


def admin(home: Path, conf: Path, *args: str, heap: str = "1g", timeout: float = 3600) -> str:
    """Run `neo4j-admin ARGS` from the resolved jars against the configuration in `conf` (JVM heap `heap`); returns
    its output, which is also kept in `<conf>/../logs/neo4j-admin-<command>.log`."""
    env = {**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(conf)}
    logs = conf.parent / "logs"
    logs.mkdir(exist_ok=True)
    log_path = logs / f"neo4j-admin-{'-'.join(arg for arg in args[:2] if not arg.startswith('-'))}.log"
    with open(log_path, "w+") as log:
        done = subprocess.run([_java(), f"-Xmx{heap}", *JVM_FLAGS, "-cp", classpath(home), ADMIN_TOOL, *args],
                              env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              timeout=timeout, cwd=conf.parent)  # its reports go there
        log.seek(0)
        output = log.read()
    if done.returncode != 0:
        lines = [line for line in output.splitlines() if not line.lstrip().startswith("at ")]
        raise Neo4jServerError(f"neo4j-admin {args[0]} {args[1] if len(args) > 1 else ''} failed "
                               f"(whole output in {log_path}):\n" + "\n".join(lines[-25:]))
    return output


def read_state(layout: DataLayout) -> ServerState | None:
    path = state_file(layout)
    if not path.exists():
        return None
    return ServerState(**json.loads(path.read_text()))


def _write_state(layout: DataLayout, state: ServerState) -> None:
    path = state_file(layout)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(state), handle)
    os.replace(tmp, path)


def _is_our_server(pid: int, layout: DataLayout) -> bool:
    """True when `pid` is alive and is a Neo4j server started for this data root (not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return ENTRY_POINT.encode() in cmdline and f"--config-dir={server_dir(layout) / 'conf'}".encode() in cmdline


def running(layout: DataLayout) -> ServerState | None:
    """The server recorded for this data root, if its process is alive."""
    state = read_state(layout)
    return state if state is not None and _is_our_server(state.pid, layout) else None


def connection(layout: DataLayout) -> ServerState:
    """The running local server of this data root, or an error saying how to start one."""
    state = running(layout)
    if state is None:
        raise Neo4jServerError(f"no local Neo4j server runs for the data root {layout.root}: start one with "
                               f"`hm-pipeline neo4j start --data-root {layout.root}` or set NEO4J_URI")
    return state


def _bolt_answers(state: ServerState) -> bool:
    import neo4j

    try:
        with neo4j.GraphDatabase.driver(state.uri, auth=(USER, state.password), connection_timeout=2.0,
                                        max_transaction_retry_time=0) as driver:
            driver.verify_connectivity()
        return True
    except Exception:  # noqa: BLE001 - not up yet
        return False


def _log_tail(folder: Path, lines: int = 30) -> str:
    found = []
    for name in ("logs/console.log", "logs/neo4j.log"):
        path = folder / name
        if path.exists():
            found.append(f"--- {path}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
    return "\n".join(found)


def start(layout: DataLayout, home: Path | None = None, heap: str = DEFAULT_HEAP, pagecache: str = DEFAULT_PAGECACHE,
          timeout_s: float = START_TIMEOUT_S) -> ServerState:
    """Start (or find running) the data root's server; returns once Bolt answers with the recorded password."""
    home = home or default_home()
    if not is_installed(home):
        raise Neo4jServerError(f"Neo4j is not installed in {home}: run `hm-pipeline neo4j install` (or .ci/setup)")
    current = running(layout)
    if current is not None:
        return current
    folder = server_dir(layout)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    previous = read_state(layout)
    port = free_port()
    conf = write_config(folder, home, port, pagecache)
    if previous is None or not (folder / "data" / "dbms").exists():
        password = secrets.token_urlsafe(18)
        admin(home, conf, "dbms", "set-initial-password", password, timeout=300)
    else:
        password = previous.password  # the auth data already holds it
    (folder / "logs").mkdir(exist_ok=True)
    with open(folder / "logs" / "console.log", "ab") as console:
        process = subprocess.Popen(
            [_java(), f"-Xms{heap}", f"-Xmx{heap}", *JVM_FLAGS, "-cp", classpath(home), ENTRY_POINT, f"--home-dir={home}", f"--config-dir={conf}"],
            env={**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(conf)},
            stdout=console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    state = ServerState(pid=process.pid, port=port, password=password, home=str(home))
    _write_state(layout, state)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Neo4jServerError(f"the Neo4j server exited with code {process.returncode} while starting:\n"
                                   + _log_tail(folder))
        if _bolt_answers(state):
            return state
        time.sleep(1.0)
    process.terminate()
    raise Neo4jServerError(f"the Neo4j server did not answer on {state.uri} within {timeout_s:.0f} s (stopped it):\n"
                           + _log_tail(folder))


def stop(layout: DataLayout, timeout_s: float = STOP_TIMEOUT_S, force: bool = False) -> bool:
    """SIGTERM the data root's server and wait for it to exit; False when none was running.

    A server still running after `timeout_s` gets a SIGQUIT (the JVM writes its thread dump to `logs/console.log`,
    for the report); then `force` kills it (SIGKILL; Neo4j recovers from its transaction log at the next start),
    else `Neo4jServerError` is raised.
    """
    state = running(layout)
    if state is None:
        return False
    os.kill(state.pid, signal.SIGTERM)
    if _exited(state.pid, layout, timeout_s):
        return True
    console = server_dir(layout) / "logs" / "console.log"
    os.kill(state.pid, signal.SIGQUIT)
    time.sleep(2.0)  # the dump takes a moment
    if force:
        os.kill(state.pid, signal.SIGKILL)
        if _exited(state.pid, layout, 30.0):
            return True
    raise Neo4jServerError(f"the Neo4j server (pid {state.pid}) did not stop within {timeout_s:.0f} s of SIGTERM; "
                           f"its thread dump is at the end of {console}" +
                           ("" if force else "; `hm-pipeline neo4j stop --force` kills it"))


def _exited(pid: int, layout: DataLayout, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _is_our_server(pid, layout):
            return True
        _reap(pid)
        time.sleep(0.5)
    return False


def _reap(pid: int) -> None:
    """Collect the exit status when the server is our child (else it lingers as a zombie)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def status_text(layout: DataLayout) -> str:
    state = running(layout)
    if state is None:
        return f"no Neo4j server running for {layout.root}"
    return (f"Neo4j running: pid {state.pid}, {state.uri} (user {USER}; password in {state_file(layout)}), "
            f"{'answering' if _bolt_answers(state) else 'NOT answering'} on Bolt")
