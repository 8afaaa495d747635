"""The graph assets and checks, materialized with Dagster on the hand-made fixture in a temporary data root."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hm_pipeline.defs import graph as graph_defs
from hm_pipeline.defs.resources import DataRootResource, EmbeddedGraphStoreResource
from hm_pipeline_tests.defs_fixtures import module_defs
from hm_pipeline.layout import DataLayout
from hm_pipeline_tests.graph_fixtures import hand_made

ASSETS = [graph_defs.product_graph, graph_defs.age_groups, graph_defs.graph_eda]
CHECKS = [graph_defs.purchases_match_transactions, graph_defs.every_customer_in_one_age_group]


@dg.asset(name="articles")
def _articles() -> None: ...


@dg.asset(name="customers")
def _customers() -> None: ...


@dg.asset(name="transactions")
def _transactions() -> None: ...


INGEST = [_articles, _customers, _transactions]  # stand-ins: the fixture Parquet is already in place


def _materialize(root, selection=("product_graph", "age_groups", "graph_eda")):
    return dg.materialize(
        [*INGEST, *ASSETS, *CHECKS],
        selection=list(selection),
        resources={"data_root": DataRootResource(data_root=str(root)), "graph_store": EmbeddedGraphStoreResource()},
    )


def _metadata(result, key: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.materialization.asset_key.path == [key]]
    return {k: v.value for k, v in event.materialization.metadata.items()}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    hand_made().write(DataLayout.from_env(root))
    return root


@pytest.fixture(scope="module")
def first_run(data_root):
    result = _materialize(data_root)
    assert result.success
    return result


def test_product_graph_metadata(first_run, data_root):
    meta = _metadata(first_run, "product_graph")
    for row in ("| Product | 6 |", "| Customer | 7 |", "| ProductType | 3 |"):
        assert row in meta["nodes"], row
    assert meta["purchases"] == 20 and meta["orphan_transactions"] == 2  # one PURCHASED per known transaction
    assert "| SUBSET_OF | 9 |" in meta["relationships"] and meta["backend"] == "kuzu"
    assert "| load |" in meta["seconds"] and "| PURCHASED | 20 |" in meta["relationships"]
    assert "dagster/row_count" not in meta  # a graph has no rows: nodes and relationships are counted instead
    assert (DataLayout.from_env(data_root).graph_dir / "kuzu" / "graph.db").exists()


def test_age_group_and_eda_metadata(first_run):
    ages = _metadata(first_run, "age_groups")
    for group, count in {"16-25": 1, "26-35": 0, "36-45": 1, "46-55": 0, "56-65": 1, "66+": 2, "unknown": 2}.items():
        assert f"| {group} | {count} |" in ages["customers_per_group"], group
    assert ages["customers_placed"] == 7
    eda = _metadata(first_run, "graph_eda")
    assert eda["purchases_per_customer"] == round(20 / 6, 2) and eda["purchases_per_product"] == round(20 / 6, 2)
    report = eda["report"]  # one markdown page: each section a titled plot (unit in the title) and its table
    assert "| Vest top | 2 | 9 |" in report and "| unknown | 2 | 2 | 5 |" in report
    for title in ("Top product types (purchases)", "Top garment groups (purchases)", "Purchases per month (count)",
                  "Purchases per age group (count)"):
        assert f"![{title}](data:image/png;base64,iVBORw0KGgo" in report, title  # an inline PNG the UI renders


def test_checks_pass(first_run):
    checks = {e.check_name: e for e in first_run.get_asset_check_evaluations()}
    assert set(checks) == {"purchases_match_transactions", "every_customer_in_one_age_group"}
    assert all(c.passed for c in checks.values())
    assert checks["purchases_match_transactions"].metadata["orphans"].value == 2


def test_rematerializing_gives_identical_counts(first_run, data_root):
    again = _materialize(data_root)
    assert again.success
    for key in ("product_graph", "age_groups", "graph_eda"):
        before, after = _metadata(first_run, key), _metadata(again, key)
        counts = [k for k in before if k in ("nodes", "relationships", "customers_per_group", "purchases")
                  or k.endswith("_count")]
        assert counts and {k: before[k] for k in counts} == {k: after[k] for k in counts}


def test_purchase_check_fails_when_the_graph_misses_transactions(tmp_path):
    layout = DataLayout.from_env(tmp_path)
    tables = hand_made()
    tables.write(layout)
    assert _materialize(tmp_path, ["product_graph"]).success
    tx = tables.transactions
    pq.write_table(pa.concat_tables([tx, tx.slice(0, 1)]), layout.ingest_table("transactions"))  # one more sale
    result = dg.materialize(
        [*INGEST, *ASSETS, *CHECKS], selection=dg.AssetSelection.checks(graph_defs.purchases_match_transactions),
        resources={"data_root": DataRootResource(data_root=str(tmp_path)),
                   "graph_store": EmbeddedGraphStoreResource()}, raise_on_error=False)
    [check] = result.get_asset_check_evaluations()
    assert not check.passed
    assert (check.metadata["purchased_edges"].value, check.metadata["expected"].value) == (20, 21)


def test_definitions_load_with_the_shared_data_root():
    defs = dg.Definitions.merge(module_defs(graph_defs), dg.Definitions(
        assets=INGEST, resources={"data_root": DataRootResource(), "graph_store": EmbeddedGraphStoreResource()}))
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} >= {"product_graph", "age_groups",
                                                                         "graph_eda"}
    assert graph.get(dg.AssetKey("graph_eda")).group_name == "graph"
    dg.Definitions.validate_loadable(defs)
