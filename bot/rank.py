"""Rank the candidate sentences of the retrieved chunks with a learned model.

Each candidate gets general features (meaning, words, retrieval ranks, context, position) and a
logistic model trained on SQuAD 2.0 (`make train`, `training/ranker.py`) turns them into the
probability that the sentence holds the answer. No rule here knows any article or any question form.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.retrieve import Retrieval, SearchIndex

MODELS_DIR = Path(__file__).resolve().parent / "models"

FEATURES = (
    "dense",  # cosine of the query and the sentence
    "dense_gap",  # the same minus the best candidate's
    "dense_rank",  # 1 / (1 + rank by cosine among the candidates)
    "dense_prev",  # cosine of the query and the sentence before (same article), else 0
    "dense_next",  # … and the sentence after
    "chunk_rank",  # 1 / (1 + rank of the best chunk holding the sentence)
    "chunk_dense",  # cosine of the query and that chunk, when the dense search returned it
    "bm25",  # BM25 of the best holding chunk / the best BM25 of the query
    "overlap",  # IDF-weighted share of the query's tokens in the sentence
    "overlap_window",  # … in the sentence with its neighbours
    "missing_idf",  # highest IDF of a query token absent from the window, / the highest IDF
    "unknown",  # share of the query's tokens the articles never use
    "length",  # log(1 + tokens of the sentence)
    "is_title",  # the article's first line
    "position",  # 1 / (1 + the sentence's place in its article)
)


@dataclass(frozen=True)
class Candidate:
    """One candidate sentence (a row of the index's sentence table) and how likely it answers."""

    row: int
    score: float  # the ranker's probability that the sentence holds the answer
    features: tuple[float, ...]

    def feature(self, name: str) -> float:
        """One named feature: `candidate.feature("dense")`."""
        return self.features[FEATURES.index(name)]


@dataclass(frozen=True)
class LinearModel:
    """A standardised logistic model stored as JSON: names, mean, scale, coef, intercept."""

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        """Read a model written by `save` (the training scripts write them)."""
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            tuple(raw["names"]),
            np.asarray(raw["mean"], dtype=np.float64),
            np.asarray(raw["scale"], dtype=np.float64),
            np.asarray(raw["coef"], dtype=np.float64),
            float(raw["intercept"]),
        )

    def save(self, path: Path, **about) -> None:
        """Write the model (plus free-form `about` facts: data, scores) as JSON."""
        body = {
            "names": list(self.names),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            **about,
        }
        Path(path).write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")

    def probability(self, rows: np.ndarray) -> np.ndarray:
        """P(positive) for each row of features (columns in `names` order)."""
        z = ((rows - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


def candidate_rows(retrieval: Retrieval, index: SearchIndex) -> list[int]:
    """The sentences of the retrieved chunks, in reading order, each once."""
    return sorted({row for chunk, _ in retrieval.ranking for row in index.rows_of_chunk[chunk]})


def sentence_features(query_tokens: list[str], retrieval: Retrieval, rows: list[int], index: SearchIndex) -> np.ndarray:
    """The `FEATURES` of each candidate row, as a (rows × features) array."""
    if not rows:
        return np.zeros((0, len(FEATURES)))
    chunk_rank = {chunk: rank for rank, (chunk, _) in enumerate(retrieval.ranking)}
    sims = retrieval.similarities
    best_dense = max(sims.get(r, 0.0) for r in rows)
    order = {r: rank for rank, r in enumerate(sorted(rows, key=lambda r: -sims.get(r, 0.0)))}
    best_bm25 = max(retrieval.bm25.values(), default=0.0) or 1.0
    unique = set(query_tokens)
    idfs = {t: index.idf_of(t) for t in unique}
    total = sum(idfs.values()) or 1.0
    top_idf = max(idfs.values(), default=1.0) or 1.0
    unknown = sum(1 for t in unique if t not in index.idf) / max(1, len(unique))
    table = []
    for r in rows:
        holders = [c for c in index.chunk_of_sentence[r] if c in chunk_rank]
        tokens = index.sentence_tokens[r]
        window = set(tokens)
        for other in (r - 1, r + 1):
            if index.same_article(r, other):
                window |= index.sentence_tokens[other]
        first = index.first_row_of(index.sentences.article_ids[r])
        table.append(
            (
                sims.get(r, 0.0),
                sims.get(r, 0.0) - best_dense,
                1.0 / (1 + order[r]),
                sims.get(r - 1, 0.0) if index.same_article(r, r - 1) else 0.0,
                sims.get(r + 1, 0.0) if index.same_article(r, r + 1) else 0.0,
                1.0 / (1 + min((chunk_rank[c] for c in holders), default=len(chunk_rank))),
                max((retrieval.dense_chunks.get(c, 0.0) for c in holders), default=0.0),
                max((retrieval.bm25.get(c, 0.0) for c in holders), default=0.0) / best_bm25,
                sum(v for t, v in idfs.items() if t in tokens) / total,
                sum(v for t, v in idfs.items() if t in window) / total,
                max((v for t, v in idfs.items() if t not in window), default=0.0) / top_idf,
                unknown,
                math.log1p(len(tokens)),
                1.0 if r == first else 0.0,
                1.0 / (1 + r - first),
            )
        )
    return np.asarray(table, dtype=np.float64)


class SentenceRanker:
    """Scores candidate sentences with a `LinearModel` over `FEATURES`.

    >>> SentenceRanker.bundled().rank(["launch"], retrieval, index)[0].score  # doctest: +SKIP
    0.93
    """

    def __init__(self, model: LinearModel):
        if tuple(model.names) != FEATURES:
            raise ValueError(f"ranker model features {model.names} do not match {FEATURES}: run `make train`")
        self.model = model

    @classmethod
    def bundled(cls, language: str = "en") -> SentenceRanker:
        """The ranker `make train` shipped in bot/models/ for questions in `language`: the one trained on
        that language (`ranker-zh.json`), else for any language but English the one trained on others
        (`ranker-other.json`), else the English one (`ranker.json`)."""
        names = [f"ranker-{language}.json", *(["ranker-other.json"] if language != "en" else []), "ranker.json"]
        return cls(LinearModel.load(next(MODELS_DIR / n for n in names if (MODELS_DIR / n).exists())))

    def rank(self, query_tokens: list[str], retrieval: Retrieval, index: SearchIndex) -> list[Candidate]:
        """Candidates best first."""
        rows = candidate_rows(retrieval, index)
        table = sentence_features(query_tokens, retrieval, rows, index)
        scores = self.model.probability(table) if len(rows) else np.zeros(0)
        ranked = [Candidate(r, float(s), tuple(f)) for r, s, f in zip(rows, scores, table.tolist(), strict=True)]
        return sorted(ranked, key=lambda c: -c.score)
