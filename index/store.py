"""Where an index's chunk vectors live, and dense chunk search over them (the `DenseSearch` Protocol).

One store of record per mode. By default the snapshot holds them and searches them exactly
(`Snapshot.search`, index/snapshot.py). With `DSQA_CHROMA_URL` a Chroma server holds them, one
collection per index folder (`ChromaServer`, `ChromaStore`), and the snapshot holds none. There is
no embedded Chroma: importing and opening one costs more than a whole start-up (README, "At scale").

A server row's id hashes the chunk's text (index/chunking.py), so a row is right for every snapshot
that holds its id: a search reads only the ids of the snapshot being answered from
(`WithinSnapshot`), a sync writes new rows before its switch and deletes old ones after it.
Embeddings are always supplied by us: no Chroma default embedding function ever runs. Every read
is paged. Deciding *what* to write is `index/build.py`'s job.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Container
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote, urlsplit

import numpy as np

from index.types import Chunk
from knowledge.errors import Unavailable

log = logging.getLogger(__name__)

__all__ = [
    "NO_DENSE_SEARCH",
    "ChromaServer",
    "ChromaStore",
    "DenseSearch",
    "Store",
    "StoreUnavailable",
    "WithinSnapshot",
    "chroma_client",
]

LAYOUT_VERSION = "3"  # 3: rows hold no documents (the snapshot has the text), old rows deleted after the switch
MARKER = "snapshot_version"
PAGE = 5000  # rows per read or write: far below SQLite's variable limit


class DenseSearch(Protocol):
    """Nearest chunks to a question's unit vector: the snapshot (exact) or a Chroma server."""

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]: ...


class Store(DenseSearch, Protocol):
    """What the index builder needs from a Chroma server's chunk collection."""

    def signature_matches(self) -> bool: ...

    def count(self) -> int: ...

    def marker(self) -> int | None: ...

    def set_marker(self, version: int) -> None: ...

    def ids_by_article(self) -> dict[str, set[str]]: ...

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray) -> None: ...

    def delete_ids(self, ids: list[str]) -> None: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


class StoreUnavailable(Unavailable):
    """The Chroma server did not answer (refused, or silent past the timeout)."""


class _NoDenseSearch:
    """No dense chunk ranking (a server that cannot be reached): BM25 and sentence vectors still rank."""

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        return []


NO_DENSE_SEARCH: DenseSearch = _NoDenseSearch()


def chroma_client(url: str, timeout_s: float = 30.0):
    """A Chroma server's client, `url` being http(s)://[user:password@]host:port. Telemetry off.
    Every call times out after `timeout_s` (chromadb's own HTTP client waits for ever): a silent
    server is `StoreUnavailable`."""
    import chromadb
    import httpx

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
            host=host,
            port=port,
            ssl=parts.scheme == "https",
            headers=headers,
            settings=chromadb.Settings(anonymized_telemetry=False),
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
    """One index's chunk collection on a Chroma server, behind the `Store` protocol.

    `signature` (model name, dimension, chunking) is stored on the collection and compared on open;
    `create=False` attaches to an existing collection (an answering process)."""

    def __init__(self, client, name: str, signature: dict[str, str | int], create: bool = True):
        self._client = client
        self.name = name
        self.signature = {"layout": LAYOUT_VERSION, **{k: str(v) for k, v in signature.items()}}
        if create:
            self._open_collection()
        else:  # a reader: the collection must exist already
            self._chunks = client.get_collection(name, embedding_function=None)

    def _open_collection(self) -> None:
        self._chunks = self._client.get_or_create_collection(
            name=self.name,
            embedding_function=None,  # never Chroma's default (it would download an ONNX model)
            configuration={"hnsw": {"space": "cosine"}},
            metadata=dict(self.signature),
        )

    def signature_matches(self) -> bool:
        """True when the collection was built with this store's model and chunking."""
        stored = self._chunks.metadata or {}
        return all(stored.get(k) == v for k, v in self.signature.items())

    def count(self) -> int:
        return self._chunks.count()

    def marker(self) -> int | None:
        """The snapshot version whose chunks the collection held exactly, when last checked."""
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
        """Write chunks' vectors (replacing rows with the same ids). Only the article id goes with
        them: the text and offsets are the snapshot's."""
        batch = min(self._client.get_max_batch_size(), PAGE)
        for i in range(0, len(chunks), batch):
            part = chunks[i : i + batch]
            self._chunks.upsert(
                ids=[c.id for c in part],
                embeddings=np.asarray(vectors[i : i + batch], dtype=np.float32),
                metadatas=[{"article_id": c.article_id} for c in part],
            )

    def delete_ids(self, ids: list[str]) -> None:
        for i in range(0, len(ids), PAGE):
            self._chunks.delete(ids=list(ids[i : i + PAGE]))

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Nearest rows to a unit vector, whatever snapshot they belong to: (chunk id, cosine
        similarity), best first. Answers go through `WithinSnapshot`."""
        if k <= 0:
            return []
        found = self._chunks.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=k, include=["distances"]
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
class WithinSnapshot:
    """A server's search restricted to one snapshot's chunk ids: rows a sync has written but not yet
    committed, or not yet deleted, are never returned. A server gone since start-up gives no hits
    (and a warning): BM25 and the sentence vectors still rank. `WithinSnapshot(store, snapshot.chunk_position)`."""

    store: ChromaStore
    ids: Container[str]

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        asked = k
        while True:
            try:
                found = self.store.search(vector, asked)
            except Exception as exc:  # chromadb raises several kinds for a lost connection
                log.warning("Chroma server unusable (%s): answering without dense chunk search", exc)
                return []
            kept = [(chunk_id, score) for chunk_id, score in found if chunk_id in self.ids]
            if len(kept) >= k or len(found) < asked:  # enough, or the collection is exhausted
                return kept[:k]
            asked *= 4  # a sync in progress holds rows of another snapshot: look further


@dataclass(frozen=True)
class ChromaServer:
    """The Chroma server an index keeps its chunk vectors on: one collection per index folder, named
    after the folder's identity. `ChromaServer("http://127.0.0.1:8000", folder.identity())`."""

    url: str
    identity: str
    timeout_s: float = 30.0  # per call

    @property
    def collection(self) -> str:
        return f"dsqa-{self.identity}"

    def open(self, signature: dict) -> ChromaStore:
        """The collection for writing (created when absent)."""
        return ChromaStore(chroma_client(self.url, self.timeout_s), self.collection, signature)

    def reader(self) -> ChromaStore:
        """The collection for answering (it must exist)."""
        return ChromaStore(chroma_client(self.url, self.timeout_s), self.collection, {}, create=False)
