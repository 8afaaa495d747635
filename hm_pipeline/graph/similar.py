"""Arrow tables for the SIMILAR relationships and the image embeddings the graph stores (pure pyarrow, no database).

Input shapes are those of the image stage (`hm_pipeline/images/tables.py`): similar = (src, dst, score, rank),
embeddings = (article_id, embedding[2048]). Rows naming an article that is not a Product node are left out and
reported (`LoadReport`), never fatal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hm_pipeline.graph.model import EMBEDDING_DIM, PRODUCT_EMBEDDING, SIMILAR

SIMILAR_INPUT = {"src": pa.string(), "dst": pa.string(), "score": pa.float32(), "rank": pa.int8()}
EMBEDDINGS_INPUT = {"article_id": pa.string(), "embedding": pa.list_(pa.float32(), EMBEDDING_DIM)}
#: How many missing article ids a report lists (the count is always exact).
MISSING_SAMPLE = 20


@dataclass(frozen=True)
class LoadReport:
    """What a replace wrote: `written` rows, `missing_rows` left out because they name an article that is not a
    Product node, `missing_products` how many distinct such articles, `missing_sample` the first of them."""

    written: int
    missing_rows: int
    missing_products: int
    missing_sample: tuple[str, ...] = ()


def _checked(table: pa.Table, expected: dict[str, pa.DataType], what: str) -> pa.Table:
    missing = [c for c in expected if c not in table.column_names]
    if missing:
        raise ValueError(f"{what} table lacks columns {missing}; it has {table.column_names}")
    try:
        return pa.table({c: table[c].cast(t) for c, t in expected.items()})
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise ValueError(f"{what} table columns cannot be read as {expected}: {error}") from error


def _keep_known(table: pa.Table, key_columns: list[str], product_codes: pa.Array) -> tuple[pa.Table, LoadReport]:
    known = pa.array(np.ones(table.num_rows, dtype=bool))
    absent: set[str] = set()
    for column in key_columns:
        present = pc.fill_null(pc.is_in(table[column], value_set=product_codes), False)
        known = pc.and_(known, present)
        absent.update(pc.unique(table[column].filter(pc.invert(present))).to_pylist())
    kept = table.filter(known)
    missing = sorted(str(a) for a in absent)
    return kept, LoadReport(kept.num_rows, table.num_rows - kept.num_rows, len(missing),
                            tuple(missing[:MISSING_SAMPLE]))


def similar_rows(similar: pa.Table, product_codes: pa.Array) -> tuple[pa.Table, LoadReport]:
    """SIMILAR relationship rows (source, target, score, rank) for pairs whose two articles are Product nodes."""
    table = _checked(similar, SIMILAR_INPUT, "SIMILAR")
    kept, report = _keep_known(table, ["src", "dst"], product_codes)
    return kept.rename_columns(["source", "target", *SIMILAR.properties]), report


def embedding_rows(embeddings: pa.Table, product_codes: pa.Array) -> tuple[pa.Table, LoadReport]:
    """(code, embedding) rows for articles that are Product nodes; articles without an image get no row."""
    table = _checked(embeddings, EMBEDDINGS_INPUT, "embeddings")
    kept, report = _keep_known(table, ["article_id"], product_codes)
    return kept.rename_columns(list(PRODUCT_EMBEDDING.properties)), report

