"""Hybrid retrieval: dense (chunk vectors: the snapshot's, or a Chroma server's), dense (sentence
vectors) and BM25 (`bm25s`), fused by reciprocal rank. `HybridRetriever` is a LangChain `BaseRetriever`.

`SearchIndex` is the in-memory side of one index snapshot (index/snapshot.py, computed at index
time and memory-mapped): chunks, BM25, sentence vectors and the corpus vocabulary (for typo repair
and acronym casing). Only the question is embedded per query.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from bot.conversation import find_entities
from index.lexical import fold, tokenize
from index.snapshot import Snapshot, top_k
from index.types import Chunk, SentenceTable

# "Chang’e 8: Pakistan …" — a short label that every sentence of its line is about.
_LABEL = re.compile(r"([A-Z\u3400-\u9fff][^:\n.!?()\[\]]{0,39}):\s")
# A sentence opening with a pronoun or a bare definite noun ("The association …") continues the one before.
_ANAPHORIC = re.compile(
    r"[\"“‘']?(?:(?:The|This|That|These|Those)\s+[a-z]+\b(?!\s+(?:of|[A-Z]))|It|Its|They|Their|He|She|His|Her)\b"
)


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
    sentence_line: list[tuple[str, int]]  # sentence row → (article id, line number)
    sentence_context: list[frozenset[str]]  # tokens of a list line's label ("Chang’e 8: …") or of the antecedent
    sentence_antecedent: list[int]  # row of the sentence an anaphoric one ("The association …") refers back to, or -1
    sentence_intro: list[int]  # row of the "… stated the following:" sentence introducing a quote or list item, or -1
    article_texts: dict[str, str]
    squashed_text: str = ""  # every article, letters and digits only: for "is this exact name mentioned?"
    known_words: set[str] = field(default_factory=set)  # every normalised word of the articles, also accent-folded
    _folded_sentences: list[str] | None = None
    rows_of_chunk: list[list[int]] = field(default_factory=list)  # chunk index → its sentence rows

    def __post_init__(self) -> None:
        if not self.rows_of_chunk:
            self.rows_of_chunk = [[] for _ in self.chunks]
            for row, holders in enumerate(self.chunk_of_sentence):
                for chunk in holders:
                    self.rows_of_chunk[chunk].append(row)

    acronyms: dict[str, str] = field(default_factory=dict)  # lower-case acronym → the name it stands for, or ""
    chunk_position: dict[str, int] = field(default_factory=dict)  # chunk id → index in `chunks`

    @classmethod
    def load(cls, snapshot: Snapshot) -> SearchIndex:
        """Chunks, sentences, BM25, vocabulary, IDF and the chunk↔sentence maps come from the index
        snapshot (computed at index time, memory-mapped); the rule-derived fields are computed here."""
        chunks = snapshot.chunks()
        sentences = snapshot.sentence_table()
        bm25 = snapshot.bm25()
        vocabulary = snapshot.spellings()
        sentence_tokens = snapshot.sentence_tokens()
        idf = snapshot.idf()
        holders = snapshot.chunk_of_sentence()
        article_texts = snapshot.article_texts()
        lines, contexts, antecedents = [], [], []
        for row, (article_id, (start, _)) in enumerate(zip(sentences.article_ids, sentences.spans, strict=True)):
            text = article_texts.get(article_id, "")
            line_start = text.rfind("\n", 0, start) + 1
            lines.append((article_id, text.count("\n", 0, start)))
            label = _line_label(text, line_start)
            context = set(tokenize(label))
            # "The association is set to be located in Hefei": what "the association" is comes before.
            previous = row - 1
            follows = (
                previous >= 0
                and sentences.article_ids[previous] == article_id
                and line_start <= sentences.spans[previous][0]
                and _ANAPHORIC.match(sentences.texts[row]) is not None
            )
            if follows:  # only the names it may refer to, not everything the sentence before says
                context |= set(tokenize(" ".join(e.text for e in find_entities(sentences.texts[previous]))))
            antecedents.append(previous if follows else -1)
            contexts.append(context)
        acronyms = _acronyms(article_texts.values())
        for row, text in enumerate(sentences.texts):  # "International Lunar Research Station" also reads "ILRS"
            folded = fold(text)
            spelled = {
                t for acronym, name in acronyms.items() if name and fold(name) in folded for t in tokenize(acronym)
            }
            if spelled:
                sentence_tokens[row] = sentence_tokens[row] | spelled
        intros = _introductions(sentences, lines, article_texts)
        for row, intro in enumerate(intros):
            if intro >= 0:  # a quote or list item is about what its introduction names
                contexts[row] |= sentence_tokens[intro]
        contexts = [frozenset(c) for c in contexts]
        return cls(
            chunks,
            sentences,
            bm25,
            vocabulary,
            idf,
            sentence_tokens,
            holders,
            lines,
            contexts,
            antecedents,
            intros,
            article_texts,
            squashed_text="\n".join(fold(t) for t in article_texts.values()),
            known_words=set(vocabulary) | {fold(w) for w in vocabulary},
            rows_of_chunk=snapshot.rows_of_chunk(),
            acronyms=acronyms,
            chunk_position=snapshot.chunk_position,
        )

    def is_specific(self, name: str) -> bool:
        """A name few sentences mention (under 10%): a question naming it must be answered by a
        passage that names it too. "China" in an article about China is background, not a filter."""
        folded = fold(name)
        if not folded or not self.sentences.texts:
            return False
        if self._folded_sentences is None:
            self._folded_sentences = [fold(t) for t in self.sentences.texts]
        hits = sum(1 for t in self._folded_sentences if folded in t)
        return hits < max(1.0, 0.1 * len(self._folded_sentences))

    def line_label(self, row: int) -> str:
        """The short label opening this sentence's line ("Chang’e 8" in "Chang’e 8: …"), or ""."""
        article_id, (start, _) = self.sentences.article_ids[row], self.sentences.spans[row]
        text = self.article_texts.get(article_id, "")
        return _line_label(text, text.rfind("\n", 0, start) + 1)

    def passage(self, rows: list[int]) -> str:
        """The sentences at `rows` with what they lean on: their list line's label and antecedent."""
        parts = []
        for row in rows:
            if label := self.line_label(row):
                parts.append(label)
            for before in (self.sentence_intro[row], self.sentence_antecedent[row]):
                if before >= 0:
                    parts.append(self.sentences.texts[before])
            parts.append(self.sentences.texts[row])
        return "\n".join(parts)

    def expand_acronyms(self, query: str) -> str:
        """Spell out acronyms whose full name the articles use: "the ILRS" → "the ILRS (International Lunar Research Station)"."""

        def spell(match: re.Match) -> str:
            name = self.acronyms.get(match.group(0).lower(), "")
            return f"{match.group(0)} ({name})" if name and name.lower() not in query.lower() else match.group(0)

        return re.sub(r"\b[A-Z][A-Z0-9]{1,}\b", spell, query)

    def idf_of(self, token: str) -> float:
        """IDF of a token; unseen tokens get the highest IDF (they are rare by definition)."""
        return self.idf.get(token, math.log(1 + (len(self.sentence_tokens) + 0.5) / 0.5))

    def bm25_ranking(self, query: str, k: int) -> list[tuple[int, float]]:
        """(chunk index, BM25 score) for chunks sharing a token with the query, best first."""
        if not self.chunks or self.bm25 is None:
            return []
        known = [t for t in tokenize(query) if t in self.bm25.vocab_dict]
        if not known:
            return []
        scores = self.bm25.get_scores(known)
        return [(int(i), float(scores[i])) for i in top_k(scores, k) if scores[i] > 0]

    def sentence_similarities(self, vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query with every sentence (vectors are unit length)."""
        if not len(self.sentences.ids):
            return np.zeros(0, dtype=np.float32)
        return self.sentences.vectors @ vector


def _line_label(text: str, line_start: int) -> str:
    """A list line's label: a capitalised phrase of at most five words before a colon, or ""."""
    match = _LABEL.match(text, line_start)
    return match.group(1) if match and len(match.group(1).split()) <= 5 else ""


def _introductions(sentences: SentenceTable, lines: list[tuple[str, int]], article_texts: dict[str, str]) -> list[int]:
    """For each sentence, the sentence ending in ":" that introduces its line — directly before it,
    or before a run of labelled list lines ("Chang’e 4: …", "Chang’e 5: …") — else -1."""
    first_of_line: dict[tuple[str, int], int] = {}
    for row, line in enumerate(lines):
        first_of_line.setdefault(line, row)
    intros = []
    for article_id, line_no in lines:
        intro, row_before = -1, first_of_line[(article_id, line_no)] - 1
        for _ in range(12):  # look back over at most a dozen list lines
            if row_before < 0 or sentences.article_ids[row_before] != article_id:
                break
            text = sentences.texts[row_before]
            if text.rstrip().endswith(":"):
                intro = row_before
                break
            previous_line = lines[row_before]
            first = first_of_line[previous_line]
            start = sentences.spans[first][0]
            if not _line_label(article_texts.get(article_id, ""), start):
                break
            row_before = first - 1
        intros.append(intro)
    return intros


def _acronyms(texts) -> dict[str, str]:
    """Lower-case acronym → the multi-word name it abbreviates ("esa" → "European Space Agency"), or
    "" for an acronym the texts use without its name. Names give their initials as acronyms."""
    found: dict[str, str] = {}
    for text in texts:
        for entity in find_entities(text):
            initials = "".join(w[0] for w in entity.text.split() if w[:1].isupper())
            if len(initials) >= 2 and " " in entity.text:
                found.setdefault(initials.lower(), entity.text)
        for acronym in re.findall(r"\b[A-Z][A-Z0-9-]{1,}\b", text):
            found.setdefault(acronym.lower(), "")
    return found


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = 60) -> dict[int, float]:
    """Fuse ranked lists of ids: score = Σ 1/(k + rank). `reciprocal_rank_fusion([[3, 1], [1]])[1] > 0`"""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


class HybridRetriever(BaseRetriever):
    """Dense + sentence-dense + BM25 over one `SearchIndex`, fused with reciprocal rank fusion.

    >>> retriever.invoke("Where is IDSEA based?")[0].metadata["article_id"]  # doctest: +SKIP
    'idsea-launch-2025-07-01'
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    search_index: SearchIndex
    store: object  # a `DenseSearch`: the snapshot's exact search, or a Chroma server
    embedder: object
    top_k: int = 5
    candidates_k: int = 20
    rrf_k: int = 60

    def rank_chunks(self, query: str) -> list[tuple[int, float]]:
        """(chunk index, fused score) of the best `top_k` chunks for a query, best first."""
        index = self.search_index
        if not index.chunks:
            return []
        vector = self.embedder.embed_query_vector(query)
        position = index.chunk_position  # a dense hit outside this snapshot (a sync in progress) is skipped
        dense = [position[cid] for cid, _ in self.store.search(vector, self.candidates_k) if cid in position]
        lexical = [i for i, _ in index.bm25_ranking(query, self.candidates_k)]
        by_sentence: list[int] = []
        similarities = index.sentence_similarities(vector)
        for row in top_k(similarities, self.candidates_k):
            for chunk in index.chunk_of_sentence[int(row)]:
                if chunk not in by_sentence:
                    by_sentence.append(chunk)
        fused = reciprocal_rank_fusion([dense, lexical, by_sentence], self.rrf_k)
        return sorted(fused.items(), key=lambda kv: -kv[1])[: self.top_k]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        documents = []
        for i, score in self.rank_chunks(query):
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
