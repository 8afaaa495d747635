"""The article catalogue: product codes and colour variants, their taxonomy, life cycle, season, popularity, price."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .scales import N_DAYS, N_WEEKS, Scale, day_of_year
from .taxonomy import Taxonomy

#: Mean base price (SEK) per product group; prices are written as SEK / 5900 like the real file (e.g. 299.9/5900).
_GROUP_PRICE_SEK = {"Garment Upper body": 230, "Garment Lower body": 290, "Garment Full body": 330,
                    "Accessories": 110, "Underwear": 150, "Shoes": 380, "Swimwear": 160, "Socks & Tights": 70,
                    "Nightwear": 220, "Underwear/nightwear": 250, "Bags": 250}
PRICE_DIVISOR = 5900.0
#: Log-normal popularity spread per article and per product code, times a Pareto factor with this shape: the
#: upper tail is heavy (a few blockbusters sell 10k-50k times) while the lower tail stays log-normal.
POPULARITY_SIGMA = (0.8, 0.5)
POPULARITY_PARETO = 2.1
#: Product codes launch evenly from this many days before the window to this many days before its end.
LAUNCH_SPAN = (120, 12)
#: Share of articles launched after the window (in the catalogue, never sold: ~1% of real articles).
UNSOLD_SHARE = 0.006
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
    popularity: np.ndarray  # float64
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


def _variants_per_code(n_codes: int, n_articles: int, rng: np.random.Generator) -> np.ndarray:
    """Variants per product code (>= 1, geometric tail), summing exactly to `n_articles`."""
    mean_extra = n_articles / n_codes - 1.0
    counts = 1 + rng.geometric(1.0 / (1.0 + mean_extra), n_codes) - 1
    diff = n_articles - counts.sum()
    while diff != 0:
        if diff > 0:
            counts += np.bincount(rng.integers(0, n_codes, diff), minlength=n_codes)
        else:
            over = np.flatnonzero(counts > 1)
            take = rng.choice(over, min(-diff, len(over)), replace=False)
            counts[take] -= 1
        diff = n_articles - counts.sum()
    return counts


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

    # departments: the scale uses the `n_departments` most important ones
    used = np.sort(np.argsort(-tax.dept_weight, kind="stable")[: scale.n_departments])
    w = tax.dept_weight[used] / tax.dept_weight[used].sum()
    code_dept = used[rng.choice(len(used), n_codes, p=w)].astype(np.int32)
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

    popularity = rng.lognormal(0.0, POPULARITY_SIGMA[0], n) * rng.lognormal(0.0, POPULARITY_SIGMA[1], n_codes)[code_pos]
    popularity *= 1.0 + rng.pareto(POPULARITY_PARETO, n)
    popularity *= np.where(basic[code_pos], 0.6, 1.0)

    group = tax.product_group_name[code_type]
    base = np.array([_GROUP_PRICE_SEK.get(g, 100) for g in group], dtype=np.float64)
    base *= np.where(np.isin(type_names, list(_OUTER_TYPES)), 2.2, 1.0)
    code_price = np.clip(np.round(base * rng.lognormal(0.0, 0.4, n_codes) / 10) * 10, 10, 3490)
    price_sek = code_price[code_pos] * np.where(rng.random(n) < 0.1, 0.8, 1.0)
    price_sek = np.clip(np.round(price_sek / 10) * 10, 10, 3490)

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
        popularity=popularity,
        price_sek=price_sek,
        has_image=has_image,
        name_word=rng.integers(0, len(NAME_WORDS), n_codes),
        material=rng.integers(0, len(MATERIALS), n_codes),
        features=rng.integers(0, len(FEATURES), (n_codes, 3)),
        blank_desc=rng.random(n_codes) < 0.004,
    )


def weekly_weights(cat: Catalog) -> np.ndarray:
    """(n_articles, N_WEEKS) float32 purchase weight: popularity x life cycle (launch, rise, decay) x season."""
    mid = np.arange(N_WEEKS, dtype=np.float32) * 7 + 3
    age = mid[None, :] - cat.launch[:, None].astype(np.float32)
    # an article sells from the first full week after its launch day (never before launch)
    life = np.where(age - 3 < 0, 0.0, np.where(age < cat.rise[:, None], (age + 1) / (cat.rise[:, None] + 1),
                                          np.exp(-(age - cat.rise[:, None]) / cat.tau[:, None])))
    doy = day_of_year(mid.astype(np.int64)).astype(np.float32)
    ss = 1.0 + 0.8 * np.cos(2 * np.pi * (doy - 170) / 365)
    aw = 1.0 + 0.8 * np.cos(2 * np.pi * (doy - 340) / 365)
    seasonal = np.stack([np.ones_like(ss), ss, aw])[cat.season]
    return (life * seasonal * cat.popularity[:, None]).astype(np.float32)


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
