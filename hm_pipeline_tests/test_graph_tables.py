"""Ingest Parquet -> graph node/relationship tables (no database)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from hm_pipeline.graph.model import GRAPH_NODES, GRAPH_RELS, TAXONOMY
from hm_pipeline.graph.tables import graph_tables, graph_tables_from_layout
from hm_pipeline.layout import DataLayout
from hm_pipeline_tests.graph_fixtures import customer_id, hand_made


@pytest.fixture(scope="module")
def ingest():
    return hand_made()


@pytest.fixture(scope="module")
def graph(ingest):
    return graph_tables(ingest.articles, ingest.customers, ingest.transactions)


def test_every_label_and_relationship_table_is_built_in_model_order(graph):
    assert list(graph.nodes) == [n.label for n in GRAPH_NODES]
    assert list(graph.rels) == [r.name for r in GRAPH_RELS]
    for spec in GRAPH_NODES:
        assert graph.nodes[spec.label].column_names == list(spec.properties)
    for spec in GRAPH_RELS:
        assert graph.rels[spec.name].column_names == ["source", "target", *spec.properties]


def test_taxonomy_nodes_are_deduplicated_with_the_first_name(ingest, graph):
    articles = ingest.articles.to_pandas()
    for t in TAXONOMY:
        nodes = graph.nodes[t.label].to_pandas()
        assert nodes[t.key].is_unique, t.label
        assert sorted(nodes[t.key]) == sorted(articles[t.key_column].unique()), t.label
        if t.key != "name":
            first = articles.drop_duplicates(t.key_column).set_index(t.key_column)[t.name_column]
            assert dict(zip(nodes[t.key], nodes["name"])) == first.to_dict(), t.label
    assert len(graph.nodes["ProductType"]) == 3 and len(graph.nodes["ProductGroup"]) == 2


def test_product_relationships_one_per_article_and_parent_links_deduplicated(ingest, graph):
    articles = ingest.articles.to_pandas()
    assert graph.rels["HAS_INDEX"].num_rows == len(articles)
    assert graph.rels["HAS_GARMENT_GROUP"].num_rows == len(articles)
    sections = articles[["department_no", "section_no"]].drop_duplicates()
    got = graph.rels["FROM_SECTION"].to_pandas()
    assert sorted(map(tuple, got.to_numpy().tolist())) == sorted(map(tuple, sections.to_numpy().tolist()))
    subset = graph.rels["SUBSET_OF_PRODUCTGROUP"].to_pylist()
    assert {(r["source"], r["target"]) for r in subset} == {
        (253, "Garment Upper body"), (255, "Garment Upper body"), (272, "Garment Lower body")}
    assert len(subset) == 3
    assert graph.relationship_counts()["SUBSET_OF"] == len(articles) + 3


def test_customer_blanks_get_the_seed_defaults_but_age_stays_unknown(graph):
    customers = {r["id"]: r for r in graph.nodes["Customer"].to_pylist()}
    blank = customers[customer_id(3)]
    assert blank == {**blank, "club_member_status": "NOT_ACTIVE", "fashion_news_frequency": "NONE",
                     "postal_code": "NONE", "fn": 0, "active": 0, "age": None}
    partly = customers[customer_id(5)]
    assert (partly["fn"], partly["active"], partly["club_member_status"], partly["fashion_news_frequency"]) == (
        0, 1, "LEFT CLUB", "NONE")
    full = customers[customer_id(1)]
    assert (full["fn"], full["active"], full["age"], full["postal_code"]) == (1, 1, 24, "p1")
    assert graph.nodes["Customer"].schema.field("age").type == pa.int16()


def test_every_transaction_is_a_purchase_repeats_included_orphans_left_out(ingest, graph):
    purchased = graph.rels["PURCHASED"].to_pylist()
    assert len(purchased) == ingest.transactions.num_rows - 2 == 20
    assert graph.orphan_transactions == 2
    repeats = [p for p in purchased if p["source"] == customer_id(1) and p["target"] == "0108775015"]
    assert [(p["t_date"], p["sales_channel"]) for p in repeats] == [
        (dt.date(2019, 1, 5), 2), (dt.date(2019, 1, 5), 2), (dt.date(2019, 3, 9), 1)]
    assert repeats[2]["price"] == pytest.approx(0.0152)
    assert not any(p["source"] == customer_id(99) or p["target"] == "0999999999" for p in purchased)


def test_reading_from_the_layout_names_a_missing_file(tmp_path):
    layout = DataLayout.from_env(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"articles\.parquet.*materialize the ingest asset 'articles'"):
        graph_tables_from_layout(layout)
    hand_made().write(layout)
    assert graph_tables_from_layout(layout).node_counts()["Customer"] == 7
