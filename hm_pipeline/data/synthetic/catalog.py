"""The article catalogue: product codes and colour variants, their taxonomy, life cycle, season, popularity, price."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .scales import N_DAYS, N_WEEKS, Scale, by_departments, day_of_year
from .taxonomy import Taxonomy

#: Mean base price (SEK) per product group; prices are written as SEK / 5900 like the real file (e.g. 299.9/5900).
_GROUP_PRICE_SEK = {"Garment Upper body": 230, "Garment Lower body": 290, "Garment Full body": 330,
                    "Accessories": 110, "Underwear": 150, "Shoes": 380, "Swimwear": 160, "Socks & Tights": 70,
                    "Nightwear": 220, "Underwear/nightwear": 250, "Bags": 250}
PRICE_DIVISOR = 5900.0
#: Log-normal popularity spread per article and per product code, times a Pareto factor with this shape: the
#: upper tail is heavy (a few blockbusters sell 10k-50k times) while the lower tail stays log-normal.
POPULARITY_SIGMA = ((0.25, 0.15), (0.2, 0.1))  # (at small, at full) x (article, product code)
POPULARITY_PARETO = (4.0, 8.0)  # (at small, at full): see scales.by_departments
#: Hits: a fixed number of articles (not a share of the catalogue: a week's top sellers are a few dozen articles at
#: every scale) that together take HIT_SHARE of every week's sales weight while they are at their peak (life cycle
#: factor >= HIT_PEAK; past it they sell like any article), (at small, at full); real last week: top-12 articles
#: 2.8% of sales, top-100 13.4%, top 1% of the catalogue 19.5%.
N_HITS = (300, 700)
HIT_SHARE = (0.05, 0.20)  # a larger catalogue's tail takes more without them
HIT_PEAK = (0.0, 0.3)
#: Popularity factor of basics (long-lived articles): the long-run best sellers.
BASIC_POPULARITY = 1.3
#: Product codes launch evenly from this many days before the window to this many days before its end.
LAUNCH_SPAN = (120, 12)
#: Share of articles launched after the window (in the catalogue, never sold: ~1% of real articles).
UNSOLD_SHARE = 0.006
#: Real share of product codes with 1..10 articles (colour variants); longer codes follow the power law
#: k^-VARIANTS_TAIL_EXPONENT up to VARIANTS_MAX (real: mean 2.23, median 1, max 75).
_VARIANTS_P = (0.5096, 0.2524, 0.1048, 0.0503, 0.0252, 0.0165, 0.0097, 0.0068, 0.0044, 0.0038)
VARIANTS_TAIL_EXPONENT = 2.4
VARIANTS_MAX = 75
#: Real department sizes (articles per department) at the 0, 5, ..., 100% quantiles (mean 353, median 256).
_DEPT_SIZE_QUANTILES = (1, 8, 25, 48, 71, 102, 135, 155, 193, 223, 256, 284, 313, 369, 400, 455, 519, 659, 866, 1116,
                        2032)
#: Real share of the catalogue's articles per index (by index code).
INDEX_ARTICLE_SHARE = {"A": 0.246, "B": 0.064, "C": 0.066, "D": 0.144, "F": 0.119, "G": 0.084, "H": 0.114,
                       "I": 0.087, "J": 0.044, "S": 0.032}
#: Hidden style clusters (shared by a product code's variants); customers prefer some of them.
N_STYLES = 12
_OUTER_TYPES = {"Coat", "Jacket", "Blazer", "Outdoor overall", "Boots"}
_SUMMER_TYPES = {"Shorts", "Swimsuit", "Bikini top", "Swimwear bottom", "Swimwear set", "Swimwear top", "Sarong",
                 "Sandals", "Flip flop", "Heeled sandals", "Straw hat", "Sunglasses", "Vest top", "Dress", "Wedge"}
_WINTER_TYPES = {"Coat", "Jacket", "Sweater", "Cardigan", "Boots", "Hat/beanie", "Gloves", "Scarf", "Mittens",
                 "Balaclava", "Outdoor overall", "Outdoor trousers", "Beanie", "Hoodie", "Bootie", "Leg warmers"}

NAME_WORDS = ("Jade", "Tilly", "Ellie", "Luna", "Bella", "Mona", "Hanna", "Slim", "Skinny", "Relaxed", "Basic",
              "Strap", "Wide", "Cropped", "Oversized", "Timeless", "Perrie", "Lazer", "Madison", "Pluto", "Haven",
              "Clara", "Rebecka", "Sara", "Moa", "Nora", "Ivy", "Tom", "Bill", "Liam", "Charlie", "Rio", "Nelly",
              "Shape Up", "Soft", "Sporty", "Cosy", "Classic", "Bubble", "Mia", "Cleo", "Dixie", "Kelly", "Ben",
              "Alfons", "Jolie", "Frida", "Tova", "Ester", "Ada", "Vera", "Zoe", "Sky", "Greta", "Lucy", "Remi",
              "OP", "EQ", "HW", "Mom", "Loose", "Regular", "Super Skinny", "Tapered", "Flared", "Boxy", "Fancy")
MATERIALS = ("Jersey", "Soft jersey", "Fine-knit", "Woven", "Cotton", "Denim", "Satin", "Lace", "Ribbed",
             "Chunky-knit", "Microfibre", "Viscose", "Linen-blend", "Soft cotton", "Recycled polyester", "Sweatshirt",
             "Twill", "Chiffon", "Faux leather", "Mesh")
FEATURES = ("narrow shoulder straps", "a round neckline", "long sleeves", "a V-neck", "an elasticated waist",
            "side pockets", "a concealed zip", "buttons down the front", "a wide, reinforced trim at the top",
            "dropped shoulders", "a high waist", "a smocked bodice", "ribbing around the neckline, cuffs and hem",
            "a lined drawstring hood", "short puff sleeves", "a zip fly and button", "welt back pockets",
            "a double-layered collar", "adjustable straps", "a tie belt", "slits in the sides", "a rounded hem",
            "a kangaroo pocket", "press-studs at the front", "flared legs", "tapered legs", "a soft, brushed inside")


@dataclass
class Catalog:
    """One row per article, sorted by article_id. Integer columns index into the Taxonomy tables."""

    product_code: np.ndarray  # int32, 6 digits
    variant: np.ndarray  # int32, 3 digits
    code_pos: np.ndarray  # int32, position of the product code (0..n_codes-1)
    dept: np.ndarray
    product_type: np.ndarray
    appearance: np.ndarray
    colour: np.ndarray
    value: np.ndarray  # perceived colour value position
    launch: np.ndarray  # int32 day of launch (day 0 = first window day; may be negative or past the end)
    rise: np.ndarray  # float32 days to peak
    tau: np.ndarray  # float32 decay time constant in days (basics: long)
    season: np.ndarray  # int8: 0 all year, 1 spring/summer, 2 autumn/winter
    style: np.ndarray  # int8 hidden style cluster of the product code (0..N_STYLES-1)
    popularity: np.ndarray  # float64
    hit: np.ndarray  # bool, one of the N_HITS hits
    price_sek: np.ndarray  # float64 base price in SEK (a round tier)
    has_image: np.ndarray  # bool
    name_word: np.ndarray  # per product code: word position, material, 3 features, description blank flag
    material: np.ndarray
    features: np.ndarray
    blank_desc: np.ndarray

    def __len__(self) -> int:
        return len(self.product_code)

    @property
    def article_number(self) -> np.ndarray:
        return self.product_code.astype(np.int64) * 1000 + self.variant


def article_id_strings(numbers: np.ndarray) -> pa.StringArray:
    """10-digit zero-padded article ids from their integer values."""
    return pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), 10, "0")


def _product_codes(n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` distinct sorted 6-digit codes in 100000..959999, denser at high codes (folders 010..095)."""
    codes = np.empty(0, dtype=np.int64)
    while len(codes) < n:
        u = rng.random(int(n * 1.3) + 16) ** 0.55
        codes = np.unique(np.concatenate([codes, 100_000 + (u * 860_000).astype(np.int64)]))
    return np.sort(rng.choice(codes, n, replace=False)).astype(np.int32)


def variants_distribution() -> np.ndarray:
    """P(a product code has k articles) for k = 1..VARIANTS_MAX, as in the real catalogue."""
    head = np.array(_VARIANTS_P)
    k = np.arange(len(head) + 1, VARIANTS_MAX + 1, dtype=np.float64)
    tail = k ** -VARIANTS_TAIL_EXPONENT
    return np.r_[head, tail / tail.sum() * (1.0 - head.sum())]


def _variants_per_code(n_codes: int, n_articles: int, rng: np.random.Generator) -> np.ndarray:
    """Variants per product code drawn from the real distribution, adjusted to sum exactly to `n_articles`."""
    counts = 1 + rng.choice(VARIANTS_MAX, n_codes, p=variants_distribution())
    diff = n_articles - counts.sum()
    while diff != 0:
        if diff > 0:  # lengthen codes that already have variants (keeps the share of single-article codes)
            multi = np.flatnonzero((counts > 1) & (counts < VARIANTS_MAX))
            counts += np.bincount(rng.choice(multi, diff), minlength=n_codes)
        else:
            over = np.flatnonzero(counts > 1)
            take = rng.choice(over, min(-diff, len(over)), replace=False)
            counts[take] -= 1
        counts = np.minimum(counts, VARIANTS_MAX)
        diff = n_articles - counts.sum()
    return counts


def department_sizes(n_departments: int, n_articles: int) -> np.ndarray:
    """Target articles per department (descending), shaped like the real department sizes, summing to n_articles."""
    q = np.interp((np.arange(n_departments) + 0.5) / n_departments, np.linspace(0, 1, len(_DEPT_SIZE_QUANTILES)),
                  _DEPT_SIZE_QUANTILES)[::-1]
    return q * (n_articles / q.sum())


def _index_share(tax: Taxonomy) -> np.ndarray:
    share = np.array([INDEX_ARTICLE_SHARE[code] for code in tax.index_code])
    return share / share.sum()


def choose_departments(tax: Taxonomy, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` departments: every index gets its share of them (its real share of articles; at least one when n
    allows), chosen within the index by weight; a smaller scale has fewer departments of the real size."""
    n_all = len(tax.dept_no)
    score = np.log(tax.dept_weight) + rng.gumbel(size=n_all)
    if n >= n_all:
        return np.argsort(-score, kind="stable")
    index = tax.section_index[tax.dept_section]
    quota = n * _index_share(tax)
    k = np.floor(quota).astype(np.int64)
    if n >= len(quota):
        k = np.maximum(k, 1)
    while k.sum() > n:
        k[np.argmax(k)] -= 1
    while k.sum() < n:
        k[np.argmax(quota - k)] += 1
    order = np.lexsort((-score, index))
    first = np.searchsorted(index[order], np.arange(len(quota)))
    rank = np.arange(n_all) - first[index[order]]
    chosen = order[rank < k[index[order]]]
    return chosen[np.argsort(-score[chosen], kind="stable")]


def _sizes_by_index(tax: Taxonomy, depts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Target size of each of `depts` (ordered by weight): the sizes, largest first, go to the index furthest below
    its real share of articles (its heaviest department still without a size). One step per department."""
    index = tax.section_index[tax.dept_section[depts]]
    want = _index_share(tax) * sizes.sum()
    have = np.zeros(len(want))
    free = np.ones(len(depts), dtype=bool)
    out = np.empty(len(depts))
    for size in np.sort(sizes)[::-1]:
        open_index = np.bincount(index[free], minlength=len(want)) > 0
        ix = int(np.argmax(np.where(open_index, want - have, -np.inf)))
        d = int(np.flatnonzero(free & (index == ix))[0])
        out[d], free[d] = size, False
        have[ix] += size
    return out


def _code_departments(tax: Taxonomy, scale: Scale, per_code: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Department of every product code: codes in random order fill the departments to their target sizes."""
    depts = choose_departments(tax, scale.n_departments, rng)
    bounds = np.cumsum(_sizes_by_index(tax, depts, department_sizes(len(depts), int(per_code.sum()))))
    perm = rng.permutation(len(per_code))
    mid = np.cumsum(per_code[perm]) - per_code[perm] / 2.0
    code_dept = np.empty(len(per_code), dtype=np.int32)
    code_dept[perm] = depts[np.minimum(np.searchsorted(bounds, mid, side="right"), len(depts) - 1)]
    return code_dept


def _pick_in_blocks(cum: np.ndarray, offsets: np.ndarray, block: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Positions drawn within CSR blocks of per-block cumulative weights (each block ends at 1.0)."""
    # Global trick: shift each block by its block number so one searchsorted serves all blocks.
    shifted = cum + np.repeat(np.arange(len(offsets) - 1, dtype=np.float64), np.diff(offsets))
    idx = np.searchsorted(shifted, block + np.minimum(u, 1.0 - 1e-12), side="right")
    return np.minimum(idx, offsets[block + 1] - 1)


def build_catalog(scale: Scale, tax: Taxonomy, rng: np.random.Generator) -> Catalog:
    n, n_codes = scale.n_articles, scale.n_product_codes
    codes = _product_codes(n_codes, rng)
    per_code = _variants_per_code(n_codes, n, rng)
    code_pos = np.repeat(np.arange(n_codes, dtype=np.int32), per_code)
    first = np.repeat(np.cumsum(per_code) - per_code, per_code)
    rank = np.arange(n) - first  # 0 for a code's first variant
    # variant numbers grow with gaps (001, 002, 005, 015, ...), restart per code
    steps = rng.geometric(0.65, n)
    steps[first == np.arange(n)] = 1
    cs = np.cumsum(steps)
    variant = (cs - np.repeat(cs[np.cumsum(per_code) - per_code] - 1, per_code)).clip(1, 999).astype(np.int32)

    code_dept = _code_departments(tax, scale, per_code, rng)
    code_type = tax.dept_type_index[_pick_in_blocks(tax.dept_type_cumweight, tax.dept_type_offsets, code_dept,
                                                    rng.random(n_codes))]
    code_app = rng.choice(len(tax.appearance_no), n_codes, p=tax.appearance_weight)
    # most variants share the code's pattern; some differ
    appearance = np.where(rng.random(n) < 0.85, code_app[code_pos],
                          rng.choice(len(tax.appearance_no), n, p=tax.appearance_weight)).astype(np.int32)
    colour = rng.choice(len(tax.colour_code), n, p=tax.colour_weight).astype(np.int32)
    value = np.where(rng.random(n) < 0.85, tax.colour_value[colour],
                     rng.integers(0, len(tax.value_id), n)).astype(np.int32)

    # life cycle: launch correlates with product code (older codes launched earlier); basics live long
    basic = rng.random(n_codes) < 0.15
    code_launch = np.where(basic, rng.uniform(-400, N_DAYS * 0.6, n_codes),
                           np.linspace(-LAUNCH_SPAN[0], N_DAYS - LAUNCH_SPAN[1], n_codes) + rng.normal(0, 45, n_codes))
    launch = (code_launch[code_pos] + np.where(rank > 0, rng.exponential(25, n), 0)).astype(np.int32)
    tau = np.where(basic[code_pos], rng.uniform(300, 900, n), rng.lognormal(np.log(80), 0.45, n)).astype(np.float32)
    rise = rng.uniform(5, 21, n).astype(np.float32)

    type_names = tax.product_type_name[code_type]
    summer = np.isin(type_names, list(_SUMMER_TYPES))
    winter = np.isin(type_names, list(_WINTER_TYPES))
    u = rng.random(n_codes)
    code_season = np.where(summer, np.where(u < 0.8, 1, 0), np.where(winter, np.where(u < 0.8, 2, 0),
                                                                     np.select([u < 0.3, u < 0.6], [1, 2], 0)))
    code_season[basic] = 0
    # seasonal items launch shortly before their season peak
    season = code_season[code_pos].astype(np.int8)
    doy = day_of_year(np.maximum(launch, 0))
    shift_ss = ((120 - doy) % 365).astype(np.int32)
    shift_aw = ((280 - doy) % 365).astype(np.int32)
    move = (season > 0) & ~basic[code_pos] & (launch > 0)
    shift = np.where(season == 1, shift_ss, shift_aw)
    shift = np.where(shift > 182, shift - 365, shift)  # nearest season start, earlier or later
    launch = np.where(move, launch + (shift * 0.5).astype(np.int32), launch)
    launch = np.minimum(launch, N_DAYS - 10)
    launch[rng.random(n) < UNSOLD_SHARE] = N_DAYS + 30
    launch = launch.astype(np.int32)

    sigma = [by_departments(scale.n_departments, a, b) for a, b in zip(*POPULARITY_SIGMA)]
    popularity = rng.lognormal(0.0, sigma[0], n) * rng.lognormal(0.0, sigma[1], n_codes)[code_pos]
    popularity *= 1.0 + rng.pareto(by_departments(scale.n_departments, *POPULARITY_PARETO), n)
    popularity *= np.where(basic[code_pos], BASIC_POPULARITY, 1.0)

    group = tax.product_group_name[code_type]
    base = np.array([_GROUP_PRICE_SEK.get(g, 100) for g in group], dtype=np.float64)
    base *= np.where(np.isin(type_names, list(_OUTER_TYPES)), 2.2, 1.0)
    code_price = np.clip(np.round(base * rng.lognormal(0.0, 0.4, n_codes) / 10) * 10, 10, 3490)
    price_sek = code_price[code_pos] * np.where(rng.random(n) < 0.1, 0.8, 1.0)
    price_sek = np.clip(np.round(price_sek / 10) * 10, 10, 3490)

    hit = np.zeros(n, dtype=bool)
    n_hits = round(by_departments(scale.n_departments, *N_HITS))
    hit[rng.choice(n, min(n_hits, n // 10), replace=False, p=popularity / popularity.sum())] = True

    has_image = np.ones(n, dtype=bool)
    has_image[rng.choice(n, scale.n_without_image, replace=False)] = False

    return Catalog(
        product_code=codes[code_pos],
        variant=variant,
        code_pos=code_pos,
        dept=code_dept[code_pos],
        product_type=code_type[code_pos].astype(np.int32),
        appearance=appearance,
        colour=colour,
        value=value,
        launch=launch,
        rise=rise,
        tau=tau,
        season=season,
        style=rng.integers(0, N_STYLES, n_codes).astype(np.int8)[code_pos],
        popularity=popularity,
        hit=hit,
        price_sek=price_sek,
        has_image=has_image,
        name_word=rng.integers(0, len(NAME_WORDS), n_codes),
        material=rng.integers(0, len(MATERIALS), n_codes),
        features=rng.integers(0, len(FEATURES), (n_codes, 3)),
        blank_desc=rng.random(n_codes) < 0.004,
    )


def weekly_weights(cat: Catalog) -> np.ndarray:
    """(n_articles, N_WEEKS) float32 purchase weight: popularity x life cycle (launch, rise, decay) x season; the
    hits at their peak take HIT_SHARE of each week's weight."""
    mid = np.arange(N_WEEKS, dtype=np.float32) * 7 + 3
    age = mid[None, :] - cat.launch[:, None].astype(np.float32)
    # an article sells from the first full week after its launch day (never before launch)
    life = np.where(age - 3 < 0, 0.0, np.where(age < cat.rise[:, None], (age + 1) / (cat.rise[:, None] + 1),
                                          np.exp(-(age - cat.rise[:, None]) / cat.tau[:, None])))
    doy = day_of_year(mid.astype(np.int64)).astype(np.float32)
    ss = 1.0 + 0.8 * np.cos(2 * np.pi * (doy - 170) / 365)
    aw = 1.0 + 0.8 * np.cos(2 * np.pi * (doy - 340) / 365)
    seasonal = np.stack([np.ones_like(ss), ss, aw])[cat.season]
    w = (life * seasonal * cat.popularity[:, None]).astype(np.float32)
    n_depts = len(np.unique(cat.dept))
    hot = cat.hit[:, None] & (life >= by_departments(n_depts, *HIT_PEAK))
    hits = np.where(hot, w, 0).sum(axis=0)
    rest = w.sum(axis=0) - hits
    share = by_departments(n_depts, *HIT_SHARE)
    boost = np.where(hits > 0, share / (1 - share) * rest / np.maximum(hits, 1e-30), 1.0)
    return np.where(hot, w * boost.astype(np.float32), w)


def article_table(cat: Catalog, tax: Taxonomy) -> dict[str, pa.Array]:
    """The 25 Kaggle article columns as Arrow arrays (names in schema order are applied by the writer)."""
    take = lambda values, idx: pa.array(values[idx], pa.string())  # noqa: E731
    t = cat.product_type
    col = cat.colour
    dept_section = tax.dept_section[cat.dept]
    index = tax.section_index[dept_section]
    ig = tax.index_group[index]
    gg = tax.dept_garment_group[cat.dept]
    master = tax.colour_master[col]

    code_names = pa.array(np.array(NAME_WORDS, dtype=object)[cat.name_word], pa.string())
    code_types = pa.array(tax.product_type_name[t[_first_of_code(cat)]], pa.string())
    prod_name = pc.binary_join_element_wise(code_names, code_types, " ").take(pa.array(cat.code_pos))
    # the real file marks some colour variants with a suffix like "(1)"
    suffix = np.where((cat.variant > 1) & (cat.variant % 7 == 0), " (1)", "")
    prod_name = pc.binary_join_element_wise(prod_name, pa.array(suffix.astype(object), pa.string()), "")

    feats = np.array(FEATURES, dtype=object)
    first = _first_of_code(cat)
    type_lower = pc.utf8_lower(pa.array(tax.product_type_name[t[first]], pa.string()))
    desc = pc.binary_join_element_wise(
        pa.array(np.array(MATERIALS, dtype=object)[cat.material], pa.string()), type_lower,
        pa.array(np.full(len(first), "with", dtype=object), pa.string()),
        pa.array(feats[cat.features[:, 0]], pa.string()), " ")
    desc = pc.binary_join_element_wise(desc, pa.array(feats[cat.features[:, 1]], pa.string()), ", ")
    desc = pc.binary_join_element_wise(desc, pa.array(feats[cat.features[:, 2]], pa.string()), " and ")
    desc = pc.binary_join_element_wise(desc, pa.scalar("."), "")
    desc = pc.if_else(pa.array(cat.blank_desc), pa.scalar(None, pa.string()), desc).take(pa.array(cat.code_pos))

    return {
        "article_id": article_id_strings(cat.article_number),
        "product_code": pa.array(cat.product_code, pa.int32()),
        "prod_name": prod_name,
        "product_type_no": pa.array(tax.product_type_no[t]),
        "product_type_name": take(tax.product_type_name, t),
        "product_group_name": take(tax.product_group_name, t),
        "graphical_appearance_no": pa.array(tax.appearance_no[cat.appearance]),
        "graphical_appearance_name": take(tax.appearance_name, cat.appearance),
        "colour_group_code": pa.array(tax.colour_code[col]),
        "colour_group_name": take(tax.colour_name, col),
        "perceived_colour_value_id": pa.array(tax.value_id[cat.value]),
        "perceived_colour_value_name": take(tax.value_name, cat.value),
        "perceived_colour_master_id": pa.array(tax.master_id[master]),
        "perceived_colour_master_name": take(tax.master_name, master),
        "department_no": pa.array(tax.dept_no[cat.dept]),
        "department_name": take(tax.dept_name, cat.dept),
        "index_code": take(tax.index_code, index),
        "index_name": take(tax.index_name, index),
        "index_group_no": pa.array(tax.index_group_no[ig]),
        "index_group_name": take(tax.index_group_name, ig),
        "section_no": pa.array(tax.section_no[dept_section]),
        "section_name": take(tax.section_name, dept_section),
        "garment_group_no": pa.array(tax.garment_group_no[gg]),
        "garment_group_name": take(tax.garment_group_name, gg),
        "detail_desc": desc,
    }


def _first_of_code(cat: Catalog) -> np.ndarray:
    """Article position of the first variant of every product code."""
    return np.flatnonzero(np.r_[True, np.diff(cat.code_pos) != 0])
