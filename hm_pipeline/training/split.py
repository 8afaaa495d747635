"""Purchases as flat int32 arrays, read from the ingest table, and the time split into train / held-out window."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hm_pipeline.layout import DataLayout

EPOCH = dt.date(1970, 1, 1)
#: Kaggle scores MAP@12 on the 7 days after training ends.
DEFAULT_HOLDOUT_DAYS = 7


def to_day(date: dt.date) -> int:
    """Days since 1970-01-01 (the integer form of Arrow's date32)."""
    return (date - EPOCH).days


def to_date(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


@dataclass(frozen=True)
class Purchases:
    """One row per transaction: `day` (days since epoch), `user` (customer_idx), `item` (article_idx).

    `n_users` / `n_items` are the sizes of the idx spaces (rows of customers / articles), not the counts seen here.
    """

    day: np.ndarray
    user: np.ndarray
    item: np.ndarray
    n_users: int
    n_items: int

    def __post_init__(self) -> None:
        if not (len(self.day) == len(self.user) == len(self.item)):
            raise ValueError("day, user and item must have the same length")

    def __len__(self) -> int:
        return len(self.day)

    @property
    def first_day(self) -> int:
        if not len(self):
            raise ValueError("no purchases")
        return int(self.day.min())

    @property
    def last_day(self) -> int:
        if not len(self):
            raise ValueError("no purchases")
        return int(self.day.max())

    def select(self, mask: np.ndarray) -> "Purchases":
        return Purchases(self.day[mask], self.user[mask], self.item[mask], self.n_users, self.n_items)


def purchases_from_table(
    table: pa.Table, n_users: int, n_items: int, source: str = "transactions"
) -> tuple[Purchases, int]:
    """Typed arrays from a table with `t_dat` (date32), `customer_idx`, `article_idx` (int32, nullable).

    Orphan rows (either idx null) are dropped; returns the purchases and how many orphans were dropped.
    An idx outside its table's row range is an error naming `source`, the row and the column.
    """
    valid = pc.and_(pc.is_valid(table["customer_idx"]), pc.is_valid(table["article_idx"]))
    kept = table.filter(valid)
    orphans = table.num_rows - kept.num_rows
    day = kept["t_dat"].cast(pa.int32()).to_numpy()
    user = kept["customer_idx"].to_numpy().astype(np.int32, copy=False)
    item = kept["article_idx"].to_numpy().astype(np.int32, copy=False)
    for column, values, size in (("customer_idx", user, n_users), ("article_idx", item, n_items)):
        bad = np.flatnonzero((values < 0) | (values >= size))
        if len(bad):
            row = int(np.flatnonzero(valid.to_numpy(zero_copy_only=False))[bad[0]])
            raise ValueError(f"{source}: row {row}, column {column}: {int(values[bad[0]])} is outside [0, {size}) "
                             "(the ingest tables are out of step: re-materialize them)")
    return Purchases(day, user, item, n_users, n_items), orphans


def read_purchases(
    transactions: str | os.PathLike[str], customers: str | os.PathLike[str], articles: str | os.PathLike[str]
) -> tuple[Purchases, int]:
    """Read the ingest Parquet files (only the three needed columns); the idx spaces come from the row counts."""
    table = pq.read_table(transactions, columns=["t_dat", "customer_idx", "article_idx"])
    n_users = pq.ParquetFile(customers).metadata.num_rows
    n_items = pq.ParquetFile(articles).metadata.num_rows
    return purchases_from_table(table, n_users, n_items, source=str(transactions))


@dataclass(frozen=True)
class TimeSplit:
    """`train` = purchases before `cutoff_day`; `test` = the `holdout_days` from `cutoff_day` to the last day."""

    train: Purchases
    test: Purchases
    cutoff_day: int
    holdout_days: int

    def describe(self) -> dict[str, str | int]:
        return {
            "train_first_date": to_date(self.train.first_day).isoformat(),
            "train_last_date": to_date(self.train.last_day).isoformat(),
            "test_first_date": to_date(self.cutoff_day).isoformat(),
            "test_last_date": to_date(self.cutoff_day + self.holdout_days - 1).isoformat(),
            "train_rows": len(self.train),
            "test_rows": len(self.test),
        }


def time_split(purchases: Purchases, holdout_days: int = DEFAULT_HOLDOUT_DAYS) -> TimeSplit:
    """Hold out the last `holdout_days` calendar days (ending on the last purchase date); train on all before."""
    if holdout_days < 1:
        raise ValueError(f"holdout_days must be >= 1, got {holdout_days}")
    cutoff = purchases.last_day - holdout_days + 1
    in_test = purchases.day >= cutoff
    train, test = purchases.select(~in_test), purchases.select(in_test)
    if not len(train):
        raise ValueError(f"holdout_days={holdout_days} leaves no training purchases")
    return TimeSplit(train, test, cutoff, holdout_days)


def read_split(layout: DataLayout, holdout_days: int) -> tuple[TimeSplit, Purchases, int]:
    """(split, all purchases, orphan rows dropped) from the data root's ingest tables."""
    purchases, orphans = read_purchases(
        layout.ingest_table("transactions"), layout.ingest_table("customers"), layout.ingest_table("articles"))
    return time_split(purchases, holdout_days), purchases, orphans
