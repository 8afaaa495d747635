"""Transactions: per-customer counts, baskets on dated sessions, taste- and life-cycle-driven article choice.

Everything is vectorized over transactions; the only loop is one iteration per week (article choice within
(department, week) by one `searchsorted` over cumulative popularity x life-cycle weights).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalog import PRICE_DIVISOR, Catalog
from .customers import Customers, activity_windows
from .scales import Scale, daily_volume, in_sale

#: Target spread of transactions per active customer (real: mean 23.3, heavy tail; seed graph sd 34.6 distinct).
COUNT_SD = 39.0
MAX_PER_CUSTOMER = 1900
BASKET_SPLIT = 0.3  # each extra item opens a new session with this probability
EXPLORE = 0.4  # share of purchases outside the customer's favourite departments
REPEAT = 0.055  # share of purchases that copy an earlier item of the same customer (real repeat share ~9%)
FAVOURITE_SLOT_P = np.array([0.30, 0.22, 0.17, 0.13, 0.10, 0.08])
_COVID = (544, 590)  # 2020-03-15 .. 2020-05-01: shops closed, online share up


@dataclass
class Transactions:
    """Rows in file order (by day, then customer)."""

    day: np.ndarray  # int16 day number (0 = 2018-09-20)
    customer: np.ndarray  # int32 customer position
    article: np.ndarray  # int32 article position
    price_sek: np.ndarray  # int16 SEK price tier; the Kaggle price is (tier - 0.1) / PRICE_DIVISOR
    channel: np.ndarray  # int8 (1 store, 2 online)
    repeat: np.ndarray  # bool, copied from an earlier purchase of the same customer

    def __len__(self) -> int:
        return len(self.day)

    @property
    def price(self) -> np.ndarray:
        return sek_to_price(self.price_sek)


def sek_to_price(sek: np.ndarray) -> np.ndarray:
    """Kaggle price (float64) of SEK tiers, as the real file writes them (e.g. 299.9 SEK -> 0.0508305084745762)."""
    return (np.asarray(sek, dtype=np.float64) - 0.1) / PRICE_DIVISOR


def stable_argsort(keys: np.ndarray) -> np.ndarray:
    """`np.argsort(keys, kind="stable")` for non-negative integer keys, as one sort of packed (key, position) int64.

    Sorting packed int64 values is several times faster than numpy's stable argsort on tens of millions of rows.
    """
    n = len(keys)
    bits = max(1, (n - 1).bit_length())
    if n == 0 or int(keys.max()).bit_length() + bits > 63:
        return np.argsort(keys, kind="stable")
    packed = (keys.astype(np.int64) << bits) | np.arange(n, dtype=np.int64)
    packed.sort()
    packed &= (1 << bits) - 1
    return packed


def customer_counts(n_active: int, n_transactions: int, rng: np.random.Generator) -> np.ndarray:
    """Transactions per active customer: 1 + negative binomial (heavy tail), adjusted to sum exactly."""
    if n_transactions < n_active:
        raise ValueError(f"{n_transactions} transactions cannot cover {n_active} active customers")
    extra_mean = n_transactions / n_active - 1.0
    p = extra_mean / max(COUNT_SD**2, extra_mean + 1e-9)
    r = extra_mean * p / (1.0 - p)
    counts = np.minimum(1 + rng.negative_binomial(r, p, n_active), MAX_PER_CUSTOMER).astype(np.int64)
    for _ in range(100):
        diff = n_transactions - int(counts.sum())
        if diff == 0:
            return counts.astype(np.int32)
        if diff > 0:
            add = np.bincount(rng.choice(n_active, diff, p=counts / counts.sum()), minlength=n_active)
            counts = np.minimum(counts + add, MAX_PER_CUSTOMER)
        else:
            room = counts - 1
            sub = np.bincount(rng.choice(n_active, -diff, p=room / room.sum()), minlength=n_active)
            counts -= np.minimum(sub, room)
    raise RuntimeError("could not adjust customer counts to the exact total")


def _sessions(counts: np.ndarray, start: np.ndarray, end: np.ndarray, rng: np.random.Generator):
    """Baskets per customer (sorted by day within customer) and their sizes."""
    n_baskets = 1 + rng.binomial(counts - 1, BASKET_SPLIT)
    owner = np.repeat(np.arange(len(counts), dtype=np.int32), n_baskets)
    cum = np.concatenate([[0.0], np.cumsum(daily_volume())])
    lo, hi = cum[start[owner]], cum[end[owner] + 1]
    day = np.searchsorted(cum, lo + rng.random(len(owner)) * (hi - lo), side="right") - 1
    day = np.clip(day, start[owner], end[owner]).astype(np.int16)
    order = stable_argsort(owner.astype(np.int64) * 1024 + day)
    day = day[order]
    first_basket = np.cumsum(n_baskets) - n_baskets
    extra = counts - n_baskets
    item_owner = np.repeat(np.arange(len(counts)), extra)
    which = first_basket[item_owner] + (rng.random(len(item_owner)) * n_baskets[item_owner]).astype(np.int64)
    size = 1 + np.bincount(which, minlength=len(owner))
    return owner, day, size.astype(np.int32)


def _candidate(cum, lo, hi, fav, by_dept, cat_master, rng) -> tuple[np.ndarray, np.ndarray]:
    """One article drawn in [lo, hi) of the cumulative weights `cum`, and whether it has a favourite colour."""
    target = lo + rng.random(len(lo)) * (hi - lo)
    order = np.argsort(target)  # searching sorted targets is about twice as fast (cache-friendly)
    pos = np.empty(len(target), dtype=np.int64)
    pos[order] = np.searchsorted(cum, target[order], side="right") - 1
    art = by_dept[np.clip(pos, 0, len(by_dept) - 1)]
    master = cat_master[art]
    return art, (master == fav[:, 0]) | (master == fav[:, 1])


def _pick_articles(week_of_tx, dept, cust_fav_master, cat_master, weights, dept_of_article, rng, n_depts):
    """Article per transaction: within (department, week) by cumulative weight; of two candidates, prefers the one
    in the customer's favourite colours."""
    by_dept = np.argsort(dept_of_article, kind="stable").astype(np.int32)
    bounds = np.searchsorted(dept_of_article[by_dept], np.arange(n_depts + 1))
    article = np.empty(len(dept), dtype=np.int32)
    week_bounds = np.searchsorted(week_of_tx, np.arange(weights.shape[1] + 1))
    by_week = np.ascontiguousarray(weights[by_dept].T)
    for w in range(weights.shape[1]):
        s, e = week_bounds[w], week_bounds[w + 1]
        if s == e:
            continue
        cum = np.concatenate([[0.0], np.cumsum(by_week[w], dtype=np.float64)])
        d = dept[s:e]
        lo = np.where(d < 0, 0.0, cum[bounds[np.maximum(d, 0)]])
        hi = np.where(d < 0, cum[-1], cum[bounds[np.maximum(d, 0) + 1]])
        empty = hi <= lo
        lo, hi = np.where(empty, 0.0, lo), np.where(empty, cum[-1], hi)
        fav = cust_fav_master[s:e]
        first, match = _candidate(cum, lo, hi, fav, by_dept, cat_master, rng)
        # a second candidate only where the first misses the customer's colours; it wins if it matches
        retry = np.flatnonzero(~match)
        second, match2 = _candidate(cum, lo[retry], hi[retry], fav[retry], by_dept, cat_master, rng)
        first[retry[match2]] = second[match2]
        article[s:e] = first
    return article


def sample_transactions(scale: Scale, cat: Catalog, cust: Customers, weights: np.ndarray, colour_master: np.ndarray,
                        rng: np.random.Generator) -> Transactions:
    """All transactions of a scale, in file order. `weights` is `catalog.weekly_weights(cat)`."""
    n_cust = len(cust)
    active = np.sort(rng.choice(n_cust, scale.n_active_customers, replace=False)).astype(np.int32)
    counts = customer_counts(scale.n_active_customers, scale.n_transactions, rng)
    start, end = activity_windows(len(active), rng)
    # longer windows tend to hold more purchases
    span_rank = np.argsort(np.argsort((end - start + 30) * rng.lognormal(0, 1.0, len(active)), kind="stable"))
    counts = np.sort(counts)[span_rank].astype(np.int64)

    owner, bday, size = _sessions(counts, start, end, rng)
    n_b, n_t = len(owner), int(size.sum())
    b_first_tx = np.cumsum(size) - size
    # repeats, in customer-then-day order: copy an earlier item, mostly a recent one
    tx_owner = np.repeat(owner, size)
    cust_first_tx = (np.cumsum(counts) - counts)[tx_owner]
    j = np.arange(n_t, dtype=np.int64)
    repeat = (rng.random(n_t) < REPEAT) & (j > cust_first_tx)
    back = np.floor(rng.random(n_t) ** 3 * (j - cust_first_tx)).astype(np.int64)
    src_c = np.where(repeat, j - 1 - back, j)
    del tx_owner, cust_first_tx, back

    # file order: baskets by (day, customer)
    b_order = stable_argsort(bday.astype(np.int64) * n_cust + active[owner])
    new_first = np.cumsum(size[b_order]) - size[b_order]
    idx = (np.repeat(b_first_tx[b_order] - new_first, size[b_order]) + j).astype(np.int64)
    del j, new_first
    inv = np.empty(n_t, dtype=np.int64)
    inv[idx] = np.arange(n_t)
    repeat = repeat[idx]
    src = inv[src_c[idx]].astype(np.int64)
    del inv, src_c
    basket = np.repeat(b_order.astype(np.int32), size[b_order])
    del idx
    day = bday[basket]
    customer = active[owner[basket]]

    covid = (bday >= _COVID[0]) & (bday < _COVID[1])
    online = rng.random(n_b) < np.minimum(cust.p_online[active[owner]] + 0.25 * covid, 1.0)
    channel = np.where(online, 2, 1).astype(np.int8)[basket]
    del basket

    slot = np.searchsorted(np.cumsum(FAVOURITE_SLOT_P), rng.random(n_t), side="right").clip(0, 5)
    dept = cust.fav_depts[customer, slot].astype(np.int16)
    dept[rng.random(n_t) < EXPLORE] = -1
    del slot
    n_depts = int(max(cat.dept.max(), cust.fav_depts.max())) + 1
    article = _pick_articles(day // 7, dept, cust.fav_master[customer], colour_master, weights, cat.dept, rng,
                             n_depts)
    del dept
    # resolve chains of repeats, then copy
    rep = np.flatnonzero(repeat)
    s = src[rep]
    while True:
        chained = repeat[s] & (s != rep)
        if not chained.any():
            break
        s[chained] = src[s[chained]]
    article[rep] = article[s]
    del src, rep, s

    return Transactions(day, customer, article, _prices(cat, day, article, rng), channel, repeat)


def _prices(cat: Catalog, day: np.ndarray, article: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """SEK price tier: base price with markdowns late in the life cycle and in sale windows."""
    age = day.astype(np.float32) - cat.launch[article]
    late = age > cat.rise[article] + 1.5 * cat.tau[article]
    factor = np.where(late & (rng.random(len(day)) < 0.6), 0.6, 1.0)
    factor *= np.where(in_sale(day) & (age > 42) & (rng.random(len(day)) < 0.5), 0.7, 1.0)
    sek = cat.price_sek[article] * factor
    sek = np.where(sek >= 50, np.round(sek / 10) * 10, np.maximum(np.round(sek), 5))
    return sek.astype(np.int16)

