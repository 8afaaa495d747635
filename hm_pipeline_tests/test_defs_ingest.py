"""The ingest assets and checks, materialized through Dagster on the real H&M sample."""

import shutil

import dagster as dg
import pytest

from hm_pipeline.defs import ingest
from hm_pipeline.defs.resources import DataRootResource
from hm_pipeline_tests.defs_fixtures import module_defs


@pytest.fixture
def sample_root(real_sample, tmp_path):
    (tmp_path / "input").mkdir()
    for name in ("articles.csv", "customers.csv", "transactions_train.csv"):
        shutil.copy(real_sample / name, tmp_path / "input" / name)
    return tmp_path


def _materialize(root):
    return dg.materialize(
        [ingest.articles, ingest.customers, ingest.transactions, *module_defs(ingest).asset_checks],
        resources={"data_root": DataRootResource(data_root=str(root))},
        raise_on_error=False,
    )


def test_ingest_assets_metadata_and_checks(sample_root):
    result = _materialize(sample_root)
    assert result.success
    meta = {e.asset_key.path[-1]: e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert meta["articles"]["dagster/row_count"].value == 150
    assert meta["customers"]["dagster/row_count"].value == 300
    assert meta["transactions"]["dagster/row_count"].value == 600
    assert meta["transactions"]["first_date"].value == "2018-09-20"
    assert meta["customers"]["null_counts"].value["FN"] > 0
    assert "article_id" in [c.name for c in meta["articles"]["dagster/column_schema"].schema.columns]
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    for name in ("article_id_unique", "article_id_well_formed", "customer_id_unique", "customer_id_well_formed",
                 "transaction_dates_in_range"):
        assert checks[name].passed, name
    orphans = checks["transactions_reference_known_ids"]
    assert not orphans.passed and orphans.severity == dg.AssetCheckSeverity.WARN
    assert 0 < orphans.metadata["orphan_rows"].value <= 600


def test_missing_input_names_path_and_remedy(tmp_path):
    result = dg.materialize([ingest.articles], resources={"data_root": DataRootResource(data_root=str(tmp_path))},
                            raise_on_error=False)
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error.cause
    assert error.cls_name == "MissingInput"
    assert "articles.csv not found at" in error.message and "hm-pipeline generate" in error.message
