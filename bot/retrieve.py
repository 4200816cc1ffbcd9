"""Hybrid retrieval: dense (chunk vectors: the snapshot's, or a Chroma server's), dense (sentence
vectors) and BM25 (`bm25s`), fused by reciprocal rank, plus an optional conversation topic prior as a
fourth ranking. `HybridRetriever` is a LangChain `BaseRetriever`; `retrieve` is what the answer path calls.

`SearchIndex` is the in-memory side of one index snapshot (index/snapshot.py, computed at index time
and memory-mapped): chunks, sentences with their vectors, BM25, IDF and the corpus vocabulary (for
spelling repair). Only the question is embedded per query.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from index.lexical import tokenize
from index.snapshot import Snapshot, top_k
from index.types import Chunk, SentenceTable


@dataclass
class SearchIndex:
    """Everything retrieval and answering read per question, loaded once from the store."""

    chunks: list[Chunk]
    sentences: SentenceTable
    bm25: object
    vocabulary: dict[str, str]  # normalised word → its most common spelling in the articles
    idf: dict[str, float]  # search token → inverse sentence frequency
    sentence_tokens: list[frozenset[str]]
    chunk_of_sentence: list[list[int]]  # sentence row → indexes of chunks holding it
    article_texts: dict[str, str]
    rows_of_chunk: list[list[int]] = field(default_factory=list)  # chunk index → its sentence rows
    chunk_position: dict[str, int] = field(default_factory=dict)  # chunk id → index in `chunks`
    acronyms: dict[str, str] = field(default_factory=dict)  # lower-case acronym → the name the articles spell out
    languages: frozenset[str] = frozenset()  # the articles' languages (ISO 639-1)
    _row_of_text: dict[str, int] | None = None
    _article_rows: dict[str, range] | None = None
    _chunks_of: dict[str, list[int]] | None = None

    def __post_init__(self) -> None:
        if not self.rows_of_chunk:
            self.rows_of_chunk = [[] for _ in self.chunks]
            for row, holders in enumerate(self.chunk_of_sentence):
                for chunk in holders:
                    self.rows_of_chunk[chunk].append(row)

    def page_of(self, row: int) -> int | None:
        """The 1-based page of a sentence, None when its article has no pages."""
        pages = self.sentences.pages
        return int(pages[row]) if pages is not None and len(pages) and pages[row] else None

    @classmethod
    def load(cls, snapshot: Snapshot) -> SearchIndex:
        """Everything from the index snapshot (computed at index time, memory-mapped): chunks,
        sentences, BM25, vocabulary, IDF and the chunk↔sentence maps."""
        return cls(
            chunks=snapshot.chunks(),
            sentences=snapshot.sentence_table(),
            bm25=snapshot.bm25(),
            vocabulary=snapshot.spellings(),
            idf=snapshot.idf(),
            sentence_tokens=snapshot.sentence_tokens(),
            chunk_of_sentence=snapshot.chunk_of_sentence(),
            article_texts=snapshot.article_texts(),
            rows_of_chunk=snapshot.rows_of_chunk(),
            chunk_position=snapshot.chunk_position,
            acronyms=snapshot.acronyms(),
            languages=snapshot.languages(),
        )

    def spelled_out(self, query: str, words: frozenset[str] = frozenset()) -> str:
        """The query with each acronym the articles spell out followed by its name, for searching:
        "What does IDSEA stand for?" → "What does IDSEA (International … Association) stand for?".
        A token is taken for an acronym when it is written in capitals or is not one of `words` (real
        words): across many articles "WHO", "IT" and "IS" are acronyms, but "Who is it?" asks none."""

        def spell(match: re.Match) -> str:
            token = match.group(0)
            name = self.acronyms.get(token.lower(), "")
            # `words` holds words of three letters or more: a shorter acronym must be written in capitals.
            written_as_one = token.isupper() or (len(token) > 2 and token.lower() not in words)
            return f"{token} ({name})" if name and written_as_one and name.lower() not in query.lower() else token

        return re.sub(r"\b[^\W\d_]{2,8}\b", spell, query) if self.acronyms else query

    def idf_of(self, token: str) -> float:
        """IDF of a token; unseen tokens get the highest IDF (they are rare by definition)."""
        return self.idf.get(token, math.log(1 + (len(self.sentence_tokens) + 0.5) / 0.5))

    def bm25_ranking(
        self, query: str, k: int, within: list[int] | None = None, language: str = "en"
    ) -> list[tuple[int, float]]:
        """(chunk index, BM25 score) for chunks sharing a token with the query, best first; only
        chunks `within` a list of chunk indexes when one is given."""
        if not self.chunks or self.bm25 is None:
            return []
        known = [t for t in tokenize(query, language) if t in self.bm25.vocab_dict]
        if not known:
            return []
        scores = self.bm25.get_scores(known)
        if within is not None:
            order = [within[i] for i in top_k(scores[within], k)]
        else:
            order = top_k(scores, k)
        return [(int(i), float(scores[i])) for i in order if scores[i] > 0]

    def written_in(self, language: str) -> bool:
        """Is an article written in `language` (as the index recorded it)?"""
        return language in self.languages

    def in_own_language(self, language: str) -> bool:
        """Is a question in `language` one in another language than English, asked of articles written in
        it? Then it is searched by its words first and ranked by its language's ranker (`bot/rank.py`)."""
        return language != "en" and self.written_in(language)

    def chunks_of(self, article_id: str) -> list[int]:
        """Indexes of an article's chunks (chunks are in article order)."""
        if self._chunks_of is None:
            self._chunks_of = {}
            for i, chunk in enumerate(self.chunks):
                self._chunks_of.setdefault(chunk.article_id, []).append(i)
        return self._chunks_of.get(article_id, [])

    def sentence_similarities(self, vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query with every sentence (vectors are unit length)."""
        if not len(self.sentences.ids):
            return np.zeros(0, dtype=np.float32)
        return self.sentences.vectors @ vector

    def same_article(self, row: int, other: int) -> bool:
        """Both rows exist and belong to one article."""
        n = len(self.sentences.ids)
        return 0 <= row < n and 0 <= other < n and self.sentences.article_ids[row] == self.sentences.article_ids[other]

    def same_line(self, row: int, other: int) -> bool:
        """Both sentences exist, in one article, with no line break between them (one paragraph)."""
        if not self.same_article(row, other):
            return False
        (a, _), (b, _) = sorted((self.sentences.spans[row], self.sentences.spans[other]))
        return "\n" not in self.article_texts[self.sentences.article_ids[row]][a:b]

    def article_rows(self, article_id: str) -> range:
        """The rows of an article's sentences (rows are in article order)."""
        if self._article_rows is None:
            bounds: dict[str, list[int]] = {}
            for row, article in enumerate(self.sentences.article_ids):
                bounds.setdefault(article, [row, row])[1] = row
            self._article_rows = {a: range(first, last + 1) for a, (first, last) in bounds.items()}
        return self._article_rows.get(article_id, range(0))

    def first_row_of(self, article_id: str) -> int:
        """The row of an article's first sentence (its title line), or -1."""
        rows = self.article_rows(article_id)
        return rows.start if rows else -1

    def row_of_text(self, text: str) -> int:
        """The row of the sentence whose text is exactly `text`, or -1 (finds what an answer quoted)."""
        if self._row_of_text is None:
            self._row_of_text = {t: row for row, t in enumerate(self.sentences.texts)}
        return self._row_of_text.get(text, -1)


# A ranking's weight in the fusion small enough that it only orders what the others leave out: its best
# place scores 0.01/61, below the 20th place of a list of weight 1 (1/80).
FILL_ONLY = 0.01


def reciprocal_rank_fusion(
    rankings: list[list[int]], k: int = 60, weights: Sequence[float] | None = None
) -> dict[int, float]:
    """Fuse ranked lists of ids: score = Σ weight/(k + rank), each list's weight 1 unless `weights` are
    given. `reciprocal_rank_fusion([[3, 1], [1]])[1] > 0`"""
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


@dataclass(frozen=True)
class Focus:
    """Where the conversation has been: the rows of sentences earlier answers cited, latest last."""

    rows: tuple[int, ...] = ()

    def article(self, index: SearchIndex) -> str | None:
        """The article of the latest cited sentence, None before any answer."""
        return index.sentences.article_ids[self.rows[-1]] if self.rows else None


def conversation_focus(history, index: SearchIndex) -> Focus:
    """The sentences earlier answers quoted (found by their exact text), oldest first; refusals and
    user turns say nothing about where the conversation is."""
    from bot.messages import is_refusal
    from bot.stages import Role

    rows = []
    for turn in history:
        if turn.role is Role.ASSISTANT and not is_refusal(turn.content):
            for part in re.split(r"\s*\[\d+\]\s*", turn.content):
                row = index.row_of_text(part.strip().replace("［", "[").replace("］", "]"))
                if row >= 0:
                    rows.append(row)
    return Focus(tuple(rows))


@dataclass(frozen=True)
class Retrieval:
    """One retrieval: the fused chunk ranking and, for every sentence of those chunks, its similarity."""

    ranking: list[tuple[int, float]]  # (chunk index, fused score), best first
    vector: np.ndarray  # the query's unit embedding
    similarities: dict[int, float]  # sentence row → cosine with the query (candidate rows and neighbours)
    bm25: dict[int, float]  # chunk index → BM25 score (chunks in the BM25 top list)
    dense_chunks: dict[int, float]  # chunk index → cosine (chunks in the dense top list)


def focus_ranking(index: SearchIndex, focus: Focus, k: int) -> list[int]:
    """Chunks near the latest cited sentence, nearest first: the conversation's topic prior."""
    if not focus.rows:
        return []
    last = focus.rows[-1]
    start = index.sentences.spans[last][0]
    near = index.chunks_of(index.sentences.article_ids[last])
    return sorted(near, key=lambda i: abs(index.chunks[i].start - start))[:k]


class HybridRetriever(BaseRetriever):
    """Dense + sentence-dense + BM25 (+ topic prior) over one `SearchIndex`, fused by reciprocal rank.

    >>> retriever.invoke("Where is IDSEA based?")[0].metadata["article_id"]  # doctest: +SKIP
    'idsea-launch-2025-07-01'
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    search_index: SearchIndex
    store: object  # a `DenseSearch` (index/store.py): the snapshot's exact search, or a Chroma server's
    embedder: object
    top_k: int = 5
    candidates_k: int = 20
    rrf_k: int = 60

    def retrieve(
        self,
        query: str,
        focus: Focus = Focus(),
        vector: np.ndarray | None = None,
        within: str | None = None,
        language: str = "en",
        judged_by: np.ndarray | None = None,
    ) -> Retrieval:
        """Rank chunks for a query (its vector may be passed in when already computed); only chunks
        of the article `within` when one is given (a follow-up that stays on the conversation's topic).
        `judged_by`: the vector the candidates' similarities are measured with, when the search query
        is not the question itself (a follow-up joined to the question before it)."""
        index = self.search_index
        vector = self.embedder.embed_query_vector(query) if vector is None else vector
        if not index.chunks:
            return Retrieval([], vector, {}, {}, {})
        allowed = index.chunks_of(within) if within is not None else None
        position = index.chunk_position  # a dense hit outside this snapshot (a sync in progress) is skipped
        dense_hits = [
            (position[cid], score) for cid, score in self.store.search(vector, self.candidates_k) if cid in position
        ]
        lexical = index.bm25_ranking(query, self.candidates_k, allowed, language)
        similarities = index.sentence_similarities(vector)
        if allowed is not None:
            keep = set(allowed)
            dense_hits = [(i, score) for i, score in dense_hits if i in keep]
            rows = index.article_rows(within)
            top_rows = [rows.start + int(i) for i in top_k(similarities[rows.start : rows.stop], self.candidates_k)]
        else:
            top_rows = top_k(similarities, self.candidates_k)
        by_sentence: list[int] = []
        for row in top_rows:
            for chunk in index.chunk_of_sentence[int(row)]:
                if chunk not in by_sentence:
                    by_sentence.append(chunk)
        rankings = [[i for i, _ in dense_hits], [i for i, _ in lexical], by_sentence]
        rankings.append(focus_ranking(index, focus, self.candidates_k))
        # The bundled embeddings are English: for a question in another language, asked of articles in
        # that language, they rank chunks worse than its words do (first 400 answerable questions of the
        # calibration parts of PIAF, machine-translated Spanish SQuAD and CMRC: hit@5 0.74 / 0.76 / 0.92
        # fused with them, 0.86 / 0.91 / 1.00 with the words first), so there the meaning's rankings only
        # fill the places the words leave. Asked of articles in English, its few shared words need them.
        by_meaning = FILL_ONLY if index.in_own_language(language) else 1.0
        fused = reciprocal_rank_fusion(rankings, self.rrf_k, (by_meaning, 1.0, by_meaning, 1.0))
        ranking = sorted(fused.items(), key=lambda kv: -kv[1])[: self.top_k]
        rows = {r for chunk, _ in ranking for r in index.rows_of_chunk[chunk]}
        rows |= {r + step for r in rows for step in (-1, 1) if index.same_article(r, r + step)}
        if judged_by is None:
            judged = {r: float(similarities[r]) for r in rows}
        else:
            order = sorted(rows)
            judged = dict(zip(order, (index.sentences.vectors[order] @ judged_by).tolist(), strict=True))
        return Retrieval(
            ranking=ranking,
            vector=vector,
            similarities=judged,
            bm25=dict(lexical),
            dense_chunks=dict(dense_hits),
        )

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        documents = []
        for i, score in self.retrieve(query).ranking:
            chunk = self.search_index.chunks[i]
            documents.append(
                Document(
                    id=chunk.id,
                    page_content=chunk.text,
                    metadata={
                        "chunk_index": i,
                        "article_id": chunk.article_id,
                        "title": chunk.title,
                        "start": chunk.start,
                        "end": chunk.end,
                        "score": score,
                        "date": chunk.date,
                    },
                )
            )
        return documents
