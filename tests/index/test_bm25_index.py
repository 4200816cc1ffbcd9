"""index/bm25_index.py: the vectorised BM25 build gives bm25s's own index, bit for bit."""

from __future__ import annotations

import bm25s
import numpy as np
from bm25s.tokenization import Tokenized

from index.bm25_index import FlatBM25, FlatTokens, write_bm25


def _corpus(seed: int = 7):
    rng = np.random.default_rng(seed)
    documents = [rng.integers(0, 40, size=rng.integers(0, 30)).tolist() for _ in range(300)]
    documents[5] = []  # an empty chunk
    documents[9] = [3] * 12  # one token many times
    vocabulary = {f"t{i}": i for i in range(45)}  # some tokens in no document
    flat = np.asarray([t for d in documents for t in d], dtype=np.int32)
    ptr = np.concatenate([[0], np.cumsum([len(d) for d in documents])]).astype(np.int64)
    return documents, vocabulary, flat, ptr


def test_flat_build_equals_bm25s_bit_for_bit():
    documents, vocabulary, flat, ptr = _corpus()
    reference = bm25s.BM25()
    reference.index((documents, dict(vocabulary)), show_progress=False)
    flat_built = FlatBM25()
    flat_built.index(Tokenized(FlatTokens(flat, ptr), dict(vocabulary)), show_progress=False)
    for key in ("data", "indices", "indptr"):
        expected, got = reference.scores[key], flat_built.scores[key]
        assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes(), key
    assert flat_built.scores["num_docs"] == reference.scores["num_docs"]
    assert flat_built.vocab_dict == reference.vocab_dict


def test_other_variants_take_bm25s_own_path():
    documents, vocabulary, flat, ptr = _corpus(3)
    reference = bm25s.BM25(method="bm25+")
    reference.index((documents, dict(vocabulary)), show_progress=False)
    flat_built = FlatBM25(method="bm25+")
    flat_built.index(Tokenized(FlatTokens(flat, ptr), dict(vocabulary)), show_progress=False)
    for key in ("data", "indices", "indptr"):
        assert np.array_equal(flat_built.scores[key], reference.scores[key]), key


def test_written_index_loads_and_scores(tmp_path):
    _, vocabulary, flat, ptr = _corpus()
    write_bm25(tmp_path / "bm25", list(vocabulary), flat, ptr)
    loaded = bm25s.BM25.load(str(tmp_path / "bm25"), mmap=True)
    scores = loaded.get_scores(["t3", "t7"])
    assert scores.shape == (len(ptr) - 1,) and scores[9] > 0 and scores[5] == 0
