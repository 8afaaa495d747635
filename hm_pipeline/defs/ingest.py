"""Stage 1, ingest (group `ingest`): the Kaggle CSVs → typed Parquet, and the checks that guard them."""

import datetime as dt
import inspect
from pathlib import Path

import dagster as dg
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hm_pipeline.data import schema
from hm_pipeline.data.ingest import ingest_articles, ingest_customers, ingest_transactions
from hm_pipeline.data.input_files import FileVersion, file_version
from hm_pipeline.defs.metadata import OWNERS, parquet_metadata, table_metadata
from hm_pipeline.defs.resources import DataRootResource
from hm_pipeline.layout import DataLayout
from hm_pipeline.markdown import markdown_table


class MissingInput(FileNotFoundError):
    """A Kaggle input file is not where the pipeline expects it."""


def require_input(layout: DataLayout, name: str) -> Path:
    path = layout.input_file(name)
    if not path.is_file():
        raise MissingInput(
            f"{name} not found at {path}. Put the Kaggle file there (or set HM_DATA_DIR to a data root whose "
            f"input/ folder has it), or generate synthetic data: hm-pipeline generate --scale tiny --out {path.parent}"
        )
    return path


#: The Kaggle file each ingest asset reads.
INPUT_FILE_OF = {"articles": "articles.csv", "customers": "customers.csv", "transactions": "transactions_train.csv"}


def input_version_event(asset: str, version: FileVersion, what: str) -> dg.AssetMaterialization:
    """The materialization of `asset`'s CSV that records `version` of the file (`what` happened to it)."""
    return dg.AssetMaterialization(INPUT_CSV[asset].key, description=what, metadata={
        "path": dg.MetadataValue.path(str(version.path)),
        "bytes": version.size,
        "modified_utc": version.modified,
        "fingerprint": version.fingerprint,
    })


def _read_input(layout: DataLayout, asset: str) -> tuple[Path, FileVersion | None]:
    """The CSV `asset` reads, and its version before reading (what the sensor later compares with)."""
    path = require_input(layout, INPUT_FILE_OF[asset])
    return path, file_version(path)


_READ_INPUT_SOURCE = dg.CodeReferencesMetadataValue(code_references=[dg.LocalFileCodeReference(
    file_path=__file__, line_number=inspect.getsourcelines(_read_input)[1])])
#: The Kaggle CSVs as external assets (nothing here writes them). Each ingest asset records the version it read as
#: its CSV's materialization; `input_files_sensor` records a new one when a file changes, and the ingest assets
#: follow it (AutomationCondition.eager, once the automation sensor is turned on), and everything after them.
INPUT_CSV = {asset: dg.AssetSpec(f"{asset}_csv", group_name="ingest", kinds={"csv"}, owners=OWNERS,
                                 description=f"input/{name}, the Kaggle file (size and modification time recorded)",
                                 metadata={"dagster/code_references": _READ_INPUT_SOURCE})
             for asset, name in INPUT_FILE_OF.items()}
articles_csv, customers_csv, transactions_csv = INPUT_CSV.values()  # module level: loaded with the defs folder
FOLLOWS_NEW_INPUT = dg.AutomationCondition.eager()


def _ingested(context: dg.AssetExecutionContext, asset: str, version: FileVersion | None) -> None:
    if version is not None:
        context.log_event(input_version_event(asset, version, f"the version `{asset}` ingested"))


class TransactionsConfig(dg.Config):
    """The accepted date window; rows outside it are rejected with their row number."""

    first_date: str = schema.FIRST_DATE.isoformat()
    last_date: str = schema.LAST_DATE.isoformat()

    def window(self) -> tuple[dt.date, dt.date]:
        return dt.date.fromisoformat(self.first_date), dt.date.fromisoformat(self.last_date)


@dg.asset(group_name="ingest", kinds={"csv", "parquet"}, owners=OWNERS, deps=[INPUT_CSV["articles"]],
          automation_condition=FOLLOWS_NEW_INPUT,
          description="articles.csv → Parquet sorted by 10-digit article_id, with dense int32 article_idx.")
def articles(context: dg.AssetExecutionContext, data_root: DataRootResource) -> dg.MaterializeResult:
    layout = data_root.layout()
    dest = layout.ingest_table("articles")
    source, version = _read_input(layout, "articles")
    table = ingest_articles(source, dest)
    _ingested(context, "articles", version)
    return dg.MaterializeResult(metadata={
        **table_metadata(table, dest),
        "product_codes": len(pc.unique(table["product_code"])),
        "departments": len(pc.unique(table["department_no"])),
        "product_types": len(pc.unique(table["product_type_no"])),
    })


@dg.asset(group_name="ingest", kinds={"csv", "parquet"}, owners=OWNERS, deps=[INPUT_CSV["customers"]],
          automation_condition=FOLLOWS_NEW_INPUT,
          description="customers.csv → Parquet sorted by customer_id, with dense int32 customer_idx; "
                      "blank fields stay null (defaults are the graph's business).")
def customers(context: dg.AssetExecutionContext, data_root: DataRootResource) -> dg.MaterializeResult:
    layout = data_root.layout()
    dest = layout.ingest_table("customers")
    source, version = _read_input(layout, "customers")
    table = ingest_customers(source, dest)
    _ingested(context, "customers", version)
    ages = table["age"]
    return dg.MaterializeResult(metadata={
        **table_metadata(table, dest),
        "youngest": pc.min(ages).as_py(),
        "oldest": pc.max(ages).as_py(),
        "age_unknown": ages.null_count,
    })


@dg.asset(group_name="ingest", kinds={"csv", "parquet"}, owners=OWNERS,
          deps=[INPUT_CSV["transactions"], articles, customers], automation_condition=FOLLOWS_NEW_INPUT,
          description="transactions_train.csv → Parquet in file order (streamed), with customer_idx/article_idx "
                      "(null for orphans whose id is unknown).")
def transactions(context: dg.AssetExecutionContext, config: TransactionsConfig,
                 data_root: DataRootResource) -> dg.MaterializeResult:
    layout = data_root.layout()
    dest = layout.ingest_table("transactions")
    source, version = _read_input(layout, "transactions")
    summary = ingest_transactions(source, dest, layout.ingest_table("articles"), layout.ingest_table("customers"),
                                  window=config.window())
    _ingested(context, "transactions", version)
    return dg.MaterializeResult(metadata={
        **parquet_metadata(dest),
        "first_date": str(summary.first_date),
        "last_date": str(summary.last_date),
        "orphan_article_rows": summary.orphan_article_rows,
        "orphan_customer_rows": summary.orphan_customer_rows,
        "purchases_per_sales_channel": dg.MetadataValue.md(markdown_table(
            [{"sales_channel_id": k, "channel": schema.SALES_CHANNEL_NAMES.get(k, "unknown"), "purchases": v}
             for k, v in sorted(summary.per_channel.items())])),
    })


def _column(layout: DataLayout, table: str, column: str):
    return pq.read_table(layout.ingest_table(table), columns=[column])[column]


def _unique_check(layout: DataLayout, table: str, column: str) -> dg.AssetCheckResult:
    values = _column(layout, table, column)
    distinct = len(pc.unique(values))
    return dg.AssetCheckResult(passed=distinct == len(values),
                               metadata={"rows": len(values), "distinct": distinct})


def _well_formed_check(layout: DataLayout, table: str, column: str, pattern: str) -> dg.AssetCheckResult:
    values = _column(layout, table, column)
    ok = pc.match_substring_regex(values, pattern)
    bad = pc.filter(values, pc.invert(ok))
    return dg.AssetCheckResult(passed=len(bad) == 0, metadata={
        "malformed": len(bad), "examples": dg.MetadataValue.json(bad.slice(0, 5).to_pylist()), "pattern": pattern})


ARTICLE_ID_PATTERN = rf"^\d{{{schema.ARTICLE_ID_DIGITS}}}$"
CUSTOMER_ID_PATTERN = rf"^[0-9a-f]{{{schema.CUSTOMER_ID_HEX}}}$"


@dg.asset_check(asset=articles, blocking=True, description="article_id is unique.")
def article_id_unique(data_root: DataRootResource) -> dg.AssetCheckResult:
    return _unique_check(data_root.layout(), "articles", "article_id")


@dg.asset_check(asset=articles, blocking=True, description="Every article_id is 10 digits (leading zero kept).")
def article_id_well_formed(data_root: DataRootResource) -> dg.AssetCheckResult:
    return _well_formed_check(data_root.layout(), "articles", "article_id", ARTICLE_ID_PATTERN)


@dg.asset_check(asset=customers, blocking=True, description="customer_id is unique.")
def customer_id_unique(data_root: DataRootResource) -> dg.AssetCheckResult:
    return _unique_check(data_root.layout(), "customers", "customer_id")


@dg.asset_check(asset=customers, blocking=True, description="Every customer_id is 64 lowercase hex characters.")
def customer_id_well_formed(data_root: DataRootResource) -> dg.AssetCheckResult:
    return _well_formed_check(data_root.layout(), "customers", "customer_id", CUSTOMER_ID_PATTERN)


@dg.asset_check(asset=transactions, description="Transactions reference known articles and customers; orphan rows "
                                                "are counted (they are kept in Parquet, excluded from numeric work).")
def transactions_reference_known_ids(data_root: DataRootResource) -> dg.AssetCheckResult:
    table = pq.read_table(data_root.layout().ingest_table("transactions"),
                          columns=["article_id", "customer_id", "article_idx", "customer_idx"])
    orphan_articles = pc.unique(pc.filter(table["article_id"], pc.is_null(table["article_idx"])))
    orphan_customers = pc.unique(pc.filter(table["customer_id"], pc.is_null(table["customer_idx"])))
    orphan_rows = pc.sum(pc.or_(pc.is_null(table["article_idx"]), pc.is_null(table["customer_idx"]))).as_py() or 0
    return dg.AssetCheckResult(
        passed=orphan_rows == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rows": table.num_rows,
            "orphan_rows": orphan_rows,
            "orphan_share": round(orphan_rows / max(table.num_rows, 1), 6),
            "unknown_articles": len(orphan_articles),
            "unknown_customers": len(orphan_customers),
            "unknown_article_examples": dg.MetadataValue.json(orphan_articles.slice(0, 5).to_pylist()),
            "unknown_customer_examples": dg.MetadataValue.json(orphan_customers.slice(0, 5).to_pylist()),
        },
    )


@dg.asset_check(asset=transactions, description="Every t_dat lies inside the Kaggle window.")
def transaction_dates_in_range(data_root: DataRootResource) -> dg.AssetCheckResult:
    dates = _column(data_root.layout(), "transactions", "t_dat")
    low, high = (v.as_py() for v in pc.min_max(dates).values())
    passed = low is not None and schema.FIRST_DATE <= low and high <= schema.LAST_DATE
    return dg.AssetCheckResult(passed=passed, metadata={
        "first_date": str(low), "last_date": str(high),
        "expected_window": f"{schema.FIRST_DATE} .. {schema.LAST_DATE}"})


