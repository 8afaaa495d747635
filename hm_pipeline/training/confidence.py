"""Confidence weights for implicit feedback, one per purchase, all relative to the data's end date.

The seed's two rules, with its hard-coded dates (data ending 2020-09-22) turned into offsets from the end date:
- `recency`:  bought in the last 6 months -> 5, in the 6 months before that -> 3, earlier -> 1.
- `seasonal`: bought in the last 3 months -> 5, else bought in the same calendar months as those 3 months
  (Jul/Aug/Sep for a September end date) of an earlier year -> 3, else 1. (The seed's version of this rule
  could never reach its middle branch; here it does, and a test pins it.)
Plus `binary` (every purchase 1) and `decay` (0.5 ** (age_days / half_life_days)). Duplicate purchases of the
same article by the same customer are summed when the matrix is built.
"""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np

from hm_pipeline.training.split import to_date, to_day

CONFIDENCE_SCHEMES = ("binary", "recency", "seasonal", "decay")
DEFAULT_HALF_LIFE_DAYS = 30.0


def months_before(date: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months earlier, clamped to the month's last day (Mar 31 - 1 -> Feb 29)."""
    month_index = date.year * 12 + (date.month - 1) - months
    year, month = divmod(month_index, 12)
    day = min(date.day, calendar.monthrange(year, month + 1)[1])
    return dt.date(year, month + 1, day)


def _months(day: np.ndarray) -> np.ndarray:
    """Calendar month (1-12) of each day-since-epoch, vectorized."""
    return day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1


def check_scheme(scheme: str, half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> None:
    if scheme not in CONFIDENCE_SCHEMES:
        raise ValueError(f"unknown confidence {scheme!r}; choose one of {', '.join(CONFIDENCE_SCHEMES)}")
    if scheme == "decay" and not half_life_days > 0:
        raise ValueError(f"half_life_days must be > 0, got {half_life_days}")


def confidence_weights(
    day: np.ndarray, end_day: int, scheme: str, half_life_days: float = DEFAULT_HALF_LIFE_DAYS
) -> np.ndarray:
    """float32 weight per purchase; `day` and `end_day` are days since epoch (end = last day of the data used)."""
    check_scheme(scheme, half_life_days)
    day = np.asarray(day)
    if scheme == "binary":
        return np.ones(len(day), dtype=np.float32)
    end = to_date(end_day)
    if scheme == "decay":
        age = (end_day - day).astype(np.float32)
        return np.exp2(-age / np.float32(half_life_days)).astype(np.float32)
    if scheme == "recency":
        last_6 = to_day(months_before(end, 6))
        last_12 = to_day(months_before(end, 12))
        return np.where(day >= last_6, 5, np.where(day >= last_12, 3, 1)).astype(np.float32)
    # seasonal
    last_3 = to_day(months_before(end, 3))
    season = np.array([months_before(end, k).month for k in range(3)])
    in_season = np.isin(_months(day), season)
    return np.where(day >= last_3, 5, np.where(in_season, 3, 1)).astype(np.float32)
