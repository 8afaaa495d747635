"""SIMILAR relationships and image embeddings in the graph stores.

The embedded (kuzu) store runs for real on the hand-made fixture. No Neo4j server runs here: `RecordingDriver`
(from test_graph_neo4j.py) records what the Neo4j store sends and checks *our* batching and ordering, not Neo4j;
the Neo4j Cypher is checked by Neo4j's parser in test_graph_cypher_lint.py.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from hm_pipeline.graph import cypher_files
from hm_pipeline.graph.embedded import EmbeddedGraphStore
from hm_pipeline.graph.model import EMBEDDING_DIM
from hm_pipeline.graph.neo4j_store import Neo4jGraphStore
from hm_pipeline.graph.similar import LoadReport, similar_rows
from hm_pipeline.graph.store import EMBEDDINGS_PART, SIMILAR_PART, IncompleteGraph
from hm_pipeline.graph.tables import graph_tables
from hm_pipeline.images import tables as image_tables
from hm_pipeline_tests.graph_fixtures import hand_made
from hm_pipeline_tests.test_graph_neo4j import RecordingDriver, sent_rows

UNKNOWN = ["0999999999", "0888888888"]  # articles with images but no Product node


def similar_table(codes: list[str], k: int, seed: int, unknown: list[str] = ()) -> pa.Table:
    """Top-k lists with random scores over `codes` (+ `unknown` articles on both sides), rank 1 = best."""
    rng = np.random.default_rng(seed)
    everything = list(codes) + list(unknown)
    rows = []
    for src in everything:
        others = [c for c in everything if c != src]
        scores = np.sort(rng.uniform(0.1, 1.0, len(others)))[::-1][:k]
        picks = rng.permutation(others)[:k]
        rows += [{"src": src, "dst": str(d), "score": float(s), "rank": r + 1}
                 for r, (d, s) in enumerate(zip(picks, scores))]
    return pa.Table.from_pylist(rows, schema=image_tables.SIMILAR_SCHEMA)


def embeddings_for(codes: list[str], seed: int) -> pa.Table:
    x = np.random.default_rng(seed).standard_normal((len(codes), EMBEDDING_DIM)).astype(np.float32)
    return image_tables.embeddings_table(list(codes), x)


@pytest.fixture(scope="module")
def graph():
    t = hand_made()
    return graph_tables(t.articles, t.customers, t.transactions)


@pytest.fixture(scope="module")
def codes(graph) -> list[str]:
    return graph.nodes["Product"]["code"].to_pylist()


@pytest.fixture()
def store(tmp_path, graph):
    with EmbeddedGraphStore(tmp_path / "kuzu") as s:
        s.rebuild(graph)
        yield s


def _stored_similar(store) -> list[tuple]:
    rows = []
    for code in store.product_codes().to_pylist():
        rows += [(code, r["prod_code"], r["sim_score"], r["rank"])
                 for r in store.rows("similar_products_of", {"prod_code": code})]
    return sorted(rows)


def _expected(table: pa.Table, codes: list[str]) -> list[tuple]:
    return sorted((r["src"], r["dst"], r["score"], r["rank"]) for r in table.to_pylist()
                  if r["src"] in codes and r["dst"] in codes)


def test_similar_rows_leave_out_and_count_unknown_articles(codes):
    table = similar_table(codes, 3, seed=1, unknown=UNKNOWN)
    rows, report = similar_rows(table, pa.array(codes))
    assert rows.column_names == ["source", "target", "score", "rank"]
    expected = _expected(table, codes)
    assert report.written == rows.num_rows == len(expected) and report.written > 0
    assert report.missing_rows == table.num_rows - len(expected) > 0
    assert report.missing_products == 2 and report.missing_sample == tuple(sorted(UNKNOWN))
    with pytest.raises(ValueError, match=r"lacks columns \['rank'\]"):
        similar_rows(table.drop_columns(["rank"]), pa.array(codes))


def test_replace_similar_on_kuzu_replaces_the_previous_set(store, codes):
    with pytest.raises(IncompleteGraph, match="similar_graph"):
        store.ensure_complete(SIMILAR_PART)  # a fresh graph has no SIMILAR yet
    first = similar_table(codes, 4, seed=1, unknown=UNKNOWN)
    report = store.replace_similar(first)
    store.ensure_complete(SIMILAR_PART)
    assert report.written == len(_expected(first, codes)) and report.missing_products == 2
    assert store.relationship_counts()["SIMILAR"] == report.written

    second = similar_table(codes, 2, seed=2)  # fewer, different pairs and scores
    again = store.replace_similar(second)
    assert again == LoadReport(second.num_rows, 0, 0)
    assert store.relationship_counts()["SIMILAR"] == second.num_rows == int(
        store.rows("similar_count")[0]["similar"])
    stored = _stored_similar(store)
    expected = _expected(second, codes)
    assert [(s, d, r) for s, d, _, r in stored] == [(s, d, r) for s, d, _, r in expected]
    assert np.allclose([row[2] for row in stored], [row[2] for row in expected], atol=1e-6)
    # the other relationships are untouched
    assert store.relationship_counts()["PURCHASED"] == 20


def test_rerunning_gives_identical_counts_and_an_empty_table_clears(store, codes):
    table = similar_table(codes, 3, seed=5, unknown=UNKNOWN)
    reports = [store.replace_similar(table) for _ in range(2)]
    assert reports[0] == reports[1]
    assert store.relationship_counts()["SIMILAR"] == reports[0].written
    store.replace_similar(table.slice(0, 0))
    assert "SIMILAR" not in store.relationship_counts()
    store.ensure_complete(SIMILAR_PART)


def test_a_failed_replace_keeps_the_previous_set(store, codes, monkeypatch):
    kept = store.replace_similar(similar_table(codes, 3, seed=6))
    run_script = store._run_script

    def failing(conn, name, params=None):
        if name == "similar_copy":
            raise RuntimeError("disk full")
        return run_script(conn, name, params)

    monkeypatch.setattr(store, "_run_script", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        store.replace_similar(similar_table(codes, 1, seed=7))  # fails after the old table was dropped
    assert store.relationship_counts()["SIMILAR"] == kept.written


def test_seed_validation_query_on_the_embedded_store(store, codes, graph):
    table = similar_table(codes, 5, seed=3)
    store.replace_similar(table)
    code = codes[0]
    got = store.rows("similar_products_of", {"prod_code": code})
    mine = [r for r in table.to_pylist() if r["src"] == code]
    assert [r["prod_code"] for r in got] == [r["dst"] for r in sorted(mine, key=lambda r: r["rank"])]
    assert [r["rank"] for r in got] == list(range(1, 6))
    assert [r["sim_score"] for r in got] == sorted((r["sim_score"] for r in got), reverse=True)
    types = dict(zip(graph.rels["SUBSET_OF_PRODUCTTYPE"]["source"].to_pylist(),
                     graph.rels["SUBSET_OF_PRODUCTTYPE"]["target"].to_pylist()))
    type_names = dict(zip(graph.nodes["ProductType"]["number"].to_pylist(),
                          graph.nodes["ProductType"]["name"].to_pylist()))
    departments = dict(zip(graph.rels["FROM_DEPARTMENT"]["source"].to_pylist(),
                           graph.rels["FROM_DEPARTMENT"]["target"].to_pylist()))
    dept_names = dict(zip(graph.nodes["Department"]["number"].to_pylist(),
                          graph.nodes["Department"]["name"].to_pylist()))
    for row in got:
        assert row["prod_type"] == type_names[types[row["prod_code"]]]
        assert row["department_name"] == dept_names[departments[row["prod_code"]]]
    assert store.rows("similar_products_of", {"prod_code": UNKNOWN[0]}) == []


def test_replace_embeddings_on_kuzu(store, codes):
    with_images = codes[:4]  # the other two articles have no image: no row, never a zero vector
    table = embeddings_for(with_images + UNKNOWN[:1], seed=1)
    report = store.replace_embeddings(table)
    store.ensure_complete(EMBEDDINGS_PART)
    assert report == LoadReport(4, 1, 1, (UNKNOWN[0],))
    assert int(store.rows("embedding_count")[0]["embeddings"]) == 4
    report = store.replace_embeddings(embeddings_for(with_images[:2], seed=2))
    assert report.written == 2 and int(store.rows("embedding_count")[0]["embeddings"]) == 2


def test_neo4j_similar_is_deleted_in_batches_then_created_in_batches(codes):
    table = similar_table(codes, 3, seed=4, unknown=UNKNOWN)
    driver = RecordingDriver(deletes=[9, 0])
    store = Neo4jGraphStore(driver, database="hm", batch_size=4)
    store.product_codes = lambda: pa.array(codes)  # the stand-in has no Product nodes to answer with
    report = store.replace_similar(table)
    queries = [c.query for c in driver.calls]
    delete = cypher_files.statement("neo4j", "delete_similar_batch")
    load = cypher_files.statement("neo4j", "load/SIMILAR")
    deletes = [i for i, q in enumerate(queries) if q == delete]
    loads = [i for i, q in enumerate(queries) if q == load]
    assert len(deletes) == 2 and max(deletes) < min(loads)  # 9 deleted, then 0: done
    assert driver.calls[deletes[0]].params == {"batch_size": 4}
    sent = [row for i in loads for row in sent_rows(driver.calls[i].params)]
    assert all(1 <= len(driver.calls[i].params["rows"]) <= 4 for i in loads)
    assert len(loads) == math.ceil(report.written / 4)
    assert sorted((r["source"], r["target"], r["rank"]) for r in sent) == [
        (s, d, r) for s, d, _, r in _expected(table, codes)]
    assert all(set(r) == {"source", "target", "score", "rank"} for r in sent)
    assert report.missing_products == 2
    statuses = [c.params for c in driver.calls if c.params and "status" in c.params]
    assert statuses == [{"part": "similar", "status": "loading"}, {"part": "similar", "status": "complete"}]
    assert "CREATE (s)-[:SIMILAR {score: row.score, rank: row.rank}]->(t)" in load


def test_neo4j_embeddings_go_in_small_batches_as_float_lists():
    driver = RecordingDriver(deletes=[3])
    store = Neo4jGraphStore(driver, batch_size=10_000)
    n = 1_500  # more rows than one embedding batch holds (EMBEDDING_BATCH_SIZE)
    many = [f"{i:010d}" for i in range(n)]
    store.product_codes = lambda: pa.array(many)
    table = embeddings_for(many, seed=3)
    report = store.replace_embeddings(table)
    load = cypher_files.statement("neo4j", "load/ProductEmbedding")
    batches = [c.params["rows"] for c in driver.calls if c.query == load]
    assert report.written == n and [len(b) for b in batches] == [1_000, 500]
    first = batches[0][0]
    assert first["code"] == many[0] and len(first["embedding"]) == EMBEDDING_DIM
    expected = pc.list_flatten(table["embedding"]).to_numpy()[:EMBEDDING_DIM]
    assert np.array_equal(np.asarray(first["embedding"], dtype=np.float32), expected)
    deletes = [c for c in driver.calls if c.query == cypher_files.statement("neo4j", "delete_embeddings_batch")]
    assert len(deletes) == 2  # 3 embeddings removed, then none left


def test_neo4j_rebuild_marks_similar_and_embeddings_stale(graph):
    driver = RecordingDriver()
    Neo4jGraphStore(driver).rebuild(graph)
    loading = {c.params["part"] for c in driver.calls if c.params and c.params.get("status") == "loading"}
    assert {"similar", "embeddings"} <= loading
