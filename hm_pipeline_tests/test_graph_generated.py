"""Generated Kaggle data (tiny and small scale) through the real ingest assets into the embedded graph, checked
against pandas: every transaction a PURCHASED edge (repeats kept), per-customer departments, age groups."""

import dagster as dg
import pandas as pd
import pytest

from hm_pipeline.data.synthetic.generate import generate
from hm_pipeline.defs import graph, ingest
from hm_pipeline.defs.resources import DataRootResource, EmbeddedGraphStoreResource
from hm_pipeline.graph.store import GRAPH_PART


@pytest.fixture(scope="module", params=["tiny", "small"])
def loaded(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"graph_{request.param}")
    generate(request.param, root / "input", seed=5, images=False)
    resources = {"data_root": DataRootResource(data_root=str(root)), "graph_store": EmbeddedGraphStoreResource()}
    result = dg.materialize(
        [ingest.articles, ingest.customers, ingest.transactions, graph.product_graph, graph.age_groups,
         graph.purchases_match_transactions, graph.every_customer_in_one_age_group],
        resources=resources,
    )
    return root, resources["data_root"].layout(), resources["graph_store"], result


def test_graph_checks_pass(loaded):
    *_, result = loaded
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())


def test_every_transaction_is_an_edge_and_departments_match_pandas(loaded):
    root, layout, store_resource, _ = loaded
    tx = pd.read_parquet(layout.ingest_table("transactions"), columns=["customer_idx", "article_id"])
    articles = pd.read_parquet(layout.ingest_table("articles"), columns=["article_id", "department_no"])
    assert tx.duplicated().any(), "generated data should contain repeat purchases"
    expected = (tx.merge(articles, on="article_id").drop_duplicates(["customer_idx", "department_no"])
                .groupby("customer_idx").size())
    with store_resource.open(layout, read_only=True) as store:
        store.ensure_complete(GRAPH_PART)
        assert store.relationship_counts()["PURCHASED"] == len(tx)
        every_customer = {"first_idx": 0, "last_idx": int(tx.customer_idx.max()) + 1}
        pairs = pd.DataFrame(store.rows("customer_departments_indexes", every_customer))
    got = pairs.drop_duplicates(["customer_idx", "department"]).groupby("customer_idx").size()
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
