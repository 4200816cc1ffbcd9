"""BM25 over chunk tokens, built from flat token ids in a few vectorised numpy steps.

`bm25s` builds its score matrix one document at a time in Python (a `Counter` per chunk: about a
second at 50,000 chunks, on every sync, since the average chunk length changes every score). Here
the same scores come from one `np.unique` over (chunk, token) pairs, through bm25s's own IDF and
term-frequency scorers and its `build_index_from_ids` hook, so what is saved, loaded and scored
is bm25s's, bit for bit. Tokenising is `index/lexical.py`'s job; reading is `bm25s.BM25.load`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
from bm25s.scoring import _build_idf_array, _select_idf_scorer, _select_tfc_scorer
from bm25s.tokenization import Tokenized


@dataclass(frozen=True)
class FlatTokens:
    """Documents as one flat array of token ids and pointers: document `d` is `flat[ptr[d]:ptr[d + 1]]`."""

    flat: np.ndarray
    ptr: np.ndarray


class FlatBM25(bm25s.BM25):
    """`bm25s.BM25` whose `index(Tokenized(FlatTokens(flat, ptr), vocabulary))` is vectorised (for
    bm25s's default numpy matrix and plain BM25 variants; others take bm25s's per-document path)."""

    def build_index_from_ids(self, unique_token_ids, corpus_token_ids, show_progress=True, leave_progress=False):
        vectorised = self.method not in self.methods_requiring_nonoccurrence and self.csc_backend == "numpy"
        if not (isinstance(corpus_token_ids, FlatTokens) and vectorised):
            if isinstance(corpus_token_ids, FlatTokens):
                flat, ptr = corpus_token_ids.flat.tolist(), corpus_token_ids.ptr.tolist()
                corpus_token_ids = [flat[a:b] for a, b in zip(ptr, ptr[1:], strict=False)]
            return super().build_index_from_ids(unique_token_ids, corpus_token_ids, show_progress, leave_progress)
        self.nonoccurrence_array = None
        flat, ptr = np.asarray(corpus_token_ids.flat, dtype=np.int64), np.asarray(corpus_token_ids.ptr, dtype=np.int64)
        n_docs, n_vocab = len(ptr) - 1, len(unique_token_ids)
        lengths = np.diff(ptr)
        pairs, tf = np.unique(
            np.repeat(np.arange(n_docs, dtype=np.int64), lengths) * n_vocab + flat, return_counts=True
        )
        doc, token = np.divmod(pairs, n_vocab)
        frequencies = dict(enumerate(np.bincount(token, minlength=n_vocab).tolist()))
        idf = _build_idf_array(frequencies, n_docs, _select_idf_scorer(self.idf_method), self.dtype)
        # The same operations, in the same precision, as bm25s's per-document loop.
        tfc = _select_tfc_scorer(self.method)(
            tf_array=tf.astype(self.dtype),
            l_d=lengths[doc],
            l_avg=lengths.mean() if n_docs else 0.0,
            k1=self.k1,
            b=self.b,
            delta=self.delta,
        )
        scores = (idf[token] * tfc).astype(self.dtype)
        doc, token = doc.astype(self.int_dtype), token.astype(self.int_dtype)  # bm25s's index dtypes
        data, indices, indptr = self._np_csc(data=scores, rows=doc, cols=token, shape=(n_docs, n_vocab))
        return {"data": data.astype(self.dtype), "indices": indices, "indptr": indptr, "num_docs": n_docs}


def write_bm25(folder: Path, vocabulary: list[str], flat: np.ndarray, ptr: np.ndarray) -> None:
    """Build BM25 over the documents `flat`/`ptr` (ids into `vocabulary`) and save it into `folder`.

    >>> write_bm25(Path("/tmp/bm25"), ["mar", "rover"], np.array([0, 1, 1]), np.array([0, 1, 3]))  # doctest: +SKIP
    """
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG
    bm25 = FlatBM25()
    bm25.index(Tokenized(FlatTokens(flat, ptr), {t: i for i, t in enumerate(vocabulary)}), show_progress=False)
    bm25.save(str(folder))
