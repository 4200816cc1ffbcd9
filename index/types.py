"""Data of the index stage: `Chunk`s with exact offsets, the `SentenceTable`, and sync progress.

Offsets are into `Article.text`, so `article.text[chunk.start:chunk.end] == chunk.text` and each
`(start, end)` in `chunk.sentences` slices one sentence out of the same text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


@dataclass(frozen=True)
class Chunk:
    """A retrievable span of one article, with its sentences' offsets (absolute, into the article)."""

    id: str
    article_id: str
    title: str
    text: str
    start: int
    end: int
    sentences: tuple[tuple[int, int], ...]
    article_hash: str = ""
    date: str = ""

    def sentence_texts(self) -> list[str]:
        """The chunk's sentences, sliced out of its own text."""
        return [self.text[s - self.start : e - self.start] for s, e in self.sentences]


@dataclass(frozen=True)
class SentenceTable:
    """Every indexed sentence, in article then offset order: its article, offsets into
    `Article.text`, text, unit embedding (rows of `vectors`) and page (None unless paged)."""

    ids: list[str]
    article_ids: list[str]
    spans: list[tuple[int, int]]
    texts: list[str]
    vectors: np.ndarray
    pages: list[int | None] = field(default_factory=list)


class SyncPhase(StrEnum):
    """Where a sync is: reading the folder, embedding new text, writing the index, done."""

    SCANNING = "scanning"
    EMBEDDING = "embedding"
    WRITING = "writing"
    DONE = "done"


@dataclass(frozen=True)
class SyncProgress:
    """One progress event of a sync, for a progress bar or the page.

    `article` names the article being embedded (its title), `texts_done / texts_total` counts
    embedded texts, `seconds_left` is an estimate (None until one can be made)."""

    phase: SyncPhase
    articles_done: int = 0
    articles_total: int = 0
    texts_done: int = 0
    texts_total: int = 0
    article: str = ""
    seconds: float = 0.0
    seconds_left: float | None = None

    def describe(self) -> str:
        """One line for people: `embedding 3/8 articles (120/400 texts), “Title”, ~12 s left`."""
        if self.phase is not SyncPhase.EMBEDDING:
            return f"{self.phase.value} ({self.articles_total} articles)"
        left = f", ~{self.seconds_left:.0f} s left" if self.seconds_left is not None else ""
        name = f", “{self.article}”" if self.article else ""
        return (
            f"embedding {self.articles_done}/{self.articles_total} articles "
            f"({self.texts_done}/{self.texts_total} texts){name}{left}"
        )
