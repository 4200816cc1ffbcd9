"""The snapshot questions are answered from: one committed index snapshot opened for answering (its
search index, retriever, articles and their summaries), swapped whole for a newer one, never edited.

Dense chunk search comes from the one store that holds the chunk vectors: the snapshot itself, or a
Chroma server. Syncing the folder into snapshots is `index/build.py`'s, and when to swap is `bot/service.py`'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.types import ArticleSummary
from knowledge.settings import Settings
from knowledge.types import Article

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Live:
    """One opened snapshot and everything answering derives from it."""

    version: int
    index: object  # bot.pipeline.OpenedIndex: the search index, retriever, spelling and titles
    articles: list[Article]
    summaries: list[ArticleSummary]


def dense_search(snapshot, server):
    """Dense chunk search in the store that holds the chunk vectors: the snapshot itself, or the Chroma
    `server` (`index.store.ChromaServer`, None when not set) restricted to this snapshot's chunks. A server
    that cannot be reached leaves BM25 and the sentence vectors to rank (with a warning).

    >>> dense_search(snapshot, None) is snapshot  # a snapshot that keeps its vectors  # doctest: +SKIP
    True
    """
    if snapshot.holds_chunk_vectors:
        return snapshot
    from index.store import NO_DENSE_SEARCH, WithinSnapshot

    if server is None:
        log.warning("The index keeps its chunk vectors on a Chroma server and DSQA_CHROMA_URL is not set")
        return NO_DENSE_SEARCH
    try:
        return WithinSnapshot(server.reader(), snapshot.chunk_position)
    except Exception as exc:  # unreachable, or no collection for this index
        log.warning("Chroma server %s unusable (%s): answering without dense chunk search", server.url, exc)
        return NO_DENSE_SEARCH


def open_live(snapshot, settings: Settings, query_encoder, server) -> Live:
    """`snapshot` (`index.snapshot.Snapshot`) opened for answering, its questions embedded by `query_encoder`."""
    from bot.pipeline import open_snapshot
    from bot.retrieve import HybridRetriever, SearchIndex

    search = SearchIndex.load(snapshot)
    retriever = HybridRetriever(
        search_index=search,
        store=dense_search(snapshot, server),
        embedder=query_encoder,
        top_k=settings.top_k,
        candidates_k=settings.candidates_k,
        rrf_k=settings.rrf_k,
    )
    articles = snapshot.articles()
    summaries = [ArticleSummary(e.id, e.title, e.date, e.chunk_count, e.format, e.pages) for e in snapshot.entries]
    index = open_snapshot(search, retriever, articles, query_encoder.vocabulary())
    return Live(snapshot.version, index, articles, summaries)
