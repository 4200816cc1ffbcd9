"""The vector store of record: every chunk with its embedding in a Chroma collection (cosine space),
embedded on disk (`chromadb.PersistentClient`) or on a Chroma server (`chromadb.HttpClient`).

Embeddings are always supplied by us: no Chroma default embedding function ever runs. The collection
records the model and chunking it was built with, and the snapshot version its rows belong to (the
consistency marker an app process checks against the snapshot it reads). Every read is paged, so no
call hits SQLite's variable limit however large the collection. Deciding *what* to write is
`index/build.py`'s job; answers read the snapshot (index/snapshot.py) and, with a server, its queries.
"""

from __future__ import annotations

import base64
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import numpy as np

from index.types import Chunk, SentenceTable
from knowledge.errors import Unavailable

__all__ = [
    "ChromaStore",
    "DenseSearch",
    "SentenceTable",
    "Store",
    "StoreLocation",
    "StoreUnavailable",
    "chroma_client",
]

LAYOUT_VERSION = "2"
MARKER = "snapshot_version"
PAGE = 5000  # rows per read: far below SQLite's variable limit


class DenseSearch(Protocol):
    """Nearest chunks to a question's unit vector: the snapshot (exact) or a Chroma server."""

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]: ...


class Store(DenseSearch, Protocol):
    """What the index builder needs from a vector store of chunks."""

    def signature_matches(self) -> bool: ...

    def count(self) -> int: ...

    def marker(self) -> int | None: ...

    def set_marker(self, version: int) -> None: ...

    def ids_by_article(self) -> dict[str, set[str]]: ...

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray) -> None: ...

    def delete_ids(self, ids: list[str]) -> None: ...

    def delete_articles(self, article_ids: list[str]) -> None: ...

    def reset(self) -> None: ...


class StoreUnavailable(Unavailable):
    """The Chroma server did not answer (refused, or silent past the timeout)."""


def chroma_client(path: str | Path | None = None, url: str = "", timeout_s: float = 30.0):
    """A Chroma client: a server's when `url` is set (http(s)://[user:password@]host:port), else the
    embedded store in `path`. Telemetry is off either way. Every call to a server times out after
    `timeout_s` (chromadb's own HTTP client waits for ever): a silent server is `StoreUnavailable`."""
    import chromadb
    import httpx

    settings = chromadb.Settings(anonymized_telemetry=False, allow_reset=True)
    if not url:
        Path(path).mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=settings)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"DSQA_CHROMA_URL must look like http://127.0.0.1:8000, not {url!r}")
    headers = {}
    if parts.username:  # an authenticating proxy in front of the server (README: Serving a team)
        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    base = f"{parts.scheme}://{host if ':' not in host else f'[{host}]'}:{port}"
    try:  # chromadb asks the server while it builds the client, with no timeout: ask first, with one
        httpx.get(f"{base}/api/v2/heartbeat", headers=headers, timeout=timeout_s)
        client = chromadb.HttpClient(
            host=host, port=port, ssl=parts.scheme == "https", headers=headers, settings=settings
        )
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise StoreUnavailable(_unanswered(base, timeout_s, exc)) from None
    client._server._session.timeout = httpx.Timeout(timeout_s)  # every later call too
    return client


def _unanswered(base: str, timeout_s: float, exc: Exception) -> str:
    import httpx

    why = f"no answer within {timeout_s:g} s" if isinstance(exc, httpx.TimeoutException) else str(exc)
    return f"the Chroma server at {base} (DSQA_CHROMA_URL) is not answering ({why}); is `chroma run` up?"


class ChromaStore:
    """The chunk collection behind the `Store` protocol. `ChromaStore(client, "chunks", {...})`.

    `signature` (model name, dimension, chunking) is stored on the collection and compared on open;
    `create=False` attaches to an existing collection (an app process reading a server's)."""

    def __init__(self, client, name: str, signature: dict[str, str | int], create: bool = True):
        self._client = client
        self.name = name
        self.signature = {"layout": LAYOUT_VERSION, **{k: str(v) for k, v in signature.items()}}
        if create:
            self._open_collection()
        else:  # a reader: the collection must exist already
            self._chunks = client.get_collection(name, embedding_function=None)
            self._count = None

    def _open_collection(self) -> None:
        self._chunks = self._client.get_or_create_collection(
            name=self.name,
            embedding_function=None,  # never Chroma's default (it would download an ONNX model)
            configuration={"hnsw": {"space": "cosine"}},
            metadata=dict(self.signature),
        )
        self._count: int | None = None

    def signature_matches(self) -> bool:
        """True when the collection was built with this store's model and chunking."""
        stored = self._chunks.metadata or {}
        return all(stored.get(k) == v for k, v in self.signature.items())

    def count(self) -> int:
        if self._count is None:
            self._count = self._chunks.count()
        return self._count

    def marker(self) -> int | None:
        """The snapshot version the collection's rows were last committed for."""
        self._chunks = self._client.get_collection(self.name, embedding_function=None)  # fresh metadata
        value = (self._chunks.metadata or {}).get(MARKER)
        return int(value) if value is not None else None

    def set_marker(self, version: int) -> None:
        self._chunks.modify(metadata={**self.signature, MARKER: int(version)})

    def reset(self) -> None:
        """Drop the collection and start empty with this store's signature."""
        try:
            self._client.delete_collection(self.name)
        except Exception:  # absent already
            pass
        self._open_collection()

    def ids_by_article(self) -> dict[str, set[str]]:
        """Article id → the chunk ids the collection holds for it (read in pages)."""
        found: dict[str, set[str]] = {}
        offset = 0
        while True:
            page = self._chunks.get(include=[], limit=PAGE, offset=offset)["ids"]
            for chunk_id in page:
                found.setdefault(chunk_id.rsplit(":", 2)[0], set()).add(chunk_id)
            if len(page) < PAGE:
                return found
            offset += PAGE

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Write chunks with their vectors (replacing rows with the same ids)."""
        self._count = None
        batch = min(self._client.get_max_batch_size(), PAGE)
        for i in range(0, len(chunks), batch):
            part = chunks[i : i + batch]
            self._chunks.upsert(
                ids=[c.id for c in part],
                documents=[c.text for c in part],
                embeddings=np.asarray(vectors[i : i + batch], dtype=np.float32),
                metadatas=[_chunk_metadata(c) for c in part],
            )

    def delete_ids(self, ids: list[str]) -> None:
        self._count = None
        for i in range(0, len(ids), PAGE):
            self._chunks.delete(ids=list(ids[i : i + PAGE]))

    def delete_articles(self, article_ids: list[str]) -> None:
        """Remove every chunk of these articles, whatever ids they have."""
        self._count = None
        for article_id in article_ids:
            self._chunks.delete(where={"article_id": article_id})

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Nearest chunks to a unit vector: (chunk id, cosine similarity), best first. Asks for ids
        and distances only (the chunks' text is in the snapshot)."""
        if k <= 0 or self.count() == 0:
            return []
        found = self._chunks.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=min(k, self.count()),
            include=["distances"],
        )
        return [
            (chunk_id, 1.0 - distance)
            for chunk_id, distance in zip(found["ids"][0], found["distances"][0], strict=True)
        ]

    def close(self) -> None:
        """Release the client (best effort)."""
        try:
            self._client.close()
        except Exception:
            pass


@dataclass(frozen=True)
class StoreLocation:
    """Where an index's chunk collection lives: embedded in `path`, or on the server at `url`.

    A server holds one collection per index folder, named after the folder's identity."""

    path: Path
    url: str = ""
    identity: str = ""
    timeout_s: float = 30.0  # per call to a server

    @property
    def collection(self) -> str:
        return f"dsqa-{self.identity}" if self.url else "chunks"

    def open(self, signature: dict) -> ChromaStore:
        return ChromaStore(chroma_client(self.path, self.url, self.timeout_s), self.collection, signature)

    def discard(self) -> None:
        """Delete an embedded store's files (never a server's), and forget the client chromadb
        keeps for that path: after a failed open it is half-built and would fail every reopen."""
        if self.url:
            return
        from chromadb.api.shared_system_client import SharedSystemClient

        with SharedSystemClient._refcount_lock:
            SharedSystemClient._identifier_to_system.pop(str(self.path), None)
            SharedSystemClient._identifier_to_refcount.pop(str(self.path), None)
        shutil.rmtree(self.path, ignore_errors=True)


def _chunk_metadata(chunk: Chunk) -> dict:
    return {
        "article_id": chunk.article_id,
        "title": chunk.title,
        "start": chunk.start,
        "end": chunk.end,
        "article_hash": chunk.article_hash,
        "date": chunk.date,
    }
