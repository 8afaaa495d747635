"""Arrow tables and Parquet files of the image stage: per-folder embeddings, the SIMILAR table and its state.

Shapes handed to the graph store:
- embeddings: (article_id string, embedding fixed_size_list<float32>[2048])
- similar:    (src string, dst string, score float32, rank int8)  -- rank 1 = most similar
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hm_pipeline.atomic import atomic_path
from hm_pipeline.images.embed import EMBEDDING_DIM
from hm_pipeline.layout import SIMILAR_FILE

EMBEDDINGS_SCHEMA = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("embedding", pa.list_(pa.float32(), EMBEDDING_DIM), nullable=False),
    ]
)
SIMILAR_SCHEMA = pa.schema(
    [
        pa.field("src", pa.string(), nullable=False),
        pa.field("dst", pa.string(), nullable=False),
        pa.field("score", pa.float32(), nullable=False),
        pa.field("rank", pa.int8(), nullable=False),
    ]
)
STATE_SCHEMA = pa.schema(
    [pa.field("article_id", pa.string(), nullable=False), pa.field("embedding_hash", pa.string(), nullable=False)]
)
STATE_FILE = "embedding_state.parquet"


def embeddings_table(article_ids: list[str], embeddings: np.ndarray) -> pa.Table:
    """(article_id, embedding[2048]) rows, sorted by article id."""
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    if x.shape != (len(article_ids), EMBEDDING_DIM):
        raise ValueError(f"expected {len(article_ids)}x{EMBEDDING_DIM} embeddings, got {x.shape}")
    order = np.argsort(np.asarray(article_ids, dtype=object), kind="stable")
    flat = pa.array(x[order].reshape(-1), type=pa.float32())
    column = pa.FixedSizeListArray.from_arrays(flat, EMBEDDING_DIM)
    ids = pa.array([article_ids[i] for i in order], type=pa.string())
    return pa.Table.from_arrays([ids, column], schema=EMBEDDINGS_SCHEMA)


def read_embeddings(files: Iterable[str | os.PathLike[str]]) -> tuple[np.ndarray, np.ndarray]:
    """(article ids sorted ascending, float32 [n, 2048]) from per-folder embedding files.

    Raises naming the files if an article appears in two of them.
    """
    files = [Path(f) for f in files]
    ids: list[np.ndarray] = []
    blocks: list[np.ndarray] = []
    sources: list[np.ndarray] = []
    for i, file in enumerate(files):
        table = pq.read_table(file, columns=["article_id", "embedding"])
        column = table.column("embedding").combine_chunks()
        ids.append(np.asarray(table.column("article_id").to_pylist(), dtype=object))
        blocks.append(column.values.to_numpy(zero_copy_only=False).reshape(-1, EMBEDDING_DIM))
        sources.append(np.full(len(table), i))
    if not ids:
        return np.empty(0, dtype=object), np.empty((0, EMBEDDING_DIM), dtype=np.float32)
    all_ids = np.concatenate(ids)
    order = np.argsort(all_ids, kind="stable")
    all_ids = all_ids[order]
    dup = np.flatnonzero(all_ids[1:] == all_ids[:-1])
    if len(dup):
        article = all_ids[dup[0]]
        holders = sorted({str(files[i]) for i in np.concatenate(sources)[order][all_ids == article]})
        raise ValueError(f"article {article} has embeddings in more than one file: {holders}")
    return all_ids, np.concatenate(blocks)[order].astype(np.float32, copy=False)


def similar_table(ids: np.ndarray, src: np.ndarray, dst: np.ndarray, score: np.ndarray, rank: np.ndarray) -> pa.Table:
    return pa.Table.from_arrays(
        [
            pa.array(ids[src].tolist(), type=pa.string()),
            pa.array(ids[dst].tolist(), type=pa.string()),
            pa.array(score, type=pa.float32()),
            pa.array(rank, type=pa.int8()),
        ],
        schema=SIMILAR_SCHEMA,
    )


def state_table(ids: np.ndarray, hashes: np.ndarray) -> pa.Table:
    return pa.Table.from_arrays(
        [pa.array(ids.tolist(), type=pa.string()), pa.array(hashes.tolist(), type=pa.string())], schema=STATE_SCHEMA
    )


def write_similar_dir(folder: str | os.PathLike[str], similar: pa.Table, state: pa.Table) -> None:
    """Replace the folder holding the SIMILAR table and the embedding state it was computed from, as one unit."""
    with atomic_path(folder) as tmp:
        tmp.mkdir()
        pq.write_table(similar, tmp / SIMILAR_FILE)
        pq.write_table(state, tmp / STATE_FILE)


def read_similar_dir(folder: str | os.PathLike[str]) -> tuple[pa.Table, pa.Table] | None:
    """(similar, state) written by `write_similar_dir`, or None if there is no previous result."""
    folder = Path(folder)
    if not (folder / SIMILAR_FILE).exists() or not (folder / STATE_FILE).exists():
        return None
    return pq.read_table(folder / SIMILAR_FILE), pq.read_table(folder / STATE_FILE)
