"""Scale presets (row counts) and the shared calendar of the synthetic data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from hm_pipeline.data.schema import FIRST_DATE, LAST_DATE

N_DAYS = (LAST_DATE - FIRST_DATE).days + 1  # 734
N_WEEKS = (N_DAYS + 6) // 7  # 105
EPOCH_DAY = (FIRST_DATE - dt.date(1970, 1, 1)).days  # day 0 as a date32 value


@dataclass(frozen=True)
class Scale:
    """Exact row counts of one scale; the catalogue spreads its articles over `n_departments` departments."""

    name: str
    n_articles: int
    n_product_codes: int
    n_customers: int
    n_active_customers: int
    n_transactions: int
    n_departments: int
    n_without_image: int


#: Real articles per department (105,542 articles in 299 departments): smaller scales have fewer departments.
ARTICLES_PER_DEPARTMENT = 353


def by_departments(n_departments: int, at_small: float, at_full: float) -> float:
    """A behaviour parameter calibrated at `small` (~29 departments) and `full` (299), log-interpolated in between.

    With fewer departments, independent choices of one customer meet in the same department more often; the
    parameters that set how broad and how stable a customer's departments are compensate, so that the shopper
    statistics (department Jaccard of two years, same-department basket pairs) hold at every scale.
    """
    t = np.clip(np.log(max(n_departments, 1) / 29) / np.log(299 / 29), 0.0, 1.0)
    return float(at_small + t * (at_full - at_small))


def _scaled(name: str, n_articles: int, n_customers: int) -> Scale:
    """A scale with the real ratios: products per article, active share, transactions per active customer,
    articles per department."""
    full = SCALES["full"]
    active = round(n_customers * full.n_active_customers / full.n_customers)
    return Scale(
        name=name,
        n_articles=n_articles,
        n_product_codes=round(n_articles * full.n_product_codes / full.n_articles),
        n_customers=n_customers,
        n_active_customers=active,
        n_transactions=round(active * full.n_transactions / full.n_active_customers),
        n_departments=-(-n_articles // ARTICLES_PER_DEPARTMENT),
        n_without_image=max(2, round(n_articles * full.n_without_image / full.n_articles)),
    )


SCALES: dict[str, Scale] = {
    "full": Scale("full", 105_542, 47_224, 1_371_980, 1_362_281, 31_788_324, 299, 442),
}
SCALES["small"] = _scaled("small", 10_000, 50_000)
SCALES["tiny"] = _scaled("tiny", 500, 1_500)


def day_of_year(days: np.ndarray) -> np.ndarray:
    """Day of year (0-based, approximate) of window day numbers (day 0 = 2018-09-20)."""
    return (days + FIRST_DATE.timetuple().tm_yday - 1) % 365


def _window(start: dt.date, end: dt.date) -> tuple[int, int]:
    return (start - FIRST_DATE).days, (end - FIRST_DATE).days + 1


#: (first day, end day exclusive, volume multiplier): sales, Black Friday, Christmas, the spring 2020 lockdown.
CALENDAR_EVENTS = [
    (*_window(dt.date(2018, 11, 23), dt.date(2018, 11, 25)), 2.2),
    (*_window(dt.date(2019, 11, 29), dt.date(2019, 12, 1)), 2.2),
    (*_window(dt.date(2018, 12, 1), dt.date(2018, 12, 20)), 1.2),
    (*_window(dt.date(2019, 12, 1), dt.date(2019, 12, 20)), 1.2),
    (*_window(dt.date(2018, 12, 26), dt.date(2019, 1, 10)), 1.4),
    (*_window(dt.date(2019, 12, 26), dt.date(2020, 1, 10)), 1.4),
    (*_window(dt.date(2019, 6, 20), dt.date(2019, 7, 10)), 1.5),
    (*_window(dt.date(2020, 6, 20), dt.date(2020, 7, 10)), 1.4),
    (*_window(dt.date(2020, 3, 15), dt.date(2020, 5, 1)), 0.6),
]
#: Sale windows (end-of-season markdowns) as (first day, end day exclusive).
SALE_WINDOWS = [
    _window(dt.date(2018, 12, 26), dt.date(2019, 1, 20)),
    _window(dt.date(2019, 6, 20), dt.date(2019, 7, 20)),
    _window(dt.date(2019, 12, 26), dt.date(2020, 1, 20)),
    _window(dt.date(2020, 6, 20), dt.date(2020, 7, 20)),
]


def daily_volume() -> np.ndarray:
    """Relative shopping volume of each day: growth, a summer/winter season curve, weekends, sale peaks."""
    days = np.arange(N_DAYS)
    doy = day_of_year(days)
    vol = (1.0 + 0.15 * days / N_DAYS) * (1.0 + 0.22 * np.cos(2 * np.pi * (doy - 175) / 365))
    weekday = (days + FIRST_DATE.weekday()) % 7
    vol *= np.where(weekday >= 5, 1.15, 1.0)
    for start, end, factor in CALENDAR_EVENTS:
        vol[max(start, 0):end] *= factor
    return vol / vol.sum()


def in_sale(days: np.ndarray) -> np.ndarray:
    out = np.zeros(days.shape, dtype=bool)
    for start, end in SALE_WINDOWS:
        out |= (days >= start) & (days < end)
    return out
