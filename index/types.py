"""Data of the index stage: `Chunk`s of an article with exact character offsets.

Offsets are into `Article.text`, so `article.text[chunk.start:chunk.end] == chunk.text` and each
`(start, end)` in `chunk.sentences` slices one sentence out of the same text.
"""

from __future__ import annotations

from dataclasses import dataclass


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
