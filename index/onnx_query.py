"""A fast-starting query encoder: the bundled model exported once to ONNX, run with onnxruntime
and the `tokenizers` library, so answering a question never imports torch or sentence-transformers.

The export is checked against sentence-transformers on sample texts before it is used (cosine
≥ 0.9999), and lives in a cache folder keyed by the model's sha256. Indexing still uses
`SentenceEmbedder`; this module only embeds questions. Mean pooling and normalisation follow the
bundled model's own configuration (modules.json: Transformer → mean Pooling → Normalize).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SAMPLES = [
    "Where will the association be located?",
    "合肥市 Hefei, Anhui province (安徽)",
    "A longer sentence about a lunar mission, its instruments and the countries that provided them.",
]


def encoder_folder(cache_dir: Path, model_name: str) -> Path:
    """Where the export for this model lives: `<cache_dir>/onnx-<sha prefix>`."""
    return Path(cache_dir) / ("onnx-" + model_name.rsplit("@", 1)[-1])


def session_options():
    """onnxruntime options for every model answering runs (the query encoder, the reader).

    Spinning is off: by default a session's threads busy-wait after each run, stealing the cores from
    the next step (the other model, numpy's sentence scores). At 20k chunks on 2 cores, an answer's
    p50 went from 68 to 36 ms with it off (runs alternated in one session; README "At scale")."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = min(2, os.cpu_count() or 1)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class OnnxQueryEncoder:
    """Embeds questions with the exported model. `OnnxQueryEncoder(folder).embed_query_vector("q")`."""

    def __init__(self, folder: Path):
        import onnxruntime
        from tokenizers import Tokenizer

        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        self.name, self.dimension = meta["name"], int(meta["dimension"])
        self._session = onnxruntime.InferenceSession(
            str(folder / "model.onnx"), session_options(), providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=int(meta["max_seq_length"]))
        self._tokenizer.no_padding()
        self._lock = threading.Lock()
        self._query_cache = lru_cache(maxsize=512)(self._encode_one)

    def _encode_one(self, text: str) -> tuple[float, ...]:
        encoding = self._tokenizer.encode(text)
        feed = {
            "input_ids": np.asarray([encoding.ids], dtype=np.int64),
            "attention_mask": np.asarray([encoding.attention_mask], dtype=np.int64),
            "token_type_ids": np.asarray([encoding.type_ids], dtype=np.int64),
        }
        with self._lock:
            hidden = self._session.run(None, feed)[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return tuple(pooled[0].astype(np.float32).tolist())

    def embed_query_vector(self, text: str) -> np.ndarray:
        return np.asarray(self._query_cache(text), dtype=np.float32)

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """One row per text (one at a time: this encoder is for questions, not for indexing)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.embed_query_vector(t) for t in texts])

    def clear_cache(self) -> None:
        self._query_cache.cache_clear()

    def vocabulary(self) -> frozenset[str]:
        from index.embeddings import whole_words

        return whole_words(self._tokenizer.get_vocab())


def export_query_encoder(embedder, folder: Path) -> OnnxQueryEncoder:
    """Export a loaded `SentenceEmbedder` (bundled model) to ONNX in `folder`, verify it, return it."""
    import shutil

    import torch

    model = embedder._model
    transformer = model[0].auto_model.eval()
    tokenizer = model.tokenizer

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    folder.mkdir(parents=True, exist_ok=True)
    sample = tokenizer(SAMPLES[:1], return_tensors="pt")
    axes = {
        "input_ids": {0: "batch", 1: "tokens"},
        "attention_mask": {0: "batch", 1: "tokens"},
        "token_type_ids": {0: "batch", 1: "tokens"},
    }
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState(transformer),
            (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
            str(folder / "model.onnx"),
            input_names=list(axes),
            output_names=["last_hidden_state"],
            dynamic_axes={**axes, "last_hidden_state": {0: "batch", 1: "tokens"}},
            opset_version=17,
            dynamo=False,
        )
    shutil.copy(embedder.path / "tokenizer.json", folder / "tokenizer.json")
    meta = {"name": embedder.name, "dimension": embedder.dimension, "max_seq_length": embedder.max_seq_length}
    (folder / "meta.pending.json").write_text(json.dumps(meta), encoding="utf-8")
    os.replace(folder / "meta.pending.json", folder / "meta.json")
    encoder = OnnxQueryEncoder(folder)
    reference = embedder.encode(SAMPLES)
    agreement = float(np.min(np.sum(reference * encoder.encode(SAMPLES), axis=1)))
    if agreement < 0.9999:
        (folder / "meta.json").unlink()
        raise RuntimeError(f"ONNX export disagrees with sentence-transformers (cosine {agreement:.6f})")
    return encoder


def load_or_export(cache_dir: Path, lazy_embedder) -> OnnxQueryEncoder | None:
    """The ONNX query encoder for this model: from the cache, or exported now; None if that fails."""
    folder = encoder_folder(cache_dir, lazy_embedder.name)
    try:
        if (folder / "meta.json").exists():
            encoder = OnnxQueryEncoder(folder)
            if encoder.name == lazy_embedder.name:
                return encoder
        return export_query_encoder(lazy_embedder.model(), folder)
    except Exception as exc:  # any failure: answer with sentence-transformers instead, just slower to start
        log.warning("Fast query encoder unavailable (%s); using sentence-transformers for questions", exc)
        return None
