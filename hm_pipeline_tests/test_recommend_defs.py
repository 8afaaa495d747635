"""The whole chain, Kaggle CSVs -> submission.csv, materialized with Dagster on tiny generated data (random image
weights, small images), and the batched graph filter checked against pandas."""

from __future__ import annotations

import re
import shutil

import dagster as dg
import numpy as np
import pyarrow as pa
import pandas as pd
import pyarrow.parquet as pq
import pytest

from hm_pipeline.defs import evaluation as evaluation_defs
from hm_pipeline.defs import graph as graph_defs
from hm_pipeline.defs import images as image_defs
from hm_pipeline.defs import ingest as ingest_defs
from hm_pipeline.defs import ranker as ranker_defs
from hm_pipeline.defs import recommend as recommend_defs
from hm_pipeline.defs import training as training_defs
from hm_pipeline.defs.resources import DataRootResource, EmbeddedGraphStoreResource
from hm_pipeline_tests.defs_fixtures import module_defs
from hm_pipeline.graph.embedded import EmbeddedGraphStore
from hm_pipeline.images.scan import list_folders
from hm_pipeline.layout import DataLayout
from hm_pipeline.recommend import inputs
from hm_pipeline.recommend.submission import validate_submission
from hm_pipeline_tests.synthetic_fixtures import tiny_data  # noqa: F401  (fixture)

IMAGE_CONFIG = {"ops": {"image_embeddings": {"config": {"weights": "random", "image_size": 32, "batch_size": 16}}}}
RUN_CONFIG = {"ops": {
    "interaction_matrix": {"config": {"user_min": 2, "article_min": 2}},
    "als_model": {"config": {"factors": 16, "iterations": 5}},
    "holdout_evaluation": {"config": {"confidence_options": []}},
    "ranker_model": {"config": {"num_boost_round": 30, "early_stopping_rounds": 10, "ablations": True}},
    "ranker_candidates": {"config": {"graph_chunk": 97, "chunk_customers": 400}},  # several calls / row groups
    "recommendations": {"config": {"graph_chunk": 97}},
}}
MERGED = dg.Definitions.merge(
    module_defs(ingest_defs, graph_defs, image_defs, training_defs, ranker_defs, recommend_defs, evaluation_defs),
)


def _metadata(result, asset: str) -> dict:
    events = result.asset_materializations_for_node(asset)
    return {k: v.value for k, v in events[-1].metadata.items()}


@pytest.fixture(scope="module")
def chain(tiny_data, tmp_path_factory):  # noqa: F811
    """A data root with the tiny Kaggle files (sample_submission.csv shuffled, so its order differs from
    customers.csv), every asset materialized once."""
    source, _ = tiny_data
    root = tmp_path_factory.mktemp("chain")
    layout = DataLayout(root)
    layout.input_dir.mkdir(parents=True)
    for name in ("articles.csv", "customers.csv", "transactions_train.csv"):
        shutil.copy(source / name, layout.input_file(name))
    (layout.input_dir / "images").symlink_to(source / "images")
    sample = pd.read_csv(source / "sample_submission.csv", dtype=str)
    sample.sample(frac=1.0, random_state=3).to_csv(layout.input_file("sample_submission.csv"), index=False)

    resources = {"data_root": DataRootResource(data_root=str(root)), "graph_store": EmbeddedGraphStoreResource()}
    assets = [*MERGED.assets]
    checks = [*MERGED.asset_checks]
    instance = dg.DagsterInstance.ephemeral()
    ingest = dg.materialize(assets, selection=["articles", "customers", "transactions"], instance=instance,
                            resources=resources)
    assert ingest.success
    folders = list_folders(layout.images_dir)
    instance.add_dynamic_partitions(image_defs.image_folders.name, folders)
    for folder in folders:
        embedded = dg.materialize(assets, selection=[image_defs.image_embeddings.key], partition_key=folder,
                                  instance=instance, resources=resources, run_config=IMAGE_CONFIG)
        assert embedded.success
    downstream = ["product_graph", "age_groups", "similar_products", "interaction_matrix", "als_model",
                  "ranker_train_set", "ranker_model", "ranker_candidates", "holdout_evaluation",
                  "recommendations", "submission_csv"]
    result = dg.materialize([*assets, *checks], selection=downstream, instance=instance, resources=resources,
                            run_config=RUN_CONFIG)
    assert result.success
    return layout, result, sample


def test_every_customer_gets_12_unique_valid_articles(chain):
    layout, result, _ = chain
    fused = pq.read_table(layout.fused_file).to_pandas()
    customers = pq.read_table(layout.ingest_table("customers"), columns=["customer_id"])["customer_id"].to_pylist()
    articles = set(pq.read_table(layout.ingest_table("articles"), columns=["article_id"])["article_id"].to_pylist())
    assert sorted(fused["customer_id"].unique()) == sorted(customers)
    per_customer = fused.groupby("customer_id")
    assert (per_customer["article_id"].nunique() == 12).all()
    assert (per_customer["rank"].apply(sorted).map(list) == [list(range(1, 13))] * len(customers)).all()
    assert set(fused["article_id"]) <= articles and fused["article_id"].str.fullmatch(r"\d{10}").all()
    assert {"image", "repurchase", "trending"} <= set(fused["source"])  # the personal sources reached customers

    meta = _metadata(result, "recommendations")
    assert meta["customers"] == len(customers) and meta["dagster/row_count"] == 12 * len(customers)
    n_calls = -(-len(customers) // 97)
    assert meta["graph_calls"] == n_calls  # age groups (features): one call per 97 customers
    assert all(f"| {stage} |" in meta["seconds"] for stage in ("read inputs", "graph age groups", "rank", "write"))
    candidates = _metadata(result, "ranker_candidates")
    assert candidates["graph_calls"] == 2 * n_calls  # departments+indexes (image filter), age groups
    assert candidates["candidates_per_customer"] == meta["candidates_per_customer"]
    assert "| image |" in meta["source_mix"]


def test_submission_follows_sample_submission_order_and_passes_the_blocking_check(chain):
    layout, result, sample = chain
    written = pd.read_csv(layout.submission_file, dtype=str)
    assert list(written.columns) == ["customer_id", "prediction"]
    shuffled = pd.read_csv(layout.input_file("sample_submission.csv"), dtype=str)["customer_id"].tolist()
    assert written["customer_id"].tolist() == shuffled
    assert shuffled != sorted(shuffled)  # the shuffle really changed the order
    assert (written["prediction"].str.split(" ").map(len) == 12).all()
    fused = pq.read_table(layout.fused_file).to_pandas().sort_values(["customer_id", "rank"])
    expected = fused.groupby("customer_id")["article_id"].agg(" ".join)
    assert (written.set_index("customer_id")["prediction"] == expected.loc[written["customer_id"]]).all()

    checks = result.get_asset_check_evaluations()
    check = next(c for c in checks if c.check_name == "submission_is_valid")
    assert check.passed
    assert check.metadata["rows"].value == check.metadata["expected_rows"].value == len(sample)
    assert check.metadata["unknown_ids"].value == check.metadata["malformed_ids"].value == 0


def test_check_fails_on_a_broken_submission(chain, tmp_path):
    layout, _, _ = chain
    broken = tmp_path / "submission.csv"
    text = layout.submission_file.read_text().splitlines()
    customer, prediction = text[1].split(",")
    text[1] = customer + "," + " ".join(str(int(a)) for a in prediction.split())  # leading zeros lost
    broken.write_text("\n".join(text[:-1]) + "\n")  # and one row missing
    order, _ = inputs.submission_order(layout)
    check = validate_submission(broken, order, inputs.Catalog.read(layout).article_ids)
    assert not check.ok and check.rows == check.expected_rows - 1
    assert check.malformed_ids > 0 or check.unknown_ids > 0


def test_batched_graph_pairs_equal_pandas_pairs(chain):
    layout, _, _ = chain
    tx = pq.read_table(layout.ingest_table("transactions"), columns=["customer_id", "article_id", "customer_idx",
                                                                     "article_idx"]).to_pandas()
    tx = tx.dropna(subset=["customer_idx", "article_idx"])
    articles = pq.read_table(layout.ingest_table("articles"),
                             columns=["article_id", "department_no", "index_code"]).to_pandas()
    joined = tx.merge(articles, on="article_id")
    catalog = inputs.Catalog.read(layout)
    with EmbeddedGraphStore(layout.graph_dir / "kuzu", engine="kuzu", read_only=True) as store:
        columns = ("department", "index_code")
        ids, values, calls = inputs.graph_rows(store, inputs.ATTRIBUTES_STATEMENT, catalog.n_customers, columns,
                                               chunk=101)
        assert calls == -(-catalog.n_customers // 101)
        got = set(zip(catalog.customer_ids.take(pa.array(ids)).to_pylist(), values["department"].to_pylist(),
                      values["index_code"].to_pylist()))
        want = set(joined[["customer_id", "department_no", "index_code"]].drop_duplicates()
                   .itertuples(index=False, name=None))
        assert got == {(c, int(d), i) for c, d, i in want}
        assert len(got) == len(ids)  # a (customer, department, index) row once, whichever call found it
        whole, _, one_call = inputs.graph_rows(store, inputs.ATTRIBUTES_STATEMENT, catalog.n_customers, columns)
        assert one_call == 1 and sorted(whole.tolist()) == sorted(ids.tolist())  # embedded default: one call
        codes, _ = inputs.graph_age_groups(store, catalog, chunk=101)
        attributes, _ = inputs.graph_attribute_filter(store, catalog, chunk=101)
    history = inputs.read_history(layout, catalog)
    from hm_pipeline.recommend.attribute_filter import AttributeFilter

    reference = AttributeFilter.from_history(history, attributes.article_department, attributes.article_index)
    assert np.array_equal(reference.departments.keys, attributes.departments.keys)
    assert np.array_equal(reference.indexes.keys, attributes.indexes.keys)
    from hm_pipeline.recommend.offline import age_group_codes

    ages = pq.read_table(layout.ingest_table("customers"), columns=["age"])["age"]
    assert np.array_equal(codes, age_group_codes(ages))


def test_evaluation_scores_fused_ranked_and_ablations_on_train_only_data(chain):
    layout, result, _ = chain
    meta = _metadata(result, "holdout_evaluation")
    assert meta["fused_recommender"] == "scored"
    table = meta["results"]
    for name in ("fused", "fused without image candidates", "fused without ALS ranking",
                 "fused without repurchase / trending", "popularity", "repurchase + trending", "ranked",
                 "ranked without als candidates", "ranked without history features"):
        assert f"| {name} |" in table
    assert meta["ranked_recommender"] == "scored" and "95% interval" in table
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "ranked_beats_best_baseline"]
    assert check.severity == dg.AssetCheckSeverity.WARN and "ranked MAP@12" in check.metadata["verdict"].value
    recall = re.search(r"\| all sources \| ([\d.]+) \|", meta["held_out_candidate_recall"])
    assert recall and 0 < float(recall.group(1)) <= 1, meta["held_out_candidate_recall"]
    assert meta["best"].split(": MAP@12 ")[0] in table  # the best row named, its score rounded
    assert not [k for k in meta if k.startswith("map@12 ")]  # no flat copies of the table
    print("\n" + table)


def test_ablation_rankers_are_opt_in(chain):
    layout, result, _ = chain
    assert _metadata(result, "ranker_model")["rankers_fit"] == 17  # eval: full + 15 ablations; production: 1
    resources = {"data_root": DataRootResource(data_root=str(layout.root)),
                 "graph_store": EmbeddedGraphStoreResource()}
    config = {k: v for k, v in RUN_CONFIG["ops"]["ranker_model"]["config"].items() if k != "ablations"}
    default = dg.materialize([*MERGED.assets], selection=["ranker_model", "holdout_evaluation"],
                             resources=resources, run_config={"ops": {
                                 "ranker_model": {"config": config},
                                 "holdout_evaluation": RUN_CONFIG["ops"]["holdout_evaluation"]}})
    assert default.success
    assert _metadata(default, "ranker_model")["rankers_fit"] == 2
    table = _metadata(default, "holdout_evaluation")["results"]
    assert "| ranked |" in table and "| ranked without" not in table
    assert table.count("| fused") == _metadata(result, "holdout_evaluation")["results"].count("| fused")


def test_rematerializing_gives_the_same_files(chain):
    layout, _, _ = chain
    before = pq.read_table(layout.fused_file)
    csv_before = layout.submission_file.read_bytes()
    resources = {"data_root": DataRootResource(data_root=str(layout.root)),
                 "graph_store": EmbeddedGraphStoreResource()}
    again = dg.materialize([*MERGED.assets, *MERGED.asset_checks],
                           selection=["recommendations", "submission_csv"], resources=resources,
                           run_config={"ops": {"recommendations": RUN_CONFIG["ops"]["recommendations"]}})
    assert again.success
    assert pq.read_table(layout.fused_file).equals(before)
    assert layout.submission_file.read_bytes() == csv_before


def test_cli_recommend_prints_the_12_items_and_recent_purchases(chain, capsys):
    from hm_pipeline import cli

    layout, _, _ = chain
    fused = pq.read_table(layout.fused_file).to_pandas()
    tx = pq.read_table(layout.ingest_table("transactions"), columns=["customer_id", "article_id", "t_dat"]).to_pandas()
    customer = tx["customer_id"].value_counts().index[0]
    assert cli.main(["recommend", customer, "--data-root", str(layout.root)]) == 0
    out = capsys.readouterr().out
    mine = fused[fused["customer_id"] == customer].sort_values("rank")
    lines = out.splitlines()
    rec_start = next(i for i, line in enumerate(lines) if line.startswith("recommended"))
    recommended = lines[rec_start + 1 : rec_start + 13]
    for line, (_, row) in zip(recommended, mine.iterrows()):
        assert row["article_id"] in line and f"[{row['source']}]" in line
    newest = tx[tx["customer_id"] == customer].sort_values("t_dat")["article_id"].iloc[-1]
    purchases = lines[next(i for i, line in enumerate(lines) if line.startswith("recent purchases")) + 1 :]
    assert any(newest in line for line in purchases)
    names = pq.read_table(layout.ingest_table("articles"), columns=["article_id", "prod_name"]).to_pandas()
    assert names.set_index("article_id").loc[mine["article_id"].iloc[0], "prod_name"] in recommended[0]

    assert cli.main(["recommend", "f" * 64, "--data-root", str(layout.root)]) == 1
    assert "unknown customer_id" in capsys.readouterr().err
