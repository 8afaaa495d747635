"""Fast vectorized id → dense index lookups (numpy searchsorted on fixed-width keys, no per-block hash tables).

`customer_id` (64 hex) becomes four big-endian uint64 words, `article_id` (10 digits) an int64; both sort the same
way as their canonical strings, so the position in the id-sorted table is the dense index.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def fixed_width_bytes(arr: pa.Array, width: int) -> np.ndarray | None:
    """Zero-copy (n, width) uint8 view of a string array whose values all have `width` bytes, else None."""
    if arr.null_count or not pa.types.is_string(arr.type):
        return None
    n = len(arr)
    if n == 0:
        return np.empty((0, width), dtype=np.uint8)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset: arr.offset + n + 1]
    if offsets[-1] - offsets[0] != n * width or not (np.diff(offsets) == width).all():
        return None
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]]
    return data.reshape(n, width)


def hex_words(arr: pa.Array, width: int = 64) -> np.ndarray | None:
    """(n, width/16) uint64 words of hex ids (case-insensitive), or None if any value is not `width` hex chars."""
    raw = fixed_width_bytes(arr, width)
    if raw is None:
        return None
    try:  # bytes.fromhex: C speed, ~2x faster than a numpy nibble table at 3M ids
        packed = bytes.fromhex(raw.tobytes().decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    if 2 * len(packed) != raw.size:  # fromhex skips whitespace between byte pairs: a short result means some
        return None
    return np.frombuffer(packed, dtype=">u8").reshape(len(raw), width // 16).astype(np.uint64)


def digit_numbers(arr: pa.Array, max_digits: int) -> np.ndarray | None:
    """int64 values of ids made of 1..max_digits ASCII digits, or None if any value is not."""
    if arr.null_count:
        return None
    if len(arr) == 0:
        return np.empty(0, dtype=np.int64)
    if not pc.all(pc.utf8_is_digit(arr)).as_py() or pc.max(pc.utf8_length(arr)).as_py() > max_digits:
        return None
    return pc.cast(arr, pa.int64()).to_numpy()


class SortedIndex:
    """Position of each query key in a sorted, unique key array (-1 when absent)."""

    def __init__(self, keys: np.ndarray):
        """`keys`: (n,) int64 or (n, w) uint64 rows in ascending (lexicographic) order, unique."""
        self.keys = keys
        self.lead = np.ascontiguousarray(keys if keys.ndim == 1 else keys[:, 0])
        self.lead_unique = bool((self.lead[1:] != self.lead[:-1]).all())

    def lookup(self, query: np.ndarray) -> np.ndarray:
        if len(self.keys) == 0:
            return np.full(len(query), -1, dtype=np.int32)
        lead = query if query.ndim == 1 else query[:, 0]
        # Searching in sorted order keeps the binary searches cache-friendly (several times faster at 1M+ keys).
        order = np.argsort(lead)
        left = np.empty(len(lead), dtype=np.int64)
        left[order] = np.searchsorted(self.lead, lead[order], side="left")
        pos = np.minimum(left, len(self.keys) - 1)
        found = self.keys[pos] == query
        if found.ndim == 2:
            found = found.all(axis=1)
        if self.lead_unique:
            return np.where(found, pos, -1).astype(np.int32)
        # Ids sharing their first 64 bits (a ~1e-7 chance at H&M size): compare the few candidates one by one.
        right = np.searchsorted(self.lead, lead, side="right")
        for i in np.flatnonzero(~found & (right - left > 1)):
            for candidate in range(left[i], right[i]):
                if (self.keys[candidate] == query[i]).all():
                    pos[i], found[i] = candidate, True
        return np.where(found, pos, -1).astype(np.int32)


def to_index_array(positions: np.ndarray) -> pa.Array:
    """int32 Arrow array with nulls where the lookup found nothing."""
    return pa.array(positions, type=pa.int32(), mask=positions < 0)


def customer_index(sorted_ids: pa.Array) -> SortedIndex:
    words = hex_words(sorted_ids)
    if words is None:
        raise ValueError("customer ids must be 64 hex characters (ingest canonicalises them)")
    return SortedIndex(words)


def article_index(sorted_ids: pa.Array, digits: int = 10) -> SortedIndex:
    numbers = digit_numbers(sorted_ids, digits)
    if numbers is None:
        raise ValueError("article ids must be digits (ingest canonicalises them)")
    return SortedIndex(numbers)
