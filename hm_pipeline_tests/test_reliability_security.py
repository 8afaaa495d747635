"""Security: Neo4j credentials come from the environment and never show up in logs, metadata, run config, the UI's
repository snapshot or exceptions; no data is formatted into Cypher anywhere; configured paths stay inside the
data root; the UI binds to 127.0.0.1 by default.
"""

from __future__ import annotations

import ast
import logging
import re
import socket
import subprocess
import sys
import uuid

import dagster as dg
import pytest

from hm_pipeline.defs import graph as graph_defs
from hm_pipeline.defs import images as image_defs
from hm_pipeline.defs.resources import DataRootResource, Neo4jGraphStoreResource, graph_store_from_env
from hm_pipeline.graph.cypher_files import cypher_root
from hm_pipeline.graph.neo4j_store import Neo4jGraphStore
from hm_pipeline.layout import DataLayout, PathOutsideDataRoot
from hm_pipeline_tests.conftest import REPO_ROOT
from hm_pipeline_tests.image_fixtures import jpeg_bytes, write_articles_parquet
from hm_pipeline_tests.test_graph_cypher_text import CYPHER_WORDS

# --- Neo4j credentials ------------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def neo4j_env(monkeypatch) -> str:
    """NEO4J_* pointing at a closed port on 127.0.0.1, with a distinctive password; returns the password."""
    password = f"pw-{uuid.uuid4().hex}-Zq9"
    monkeypatch.setenv("HM_GRAPH_BACKEND", "neo4j")
    monkeypatch.setenv("NEO4J_URI", f"bolt://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("NEO4J_USER", "hm_user")
    monkeypatch.setenv("NEO4J_PASSWORD", password)
    return password


def test_resource_takes_credentials_from_the_environment_by_name(neo4j_env):
    resource = graph_store_from_env()
    assert resource.backend == "neo4j"
    assert neo4j_env not in repr(resource) and neo4j_env not in str(resource)
    for field in ("uri", "user", "password"):
        assert isinstance(getattr(resource, field), dg.EnvVar), field  # resolved at run time, shown by name


def test_failed_connection_never_reveals_the_password(neo4j_env, tmp_path, capfd, caplog, monkeypatch):
    """A real driver against a closed port, through the Dagster resource and an asset run.

    Only the retry budgets are shortened (the driver's, the store's retries with backoff) so that the test is fast;
    the connection check when the store opens, the error and its path through Dagster are real.
    """
    real_connect = Neo4jGraphStore.connect.__func__

    def quick_connect(cls, uri, user, password, database="neo4j", driver_options=None, **kwargs):
        kwargs.update(max_retries=1, retry_backoff_s=0.01)
        return real_connect(cls, uri, user, password, database, {"max_transaction_retry_time": 0}, **kwargs)

    monkeypatch.setattr(Neo4jGraphStore, "connect", classmethod(quick_connect))
    caplog.set_level(logging.DEBUG)
    resource = graph_store_from_env()
    result = dg.materialize([graph_defs.age_groups], raise_on_error=False,
                            resources={"graph_store": resource, "data_root": DataRootResource(data_root=str(tmp_path))})
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    error = failure.step_failure_data.error
    text = error.to_string()
    assert "ServiceUnavailable" in text and "Connection refused" in text  # it really tried to connect

    from dagster._serdes import serialize_value

    run = result.dagster_run
    out, err = capfd.readouterr()
    seen = {
        "exception": text,
        "events": "\n".join(f"{e.message}\n{serialize_value(e.event_specific_data)}" for e in result.all_events),
        "run config": serialize_value(run.run_config) + serialize_value(run),
        "python logs": caplog.text,
        "stdout/stderr": out + err,
    }
    assert "hm-pipeline neo4j status" in text  # the store's own message: the URI and what to check
    assert {where: neo4j_env in text for where, text in seen.items()} == dict.fromkeys(seen, False)


def test_ui_snapshot_shows_the_variable_name_not_the_password(neo4j_env):
    """What `dagster dev` serves: the repository snapshot of the project's Definitions, loaded with the env set."""
    code = (
        "from dagster._core.remote_representation.external_data import RepositorySnap\n"
        "from dagster._serdes import serialize_value\n"
        "from hm_pipeline.definitions import defs\n"
        "print(serialize_value(RepositorySnap.from_def(defs.get_repository_def())))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert "NEO4J_PASSWORD" in out.stdout and "Neo4jGraphStoreResource" in out.stdout  # the neo4j backend chosen
    assert neo4j_env not in out.stdout + out.stderr

    from dagster._core.remote_representation.external_data import RepositorySnap
    from dagster._serdes import serialize_value

    plain = dg.Definitions(assets=[graph_defs.product_graph],
                           resources={"graph_store": Neo4jGraphStoreResource(password=neo4j_env),
                                      "data_root": DataRootResource()})
    assert neo4j_env in serialize_value(RepositorySnap.from_def(plain.get_repository_def()))  # the grep can fail


# --- Cypher is never built from data ----------------------------------------------------------------------------

PYTHON_CODE = sorted((REPO_ROOT / "hm_pipeline").rglob("*.py")) + sorted((REPO_ROOT / "bench").rglob("*.py"))
EXECUTORS = {"execute", "execute_query", "run", "_execute", "_write", "rows"}
FORMAT_MARKERS = re.compile(r"%s|%\(\w+\)s|\{\}|\{\d+\}|\{\{|\$\{")


def _docstring_ids(tree: ast.AST) -> set[int]:
    return {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
            and n.body and isinstance(n.body[0], ast.Expr)}


def _prose_ids(tree: ast.AST) -> set[int]:
    """Docstrings and `description=` / `help=` texts: prose that may mention UNWIND or MATCH."""
    prose = _docstring_ids(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in ("description", "help"):
            prose |= {id(n) for n in ast.walk(node.value)}
    return prose


def _cypher_in_python(path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = _prose_ids(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings \
                and CYPHER_WORDS.search(node.value):
            found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: literal {node.value[:60]!r}")
        built = isinstance(node, ast.JoinedStr) or (isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add))) \
            or (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format")
        if built and CYPHER_WORDS.search(ast.unparse(node)):
            found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: built {ast.unparse(node)[:60]!r}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in EXECUTORS \
                and node.args and isinstance(node.args[0], ast.JoinedStr):
            found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: f-string passed to {node.func.attr}()")
    return found


def test_no_python_module_writes_or_formats_cypher():
    """test_graph_cypher_text.py scans the graph package; this extends the scan to every module and benchmark."""
    assert len(PYTHON_CODE) > 60
    assert [hit for path in PYTHON_CODE for hit in _cypher_in_python(path)] == []


def test_the_scan_flags_formatted_queries(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('def q(conn, cid):\n    return conn.execute(f"MATCH (c:Customer) WHERE c.id = \'{cid}\' RETURN c")\n'
                   'Q = "MATCH (p:Product {code: %s}) RETURN p" % 5\n')
    original = globals()["REPO_ROOT"]
    try:
        globals()["REPO_ROOT"] = tmp_path
        hits = _cypher_in_python(bad)
    finally:
        globals()["REPO_ROOT"] = original
    assert any("f-string passed to execute" in h for h in hits) and any("built" in h for h in hits)


@pytest.mark.parametrize("path", sorted(cypher_root().rglob("*.cypher")), ids=lambda p: str(p.relative_to(cypher_root())))
def test_cypher_files_have_no_template_placeholders(path):
    """Statements take `$parameters`; Python/shell-style placeholders would mean text is substituted in."""
    body = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("//"))
    assert not FORMAT_MARKERS.search(body), FORMAT_MARKERS.search(body).group(0)


# --- paths stay inside the data root ----------------------------------------------------------------------------


@pytest.mark.parametrize("relative", ["../outside.parquet", "ingest/../../outside", "/etc/passwd", "a/../../b"])
def test_confined_rejects_escapes(tmp_path, relative):
    layout = DataLayout(tmp_path / "root")
    with pytest.raises(PathOutsideDataRoot, match="outside the data root"):
        layout.confined(relative)


def test_confined_accepts_inside_paths_and_rejects_symlink_escapes(tmp_path):
    layout = DataLayout((tmp_path / "root").resolve())
    layout.root.mkdir()
    assert layout.confined("ingest/../output/submission.csv") == layout.root / "output" / "submission.csv"
    assert layout.confined(".") == layout.root
    (layout.root / "link").symlink_to(tmp_path)
    with pytest.raises(PathOutsideDataRoot):
        layout.confined("link/secret.txt")


def test_image_partition_key_cannot_escape_the_data_root(tmp_path):
    """A dynamic partition can be added by hand in the UI; its key names the image folder and the output file."""
    root = tmp_path / "deep" / "root"
    layout = DataLayout(root)
    write_articles_parquet(layout.ingest_table("articles"), ["0100000001"])
    layout.images_dir.mkdir(parents=True)
    layout.embeddings_dir.mkdir(parents=True)
    outside = tmp_path / "deep" / "outside" / "010"  # images/../../../outside/010; writes go to tmp_path/outside
    outside.mkdir(parents=True)
    (outside / "0100000001.jpg").write_bytes(jpeg_bytes(1))
    key = "../../../outside/010"
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(image_defs.image_folders.name, [key])
    result = dg.materialize([image_defs.image_embeddings], partition_key=key, instance=instance,
                            resources={"data_root": DataRootResource(data_root=str(root))}, raise_on_error=False,
                            run_config={"ops": {"image_embeddings": {"config": {"weights": "random",
                                                                                 "image_size": 32}}}})
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.parquet") if root not in p.parents)
    assert (result.success, written) == (False, [])


# --- the UI binds to 127.0.0.1 ----------------------------------------------------------------------------------


def _option(command, name: str):
    return next(p for p in command.params if p.name == name)


def test_dagster_dev_binds_127_0_0_1_by_default():
    from dagster._cli.dev import dev_command
    from dagster_webserver.cli import dagster_webserver

    assert not isinstance(_option(dev_command, "host").default, str)  # no --host is passed to the webserver then
    assert _option(dagster_webserver, "host").default == "127.0.0.1"


def test_docs_and_launchers_never_bind_all_interfaces():
    files = [REPO_ROOT / name for name in ("README.md", "workspace.yaml", "dagster.yaml", "pyproject.toml")]
    files += [p for p in (REPO_ROOT / ".ci").iterdir() if p.is_file()]
    files += [p for p in (REPO_ROOT / "bench").rglob("*") if p.is_file() and p.suffix in (".py", ".sh", ".md", "")]
    wide = re.compile(r"0\.0\.0\.0|(--host|-h)\s+(::|\*)|DAGSTER_WEBSERVER_HOST")
    hits = [f"{p.relative_to(REPO_ROOT)}: {m.group(0)}" for p in files if p.exists()
            for m in [wide.search(p.read_text(errors="replace"))] if m]
    assert hits == []
    dev_lines = [line for line in (REPO_ROOT / "README.md").read_text().splitlines() if "dagster dev" in line
                 and re.search(r"(--host|-h)\s", line)]
    assert all("127.0.0.1" in line for line in dev_lines), dev_lines
