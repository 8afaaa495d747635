"""Statistics of a generated data set, computed from the in-memory arrays (no re-reading of the CSVs)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field

import numpy as np

from hm_pipeline.data.schema import FIRST_DATE

from .catalog import Catalog
from .customers import Customers
from .shopper_stats import shopper_stats, stats_table
from .taxonomy import Taxonomy
from .transactions import Transactions


@dataclass
class GenerationReport:
    scale: str
    seed: int
    out_dir: str
    counts: dict[str, int]
    taxonomy: dict[str, int]
    stats: dict[str, float]
    first_date: str
    last_date: str
    shopper: dict[str, float] = field(default_factory=dict)  # issue #14's statistics (shopper_stats.TARGETS)
    seconds: dict[str, float] = field(default_factory=dict)  # wall seconds per stage
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # CPU seconds of the main process per stage

    def as_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def to_text(self) -> str:
        lines = [f"synthetic H&M data: scale={self.scale} seed={self.seed} -> {self.out_dir}",
                 f"dates {self.first_date} .. {self.last_date}", "counts:"]
        lines += [f"  {k:<28} {v:>12,}" for k, v in self.counts.items()]
        lines.append("taxonomy (distinct values in articles.csv):")
        lines += [f"  {k:<28} {v:>12,}" for k, v in self.taxonomy.items()]
        lines.append("statistics:")
        lines += [f"  {k:<44} {v:>12.4f}" for k, v in self.stats.items()]
        if self.shopper:
            lines.append("shopper statistics beside real H&M values:")
            lines.append(stats_table(self.shopper))
        if self.seconds:
            lines.append("wall (s): " + ", ".join(f"{k} {v:.1f}" for k, v in self.seconds.items()))
        if self.cpu_seconds:
            lines.append("cpu (s):  " + ", ".join(f"{k} {v:.1f}" for k, v in self.cpu_seconds.items()))
        return "\n".join(lines)


def _date(day: int) -> str:
    return (FIRST_DATE + dt.timedelta(days=int(day))).isoformat()


def build_report(scale: str, seed: int, out_dir: str, cat: Catalog, tax: Taxonomy, cust: Customers,
                 tx: Transactions, n_images: int, n_folders: int) -> GenerationReport:
    n_art, n_cust = len(cat), len(cust)
    per_cust = np.bincount(tx.customer, minlength=n_cust)
    active = per_cust > 0
    # distinct (customer, article) pairs: sort the int64 pair keys once (np.unique's hashing is far slower here)
    pairs = tx.customer.astype(np.int64) * n_art + tx.article
    pairs.sort()
    first = np.empty(len(pairs), dtype=bool)
    first[:1] = True
    np.not_equal(pairs[1:], pairs[:-1], out=first[1:])
    pairs = pairs[first]
    distinct = np.bincount(pairs // n_art, minlength=n_cust)[active]
    per_art = np.bincount(tx.article, minlength=n_art)
    ages = cust.age[~np.isnan(cust.age)]
    age_hist = np.bincount(ages.astype(np.int64), minlength=100)
    # taste signal: share of a customer's purchases in the index group they buy most
    ig = tax.index_group[tax.section_index[tax.dept_section[cat.dept]]]
    cg = np.bincount(tx.customer.astype(np.int64) * 5 + ig[tx.article], minlength=n_cust * 5).reshape(n_cust, 5)
    top_group_share = cg.max(axis=1)[active].sum() / len(tx)
    # recency signal: share of last-week purchases made on articles also sold in the week before
    last = tx.day >= tx.day.max() - 6
    prev = (tx.day >= tx.day.max() - 13) & ~last
    sold_prev = np.zeros(n_art, dtype=bool)
    sold_prev[tx.article[prev]] = True
    young, old = ages < 30, ages >= 40

    stats = {
        "transactions_per_active_customer_mean": float(per_cust[active].mean()),
        "transactions_per_active_customer_sd": float(per_cust[active].std()),
        "distinct_articles_per_active_customer_mean": float(distinct.mean()),
        "distinct_articles_per_active_customer_sd": float(distinct.std()),
        "repeat_share_of_transactions": float(1 - len(pairs) / len(tx)),
        "transactions_per_article_mean": float(per_art.mean()),
        "transactions_per_article_sd": float(per_art.std()),
        "transactions_per_article_max": float(per_art.max()),
        "articles_never_sold_share": float((per_art == 0).mean()),
        "age_blank_share": float(np.isnan(cust.age).mean()),
        "age_min": float(ages.min()),
        "age_max": float(ages.max()),
        "age_mode_under_35": float(np.argmax(age_hist[:35])),
        "age_mode_35_plus": float(35 + np.argmax(age_hist[35:])),
        "age_share_young_lt30": float(young.mean()),
        "age_share_40_plus": float(old.mean()),
        "price_min": float(tx.price.min()),
        "price_max": float(tx.price.max()),
        "price_mean": float(tx.price.mean()),
        "sales_channel_2_share": float((tx.channel == 2).mean()),
        "top_index_group_share_of_purchases": float(top_group_share),
        "last_week_on_articles_sold_week_before": float(sold_prev[tx.article[last]].mean()),
        "fn_share": float(cust.fn.mean()),
    }
    counts = {
        "articles": n_art,
        "product_codes": int(len(np.unique(cat.product_code))),
        "customers": n_cust,
        "active_customers": int(active.sum()),
        "transactions": len(tx),
        "images": n_images,
        "image_folders": n_folders,
        "articles_sold": int((per_art > 0).sum()),
    }
    taxonomy = {
        "product_types": int(len(np.unique(cat.product_type))),
        "product_groups": int(len(np.unique(tax.product_group_name[cat.product_type]))),
        "graphical_appearances": int(len(np.unique(cat.appearance))),
        "colour_groups": int(len(np.unique(cat.colour))),
        "perceived_colour_values": int(len(np.unique(cat.value))),
        "perceived_colour_masters": int(len(np.unique(tax.colour_master[cat.colour]))),
        "departments": int(len(np.unique(cat.dept))),
        "sections": int(len(np.unique(tax.dept_section[cat.dept]))),
        "indexes": int(len(np.unique(tax.section_index[tax.dept_section[cat.dept]]))),
        "index_groups": int(len(np.unique(ig))),
        "garment_groups": int(len(np.unique(tax.dept_garment_group[cat.dept]))),
    }
    shopper = shopper_stats(tx.day, tx.customer, tx.article, product_code=cat.code_pos, department=cat.dept,
                            index=tax.section_index[tax.dept_section[cat.dept]], colour_group=cat.colour,
                            product_type=cat.product_type)
    return GenerationReport(scale, seed, out_dir, counts, taxonomy, stats, _date(tx.day.min()), _date(tx.day.max()),
                            {k: round(v, 5) for k, v in shopper.items()})
