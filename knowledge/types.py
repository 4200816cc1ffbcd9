"""Data of the knowledge stage: one `Article` per source file, and what loading a folder skipped.

Only plain data lives here; loading is in `knowledge/loaders.py`.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Article:
    """One source article, as a reader sees it.

    `text` is what every citation offset points into: title, subtitle, body, then the notes. For a
    paged source (PDF), `page_starts[i]` is the offset in `text` where page i + 1 begins.

    >>> Article(id="a", title="T", text="Body.").content_hash == Article(id="a", title="T", text="Body.").content_hash
    True
    >>> Article(id="p", title="T", text="One.\\n\\nTwo.", page_starts=(0, 6)).page_of(7)
    2
    """

    id: str
    title: str
    text: str
    path: Path | None = None
    metadata: dict = field(default_factory=dict)
    format: str = ""  # the file's suffix without the dot: "md", "txt", "html", "pdf", "docx"
    page_starts: tuple[int, ...] = ()

    @property
    def content_hash(self) -> str:
        """sha256 of title, text and metadata (and pages): the index re-embeds an article only when it changes."""
        digest = hashlib.sha256()
        parts = [self.title, self.text, repr(sorted(self.metadata.items()))]
        if self.page_starts:  # only paged articles hash their pages, so other articles keep their old hash
            parts.append(repr(self.page_starts))
        for part in parts:
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
        return digest.hexdigest()

    @property
    def date(self) -> str:
        """The reported date from the metadata, '' when unknown."""
        return str(self.metadata.get("reported") or self.metadata.get("date") or "")

    @property
    def language(self) -> str:
        """ISO 639-1 code: the front matter's `language`, else identified from the text."""
        from knowledge.language import document_language

        return str(self.metadata.get("language") or document_language(self.text))

    @property
    def pages(self) -> int | None:
        """How many pages the source has (PDF), None for formats without pages."""
        return len(self.page_starts) or None

    def page_of(self, offset: int) -> int | None:
        """The 1-based page holding `text[offset]`, None for formats without pages."""
        if not self.page_starts:
            return None
        return max(1, bisect_right(self.page_starts, offset))


@dataclass(frozen=True)
class SkippedFile:
    """A file in the knowledge folder that was not loaded, and why (the same words as its warning)."""

    path: Path
    reason: str


@dataclass(frozen=True)
class FolderLoad:
    """What loading a folder gave: the articles, sorted by id, and every file it skipped."""

    articles: list[Article]
    skipped: list[SkippedFile] = field(default_factory=list)
