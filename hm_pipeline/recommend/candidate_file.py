"""Candidate tables by chunks of customers: computed on the fly, or written to / read from one Parquet file.

Both give the same `CandidateChunks` view that the ranking stage reads (`two_stage.recommend`): the sorted
customers, the chunk size, and chunk i's `CandidateTable` (the candidates of customers[i * chunk : (i + 1) * chunk]).
The file holds one row group per chunk — customer_idx, article_idx, then each source's rank and score (null: the
source did not propose the pair) — and its key-value metadata holds the chunk size and the customers, so a reader
needs nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hm_pipeline.atomic import atomic_path
from hm_pipeline.recommend.candidate_sources import CandidateTable, SourceData, collect_candidates

_META = b"hm_pipeline.candidates"


class CandidateChunks(Protocol):
    """The candidates of `customers` (sorted int32), `chunk` customers at a time."""

    customers: np.ndarray
    chunk: int

    def table(self, i: int) -> CandidateTable: ...


def n_chunks(candidates: CandidateChunks) -> int:
    return -(-len(candidates.customers) // max(candidates.chunk, 1))


def chunk_customers(candidates: CandidateChunks, i: int) -> np.ndarray:
    return candidates.customers[i * candidates.chunk : (i + 1) * candidates.chunk]


class ComputedCandidates:
    """Candidates collected from every source when a chunk is asked for (nothing stored)."""

    def __init__(self, data: SourceData, customers: np.ndarray, chunk: int = 50_000) -> None:
        self.data = data
        self.customers = np.sort(np.asarray(customers, np.int32))
        self.chunk = chunk

    def table(self, i: int) -> CandidateTable:
        return collect_candidates(self.data, chunk_customers(self, i))


class CandidateFile:
    """A candidates file written by `write_candidates`; chunk i is row group i (read on demand, thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        meta = json.loads(pq.read_schema(self.path).metadata[_META])
        self.chunk = int(meta["chunk"])
        self.names = tuple(meta["sources"])
        self.customers = np.asarray(meta["customers"], np.int32)
        groups = pq.ParquetFile(self.path).num_row_groups
        if groups != n_chunks(self):
            raise ValueError(f"{self.path}: {groups} row groups for {n_chunks(self)} chunks of customers: "
                             "re-materialize it")

    def table(self, i: int) -> CandidateTable:
        return from_arrow(pq.ParquetFile(self.path).read_row_group(i), self.names)


def to_arrow(table: CandidateTable) -> pa.Table:
    """customer_idx, article_idx, then `<source>_rank` and `<source>_score` per source (NaN stored as null)."""
    columns = {"customer_idx": pa.array(table.customer, pa.int32()), "article_idx": pa.array(table.article, pa.int32())}
    for s, name in enumerate(table.names):
        rank = np.ascontiguousarray(table.rank[:, s])
        missing = np.isnan(rank)
        columns[f"{name}_rank"] = pa.array(rank, pa.float32(), mask=missing)
        columns[f"{name}_score"] = pa.array(np.ascontiguousarray(table.score[:, s]), pa.float32(), mask=missing)
    return pa.table(columns)


def from_arrow(table: pa.Table, names: tuple[str, ...]) -> CandidateTable:
    def floats(column: str) -> np.ndarray:
        return table[column].to_numpy().astype(np.float32, copy=False)  # nulls come back as NaN

    rank = np.column_stack([floats(f"{n}_rank") for n in names]) if names else np.empty((table.num_rows, 0))
    score = np.column_stack([floats(f"{n}_score") for n in names]) if names else np.empty((table.num_rows, 0))
    return CandidateTable(table["customer_idx"].to_numpy(), table["article_idx"].to_numpy(), rank, score, names)


def ordered_results(fn: Callable[[int], object], count: int, workers: int) -> Iterator[object]:
    """fn(0), fn(1), … in order, computed by `workers` threads with at most `workers + 1` results held at once."""
    with ThreadPoolExecutor(max(workers, 1)) as pool:
        pending: list[Future] = []
        for i in range(count):
            pending.append(pool.submit(fn, i))
            if len(pending) > workers:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def write_candidates(path: Path, candidates: CandidateChunks, workers: int = 1) -> dict:
    """Write every chunk of `candidates` to `path` (temp path, then renamed; one row group per chunk), computing
    chunks on `workers` threads. Returns the rows, the pairs per source and the file size."""
    count = n_chunks(candidates)
    if workers > 1 and count > 1 and isinstance(candidates, ComputedCandidates):
        collect_candidates(candidates.data, candidates.customers[:1])  # fill the caches on `data` before threads
    rows, per_source, names = 0, None, None
    with atomic_path(path) as tmp:
        writer = None
        for table in ordered_results(candidates.table, count, workers):
            arrow = to_arrow(table)
            if writer is None:
                names = table.names
                meta = {"chunk": candidates.chunk, "sources": list(names),
                        "customers": candidates.customers.tolist()}
                writer = pq.ParquetWriter(tmp, arrow.schema.with_metadata({_META: json.dumps(meta)}),
                                          compression="zstd")
                per_source = np.zeros(len(names), np.int64)
            writer.write_table(arrow, row_group_size=max(len(table), 1))
            rows += len(table)
            per_source += (~np.isnan(table.rank)).sum(axis=0)
        if writer is None:
            raise ValueError(f"no customers to write candidates for ({path})")
        writer.close()
    return {"rows": rows, "per_source": dict(zip(names, per_source.tolist())),
            "bytes": Path(path).stat().st_size}
