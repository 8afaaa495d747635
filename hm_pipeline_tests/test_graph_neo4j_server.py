"""The Neo4j store against a real Neo4j Community server (the session's `neo4j_local`, with GDS).

Every shared query must give the same rows as the pandas oracle (which kuzu also matches, test_graph_engines.py);
loads are idempotent; a writer killed mid-load leaves the `GraphLoad` marker at `loading` until a re-run; failures
(wrong password, constraint violation, read-only session) are clear errors that leave nothing half-written.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import neo4j
import pytest

from hm_pipeline.graph.neo4j_store import Neo4jGraphStore, Neo4jUnavailable
from hm_pipeline.graph.store import GRAPH_PART, IncompleteGraph
from hm_pipeline.graph.tables import graph_tables
from hm_pipeline_tests.conftest import REPO_ROOT
from hm_pipeline_tests.graph_crosscheck import expected_results, mismatches, run_store, samples
from hm_pipeline_tests.graph_fixtures import hand_made, random_ingest

SIZES = {"customers": 300, "articles": 40, "transactions": 4000, "seed": 7}  # as test_graph_engines.py


@pytest.fixture
def store(neo4j_local):
    _, state = neo4j_local
    with Neo4jGraphStore.connect(state.uri, "neo4j", state.password, batch_size=1000) as opened:
        yield opened


def test_every_shared_query_matches_pandas_on_neo4j(store):
    tables = random_ingest(SIZES["customers"], SIZES["articles"], SIZES["transactions"], SIZES["seed"])
    expected = expected_results(tables, *samples(tables))
    assert expected["two_hop_path_count"] > 10 * expected["purchase_count"]  # repeat and shared purchases
    report = run_store(store, tables)
    assert mismatches(report["results"], expected) == {}
    store.ensure_complete(GRAPH_PART)


def test_reloading_gives_identical_counts(store):
    t = hand_made()
    graph = graph_tables(t.articles, t.customers, t.transactions)
    store.rebuild(graph)
    first = (store.node_counts(), store.relationship_counts())
    store.rebuild(graph)
    assert (store.node_counts(), store.relationship_counts()) == first
    assert first[1]["PURCHASED"] == graph.rels["PURCHASED"].num_rows  # a repeat purchase is its own relationship


WRITER = """
import sys
from hm_pipeline.graph.neo4j_store import Neo4jGraphStore
from hm_pipeline.graph.tables import graph_tables
from hm_pipeline_tests.graph_fixtures import random_ingest
t = random_ingest(2000, 200, 60000, 3)
store = Neo4jGraphStore.connect(sys.argv[1], "neo4j", sys.argv[2], batch_size=500)
orig = store.load_table
def announce(spec, table, batch_size=None):
    if getattr(spec, "name", None) == "PURCHASED":
        print("PURCHASED", flush=True)
    return orig(spec, table, batch_size)
store.load_table = announce
store.rebuild(graph_tables(t.articles, t.customers, t.transactions))
print("DONE", flush=True)
"""


def test_a_writer_killed_mid_load_leaves_the_graph_marked_incomplete_until_rerun(store, neo4j_local):
    _, state = neo4j_local
    writer = subprocess.Popen([sys.executable, "-c", WRITER, state.uri, state.password], stdout=subprocess.PIPE,
                              text=True, cwd=REPO_ROOT)
    try:
        line = writer.stdout.readline()
        assert line.strip() == "PURCHASED", line
        time.sleep(1.0)  # some purchase batches are in
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait(timeout=60)
    assert writer.returncode == -signal.SIGKILL
    assert GRAPH_PART in store.incomplete_parts()
    with pytest.raises(IncompleteGraph, match="re-materialize"):
        store.ensure_complete(GRAPH_PART)
    partial = store.relationship_counts().get("PURCHASED", 0)
    assert 0 < partial < 60000
    t = random_ingest(2000, 200, 60000, 3)
    store.rebuild(graph_tables(t.articles, t.customers, t.transactions))
    store.ensure_complete(GRAPH_PART)
    assert store.relationship_counts()["PURCHASED"] == 60000


def test_wrong_password_is_a_clear_error_without_the_password(neo4j_local):
    _, state = neo4j_local
    wrong = "not-the-Passw0rd-xyz"
    started = time.monotonic()
    with pytest.raises(Neo4jUnavailable, match="refused the credentials of user 'neo4j'") as raised:
        Neo4jGraphStore.connect(state.uri, "neo4j", wrong)
    assert time.monotonic() - started < 30
    assert state.uri in str(raised.value) and wrong not in str(raised.value)


def test_a_constraint_violation_rolls_back_its_whole_batch(store):
    t = hand_made()
    store.rebuild(graph_tables(t.articles, t.customers, t.transactions))
    before = store.node_counts()
    existing = t.customers["customer_id"][0].as_py()
    batch = [{"id": "a-new-customer"}, {"id": existing}]  # the second row breaks the uniqueness of Customer.id
    with pytest.raises(neo4j.exceptions.ConstraintError, match=f"(?s)Customer.*{existing}"):
        store.driver.execute_query("UNWIND $rows AS row CREATE (:Customer {id: row.id})", rows=batch)
    assert store.node_counts() == before  # the failed batch wrote nothing, not even its first row


def test_a_read_access_mode_session_refuses_writes(store):
    # Neo4j Community has no roles (RBAC is Enterprise): a read-only user cannot be made; READ access mode can.
    before = store.node_counts()
    with store.driver.session(database=store.database, default_access_mode=neo4j.READ_ACCESS) as session:
        with pytest.raises(neo4j.exceptions.ClientError, match="(?i)write"):
            session.execute_read(lambda tx: tx.run("CREATE (:Product {code: 'written-by-a-reader'})").consume())
    assert store.node_counts() == before
