"""Data of the knowledge stage: one `Article` per source file.

Only plain data lives here; loading is in `knowledge/loaders.py`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Article:
    """One source article, as a reader sees it.

    `text` is what every citation offset points into: title, subtitle, body, then the notes.

    >>> Article(id="a", title="T", text="Body.").content_hash == Article(id="a", title="T", text="Body.").content_hash
    True
    """

    id: str
    title: str
    text: str
    path: Path | None = None
    metadata: dict = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        """sha256 of title, text and metadata: the index re-embeds an article only when it changes."""
        digest = hashlib.sha256()
        for part in (self.title, self.text, repr(sorted(self.metadata.items()))):
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
        return digest.hexdigest()

    @property
    def date(self) -> str:
        """The reported date from the metadata, '' when unknown."""
        return str(self.metadata.get("reported") or self.metadata.get("date") or "")
