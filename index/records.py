"""Everything the index derives from one article's text, before embedding: its chunks, sentences
(with pages when the article has them, and the context of each: `index/structure.py`), search
tokens, spellings and acronyms.

Computed once per article at index time (cheap: no model) and merged into the snapshot; the texts to
embed come from here too. Tokens come from `index.lexical.tokenize`, the same as questions get.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass

from index.chunking import split_into_chunks, split_into_sentences
from index.lexical import tokenize, words
from index.structure import acronyms, sentence_contexts
from index.types import Chunk
from knowledge.types import Article

_SURFACE = re.compile(r"[^\W_][\w’']*")
_POSSESSIVE = re.compile(r"[’']s$")


@dataclass(frozen=True)
class ArticleRecords:
    """One article as the index stores it. `texts_to_embed()` lists chunks then sentences."""

    article: Article
    chunks: list[Chunk]
    sentence_spans: list[tuple[int, int]]
    sentence_pages: list[int]  # 1-based page per sentence, 0 when the article has no pages
    chunk_rows: list[tuple[int, int]]  # per chunk: [first, end) of the sentences it overlaps
    chunk_tokens: list[list[str]]  # per chunk, with repeats (BM25 term frequencies)
    sentence_tokens: list[list[str]]  # per sentence with its context, distinct and sorted
    sentence_contexts: list[str]  # what each sentence leans on: its list label, its introduction
    acronyms: dict[str, str]  # lower-case acronym → the name the article spells out
    language: str  # ISO 639-1: `Article.language`, which its words are stemmed in

    def texts_to_embed(self) -> list[str]:
        """Chunks, then sentences: each sentence with its context, so "Thailand is providing …" in the
        line "Chang’e 8: …" is embedded as being about Chang’e 8 (the quote stays the sentence alone)."""
        sentences = [
            f"{context} {self.article.text[s:e]}" if context else self.article.text[s:e]
            for context, (s, e) in zip(self.sentence_contexts, self.sentence_spans, strict=True)
        ]
        return [c.text for c in self.chunks] + sentences


def derive_records(article: Article, chunk_size: int, chunk_overlap: int) -> ArticleRecords:
    """Chunks, sentences, pages and tokens of one article.

    >>> derive_records(Article(id="a", title="T", text="One rover. Two moons."), 700, 150).sentence_spans
    [(0, 10), (11, 21)]
    """
    chunks = split_into_chunks(article, chunk_size, chunk_overlap)
    spans = split_into_sentences(article.text)
    starts, ends = [s for s, _ in spans], [e for _, e in spans]
    chunk_rows = [(bisect.bisect_right(ends, c.start), bisect.bisect_left(starts, c.end)) for c in chunks]
    pages = [int(article.page_of(s) or 0) for s, _ in spans]
    language = article.language  # words are stemmed in the article's own language
    contexts = sentence_contexts(article.text, spans)
    return ArticleRecords(
        article=article,
        chunks=chunks,
        sentence_spans=spans,
        sentence_pages=pages,
        chunk_rows=chunk_rows,
        chunk_tokens=[tokenize(f"{c.title}\n{c.text}", language) for c in chunks],
        sentence_tokens=[
            sorted(set(tokenize(f"{context} {article.text[s:e]}", language)))
            for context, (s, e) in zip(contexts, spans, strict=True)
        ],
        sentence_contexts=contexts,
        acronyms=acronyms(article.text),
        language=language,
    )


def spelling_counts(text: str) -> Counter:
    """(normalised word, spelling) → occurrences in `text`: `("idsea", "IDSEA")` for "IDSEA’s"."""
    counts: Counter = Counter()
    for raw in _SURFACE.findall(text):
        surface = _POSSESSIVE.sub("", raw)
        for word in words(surface):
            counts[(word, surface)] += 1
    return counts


def most_common_spellings(counts: Counter) -> dict[str, str]:
    """Normalised word → its most frequent spelling (ties: the smallest string, so it never depends
    on the order articles were added).

    >>> most_common_spellings(spelling_counts("IDSEA met. Idsea and IDSEA."))["idsea"]
    'IDSEA'
    """
    best: dict[str, tuple[int, str]] = {}
    for (word, surface), count in counts.items():
        if count <= 0:
            continue
        current = best.get(word)
        if current is None or count > current[0] or (count == current[0] and surface < current[1]):
            best[word] = (count, surface)
    return {word: surface for word, (_, surface) in sorted(best.items())}
