"""Score candidate recommenders on the held-out window: a table of MAP@12 / P@12 / R@12 as dicts, markdown, JSON.

Every candidate is fit on `split.train` only. Each row's MAP@12 difference to the best baseline comes with a 95%
bootstrap interval over customers (`bootstrap.difference_interval`). ALS serves the customers that are rows of its (k-core) matrix;
every other evaluated customer gets the popularity list, and the table says how many the model served itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from implicit.cpu.als import AlternatingLeastSquares

from hm_pipeline.markdown import markdown_table as shared_markdown_table
from hm_pipeline.training.als import recommend_rows
from hm_pipeline.training.baselines import DEFAULT_WINDOW_DAYS, popularity, repurchase_then_trending
from hm_pipeline.training.interactions import InteractionMatrix
from hm_pipeline.training.bootstrap import difference_interval
from hm_pipeline.training.metrics import K, RankingScores, evaluated_users, per_user_scores, ranking_scores, \
    relevant_matrix
from hm_pipeline.training.split import TimeSplit

COLUMNS = ("candidate", f"map@{K}", f"precision@{K}", f"recall@{K}", "map diff", "95% interval", "users_evaluated",
           "served_by_model", "note")


@dataclass(frozen=True)
class AlsCandidate:
    model: AlternatingLeastSquares
    interactions: InteractionMatrix


def als_recommendations(
    model: AlternatingLeastSquares,
    interactions: InteractionMatrix,
    users: np.ndarray,
    fallback: np.ndarray,
    k: int = K,
    filter_already_liked_items: bool = False,
) -> tuple[np.ndarray, int]:
    """ALS top-k article_idx for `users` (one batched call); users outside the matrix get their `fallback` row."""
    rows = interactions.rows_of(users)
    known = rows >= 0
    out = np.array(fallback, dtype=np.int32, copy=True)
    cols = recommend_rows(model, rows[known], interactions.matrix, k, filter_already_liked_items)
    out[known] = np.where(cols >= 0, interactions.item_ids[cols.clip(min=0)], -1)
    return out, int(known.sum())


def evaluate_candidates(
    split: TimeSplit,
    als: Mapping[str, AlsCandidate],
    k: int = K,
    window_days: int = DEFAULT_WINDOW_DAYS,
    filter_already_liked_items: bool = False,
    others: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
    contenders: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
) -> list[dict]:
    """One row per candidate: popularity, repurchase + trending, each ALS model (popularity fallback), each of
    `others` (e.g. the seed's fusion), then each of `contenders` (e.g. the ranked recommender and its ablations);
    `others` and `contenders` are functions from customer_idx array to (n, k) article_idx, -1 padded.

    Every row also gets its MAP@k difference to the best baseline (the best row that is not a contender) with a
    95% bootstrap interval over customers (paired resampling)."""
    train = split.train
    relevant = relevant_matrix(split.test.user, split.test.item, train.n_users, train.n_items)
    users = evaluated_users(relevant)
    popular = popularity(train, users, k, window_days)
    rows, ap = [], {}

    def add(name: str, recs: np.ndarray, served: int, note: str, contender: bool = False) -> None:
        rows.append({**_row(name, ranking_scores(recs, users, relevant), served, note), "contender": contender})
        ap[name] = per_user_scores(recs, users, relevant)[0]

    add("popularity", popular, len(users), f"top {k} of the last {window_days} training days by distinct buyers")
    add("repurchase + trending", repurchase_then_trending(train, users, k, window_days), len(users),
        "own articles, newest first, then last-week bestsellers")
    for name, candidate in als.items():
        recs, served = als_recommendations(candidate.model, candidate.interactions, users, popular, k,
                                           filter_already_liked_items)
        add(name, recs, served, f"{len(users) - served} users outside the k-core matrix got popularity")
    for name, recommend in (others or {}).items():
        add(name, recommend(users), len(users), "")
    for name, recommend in (contenders or {}).items():
        add(name, recommend(users), len(users), "", contender=True)
    baselines = [r for r in rows if not r["contender"]]
    best = max(baselines, key=lambda r: r[f"map@{k}"])["candidate"]
    for row in rows:
        row["vs best baseline"] = best
        if row["candidate"] == best:
            row.update({"map diff": 0.0, "95% interval": "", "diff_low": 0.0, "diff_high": 0.0})
            continue
        diff, low, high = difference_interval(ap[row["candidate"]], ap[best])
        row.update({"map diff": round(diff, 5), "95% interval": f"[{low:+.5f}, {high:+.5f}]",
                    "diff_low": round(low, 5), "diff_high": round(high, 5)})
    return rows


def beats_best_baseline(rows: list[dict], name: str) -> tuple[bool, str]:
    """Whether the row `name` beats the best baseline with confidence (the 95% interval of its MAP@12 difference
    lies above 0), and a sentence that says how it compares."""
    row = next((r for r in rows if r["candidate"] == name), None)
    if row is None:
        return False, f"{name} was not scored"
    best = row["vs best baseline"]
    told = (f"{name} MAP@{K} {row[f'map@{K}']:.5f} vs {best} (best baseline): difference {row['map diff']:+.5f} "
            f"{row['95% interval']}")
    if row["diff_low"] > 0:
        return True, told + ": better, the interval lies above 0"
    if row["diff_high"] < 0:
        return False, told + f": worse, the interval lies below 0 ({best} serves these customers better)"
    return False, told + ": not distinguishable at this many customers (the interval contains 0)"


def _row(name: str, scores: RankingScores, served: int, note: str) -> dict:
    return {"candidate": name, **scores.as_dict(), "served_by_model": served, "note": note}


def markdown_table(rows: list[dict]) -> str:
    """The evaluation table: scores to 5 decimals, in `COLUMNS` order."""
    return shared_markdown_table(rows, COLUMNS, float_digits=5)


def to_json(rows: list[dict], split: TimeSplit, extra: Mapping | None = None) -> str:
    return json.dumps({"split": split.describe(), **(extra or {}), "results": rows}, indent=2, sort_keys=False)
