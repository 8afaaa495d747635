"""The embedded store (default engine) on the hand-made fixture: counts, repeats, idempotence, atomic rebuilds."""

from __future__ import annotations

import pyarrow as pa
import pytest

from hm_pipeline.graph import eda
from hm_pipeline.graph.age_groups import age_group_tables
from hm_pipeline.graph.cypher_files import UnknownStatement
from hm_pipeline.graph.embedded import DEFAULT_ENGINE, EmbeddedGraphStore, GraphNotBuilt
from hm_pipeline.graph.store import AGE_GROUPS_PART, IncompleteGraph
from hm_pipeline.graph.tables import GraphTables, graph_tables
from hm_pipeline_tests.graph_fixtures import customer_id, hand_made


@pytest.fixture(scope="module")
def ingest():
    return hand_made()


@pytest.fixture(scope="module")
def graph(ingest) -> GraphTables:
    return graph_tables(ingest.articles, ingest.customers, ingest.transactions)


@pytest.fixture(scope="module")
def built(tmp_path_factory, graph):
    """One built database (graph + age groups) shared by the read-only tests."""
    db_dir = tmp_path_factory.mktemp("graph") / DEFAULT_ENGINE
    with EmbeddedGraphStore(db_dir) as store:
        store.rebuild(graph)
        store.replace_age_groups(age_group_tables(graph.nodes["Customer"]))
    return db_dir


@pytest.fixture
def store(built):
    with EmbeddedGraphStore(built, read_only=True) as s:
        yield s


def test_counts_per_label_and_type_match_the_tables(store, graph):
    assert store.node_counts() == {**graph.node_counts(), "AgeGroup": 7}
    assert store.relationship_counts() == {**graph.relationship_counts(), "IS_AGE_GROUP": 7}


def test_repeat_purchases_are_separate_edges_with_their_properties(store, ingest):
    per_customer = {r["customer_id"]: r["purchases"] for r in
                    store.rows("purchases_per_customer", {"customer_ids": [customer_id(n) for n in range(1, 8)]})}
    tx = ingest.transactions.to_pandas().dropna(subset=["customer_idx", "article_idx"])
    assert per_customer == tx.groupby("customer_id").size().to_dict()
    assert per_customer[customer_id(4)] == 4  # three identical purchases of one article plus one more
    assert customer_id(6) not in per_customer  # no purchases: no row, not an error


def test_customer_properties_survive_the_load(store):
    ages = {r["id"]: r["age"] for r in store.rows("customer_ages")}
    assert ages[customer_id(3)] is None and ages[customer_id(2)] == 65 and len(ages) == 7


def test_eda_numbers_match_pandas(store, ingest):
    tx = ingest.transactions.to_pandas().dropna(subset=["customer_idx", "article_idx"])
    stats = eda.purchase_stats(store)
    per_customer, per_product = tx.groupby("customer_id").size(), tx.groupby("article_id").size()
    assert (stats["customer"].entities, stats["customer"].total) == (6, 20)
    assert stats["customer"].mean == pytest.approx(per_customer.mean())
    assert stats["customer"].sd == pytest.approx(per_customer.std(ddof=1))
    assert stats["product"].sd == pytest.approx(per_product.std(ddof=1))
    assert eda.top_product_types(store) == [
        {"product_type": "Vest top", "products": 2, "purchases": 9},
        {"product_type": "T-shirt", "products": 2, "purchases": 6},
        {"product_type": "Trousers", "products": 2, "purchases": 5}]
    assert eda.top_product_types(store, limit=1)[0]["product_type"] == "Vest top"
    assert eda.purchases_by_month(store)[0] == {"month": "2019-01", "purchases": 3, "revenue": pytest.approx(0.0507)}
    by_age = {r["age_group"]: (r["customers"], r["buyers"], r["purchases"]) for r in eda.purchases_by_age_group(store)}
    assert by_age == {"16-25": (1, 1, 5), "26-35": (0, 0, 0), "36-45": (1, 0, 0), "46-55": (0, 0, 0),
                      "56-65": (1, 1, 3), "66+": (2, 2, 7), "unknown": (2, 2, 5)}


def test_unknown_statement_and_missing_parameter_are_clear_errors(store):
    with pytest.raises(UnknownStatement, match="no_such_query"):
        store.rows("no_such_query")
    with pytest.raises(KeyError, match="customer_ids"):
        store.rows("purchases_per_customer")


def test_rebuild_is_idempotent_and_drops_age_groups(tmp_path, graph):
    with EmbeddedGraphStore(tmp_path / "g") as store:
        store.rebuild(graph)
        first = (store.node_counts(), store.relationship_counts())
        store.replace_age_groups(age_group_tables(graph.nodes["Customer"]))
        store.replace_age_groups(age_group_tables(graph.nodes["Customer"]))
        assert store.node_counts()["AgeGroup"] == 7 and store.relationship_counts()["IS_AGE_GROUP"] == 7
        store.rebuild(graph)
        assert (store.node_counts(), store.relationship_counts()) == first
        with pytest.raises(IncompleteGraph, match="age_groups"):
            store.ensure_complete(AGE_GROUPS_PART)


def test_failed_rebuild_keeps_the_previous_graph(tmp_path, graph, ingest):
    db_dir = tmp_path / "graph" / "kuzu"
    with EmbeddedGraphStore(db_dir) as store:
        store.rebuild(graph)
        before = (store.node_counts(), store.relationship_counts())
    broken = GraphTables(nodes=dict(graph.nodes), rels=dict(graph.rels))
    purchased = graph.rels["PURCHASED"]
    broken.rels["PURCHASED"] = pa.concat_tables([purchased, purchased.slice(0, 1).set_column(
        0, "source", pa.array(["not-a-customer"]).dictionary_encode())])  # COPY fails on an edge to a missing node
    with EmbeddedGraphStore(db_dir) as store:
        with pytest.raises(RuntimeError):
            store.rebuild(broken)
        assert (store.node_counts(), store.relationship_counts()) == before
    assert sorted(p.name for p in db_dir.parent.iterdir()) == ["kuzu"]  # no temporary folder left behind


def test_failed_age_group_replacement_rolls_back(tmp_path, graph):
    with EmbeddedGraphStore(tmp_path / "g") as store:
        store.rebuild(graph)
        good = age_group_tables(graph.nodes["Customer"])
        store.replace_age_groups(good)
        bad = GraphTables(nodes=good.nodes, rels={"IS_AGE_GROUP": pa.table(
            {"source": [customer_id(1)], "target": ["no-such-group"]})})
        with pytest.raises(RuntimeError):
            store.replace_age_groups(bad)
        assert eda.customers_per_age_group(store) == {"16-25": 1, "26-35": 0, "36-45": 1, "46-55": 0, "56-65": 1,
                                                     "66+": 2, "unknown": 2}


def test_missing_database_and_read_only_misuse_are_refused(tmp_path, graph):
    with EmbeddedGraphStore(tmp_path / "nothing") as store:
        with pytest.raises(GraphNotBuilt, match="materialize the product_graph asset"):
            store.node_counts()
    with pytest.raises(PermissionError):
        EmbeddedGraphStore(tmp_path / "ro", read_only=True).rebuild(graph)
    with pytest.raises(ValueError, match="unknown embedded graph engine"):
        EmbeddedGraphStore(tmp_path / "x", engine="sqlite")
