"""Hybrid retrieval: dense (Chroma, chunk vectors), dense (in-memory sentence vectors) and BM25
(`bm25s`), fused by reciprocal rank, plus an optional conversation topic prior as a fourth ranking.
`HybridRetriever` is a LangChain `BaseRetriever`; `retrieve_passages` is what the answer path calls.

`SearchIndex` is the in-memory side of one index: chunks, sentences with their vectors, BM25 and the
corpus vocabulary (for spelling repair). Only the question is embedded per query.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from index.lexical import tokenize, words
from index.store import SentenceTable, Store
from index.types import Chunk


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
    page_starts: dict[str, tuple[int, ...]] = field(default_factory=dict)  # paged articles (PDF) only
    _row_of_text: dict[str, int] | None = None
    _article_rows: dict[str, range] | None = None
    _chunks_of: dict[str, list[int]] | None = None

    def __post_init__(self) -> None:
        if not self.rows_of_chunk:
            self.rows_of_chunk = [[] for _ in self.chunks]
            for row, holders in enumerate(self.chunk_of_sentence):
                for chunk in holders:
                    self.rows_of_chunk[chunk].append(row)

    def page_of(self, article_id: str, offset: int) -> int | None:
        """The 1-based page of an article holding `offset`, None when the article has no pages."""
        starts = self.page_starts.get(article_id)
        return max(1, bisect_right(starts, offset)) if starts else None

    @classmethod
    def load(cls, store: Store, article_texts: dict[str, str], languages: dict[str, str] | None = None) -> SearchIndex:
        """Read chunks and sentences out of the store and build BM25 and the vocabulary; each
        article's words are stemmed in its language (`languages`: article id → ISO code, default en)."""
        import bm25s

        language = (languages or {}).get
        chunks = store.load_chunks()
        sentences = store.load_sentences()
        bm25 = bm25s.BM25()
        if chunks:
            bm25.index(
                [tokenize(f"{c.title}\n{c.text}", language(c.article_id, "en")) or [""] for c in chunks],
                show_progress=False,
            )
        sentence_tokens = [
            frozenset(tokenize(t, language(a, "en")))
            for t, a in zip(sentences.texts, sentences.article_ids, strict=True)
        ]
        df = Counter(token for tokens in sentence_tokens for token in tokens)
        n = max(len(sentence_tokens), 1)
        idf = {token: math.log(1 + (n - f + 0.5) / (f + 0.5)) for token, f in df.items()}
        by_article: dict[str, list[int]] = {}
        for i, chunk in enumerate(chunks):
            by_article.setdefault(chunk.article_id, []).append(i)
        holders = [  # chunks overlapping each sentence (a sentence longer than a chunk spans two)
            [i for i in by_article.get(article_id, []) if chunks[i].start < e and s < chunks[i].end]
            for article_id, (s, e) in zip(sentences.article_ids, sentences.spans, strict=True)
        ]
        return cls(
            chunks, sentences, bm25, _spellings(article_texts.values()), idf, sentence_tokens, holders, article_texts
        )

    def idf_of(self, token: str) -> float:
        """IDF of a token; unseen tokens get the highest IDF (they are rare by definition)."""
        return self.idf.get(token, math.log(1 + (len(self.sentence_tokens) + 0.5) / 0.5))

    def bm25_ranking(
        self, query: str, k: int, within: list[int] | None = None, language: str = "en"
    ) -> list[tuple[int, float]]:
        """(chunk index, BM25 score) for chunks sharing a token with the query, best first; only
        chunks `within` a list of chunk indexes when one is given."""
        known = [t for t in tokenize(query, language) if t in self.bm25.vocab_dict]
        if not known or not self.chunks:
            return []
        scores = self.bm25.get_scores(known)
        if within is not None:
            order = [within[i] for i in _top(scores[within], k)]
        else:
            order = _top(scores, k)
        return [(int(i), float(scores[i])) for i in order if scores[i] > 0]

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


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indexes of the k highest scores, best first (a partial sort: no full argsort per question)."""
    if k >= len(scores):
        return np.argsort(-scores)
    part = np.argpartition(-scores, k)[:k]
    return part[np.argsort(-scores[part])]


def _spellings(texts) -> dict[str, str]:
    """Normalised word → its most common spelling in the texts (so "idsea" can be written "IDSEA")."""
    counts: dict[str, Counter] = {}
    for text in texts:
        for raw in re.findall(r"[^\W_][\w’']*", text):
            surface = re.sub(r"[’']s$", "", raw)
            for word in words(surface):
                counts.setdefault(word, Counter())[surface] += 1
    return {word: spelled.most_common(1)[0][0] for word, spelled in counts.items()}


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = 60) -> dict[int, float]:
    """Fuse ranked lists of ids: score = Σ 1/(k + rank). `reciprocal_rank_fusion([[3, 1], [1]])[1] > 0`"""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
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
    store: object
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
        position = {c.id: i for i, c in enumerate(index.chunks)}
        dense_hits = [(position[cid], score) for cid, score in self.store.search(vector, self.candidates_k)]
        lexical = index.bm25_ranking(query, self.candidates_k, allowed, language)
        similarities = index.sentence_similarities(vector)
        if allowed is not None:
            keep = set(allowed)
            dense_hits = [(i, score) for i, score in dense_hits if i in keep]
            rows = index.article_rows(within)
            top_rows = [rows.start + int(i) for i in _top(similarities[rows.start : rows.stop], self.candidates_k)]
        else:
            top_rows = _top(similarities, self.candidates_k)
        by_sentence: list[int] = []
        for row in top_rows:
            for chunk in index.chunk_of_sentence[int(row)]:
                if chunk not in by_sentence:
                    by_sentence.append(chunk)
        rankings = [[i for i, _ in dense_hits], [i for i, _ in lexical], by_sentence]
        rankings.append(focus_ranking(index, focus, self.candidates_k))
        fused = reciprocal_rank_fusion(rankings, self.rrf_k)
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
