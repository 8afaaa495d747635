"""Customers: Kaggle attributes (ids, FN/Active, club status, news frequency, age, postal code) and hidden tastes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .csvio import ByteTable, byte_table, fixed_byte_table
from .scales import N_DAYS, Scale, by_departments
from .taxonomy import INDEX_GROUPS, Taxonomy

N_FAVOURITE_DEPTS = 6
#: Taste drift: a customer's favourite departments live in epochs of EPOCH_DAYS (random per customer); at each new
#: epoch every favourite is replaced with probability DRIFT (real department Jaccard of year 1 vs 2: 0.165).
N_EPOCHS = 13
EPOCH_DAYS = (80, 160)
DRIFT = (1.0, 0.35)  # (at small, at full): see scales.by_departments
#: Favourites are drawn by sqrt(department size) above SIZE_KNEE articles (idiosyncratic tastes), by size below it
#: (a tiny department does not draw the demand of a large one).
SIZE_KNEE = (60.0, 400.0)  # (at small, at full)
#: (at small, at full): share of later favourites drawn from an index group drawn by age again, not the
#: customer's own two groups
WANDER = (1.0, 0.0)
ANYWHERE = 0.5  # share of the wandering favourites drawn from the whole catalogue instead
N_FAVOURITE_STYLES = 2
_GROUPS = list(INDEX_GROUPS)  # index group numbers, positions used below
# P(primary index group | age band): Ladieswear, Divided, Menswear, Baby/Children, Sport
_AGE_BANDS = np.array([25, 35, 45, 60, 200])
_GROUP_BY_AGE = np.array([
    [0.30, 0.45, 0.10, 0.07, 0.08],
    [0.45, 0.20, 0.12, 0.17, 0.06],
    [0.45, 0.08, 0.14, 0.28, 0.05],
    [0.62, 0.06, 0.15, 0.12, 0.05],
    [0.65, 0.03, 0.17, 0.12, 0.03],
])
_GROUP_BLANK_AGE = _GROUP_BY_AGE.mean(axis=0)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


@dataclass
class Customers:
    """One row per customer, sorted by customer_id; taste columns drive the transaction sampler."""

    id_bytes: np.ndarray  # (n, 64) uint8 lowercase hex
    age: np.ndarray  # float64, NaN = blank
    fn: np.ndarray  # bool
    active: np.ndarray  # bool
    club: np.ndarray  # int8 position in CLUB_STATUS (-1 blank)
    news: np.ndarray  # int8 position in NEWS_FREQUENCY (-1 blank)
    postal: np.ndarray  # int32 position in postal code pool
    postal_pool: np.ndarray  # (k, 64) uint8
    primary_group: np.ndarray  # int8 index-group position
    fav_depts: np.ndarray  # (n, N_EPOCHS, N_FAVOURITE_DEPTS) int16 department positions, per taste epoch
    epoch_days: np.ndarray  # int16 length of the customer's taste epochs
    epoch_phase: np.ndarray  # int16 day offset of the customer's first epoch boundary
    fav_master: np.ndarray  # (n, 2) int8 perceived colour master positions
    fav_style: np.ndarray  # (n, N_FAVOURITE_STYLES) int8 hidden style clusters (catalog.N_STYLES)
    p_online: np.ndarray  # float32 channel-2 propensity

    def __len__(self) -> int:
        return len(self.age)

    def epoch(self, customer: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Taste epoch of customers on days (an index into the second axis of `fav_depts`)."""
        e = (day.astype(np.int32) + self.epoch_phase[customer]) // self.epoch_days[customer]
        return np.minimum(e, N_EPOCHS - 1)

    def departments_on(self, customer: np.ndarray, day: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """The favourite department in `slot` of customers on days (their taste drifts)."""
        return self.fav_depts[customer, self.epoch(customer, day), slot]


CLUB_STATUS = ("ACTIVE", "PRE-CREATE", "LEFT CLUB")
NEWS_FREQUENCY = ("NONE", "Regularly", "Monthly")


def hex_ids(n: int, rng: np.random.Generator, *, sort: bool = False) -> np.ndarray:
    """(n, 64) uint8 random lowercase hex strings (SHA-256-like), optionally in ascending order."""
    raw = np.frombuffer(rng.bytes(32 * n), dtype=np.uint8).reshape(n, 32)
    if sort:  # hex order = byte order: sort on the leading 8 bytes read as one big-endian integer
        raw = raw[np.argsort(raw[:, :8].copy().view(">u8").ravel().astype(np.uint64), kind="stable")]
    out = np.empty((n, 64), dtype=np.uint8)
    out[:, 0::2] = _HEX[raw >> 4]
    out[:, 1::2] = _HEX[raw & 15]
    return out


def _ages(n: int, rng: np.random.Generator) -> np.ndarray:
    """Bimodal ages 16-99 (peaks early 20s and ~50), ~1.2% blank, as integer-valued floats."""
    young = rng.random(n) < 0.52
    age = np.where(young, rng.gamma(6.0, 1.3, n) + 16.0, rng.normal(50.0, 11.0, n))
    age = np.clip(np.round(age), 16, 99)
    age[rng.random(n) < 0.0116] = np.nan
    return age


def _drifting(first: np.ndarray, draw, drift: float, rng: np.random.Generator) -> np.ndarray:
    """(n, N_EPOCHS, k) favourites: epoch 0 is `first`; later epochs keep each favourite or redraw it (`drift`)."""
    n, k = first.shape
    fresh = np.concatenate([first[:, None, :], draw((n, N_EPOCHS - 1, k))], axis=1)
    redraw = rng.random((n, N_EPOCHS, k), dtype=np.float32) < drift
    redraw[:, 0, :] = True
    src = np.maximum.accumulate(np.where(redraw, np.arange(N_EPOCHS, dtype=np.int8)[None, :, None], 0), axis=1)
    return np.take_along_axis(fresh, src, axis=1)


def build_customers(scale: Scale, tax: Taxonomy, dept_weight: np.ndarray, rng: np.random.Generator,
                    n_styles: int = 12) -> Customers:
    """`dept_weight` is the share of catalogue articles per department (0 for unused departments)."""
    n = scale.n_customers
    ids = hex_ids(n, rng, sort=True)
    age = _ages(n, rng)
    fn = rng.random(n) < 0.35
    active = fn & (rng.random(n) < 0.97)
    u = rng.random(n)
    club = np.select([u < 0.0044, u < 0.0047, u < 0.0725], [-1, 2, 1], 0).astype(np.int8)
    u = rng.random(n)
    news = np.where(fn, np.where(u < 0.985, 1, 0), 0).astype(np.int8)
    news[u > 0.9994] = 2
    news[rng.random(n) < 0.0117] = -1

    n_postal = max(1, n * 352_899 // 1_371_980)
    pool = hex_ids(n_postal, rng)
    postal = np.minimum(rng.zipf(1.6, n) - 1, n_postal - 1).astype(np.int32)
    postal = np.where(rng.random(n) < 0.5, rng.integers(0, n_postal, n), postal).astype(np.int32)

    band = np.searchsorted(_AGE_BANDS, np.nan_to_num(age, nan=30.0), side="right").clip(0, 4)
    probs = np.where(np.isnan(age)[:, None], _GROUP_BLANK_AGE[None, :], _GROUP_BY_AGE[band])
    cum = np.cumsum(probs, axis=1)
    primary = (rng.random(n)[:, None] > cum).sum(axis=1).clip(0, 4).astype(np.int8)
    parent = (np.nan_to_num(age) >= 28) & (np.nan_to_num(age) <= 48) & (rng.random(n) < 0.35)
    secondary = np.where(parent, 3, (rng.random(n)[:, None] > cum).sum(axis=1).clip(0, 4)).astype(np.int8)

    n_used = int((dept_weight > 0).sum())
    wander = by_departments(n_used, *WANDER)
    # favourite departments: 4 from the primary index group, 2 from the secondary, by department weight
    dept_group = tax.dept_index_group
    order = np.lexsort((np.arange(len(dept_group)), dept_group))
    size = dept_weight[order] * scale.n_articles
    w = size / np.sqrt(np.maximum(size, by_departments(n_used, *SIZE_KNEE)))
    g_sorted = dept_group[order]
    starts = np.searchsorted(g_sorted, np.arange(len(_GROUPS)))
    ends = np.searchsorted(g_sorted, np.arange(len(_GROUPS)), side="right")
    totals = np.where(ends > starts, np.array([w[s:e].sum() for s, e in zip(starts, ends)]), 0.0)
    cumw = np.cumsum(w)
    base = np.concatenate([[0.0], cumw])[starts]
    groups = np.concatenate([np.repeat(primary[:, None], 4, axis=1), np.repeat(secondary[:, None], 2, axis=1)],
                            axis=1)
    # a group without departments at this scale falls back to the whole catalogue
    empty = totals[groups] <= 0
    lo = np.where(empty, 0.0, base[groups])
    span = np.where(empty, cumw[-1], totals[groups])

    def draw(shape: tuple[int, ...]) -> np.ndarray:
        g = (slice(None),) + (None,) * (len(shape) - 2) + (slice(None),)
        target = lo[g] + rng.random(shape, dtype=np.float32) * span[g]
        if len(shape) > 2:  # later epochs: some favourites wander to an index group drawn by age again
            u = rng.random(shape, dtype=np.float32)
            other = np.zeros(shape, dtype=np.int8)
            for j in range(cum.shape[1] - 1):
                other += u > cum[:, j, None, None]
            other_empty = totals[other] <= 0
            moved = np.where(other_empty, 0.0, base[other]) + rng.random(shape, dtype=np.float32) * np.where(
                other_empty, cumw[-1], totals[other])
            anywhere = rng.random(shape, dtype=np.float32) * cumw[-1]
            moved = np.where(rng.random(shape, dtype=np.float32) < ANYWHERE, anywhere, moved)
            target = np.where(rng.random(shape, dtype=np.float32) < wander, moved, target)
        pos = np.minimum(np.searchsorted(cumw, target, side="right"), len(cumw) - 1)
        return order[pos].astype(np.int16)

    fav = _drifting(draw(groups.shape), draw, by_departments(n_used, *DRIFT), rng)
    epoch_days = rng.integers(*EPOCH_DAYS, n).astype(np.int16)
    epoch_phase = rng.integers(0, EPOCH_DAYS[0], n).astype(np.int16)

    master_w = np.bincount(tax.colour_master, weights=tax.colour_weight, minlength=len(tax.master_id))
    fav_master = rng.choice(len(tax.master_id), (n, 2), p=master_w / master_w.sum()).astype(np.int8)
    p_online = rng.beta(1.1, 0.48, n).astype(np.float32)
    fav_style = rng.integers(0, n_styles, (n, N_FAVOURITE_STYLES)).astype(np.int8)

    return Customers(ids, age, fn, active, club, news, postal, pool, primary, fav, epoch_days, epoch_phase,
                     fav_master, fav_style, p_online)


def customer_fields(cust: Customers) -> list[tuple[ByteTable, np.ndarray]]:
    """customers.csv rows as (ByteTable, index) fields, formatted like the real file (blanks where it has them).

    FN, Active, club status, news frequency and age take few distinct combinations: they are one field.
    """
    ages = [f"{a}.0" for a in range(100)] + [""]  # position 100 = blank
    clubs, news = ("",) + CLUB_STATUS, ("",) + NEWS_FREQUENCY
    middle = [",".join((fn, act, c, nw, a)) for fn in ("", "1.0") for act in ("", "1.0") for c in clubs
              for nw in news for a in ages]
    age_pos = np.where(np.isnan(cust.age), 100, np.nan_to_num(cust.age)).astype(np.int64)
    code = (((cust.fn.astype(np.int64) * 2 + cust.active) * 4 + cust.club + 1) * 4 + cust.news + 1) * 101 + age_pos
    return [(fixed_byte_table(cust.id_bytes, ","), np.arange(len(cust))),
            (byte_table(middle, ","), code),
            (fixed_byte_table(cust.postal_pool, "\n"), cust.postal)]


def activity_windows(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """First and last possible shopping day per customer: most were customers before the window, most still are."""
    start = np.where(rng.random(n) < 0.55, 0, rng.integers(0, N_DAYS - 1, n))
    end = np.where(rng.random(n) < 0.75, N_DAYS - 1, start + (rng.random(n) * (N_DAYS - start)).astype(np.int64))
    return start.astype(np.int32), np.minimum(end, N_DAYS - 1).astype(np.int32)
