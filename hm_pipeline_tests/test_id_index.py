"""Vectorized id → index lookups agree with a dictionary reference, including ids sharing their first 64 bits."""

import numpy as np
import pyarrow as pa

from hm_pipeline.data.id_index import SortedIndex, article_index, customer_index, digit_numbers, hex_words


def _hex_ids(rng, n):
    return sorted({bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(n)})


def test_customer_lookup_matches_dict():
    rng = np.random.default_rng(1)
    ids = _hex_ids(rng, 500)
    index = customer_index(pa.array(ids))
    queries = [ids[i] for i in rng.integers(0, len(ids), 300)] + _hex_ids(np.random.default_rng(2), 50)
    expected = [ids.index(q) if q in ids else -1 for q in queries]
    assert index.lookup(hex_words(pa.array(queries))).tolist() == expected


def test_ids_sharing_first_64_bits_are_told_apart():
    prefix = "ab" * 8
    ids = sorted(prefix + bytes([i]).hex() * 24 for i in range(5))
    index = customer_index(pa.array(ids))
    assert not index.lead_unique
    queries = [ids[3], ids[0], prefix + "ff" * 24]
    assert index.lookup(hex_words(pa.array(queries))).tolist() == [3, 0, -1]


def test_uppercase_hex_maps_to_same_key():
    ids = _hex_ids(np.random.default_rng(3), 10)
    assert (hex_words(pa.array([i.upper() for i in ids])) == hex_words(pa.array(ids))).all()


def test_hex_words_rejects_bad_values():
    good = "a" * 64
    assert hex_words(pa.array([good, "g" * 64])) is None
    assert hex_words(pa.array([good, "a" * 63])) is None
    assert hex_words(pa.array([good, None])) is None
    assert hex_words(pa.array([good]).slice(0, 1)).shape == (1, 4)


def test_article_lookup_and_digits():
    ids = pa.array(["0108775015", "0108775044", "0110065001"])
    index = article_index(ids)
    assert index.lookup(digit_numbers(pa.array(["0110065001", "0999999999", "0108775015"]), 10)).tolist() == [2, -1, 0]
    assert digit_numbers(pa.array(["12a"]), 10) is None
    assert digit_numbers(pa.array(["12345678901"]), 10) is None


def test_empty_index():
    assert SortedIndex(np.empty(0, dtype=np.int64)).lookup(np.array([1, 2])).tolist() == [-1, -1]
