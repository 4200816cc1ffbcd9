"""An embedding cache for benchmarks: vectors kept by content hash across runs, outside the repo.

`CachedEmbedder(embedder, folder)` answers `encode()` from the cache and embeds only texts it has
not seen, appending them as a new shard (`<folder>/<model>/shard-*.npz`, written atomically). The
scale benchmark uses it so repeated runs measure everything but embedding; it says so in its output.
Never used by the bot itself: an index carries its kept articles' vectors from one snapshot to the
next (index/carry_over.py).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

import numpy as np


def text_key(model: str, text: str) -> bytes:
    """16-byte key of one text under one model."""
    return hashlib.blake2b(f"{model}\0{text}".encode("utf-8", "surrogatepass"), digest_size=16).digest()


class CachedEmbedder:
    """An `Embedder` in front of another, with a persistent content-hash cache.

    >>> CachedEmbedder(SentenceEmbedder(), Path("/tmp/emb")).encode(["Hefei"]).shape  # doctest: +SKIP
    (1, 384)
    """

    def __init__(self, inner, folder: Path, flush_every: int = 4096):
        self.inner = inner
        self.name, self.dimension = inner.name, inner.dimension
        self.folder = Path(folder) / re.sub(r"[^\w.@-]+", "_", inner.name)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.flush_every = flush_every
        self._vectors: dict[bytes, np.ndarray] = {}
        self._pending: dict[bytes, np.ndarray] = {}
        self.hits = self.misses = 0
        self.encode_seconds = 0.0  # time spent in the model (misses only)
        for shard in sorted(self.folder.glob("shard-*.npz")):
            with np.load(shard) as data:
                for key, vector in zip(data["keys"], data["vectors"], strict=True):
                    self._vectors[bytes(key)] = vector

    def __len__(self) -> int:
        return len(self._vectors)

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        keys = [text_key(self.name, t) for t in texts]
        missing = list({k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}.items())
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        for start in range(0, len(missing), self.flush_every):
            part = missing[start : start + self.flush_every]
            began = time.perf_counter()
            vectors = self.inner.encode([t for _, t in part], progress=progress)
            self.encode_seconds += time.perf_counter() - began
            for (key, _), vector in zip(part, vectors, strict=True):
                self._vectors[key] = self._pending[key] = vector
            self.flush()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32, copy=False)

    def embed_query_vector(self, text: str) -> np.ndarray:
        return self.inner.embed_query_vector(text)  # questions are never taken from the cache

    def clear_cache(self) -> None:
        """Forget the inner model's cached question embeddings (measure the uncached path)."""
        self.inner.clear_cache()

    # LangChain `Embeddings` interface (the baseline recipe's Chroma calls these)
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_vector(text).tolist()

    def flush(self) -> None:
        """Write the vectors embedded since the last flush as one new shard."""
        if not self._pending:
            return
        keys = np.frombuffer(b"".join(self._pending), dtype="S16")
        vectors = np.stack(list(self._pending.values())).astype(np.float32)
        final = self.folder / f"shard-{time.time_ns()}-{os.getpid()}.npz"
        temporary = final.with_suffix(".tmp.npz")
        np.savez(temporary, keys=keys, vectors=vectors)
        os.replace(temporary, final)
        self._pending = {}
