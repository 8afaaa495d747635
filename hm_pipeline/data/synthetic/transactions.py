"""Transactions: per-customer counts, multi-item baskets of related articles, drifting tastes, customer-dependent
article choice under life cycles and seasons, re-buys.

A basket is a customer's purchases of one day. Its first item comes from the customer's taste of that day (favourite
departments drift, see `customers.Customers.departments_on`); every further item attaches to a random earlier item
of the basket and is a colour variant of it, another article of its department, of its index, or a new taste draw.
Inside a department, a few candidates are drawn by popularity x life cycle x season of the week, and the customer
picks the one that fits them best (hidden style, colours, the basket item it goes with; Gumbel noise).

Everything is vectorized over transactions; the loops run over weeks (article choice) and over the positions inside
a basket (attachments).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalog import PRICE_DIVISOR, Catalog
from .customers import N_FAVOURITE_DEPTS, Customers, activity_windows
from .scales import Scale, by_departments, daily_volume, in_sale

#: Transactions per active customer: 1 + negative binomial with this spread (real: mean 23.2, median 9, p90 61).
COUNT_SD = 36.0
MAX_PER_CUSTOMER = 1900
#: Basket sizes before they are cut at the customer's last purchase: 1 with BASKET_SINGLE, else 2 + geometric
#: with mean BASKET_EXTRA_MEAN, at most MAX_BASKET (real: mean 3.6 items, 71% of baskets with more than one).
BASKET_SINGLE = 0.27
BASKET_EXTRA_MEAN = 2.8
MAX_BASKET = 40
#: What a basket's further item is, relative to a random earlier item of the basket: a colour variant (same
#: product code), another article of its department, of its index, or a new draw from the customer's taste.
ROLE_P = (np.array([0.14, 0.0, 0.46, 0.40]), np.array([0.14, 0.15, 0.25, 0.46]))  # (at small, at full)
_VARIANT, _DEPARTMENT, _INDEX, _TASTE = range(4)
#: (at small, at full): share of taste draws outside the customer's favourite departments, drawn by the week's
#: sales weight of each department (what is new and promoted that week pulls shoppers in)
EXPLORE = (0.0, 0.05)
#: (at small, at full): a favourite department whose sales weight per article this week is below this multiple of
#: the catalogue's loses the share of its taste draws it falls short by to the explored departments (shoppers do
#: not buy what is not on sale: without it a department's few articles on sale take all its fans' demand)
THIN = (0.0, 1.0)
REPEAT = (0.01, 0.0)  # share of purchases that re-buy an article of an earlier basket of the same customer
FAVOURITE_SLOT_P = np.array([0.22, 0.19, 0.17, 0.15, 0.14, 0.13])
FAVOURITES_PER_DEPARTMENT = 0.02  # favourites shopped at once: this share of the departments (6 of 299) ...
MIN_FAVOURITES = 4  # ... but at least this many
#: (at small, at full): share of moves 'within the index' that go to another favourite outside it when no
#: favourite of the customer is in that index
INDEX_OUTSIDE = (0.4, 0.0)
INDEX_STAY = 0.3  # ... or stay in the item's department
#: Article choice inside a department: N_CANDIDATES by popularity, the best by these bonuses plus Gumbel noise.
N_CANDIDATES = 4
STYLE_BONUS = 1.5
COLOUR_BONUS = 0.7
COLOUR_MATCH_BONUS = 6.0  # same colour group as the basket item it attaches to
TYPE_MATCH_BONUS = 5.0  # same product type as the basket item it attaches to
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


def _basket_sizes(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Basket sizes in customer order: a stream of drawn sizes, cut at every customer's last purchase."""
    n_t = int(counts.sum())
    p = 1.0 / (1.0 + BASKET_EXTRA_MEAN)
    sizes = np.zeros(0, dtype=np.int64)
    while sizes.sum() < n_t:
        m = n_t // 2 + 1000
        more = np.where(rng.random(m) < BASKET_SINGLE, 1, 1 + rng.geometric(p, m))
        sizes = np.concatenate([sizes, np.minimum(more, MAX_BASKET)])
    cuts = np.concatenate([np.cumsum(sizes), np.cumsum(counts)])
    cuts = cuts[cuts <= n_t]
    cuts.sort()  # distinct sorted cut points (np.union1d hashes: several times slower here)
    cuts = cuts[np.r_[True, cuts[1:] != cuts[:-1]]]
    return np.diff(np.r_[0, cuts])


def _baskets(counts: np.ndarray, start: np.ndarray, end: np.ndarray, rng: np.random.Generator):
    """Baskets in customer-then-day order: owner (active position), day, size."""
    size = _basket_sizes(counts, rng)
    first = np.cumsum(size) - size
    owner = (np.searchsorted(np.cumsum(counts), first, side="right")).astype(np.int32)
    cum = np.concatenate([[0.0], np.cumsum(daily_volume())])
    lo, hi = cum[start[owner]], cum[end[owner] + 1]
    day = np.searchsorted(cum, lo + rng.random(len(owner)) * (hi - lo), side="right") - 1
    day = np.clip(day, start[owner], end[owner]).astype(np.int16)
    day = day[stable_argsort(owner.astype(np.int64) * 1024 + day)]  # days ascending within each customer
    return owner, day, size.astype(np.int32)


def _by_position(pos: np.ndarray):
    """Transactions grouped by their position inside the basket: (order, bounds) with order[bounds[k]:bounds[k+1]]
    the items at position k."""
    order = stable_argsort(pos)
    return order, np.searchsorted(pos[order], np.arange(int(pos.max()) + 2))


def favourite_slots(n_departments: int) -> int:
    """How many favourite departments a customer shops at once: a share of the catalogue's departments (6 at the
    real 299), so that a customer covers the same share of the catalogue at every scale."""
    return int(np.clip(round(n_departments * FAVOURITES_PER_DEPARTMENT), MIN_FAVOURITES, N_FAVOURITE_DEPTS))


def _draw_by_week(weight: np.ndarray, week: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row of `weight` (rows x weeks) drawn in each transaction's week, by that week's column."""
    cum = np.cumsum(weight, axis=0, dtype=np.float64)
    cum = cum / np.maximum(cum[-1], 1e-300) + np.arange(weight.shape[1])  # week w's column spans [w, w + 1]
    flat = cum.T.ravel()
    pos = np.searchsorted(flat, week + np.minimum(u, 1.0 - 1e-9), side="right")
    return (np.minimum(pos, (week + 1) * weight.shape[0] - 1) - week * weight.shape[0]).astype(np.int32)


def _departments(cust: Customers, customer, day, role, parent, by_pos, cat: Catalog, dept_of_index, dept_weight,
                 rng):
    """Department and anchor of every item: taste draws, then attachments copied or moved within the index,
    position by position (a parent always sits at an earlier position). The anchor of an item is the taste draw
    its chain of parents starts from. `dept_weight` is the (departments x weeks) sales weight that draws the
    explored departments."""
    n_t = len(day)
    n_used = int((np.bincount(cat.dept) > 0).sum())
    n_slots = favourite_slots(n_used)
    slot_p = np.cumsum(FAVOURITE_SLOT_P[:n_slots]) / FAVOURITE_SLOT_P[:n_slots].sum()
    slot = np.searchsorted(slot_p, rng.random(n_t), side="right").clip(0, n_slots - 1)
    dept = cust.departments_on(customer, day, slot).astype(np.int32)
    explore_p = by_departments(n_used, *EXPLORE)
    thin = by_departments(n_used, *THIN)
    if thin > 0:
        size = np.bincount(cat.dept, minlength=len(dept_weight)).astype(np.float64)
        density = dept_weight / np.maximum(size, 1)[:, None] / (dept_weight.sum(axis=0) / len(cat.dept))
        explore_p = explore_p + (1 - explore_p) * np.clip(1 - density / thin, 0, 1)[dept, day // 7]
    explore = rng.random(n_t) < explore_p
    dept[explore] = _draw_by_week(dept_weight, day[explore] // 7, rng.random(int(explore.sum())))
    u, u2, u3 = rng.random(n_t), rng.random(n_t), rng.random(n_t)
    # for a move within the index: another of the customer's favourites of the day, if it is in that index
    other = cust.departments_on(customer, day, rng.integers(0, n_slots, n_t)).astype(np.int32)
    other2 = cust.departments_on(customer, day, rng.integers(0, n_slots, n_t)).astype(np.int32)
    index_of = dept_of_index.index_of
    index_outside = by_departments(n_used, *INDEX_OUTSIDE)
    anchor = np.arange(n_t, dtype=np.int64)
    order, bounds = by_pos
    for k in range(1, len(bounds) - 1):
        items = order[bounds[k]:bounds[k + 1]]
        r, p = role[items], parent[items]
        pd = dept[p]
        moved = dept_of_index.pick(pd, u[items])
        moved = np.where(moved == pd, dept_of_index.pick(pd, u2[items]), moved)  # rather another department
        fav = np.where(other[items] == pd, other2[items], other[items])
        # no other favourite in the index: another favourite, or the same department, or any of the index
        u_i = u3[items]
        fallback = np.where(u_i < index_outside, fav, np.where(u_i < index_outside + INDEX_STAY, pd, moved))
        moved = np.where((index_of[fav] == index_of[pd]) & (fav != pd), fav, fallback)
        taste = r == _TASTE
        own = dept[items]
        own = np.where(taste & (own == pd), fav, own)  # a further taste draw: rather another department
        dept[items] = np.where(taste, own, np.where(r == _INDEX, moved, pd))
        anchor[items] = np.where(taste, items, anchor[p])
    return dept, anchor


@dataclass
class _IndexDepartments:
    """Departments of each department's index, weighted by article count (to move an item within its index)."""

    index_of: np.ndarray  # index position per department
    offsets: np.ndarray  # CSR over index positions
    members: np.ndarray
    cumweight: np.ndarray  # within each index, ending at 1.0

    @classmethod
    def build(cls, cat: Catalog, dept_index: np.ndarray) -> "_IndexDepartments":
        size = np.bincount(cat.dept, minlength=len(dept_index)).astype(np.float64)
        members = np.flatnonzero(size > 0)
        members = members[np.argsort(dept_index[members], kind="stable")]
        offsets = np.searchsorted(dept_index[members], np.arange(int(dept_index.max()) + 2))
        cw = np.cumsum(size[members])
        block_start = np.where(offsets[:-1] > 0, cw[offsets[:-1] - 1], 0.0)
        block_end = np.where(offsets[1:] > 0, cw[offsets[1:] - 1], 0.0)
        n_members = np.diff(offsets)
        within = (cw - np.repeat(block_start, n_members)) / np.repeat(block_end - block_start, n_members)
        return cls(dept_index, offsets, members, within)

    def pick(self, dept: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A department of the same index as each `dept`, drawn by article count."""
        ix = self.index_of[dept]
        shifted = self.cumweight + np.repeat(np.arange(len(self.offsets) - 1, dtype=np.float64),
                                             np.diff(self.offsets))
        pos = np.searchsorted(shifted, ix + np.minimum(u, 1.0 - 1e-9), side="right")
        return self.members[np.minimum(pos, self.offsets[ix + 1] - 1)]


def _candidates(cum, lo, hi, by_dept, rng) -> np.ndarray:
    """One article drawn in [lo, hi) of the cumulative weights `cum` per transaction."""
    target = lo + rng.random(len(lo)) * (hi - lo)
    order = np.argsort(target)  # searching sorted targets is about twice as fast (cache-friendly)
    pos = np.empty(len(target), dtype=np.int64)
    pos[order] = np.searchsorted(cum, target[order], side="right") - 1
    return by_dept[np.clip(pos, 0, len(by_dept) - 1)]


def _pick_articles(week, dept, taste, cat: Catalog, cat_master, weights, rng, type_bonus: bool = True):
    """Article per transaction (sorted by week): N_CANDIDATES drawn within (department, week) by weight; the
    customer takes the best by style and colour bonuses, and by matching the basket item it attaches to, plus
    Gumbel noise.

    `taste` = (favourite styles (n, k), favourite colour masters (n, 2), anchor article (n,), -1 for none).
    """
    fav_style, fav_master, anchor = taste
    has_anchor = anchor >= 0
    a_colour = np.where(has_anchor, cat.colour[np.maximum(anchor, 0)], -1)
    a_type = np.where(has_anchor, cat.product_type[np.maximum(anchor, 0)], -1)
    n_depts = int(cat.dept.max()) + 1
    by_dept = np.argsort(cat.dept, kind="stable").astype(np.int32)
    bounds = np.searchsorted(cat.dept[by_dept], np.arange(n_depts + 1))
    article = np.empty(len(dept), dtype=np.int32)
    week_bounds = np.searchsorted(week, np.arange(weights.shape[1] + 1))
    by_week = np.ascontiguousarray(weights[by_dept].T)
    for w in range(weights.shape[1]):
        s, e = week_bounds[w], week_bounds[w + 1]
        if s == e:
            continue
        cum = np.concatenate([[0.0], np.cumsum(by_week[w], dtype=np.float64)])
        d = dept[s:e]
        lo, hi = cum[bounds[d]], cum[bounds[d + 1]]
        empty = hi <= lo  # nothing of the department on sale this week: anything on sale
        lo, hi = np.where(empty, 0.0, lo), np.where(empty, cum[-1], hi)
        best = np.full(e - s, -np.inf)
        for _ in range(N_CANDIDATES):
            cand = _candidates(cum, lo, hi, by_dept, rng)
            score = rng.gumbel(size=e - s)
            score += STYLE_BONUS * (cat.style[cand][:, None] == fav_style[s:e]).any(axis=1)
            master = cat_master[cand]
            score += COLOUR_BONUS * ((master == fav_master[s:e, 0]) | (master == fav_master[s:e, 1]))
            score += COLOUR_MATCH_BONUS * (cat.colour[cand] == a_colour[s:e])
            if type_bonus:
                score += TYPE_MATCH_BONUS * (cat.product_type[cand] == a_type[s:e])
            better = score > best
            article[s:e][better] = cand[better]
            best = np.maximum(best, score)
    return article


def _variants(article, day, role, parent, by_pos, cat: Catalog, rng) -> None:
    """Colour variants in place: another article of the parent's product code already launched that day (or the
    parent's article again, as a second piece)."""
    first = np.flatnonzero(np.r_[True, np.diff(cat.code_pos) != 0])
    n_var = np.diff(np.r_[first, len(cat.code_pos)])
    u = rng.random(len(article))
    order, bounds = by_pos
    for k in range(1, len(bounds) - 1):
        items = order[bounds[k]:bounds[k + 1]]
        items = items[role[items] == _VARIANT]
        src = article[parent[items]]
        code = cat.code_pos[src]
        other = first[code] + (u[items] * n_var[code]).astype(np.int64)
        article[items] = np.where(cat.launch[other] <= day[items], other, src)


def sample_transactions(scale: Scale, cat: Catalog, cust: Customers, weights: np.ndarray, colour_master: np.ndarray,
                        rng: np.random.Generator, dept_index: np.ndarray | None = None) -> Transactions:
    """All transactions of a scale, in file order. `weights` is `catalog.weekly_weights(cat)`; `dept_index` the
    index position of every department (default: one index)."""
    n_cust = len(cust)
    active = np.sort(rng.choice(n_cust, scale.n_active_customers, replace=False)).astype(np.int32)
    counts = customer_counts(scale.n_active_customers, scale.n_transactions, rng)
    start, end = activity_windows(len(active), rng)
    # longer windows tend to hold more purchases
    span_rank = np.argsort(np.argsort((end - start + 30) * rng.lognormal(0, 1.0, len(active)), kind="stable"))
    counts = np.sort(counts)[span_rank].astype(np.int64)

    # baskets and their items, in customer-then-day order
    owner, bday, size = _baskets(counts, start, end, rng)
    n_b, n_t = len(owner), int(size.sum())
    b_first = np.cumsum(size) - size
    basket = np.repeat(np.arange(n_b, dtype=np.int32), size)
    pos = (np.arange(n_t) - b_first[basket]).astype(np.int32)
    parent = b_first[basket] + (rng.random(n_t) * pos).astype(np.int64)
    n_used = int((np.bincount(cat.dept) > 0).sum())  # departments of this catalogue
    t = by_departments(n_used, 0.0, 1.0)
    role_p = (1 - t) * ROLE_P[0] + t * ROLE_P[1]
    role = np.where(pos == 0, _TASTE, np.searchsorted(np.cumsum(role_p), rng.random(n_t), side="right")
                    .clip(0, 3)).astype(np.int8)
    day = bday[basket]
    customer = active[owner[basket]]
    by_pos = _by_position(pos)
    del pos

    if dept_index is None:
        dept_index = np.zeros(int(cat.dept.max()) + 1, dtype=np.int64)
    dept_weight = np.stack([np.bincount(cat.dept, weights=weights[:, w], minlength=len(dept_index))
                            for w in range(weights.shape[1])], axis=1)
    dept, anchor = _departments(cust, customer, day, role, parent, by_pos, cat,
                                _IndexDepartments.build(cat, dept_index), dept_weight, rng)

    # article choice by week: first items; further taste draws (matching the first item); the items attached to
    # an earlier one (matching their anchor); then colour variants
    article = np.zeros(n_t, dtype=np.int32)
    link_to = np.where(role == _TASTE, b_first[basket], anchor)
    del anchor
    first = link_to == np.arange(n_t)  # the first item of each basket
    passes = (first, (role == _TASTE) & ~first, (role != _TASTE) & (role != _VARIANT))
    for k, chosen in enumerate(passes):
        pick = np.flatnonzero(chosen)
        pick = pick[stable_argsort(day[pick] // 7)]
        c = customer[pick]
        link = article[link_to[pick]] if k else np.full(len(pick), -1, dtype=np.int32)
        article[pick] = _pick_articles(day[pick] // 7, dept[pick], (cust.fav_style[c], cust.fav_master[c], link),
                                       cat, colour_master, weights, rng)
    del pick, c, link, dept, link_to, passes, first
    _variants(article, day, role, parent, by_pos, cat, rng)
    del parent, role, by_pos

    # re-buys: copy an article of an earlier basket of the same customer, mostly a recent one
    cust_first = (np.cumsum(counts) - counts)[owner]
    before = (b_first - cust_first)[basket]  # items of the customer's earlier baskets
    repeat = (rng.random(n_t) < by_departments(n_used, *REPEAT)) & (before > 0)
    rep = np.flatnonzero(repeat)
    src = b_first[basket[rep]] - 1 - np.floor(rng.random(len(rep)) ** 3 * before[rep]).astype(np.int64)
    del before, cust_first
    article[rep] = article[src]  # sources come earlier; a chain of re-buys resolves in index order
    for _ in range(64):
        stale = article[rep] != article[src]
        if not stale.any():
            break
        article[rep[stale]] = article[src[stale]]
    del rep, src

    # file order: baskets by (day, customer)
    b_order = stable_argsort(bday.astype(np.int64) * n_cust + active[owner])
    idx = (np.repeat(b_first[b_order] - (np.cumsum(size[b_order]) - size[b_order]), size[b_order])
           + np.arange(n_t)).astype(np.int64)
    day, customer, article, repeat = day[idx], customer[idx], article[idx], repeat[idx]
    basket = basket[idx]
    del idx

    covid = (bday >= _COVID[0]) & (bday < _COVID[1])
    online = rng.random(n_b) < np.minimum(cust.p_online[active[owner]] + 0.25 * covid, 1.0)
    channel = np.where(online, 2, 1).astype(np.int8)[basket]
    del basket

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

