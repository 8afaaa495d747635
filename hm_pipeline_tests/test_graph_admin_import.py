"""Import files for `neo4j-admin database import` (the files and command only: no neo4j-admin runs here)."""

from __future__ import annotations

import pandas as pd

from hm_pipeline.graph.admin_import import write_admin_import
from hm_pipeline.graph.age_groups import age_group_tables
from hm_pipeline.graph.tables import GraphTables, graph_tables
from hm_pipeline_tests.graph_fixtures import hand_made


def test_every_table_is_written_with_typed_headers_and_listed_in_the_command(tmp_path):
    t = hand_made()
    graph = graph_tables(t.articles, t.customers, t.transactions)
    groups = age_group_tables(graph.nodes["Customer"])
    both = GraphTables(nodes={**graph.nodes, **groups.nodes}, rels={**graph.rels, **groups.rels})
    folder = tmp_path / "import"
    args = write_admin_import(both, folder, database="hm")
    assert args[:6] == ["neo4j-admin", "database", "import", "full", "hm", "--overwrite-destination"]
    assert sum(a.startswith("--nodes=") for a in args) == len(both.nodes)
    assert sum(a.startswith("--relationships=") for a in args) == len(both.rels)
    assert (folder / "purchased_header.csv").read_text().strip() == \
        ":START_ID(Customer),:END_ID(Product),t_date:date,price:float,sales_channel:int"
    assert (folder / "customer_header.csv").read_text().strip() == (
        "id:ID(Customer),idx:int,fn:int,active:int,club_member_status,fashion_news_frequency,age:int,postal_code")
    assert (folder / "subset_of_productgroup_header.csv").read_text().strip() == \
        ":START_ID(ProductType),:END_ID(ProductGroup)"
    purchased = pd.read_csv(folder / "purchased.csv", header=None, dtype=str, keep_default_na=False)
    assert len(purchased) == 20 and purchased[1].str.fullmatch(r"\d{10}").all()  # leading zeros kept
    customers = pd.read_csv(folder / "customer.csv", header=None, dtype=str, keep_default_na=False)
    assert (customers[6] == "").sum() == 1  # the unknown age is an empty field: no property in Neo4j
    for arg in args[6:]:
        for path in arg.split("=", 2)[-1].split(","):
            assert (folder / path.rsplit("/", 1)[-1]).is_file()
