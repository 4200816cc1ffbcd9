"""The vector store: chunks and sentences with their embeddings in Chroma (on disk by default).

`ChromaStore` keeps two collections in cosine space: `chunks` (what the retriever returns) and
`sentences` (embedded once at index time so answering embeds only the question). Embeddings are
always supplied by us: no Chroma default embedding function ever runs. The collections record the
model and chunking they were built with, so an index built differently is detected, never misread.
Deciding *what* to write is `index/build.py`'s job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from index.types import Chunk

CHUNKS = "chunks"
SENTENCES = "sentences"
LAYOUT_VERSION = "1"


@dataclass(frozen=True)
class SentenceTable:
    """Every indexed sentence: its article, offsets into `Article.text`, text and unit embedding."""

    ids: list[str]
    article_ids: list[str]
    spans: list[tuple[int, int]]
    texts: list[str]
    vectors: np.ndarray


class Store(Protocol):
    """What the index builder and the retriever need from a vector store."""

    def signature_matches(self) -> bool: ...

    def indexed_articles(self) -> dict[str, str]: ...

    def write_article(
        self, chunks: list[Chunk], chunk_vectors: np.ndarray, sentence_rows: list[dict], sentence_vectors: np.ndarray
    ) -> None: ...

    def delete_articles(self, article_ids: list[str]) -> None: ...

    def reset(self) -> None: ...

    def load_chunks(self) -> list[Chunk]: ...

    def load_sentences(self) -> SentenceTable: ...

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]: ...


class ChromaStore:
    """Chroma behind the `Store` protocol. `ChromaStore(".index", signature={...})`.

    `signature` (model name, dimension, chunking) is stored on the collections and compared on open.
    """

    def __init__(self, path: str | Path, signature: dict[str, str | int], client=None):
        import chromadb

        self.path = Path(path)
        self.signature = {"layout": LAYOUT_VERSION, **{k: str(v) for k, v in signature.items()}}
        if client is None:
            self.path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(
                path=str(self.path), settings=chromadb.Settings(anonymized_telemetry=False, allow_reset=True)
            )
        self._client = client
        self._open_collections()

    def _open_collections(self) -> None:
        def collection(name: str):
            return self._client.get_or_create_collection(
                name=name,
                embedding_function=None,  # never Chroma's default (it would download an ONNX model)
                configuration={"hnsw": {"space": "cosine"}},
                metadata=dict(self.signature),
            )

        self._chunks = collection(CHUNKS)
        self._sentences = collection(SENTENCES)
        self._count: int | None = None  # chunks in the collection, cached between writes

    def signature_matches(self) -> bool:
        """True when the collections were built with this store's model and chunking."""
        stored = self._chunks.metadata or {}
        return all(stored.get(k) == v for k, v in self.signature.items())

    def reset(self) -> None:
        """Drop both collections and start empty with this store's signature."""
        for name in (CHUNKS, SENTENCES):
            try:
                self._client.delete_collection(name)
            except Exception:  # absent already
                pass
        self._open_collections()

    def indexed_articles(self) -> dict[str, str]:
        """article id → content hash of what is in the index now."""
        rows = self._chunks.get(include=["metadatas"])
        return {m["article_id"]: m["article_hash"] for m in rows["metadatas"] or []}

    def write_article(self, chunks, chunk_vectors, sentence_rows, sentence_vectors) -> None:
        """Add one article's chunks and sentences (delete its old rows first to replace it)."""
        self._count = None
        batch = self._client.get_max_batch_size()
        for i in range(0, len(chunks), batch):
            part = chunks[i : i + batch]
            self._chunks.add(
                ids=[c.id for c in part],
                documents=[c.text for c in part],
                embeddings=chunk_vectors[i : i + batch],
                metadatas=[_chunk_metadata(c) for c in part],
            )
        for i in range(0, len(sentence_rows), batch):
            part = sentence_rows[i : i + batch]
            self._sentences.add(
                ids=[r["id"] for r in part],
                documents=[r["text"] for r in part],
                embeddings=sentence_vectors[i : i + batch],
                metadatas=[{k: r[k] for k in ("article_id", "start", "end", "article_hash")} for r in part],
            )

    def delete_articles(self, article_ids: list[str]) -> None:
        """Remove every chunk and sentence of these articles."""
        self._count = None
        for article_id in article_ids:
            self._chunks.delete(where={"article_id": article_id})
            self._sentences.delete(where={"article_id": article_id})

    def load_chunks(self) -> list[Chunk]:
        """Every chunk in the index, in article then offset order."""
        rows = self._chunks.get(include=["documents", "metadatas"])
        chunks = [
            _chunk_from_row(i, d, m) for i, d, m in zip(rows["ids"], rows["documents"], rows["metadatas"], strict=True)
        ]
        return sorted(chunks, key=lambda c: (c.article_id, c.start))

    def load_sentences(self) -> SentenceTable:
        """Every sentence with its embedding, in article then offset order."""
        rows = self._sentences.get(include=["documents", "metadatas", "embeddings"])
        order = sorted(
            range(len(rows["ids"])), key=lambda i: (rows["metadatas"][i]["article_id"], rows["metadatas"][i]["start"])
        )
        vectors = np.asarray(rows["embeddings"], dtype=np.float32).reshape(len(rows["ids"]), -1)
        return SentenceTable(
            ids=[rows["ids"][i] for i in order],
            article_ids=[rows["metadatas"][i]["article_id"] for i in order],
            spans=[(rows["metadatas"][i]["start"], rows["metadatas"][i]["end"]) for i in order],
            texts=[rows["documents"][i] for i in order],
            vectors=vectors[order] if len(order) else vectors,
        )

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Nearest chunks to a unit vector: (chunk id, cosine similarity), best first.

        Asks for ids and distances only (the chunks' text is already in memory): a third of the time
        of a LangChain `similarity_search`, which fetches every document and its metadata."""
        if self._count is None:
            self._count = self._chunks.count()
        if self._count == 0:
            return []
        found = self._chunks.query(query_embeddings=[vector], n_results=min(k, self._count), include=["distances"])
        return [
            (chunk_id, 1.0 - distance)
            for chunk_id, distance in zip(found["ids"][0], found["distances"][0], strict=True)
        ]


def _chunk_metadata(chunk: Chunk) -> dict:
    return {
        "article_id": chunk.article_id,
        "title": chunk.title,
        "start": chunk.start,
        "end": chunk.end,
        "sentences": json.dumps(chunk.sentences),
        "article_hash": chunk.article_hash,
        "date": chunk.date,
    }


def _chunk_from_row(chunk_id: str, text: str, meta: dict) -> Chunk:
    return Chunk(
        id=chunk_id,
        article_id=meta["article_id"],
        title=meta["title"],
        text=text,
        start=meta["start"],
        end=meta["end"],
        sentences=tuple(tuple(span) for span in json.loads(meta["sentences"])),
        article_hash=meta["article_hash"],
        date=meta.get("date", ""),
    )
