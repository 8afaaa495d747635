"""Import files for `neo4j-admin database import` (the files and command only; test_graph_neo4j_server.py runs the
tool against a real server)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from hm_pipeline.graph.admin_import import import_stages, node_positions, write_admin_import
from hm_pipeline.graph.age_groups import age_group_tables
from hm_pipeline.graph.tables import GraphTables, graph_tables
from hm_pipeline_tests.graph_fixtures import hand_made


def test_every_table_is_written_with_typed_headers_and_final_node_ids_and_listed_in_the_command(tmp_path):
    t = hand_made()
    graph = graph_tables(t.articles, t.customers, t.transactions)
    groups = age_group_tables(graph.nodes["Customer"])
    both = GraphTables(nodes={**graph.nodes, **groups.nodes}, rels={**graph.rels, **groups.rels})
    folder = tmp_path / "import"
    args = write_admin_import(both, folder, database="hm")
    assert args[:8] == ["neo4j-admin", "database", "import", "full", "hm", "--overwrite-destination",
                        "--id-type=actual", "--input-type=csv"]
    node_args = [a for a in args if a.startswith("--nodes=")]
    assert len(node_args) == len(both.nodes)
    assert sum(a.startswith("--relationships=") for a in args) == len(both.rels)
    tables = {a.split("=")[1]: read(a.split("=", 2)[2]) for a in node_args}
    ids = [i for a in node_args for i in tables[a.split("=")[1]][":ID"].to_pylist()]
    assert ids == list(range(sum(n.num_rows for n in both.nodes.values())))  # one contiguous range, file order
    customers = tables["Customer"]
    assert customers.column_names == [":ID", "id", "idx:int", "fn:int", "active:int", "club_member_status",
                                      "fashion_news_frequency", "age:int", "postal_code"]
    assert customers["age:int"].null_count == 1  # the unknown age stays an empty field: no property in Neo4j
    purchased = read(folder / "purchased.csv")
    assert purchased.column_names == [":START_ID", ":END_ID", "t_date:date", "price:float", "sales_channel:int"]
    products = tables["Product"]
    code_of = dict(zip(products[":ID"].to_pylist(), products["code"].to_pylist()))
    assert [code_of[i] for i in purchased[":END_ID"].to_pylist()] == graph.rels["PURCHASED"]["target"].to_pylist()
    customer_of = dict(zip(customers[":ID"].to_pylist(), customers["id"].to_pylist()))
    assert [customer_of[i] for i in purchased[":START_ID"].to_pylist()] == \
        graph.rels["PURCHASED"]["source"].to_pylist()
    assert purchased["t_date:date"].to_pylist() == [d.isoformat() for d in graph.rels["PURCHASED"]["t_date"].to_pylist()]
    assert read(folder / "subset_of_productgroup.csv").column_names == [":START_ID", ":END_ID"]
    assert not any(a.startswith("--multiline-fields") for a in args)
    for arg in args[11:]:
        assert (folder / arg.rsplit("/", 1)[-1]).is_file()


def test_a_file_with_line_breaks_in_a_value_is_named_as_multiline(tmp_path):
    t = hand_made()
    graph = graph_tables(t.articles, t.customers, t.transactions)
    products = graph.nodes["Product"]
    descriptions = products["description"].to_pylist()
    descriptions[0] = "two\nlines, \"quoted\""
    graph.nodes["Product"] = products.set_column(products.column_names.index("description"), "description",
                                                 pa.array(descriptions))
    args = write_admin_import(graph, tmp_path / "import")
    assert args[-2:] == ["--multiline-fields-format=v2", f"--multiline-fields={tmp_path / 'import' / 'product.csv'}"]
    assert read(tmp_path / "import" / "product.csv")["description"][0].as_py() == "two\nlines, \"quoted\""


def read(path) -> pa.Table:
    """An import file as the tool reads it: ids as integers, untyped columns as strings (leading zeros kept)."""
    names = Path(path).read_text().split("\n", 1)[0].replace('"', "").split(",")
    types = {name: pa.int64() if name.startswith(":") or ":" in name and name.endswith("int") else pa.string()
             for name in names}
    return pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(column_types=types, strings_can_be_null=True))


def test_a_relationship_to_a_missing_node_is_an_error_naming_the_table():
    nodes = pa.chunked_array([pa.array(["c", "b", "a"])])
    dictionary = pa.array(["a", "b", "x"])
    keys = pa.chunked_array([pa.DictionaryArray.from_arrays(pa.array(i, pa.int32()), dictionary)
                             for i in ([0, 1], [1, 2])])  # two chunks, one dictionary (as PURCHASED's)
    with pytest.raises(ValueError, match="PURCHASED target: 1 keys have no node"):
        node_positions(keys, nodes, "PURCHASED target")
    assert node_positions(keys[:3], nodes, "t").to_pylist() == [2, 1, 1]
    assert node_positions(pa.chunked_array([pa.array(["b", "c"])]), nodes, "t").to_pylist() == [1, 0]


def test_an_embedding_column_is_written_as_a_float_array(tmp_path):
    t = hand_made()
    graph = graph_tables(t.articles, t.customers, t.transactions)
    products = graph.nodes["Product"]
    vectors = [[0.5, -0.25, float(i)] for i in range(products.num_rows)]
    graph.nodes["Product"] = products.append_column("embedding", pa.array(vectors, pa.list_(pa.float32(), 3)))
    write_admin_import(graph, tmp_path / "import")
    written = read(tmp_path / "import" / "product.csv")
    assert written.column_names[-1] == "embedding:float[]"
    assert [[float(x) for x in v.split(";")] for v in written["embedding:float[]"].to_pylist()] == vectors


def test_a_list_column_is_written_in_slices_with_one_header(tmp_path):
    """105,000 embeddings as one text column would pass Arrow's 2 GB string limit: rows go out a slice at a time."""
    rows = 25_001  # three slices of the writer's 10,000 rows for a table with a list column
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(range(rows * 2), pa.float32()), 2)
    products = pa.table({"code": [f"{i:010d}" for i in range(rows)], "embedding": vectors})
    write_admin_import(GraphTables(nodes={"Product": products}), tmp_path / "import")
    written = read(tmp_path / "import" / "product.csv")
    assert written.column_names == [":ID", "code", "embedding:float[]"]
    assert written.num_rows == rows and written[":ID"].to_pylist() == list(range(rows))
    assert written["embedding:float[]"][rows - 1].as_py() == f"{2 * rows - 2};{2 * rows - 1}"


def test_the_tools_stage_timings_are_read_from_its_verbose_output():
    output = ("WARNING: heap size 1.000GiB may be too small. Suggested heap size is 1.000GiBNodes, started 2026-12-01 06:23"
              "\n[*NODE]\nDone in 5s 125ms\nRelationship --> Relationship 1-12/12, started 2026-12-01 06:24\n"
              "...\n\nDone in 1s 542ms\nIMPORT DONE in 26s 371ms.\n")
    assert import_stages(output) == [("Nodes", "5s 125ms"), ("Relationship --> Relationship 1-12/12", "1s 542ms")]
