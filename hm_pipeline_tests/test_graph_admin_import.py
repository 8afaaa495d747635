"""Import files for `neo4j-admin database import` (the files and command only; test_graph_neo4j_server.py runs the
tool against a real server)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hm_pipeline.graph.admin_import import node_positions, write_admin_import
from hm_pipeline.graph.age_groups import age_group_tables
from hm_pipeline.graph.tables import GraphTables, graph_tables
from hm_pipeline_tests.graph_fixtures import hand_made


def test_every_table_is_written_with_typed_headers_and_integer_ids_and_listed_in_the_command(tmp_path):
    t = hand_made()
    graph = graph_tables(t.articles, t.customers, t.transactions)
    groups = age_group_tables(graph.nodes["Customer"])
    both = GraphTables(nodes={**graph.nodes, **groups.nodes}, rels={**graph.rels, **groups.rels})
    folder = tmp_path / "import"
    args = write_admin_import(both, folder, database="hm")
    assert args[:8] == ["neo4j-admin", "database", "import", "full", "hm", "--overwrite-destination",
                        "--id-type=integer", "--input-type=parquet"]
    assert sum(a.startswith("--nodes=") for a in args) == len(both.nodes)
    assert sum(a.startswith("--relationships=") for a in args) == len(both.rels)
    customers = pq.read_table(folder / "customer.parquet")
    assert customers.column_names == [":ID(Customer)", "id", "idx:int", "fn:int", "active:int", "club_member_status",
                                      "fashion_news_frequency", "age:int", "postal_code"]
    assert customers[":ID(Customer)"].to_pylist() == list(range(customers.num_rows))
    assert customers["age:int"].null_count == 1  # the unknown age stays null: no property in Neo4j
    purchased = pq.read_table(folder / "purchased.parquet")
    assert purchased.column_names == [":START_ID(Customer)", ":END_ID(Product)", "t_date:date", "price:float",
                                      "sales_channel:int"]
    products = pq.read_table(folder / "product.parquet")["code"].to_pylist()
    codes = graph.rels["PURCHASED"]["target"].to_pylist()
    assert [products[i] for i in purchased[":END_ID(Product)"].to_pylist()] == codes  # leading zeros kept
    assert purchased["t_date:date"].to_pylist() == [d.isoformat() for d in graph.rels["PURCHASED"]["t_date"].to_pylist()]
    assert pq.read_table(folder / "subset_of_productgroup.parquet").column_names == \
        [":START_ID(ProductType)", ":END_ID(ProductGroup)"]
    for arg in args[8:]:
        assert (folder / arg.rsplit("/", 1)[-1]).is_file()


def test_a_relationship_to_a_missing_node_is_an_error_naming_the_table():
    nodes = pa.chunked_array([pa.array(["c", "b", "a"])])
    dictionary = pa.array(["a", "b", "x"])
    keys = pa.chunked_array([pa.DictionaryArray.from_arrays(pa.array(i, pa.int32()), dictionary)
                             for i in ([0, 1], [1, 2])])  # two chunks, one dictionary (as PURCHASED's)
    with pytest.raises(ValueError, match="PURCHASED target: 1 keys have no node"):
        node_positions(keys, nodes, "PURCHASED target")
    assert node_positions(keys[:3], nodes, "t").to_pylist() == [2, 1, 1]
    assert node_positions(pa.chunked_array([pa.array(["b", "c"])]), nodes, "t").to_pylist() == [1, 0]
