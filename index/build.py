"""Build or sync the index from articles: re-embed only what changed, by content hash.

New articles are added, changed ones replaced, deleted ones removed; unchanged ones cost nothing.
All new text (chunks and sentences) is embedded in one batched call, with a progress bar, so
indexing runs near the model's raw encode throughput. Querying is `bot/retrieve.py`'s job.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from index.chunking import split_into_chunks, split_into_sentences
from index.embeddings import Embedder
from index.store import Store
from knowledge.types import Article

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncReport:
    """What a sync did. `report.embedded == 0` means nothing was re-embedded."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rebuilt: bool = False
    embedded: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for people: `2 added, 0 changed, 1 removed, 5 unchanged (40 texts embedded, 1.2 s)`."""
        head = "rebuilt: " if self.rebuilt else ""
        return (
            f"{head}{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged ({self.embedded} texts embedded, {self.seconds:.1f} s)"
        )


def sync_index(
    articles: list[Article],
    store: Store,
    embedder: Embedder,
    chunk_size: int = 700,
    chunk_overlap: int = 150,
    rebuild: bool = False,
    progress: bool = True,
) -> SyncReport:
    """Make the store hold exactly `articles`, embedding only new or changed ones.

    >>> sync_index(load_articles("knowledge/articles"), store, embedder).summary()  # doctest: +SKIP
    '1 added, 0 changed, 0 removed, 0 unchanged (49 texts embedded, 0.9 s)'
    """
    began = time.perf_counter()
    rebuilt = rebuild or not store.signature_matches()
    if rebuilt:
        if not rebuild:
            log.warning("Index was built with another model or chunking: rebuilding it from the articles")
        store.reset()
    indexed = store.indexed_articles()
    wanted = {a.id: a for a in articles}
    added = [a.id for a in articles if a.id not in indexed]
    changed = [a.id for a in articles if a.id in indexed and indexed[a.id] != a.content_hash]
    unchanged = [a.id for a in articles if a.id in indexed and indexed[a.id] == a.content_hash]
    removed = sorted(set(indexed) - set(wanted))

    if removed or changed:
        store.delete_articles(removed + changed)
    to_embed = [wanted[i] for i in added + changed]
    plans = [_plan(article, chunk_size, chunk_overlap) for article in to_embed]
    texts = [c.text for chunks, _ in plans for c in chunks] + [r["text"] for _, rows in plans for r in rows]
    vectors = embedder.encode(texts, progress=progress and bool(texts))
    n_chunks = sum(len(chunks) for chunks, _ in plans)
    chunk_vectors, sentence_vectors = vectors[:n_chunks], vectors[n_chunks:]
    ci = si = 0
    for chunks, rows in plans:
        store.write_article(chunks, chunk_vectors[ci : ci + len(chunks)], rows, sentence_vectors[si : si + len(rows)])
        ci, si = ci + len(chunks), si + len(rows)
    return SyncReport(
        added=added,
        changed=changed,
        removed=removed,
        unchanged=unchanged,
        rebuilt=rebuilt,
        embedded=len(texts),
        seconds=time.perf_counter() - began,
    )


def _plan(article: Article, chunk_size: int, chunk_overlap: int) -> tuple[list, list[dict]]:
    chunks = split_into_chunks(article, chunk_size, chunk_overlap)
    rows = [
        {
            "id": f"{article.id}:s{n}",
            "article_id": article.id,
            "start": s,
            "end": e,
            "text": article.text[s:e],
            "article_hash": article.content_hash,
        }
        for n, (s, e) in enumerate(split_into_sentences(article.text))
    ]
    return chunks, rows
