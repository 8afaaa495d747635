"""The Neo4j store's batching, parameters, ordering, retries and secrecy.

No Neo4j server runs here (test_graph_neo4j_server.py uses a real one). `RecordingDriver` below is a stand-in that
records what the store sends to `execute_query` and answers the few result shapes the store reads; it checks *our*
batching/parameter logic, not Neo4j. The Cypher itself is checked by Neo4j's parser in test_graph_cypher_lint.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import socket
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import dagster as dg
import neo4j
import pytest
from neo4j.exceptions import ClientError, ServiceUnavailable

from hm_pipeline.defs.resources import (EmbeddedGraphStoreResource, GraphStoreResource, Neo4jGraphStoreResource,
                                        graph_store_from_env)
from hm_pipeline.graph import cypher_files
from hm_pipeline.graph.age_groups import age_group_tables
from hm_pipeline.graph.embedded import EmbeddedGraphStore
from hm_pipeline.graph.model import AGE_NODES, AGE_RELS, GRAPH_NODES, GRAPH_RELS
from hm_pipeline.graph.neo4j_server import Neo4jServerError
from hm_pipeline.graph.neo4j_store import Neo4jGraphStore, Neo4jUnavailable, row_batches
from hm_pipeline.graph.store import GRAPH_PART, IncompleteGraph
from hm_pipeline.graph.tables import graph_tables
from hm_pipeline.layout import DataLayout
from hm_pipeline_tests.conftest import REPO_ROOT
from hm_pipeline_tests.graph_fixtures import hand_made

SECRET = "pw-Sup3r-S3cret-42"


class RecordingDriver:
    """Records every execute_query call; answers delete batches with `deletes` then 0, status with `status`."""

    def __init__(self, deletes: list[int] | None = None, status: list[dict] | None = None,
                 failures: list[Exception] | None = None) -> None:
        self.calls: list[SimpleNamespace] = []
        self.deletes = list(deletes or [])
        self.status = status or []
        self.failures = list(failures or [])
        self.closed = False

    def execute_query(self, query: str, parameters_: dict | None = None, routing_: Any = None,
                      database_: str | None = None, **kwargs: Any) -> SimpleNamespace:
        self.calls.append(SimpleNamespace(query=query, params=parameters_, routing=routing_, database=database_))
        if self.failures:
            raise self.failures.pop(0)
        if "RETURN count(*) AS deleted" in query:
            return SimpleNamespace(records=[{"deleted": self.deletes.pop(0) if self.deletes else 0}], keys=["deleted"])
        if "AS written" in query:  # a relationship batch: every row written (its ends exist)
            return SimpleNamespace(records=[{"written": len(parameters_["rows"])}], keys=["written"])
        if "s.status AS status" in query:
            return SimpleNamespace(records=self.status, keys=["part", "status"])
        return SimpleNamespace(records=[], keys=[])

    def close(self) -> None:
        self.closed = True


@pytest.fixture(scope="module")
def graph():
    t = hand_made()
    return graph_tables(t.articles, t.customers, t.transactions)


def sent_rows(params: dict) -> list[dict]:
    """The rows a load call carried: node rows as sent, relationship rows with their ends' keys put back."""
    if "sources" not in params:
        return params["rows"]
    return [{"source": params["sources"][r["s"]], "target": params["targets"][r["t"]],
             **{k: v for k, v in r.items() if k not in ("s", "t")}} for r in params["rows"]]


def _load_name(query: str) -> str | None:
    for spec in (*GRAPH_NODES, *AGE_NODES, *GRAPH_RELS, *AGE_RELS):
        name = spec.label if hasattr(spec, "label") else spec.name
        if query == cypher_files.statement("neo4j", f"load/{name}"):
            return name
    return None


def test_row_batches_split_without_losing_rows(graph):
    table = graph.rels["PURCHASED"]
    batches = list(row_batches(table, 6))
    assert [len(b) for b in batches] == [6, 6, 6, 2]
    assert [row for b in batches for row in b] == table.to_pylist()
    assert isinstance(batches[0][0]["t_date"], dt.date)
    with pytest.raises(ValueError):
        list(row_batches(table, 0))


def test_rebuild_sends_constraints_first_then_nodes_then_relationships_in_batches(graph):
    driver = RecordingDriver(deletes=[5000, 123])
    store = Neo4jGraphStore(driver, database="hm", batch_size=4)
    store.rebuild(graph)
    queries = [c.query for c in driver.calls]
    constraints = cypher_files.statements("neo4j", "constraints")
    assert queries[: len(constraints)] == constraints
    unique = [c for c in constraints if c.startswith("CREATE CONSTRAINT")]
    assert len(unique) == len(GRAPH_NODES) + len(AGE_NODES)  # one key per label
    assert any("ON (n.idx)" in c and "Customer" in c for c in constraints)  # range statements seek Customer.idx
    assert all(c.database == "hm" for c in driver.calls)
    assert all(c.routing == neo4j.RoutingControl.WRITE for c in driver.calls)
    # the graph is cleared in batches until a batch deletes nothing, before anything is loaded
    deletes = [i for i, q in enumerate(queries) if "deleted" in q]
    loads = [i for i, q in enumerate(queries) if _load_name(q)]
    assert len(deletes) == 4 and max(deletes) < min(loads)  # relationships: 5000, 123, 0; nodes: 0
    assert driver.calls[deletes[0]].params == {"batch_size": 4}
    # every table arrives whole, in model order, in batches of at most 4 rows, as parameters
    sent: dict[str, list[dict]] = {}
    order: list[str] = []
    for call in driver.calls:
        name = _load_name(call.query)
        if name:
            keys = {"rows"} if name in graph.nodes else {"sources", "targets", "rows"}
            assert set(call.params) == keys and 1 <= len(call.params["rows"]) <= 4
            sent.setdefault(name, []).extend(sent_rows(call.params))
            if name not in order:
                order.append(name)
    assert order == [n.label for n in GRAPH_NODES] + [r.name for r in GRAPH_RELS]
    for name, table in {**graph.nodes, **graph.rels}.items():
        assert sent[name] == table.to_pylist(), name
    batches = sum(1 for c in driver.calls if _load_name(c.query) == "PURCHASED")
    assert batches == math.ceil(20 / 4)
    # a repeat purchase is sent as its own row, and the statement CREATEs (never MERGEs) purchases
    assert "CREATE (s)-[:PURCHASED" in cypher_files.statement("neo4j", "load/PURCHASED")
    # the load is marked loading before and complete after
    statuses = [c.params for c in driver.calls if c.params and "status" in c.params]
    assert statuses[0] == {"part": "graph", "status": "loading"} and statuses[-1] == {"part": "graph",
                                                                                      "status": "complete"}


def test_age_groups_are_replaced_not_added(graph):
    driver = RecordingDriver(deletes=[7])
    Neo4jGraphStore(driver, batch_size=10_000).replace_age_groups(age_group_tables(graph.nodes["Customer"]))
    names = [_load_name(c.query) or c.query.split("\n")[0] for c in driver.calls]
    first_load = names.index("AgeGroup")
    assert any("IS_AGE_GROUP" in n and "DELETE" in n for n in [c.query for c in driver.calls[:first_load]])
    rows = [r for c in driver.calls if _load_name(c.query) == "IS_AGE_GROUP" for r in sent_rows(c.params)]
    assert len(rows) == 7


def test_transient_errors_are_retried_with_backoff_others_are_not():
    sleeps: list[float] = []
    driver = RecordingDriver(failures=[ServiceUnavailable("down"), ServiceUnavailable("down")])
    store = Neo4jGraphStore(driver, max_retries=3, retry_backoff_s=0.5, sleep=sleeps.append)
    store.node_counts()
    assert len(driver.calls) == 3 and sleeps == [0.5, 1.0]
    assert driver.calls[0].routing == neo4j.RoutingControl.READ

    driver = RecordingDriver(failures=[ServiceUnavailable("down")] * 3)
    with pytest.raises(Neo4jUnavailable, match="lost the connection to Neo4j .* after 3 attempts"):
        Neo4jGraphStore(driver, max_retries=2, sleep=lambda s: None).node_counts()
    assert len(driver.calls) == 3

    driver = RecordingDriver(failures=[ClientError("bad query")])
    with pytest.raises(ClientError):
        Neo4jGraphStore(driver, max_retries=5, sleep=lambda s: None).node_counts()
    assert len(driver.calls) == 1


def test_an_interrupted_load_is_reported_incomplete():
    store = Neo4jGraphStore(RecordingDriver(status=[{"part": "age_groups", "status": "complete"},
                                                    {"part": "graph", "status": "loading"}]))
    with pytest.raises(IncompleteGraph, match="re-materialize"):
        store.ensure_complete(GRAPH_PART)
    store.ensure_complete("age_groups")


def test_password_is_not_in_repr_errors_or_logs(caplog):
    resource = Neo4jGraphStoreResource(uri="bolt://127.0.0.1:9", password=SECRET)
    assert SECRET not in repr(resource) and SECRET not in str(resource)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(Neo4jUnavailable) as raised:  # nothing listens on the loopback discard port
        Neo4jGraphStore.connect("bolt://127.0.0.1:9", "neo4j", SECRET, max_retries=0)
    assert SECRET not in str(raised.value) and SECRET not in repr(raised.value)
    assert SECRET not in caplog.text


UNREACHABLE = """
import sys, time
from hm_pipeline.defs.resources import Neo4jGraphStoreResource
from hm_pipeline.layout import DataLayout
resource = Neo4jGraphStoreResource(uri=sys.argv[1], password=sys.argv[2])
started = time.monotonic()
try:
    with resource.open(DataLayout.from_env(sys.argv[3])) as store:
        store.node_counts()
except Exception as error:
    print(f"{time.monotonic() - started:.1f}")
    print(f"{type(error).__name__}: {error}")
"""


def test_an_unreachable_server_fails_within_30_seconds_naming_the_uri(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        uri = f"bolt://127.0.0.1:{probe.getsockname()[1]}"
    done = subprocess.run([sys.executable, "-c", UNREACHABLE, uri, SECRET, str(tmp_path)], capture_output=True,
                          text=True, timeout=60, cwd=REPO_ROOT)
    seconds, message = done.stdout.split("\n", 1)
    assert float(seconds) < 30
    assert uri in message and "hm-pipeline neo4j status" in message and "running" in message
    assert SECRET not in done.stdout + done.stderr


def test_backend_is_one_setting(tmp_path, monkeypatch):
    default = graph_store_from_env({})
    assert isinstance(default, EmbeddedGraphStoreResource) and default.backend == "kuzu"
    assert graph_store_from_env({"HM_GRAPH_ENGINE": "ladybug"}).backend == "ladybug"
    assert isinstance(graph_store_from_env({"HM_GRAPH_BACKEND": "neo4j"}), Neo4jGraphStoreResource)
    with pytest.raises(ValueError, match="HM_GRAPH_BACKEND"):
        graph_store_from_env({"HM_GRAPH_BACKEND": "postgres"})
    with pytest.raises(TypeError, match="abstract"):  # one interface, two implementations
        GraphStoreResource()
    store = EmbeddedGraphStoreResource().open(DataLayout.from_env(tmp_path))
    assert isinstance(store, EmbeddedGraphStore) and store.db_dir == tmp_path.resolve() / "graph" / "kuzu"
    with pytest.raises(Neo4jServerError, match="hm-pipeline neo4j start .*or set NEO4J_URI"):
        Neo4jGraphStoreResource().open(DataLayout.from_env(tmp_path))

    # neo4j: credentials are EnvVars, resolved when Dagster builds the resource
    for key, value in {"NEO4J_URI": "bolt://127.0.0.1:9", "NEO4J_USER": "reader", "NEO4J_PASSWORD": SECRET,
                       "NEO4J_DATABASE": "hm"}.items():
        monkeypatch.setenv(key, value)
    configured = graph_store_from_env({**os.environ, "HM_GRAPH_BACKEND": "neo4j"})
    assert SECRET not in repr(configured)
    built = dg.build_resources({"graph_store": configured})
    with built as resources:
        live = resources.graph_store
        assert (live.backend, live.uri, live.user, live.database) == ("neo4j", "bolt://127.0.0.1:9", "reader", "hm")
        assert live.password == SECRET and SECRET not in repr(live)


def test_without_neo4j_uri_the_backend_uses_the_data_roots_local_server(tmp_path):
    local = graph_store_from_env({"HM_GRAPH_BACKEND": "neo4j"})
    assert (local.backend, local.uri) == ("neo4j", "")
    with pytest.raises(Neo4jServerError, match="no local Neo4j server runs for the data root"):
        local.open(DataLayout.from_env(tmp_path))


def _stubborn_server(layout) -> subprocess.Popen:
    """A process that looks like the data root's server (its command line), ignores SIGTERM and answers SIGQUIT
    with a "thread dump" in its console log, as the JVM does."""
    from hm_pipeline.graph import neo4j_server

    conf = neo4j_server.server_dir(layout) / "conf"
    conf.mkdir(parents=True)
    (conf.parent / "logs").mkdir()
    code = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "signal.signal(signal.SIGQUIT, lambda *a: open(sys.argv[2], 'a').write('Full thread dump\\n')); "
            "print('up', flush=True); time.sleep(600)")
    console = conf.parent / "logs" / "console.log"
    proc = subprocess.Popen([sys.executable, "-c", code, neo4j_server.ENTRY_POINT, str(console),
                             f"--config-dir={conf}"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "up"
    neo4j_server._write_state(layout, neo4j_server.ServerState(pid=proc.pid, port=1, password="x", home="."))
    return proc


def test_a_server_that_ignores_sigterm_is_reported_or_with_force_killed(tmp_path):
    from hm_pipeline.graph import neo4j_server
    from hm_pipeline.layout import DataLayout

    layout = DataLayout(tmp_path)
    proc = _stubborn_server(layout)
    try:
        with pytest.raises(Neo4jServerError, match=r"did not stop within 1 s of SIGTERM.*thread dump.*--force"):
            neo4j_server.stop(layout, timeout_s=1.0)
        assert proc.poll() is None  # without --force it is left running, with its thread dump written
        assert "Full thread dump" in (neo4j_server.server_dir(layout) / "logs" / "console.log").read_text()
        assert neo4j_server.stop(layout, timeout_s=1.0, force=True)
        assert proc.wait(timeout=30) == -9 and neo4j_server.running(layout) is None
    finally:
        if proc.poll() is None:
            proc.kill()
