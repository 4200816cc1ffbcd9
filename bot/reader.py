"""Extractive reader: a question and a few short windows → the best answer span of each window, with a
no-answer (null) score on the same scale: SQuAD 2.0 style, the [CLS] position is the null span.

The model is the bundled all-MiniLM-L6-v2 fine-tuned with LoRA (`training/reader.py`); only the
small adapter and QA head are committed (`bot/models/reader/`). At first use they are merged into the
bundled weights, exported to ONNX (plus an int8 copy), checked against torch, and cached in a folder
keyed by the base, adapter and config hashes (`bot/reader_export.py`, which builds on this module,
never the reverse). Once cached, reading imports neither torch nor transformers.
"""

from __future__ import annotations

import hashlib
import json
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from index.onnx_query import session_options

MODEL_DIR = Path(__file__).parent / "models" / "reader"
MAX_QUESTION_TOKENS = 64  # longer questions are cut, so the window keeps its room
MAX_QUESTION_CHARS = 200  # a first cut, below the tokenizer's budget of 256
CHECK_SAMPLES = [  # export check: the ONNX logits must match torch on these
    ("When did the mission launch?", "The probe was launched on 3 May 2024. It landed a month later."),
    ("Who leads the laboratory?", "Its director, Wang Li, said the lab would open in Hefei, Anhui, next year."),
    ("What colour is the sky on Mars?", "Water boils at 100 °C at sea level."),
]


@dataclass(frozen=True)
class SpanPrediction:
    """The best span of one window: `window[start:end]`; `score` is -inf when the window has no words."""

    start: int  # char offset into the window text
    end: int  # char offset (exclusive)
    score: float  # start+end logit of the best non-null span
    null_score: float  # start+end logit of the null ([CLS]) span


class Reader(Protocol):
    """question + windows → one `SpanPrediction` per window, in order."""

    def read(
        self, question: str, windows: Sequence[str], answer_from: Sequence[int] | None = None
    ) -> list[SpanPrediction]: ...


@dataclass(frozen=True)
class ReaderConfig:
    """`bot/models/reader/config.json`: how the adapter was trained and how to read with it."""

    num_hidden_layers: int
    lora_rank: int
    lora_alpha: float
    max_length: int  # tokens of question + window; longer windows are cut
    max_answer_tokens: int
    quantized: bool = False  # read with the int8 export (set by `reader_eval.py` from held-out measurements)

    EXPORTED = ("num_hidden_layers", "lora_rank", "lora_alpha")  # the fields the ONNX export depends on

    @classmethod
    def read_from(cls, model_dir: Path) -> ReaderConfig:
        raw = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        return cls(**{name: raw[name] for name in cls.__dataclass_fields__ if name in raw})


def load_tokenizer(path: Path, max_length: int):
    """The bundled WordPiece tokenizer, set to cut only the window and never to pad."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=max_length, strategy="only_second")
    tokenizer.no_padding()
    return tokenizer


def encode_pairs(tokenizer, question: str, windows: Sequence[str]) -> list:
    """`[CLS] question [SEP] window [SEP]` encodings, one per window; offsets index each window."""
    # A word piece spans at least one character, so this cut keeps the question alone under the token
    # budget (the tokenizer refuses to encode a lone sequence longer than it), then the exact cut follows.
    question = question[:MAX_QUESTION_CHARS]
    ids = tokenizer.encode(question, add_special_tokens=False)
    if len(ids.ids) > MAX_QUESTION_TOKENS:
        question = question[: ids.offsets[MAX_QUESTION_TOKENS - 1][1]]
    return tokenizer.encode_batch([(question, window) for window in windows])


def feed(encodings: Sequence) -> dict[str, np.ndarray]:
    """The model inputs for a batch of encodings, padded to the longest."""
    width = max(len(e.ids) for e in encodings)
    arrays = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in ("input_ids", "attention_mask")}
    arrays["token_type_ids"] = np.zeros_like(arrays["input_ids"])
    for row, encoding in enumerate(encodings):
        n = len(encoding.ids)
        arrays["input_ids"][row, :n] = encoding.ids
        arrays["attention_mask"][row, :n] = 1
        arrays["token_type_ids"][row, :n] = encoding.type_ids
    return arrays


def best_spans(
    starts, ends, encodings, windows: Sequence[str], max_answer_tokens: int, answer_from: Sequence[int] | None = None
) -> list[SpanPrediction]:
    """The best valid span per row: window tokens only, from the row's `answer_from` character on (the text
    before it is context), not starting or ending on punctuation, at most `max_answer_tokens` long;
    `score` is -inf when the window has no such token."""
    predictions = []
    answer_from = answer_from or [0] * len(windows)
    for row, (encoding, window) in enumerate(zip(encodings, windows, strict=True)):
        s, e = np.asarray(starts[row], np.float64), np.asarray(ends[row], np.float64)
        null = float(s[0] + e[0])
        usable = np.zeros(len(s), dtype=bool)
        for i, (seq, (a, b)) in enumerate(zip(encoding.sequence_ids, encoding.offsets, strict=True)):
            usable[i] = seq == 1 and a >= answer_from[row] and not all(_edge(ch) for ch in window[a:b])
        if not usable.any():
            predictions.append(SpanPrediction(0, 0, float("-inf"), null))
            continue
        i, j = np.indices((len(s), len(s)))
        allowed = usable[:, None] & usable[None, :] & (j >= i) & (j - i < max_answer_tokens)
        table = np.where(allowed, s[:, None] + e[None, :], -np.inf)
        first, last = np.unravel_index(int(np.argmax(table)), table.shape)
        start, end = _trim(window, encoding.offsets[first][0], encoding.offsets[last][1])
        predictions.append(SpanPrediction(start, end, float(table[first, last]), null))
    return predictions


def _edge(ch: str) -> bool:
    """Characters an answer span never starts or ends with: spaces and punctuation."""
    return ch.isspace() or unicodedata.category(ch).startswith("P")


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """`text[start:end]` without spaces and punctuation at its edges (unchanged if nothing else is left)."""
    s, e = start, end
    while s < e and _edge(text[s]):
        s += 1
    while e > s and _edge(text[e - 1]):
        e -= 1
    return (s, e) if e > s else (start, end)


class OnnxReader:
    """Reads with the ONNX export in `folder` (`bot.reader_export.load_reader` makes it on first use).

    `load_reader(cache_dir).read("Who?", ["Li founded it."])`
    """

    def __init__(self, folder: Path, quantized: bool | None = None, model_dir: Path = MODEL_DIR):
        import onnxruntime

        self.folder, self.config = Path(folder), ReaderConfig.read_from(model_dir)
        self.quantized = self.config.quantized if quantized is None else quantized
        name = "model.int8.onnx" if self.quantized else "model.onnx"
        self._session = onnxruntime.InferenceSession(
            str(folder / name), session_options(), providers=["CPUExecutionProvider"]
        )
        self._tokenizer = load_tokenizer(folder / "tokenizer.json", self.config.max_length)
        self._lock = threading.Lock()

    def read(
        self, question: str, windows: Sequence[str], answer_from: Sequence[int] | None = None
    ) -> list[SpanPrediction]:
        """One prediction per window, in order; a span starts at or after its window's `answer_from`
        character (the text before it is context the reader sees but does not answer from)."""
        if not question.strip():
            raise ValueError("question is empty")
        if isinstance(windows, str):
            raise TypeError("windows must be a sequence of strings, not one string")
        if not windows:
            return []
        encodings = encode_pairs(self._tokenizer, question, windows)
        # Dynamic int8 scales activations over the whole run, so a batch would let windows sway each
        # other's results: the int8 model reads one window per run, fp32 all windows in one run.
        groups = [[e] for e in encodings] if self.quantized else [encodings]
        with self._lock:
            outputs = [self._session.run(None, feed(group)) for group in groups]
        starts = [row for out in outputs for row in out[0]]
        ends = [row for out in outputs for row in out[1]]
        return best_spans(starts, ends, encodings, windows, self.config.max_answer_tokens, answer_from)


def export_folder(cache_dir: Path, model_sha256: str, model_dir: Path = MODEL_DIR) -> Path:
    """`<cache_dir>/reader-<hash of base sha256, adapter and the config fields the export uses>`."""
    config = ReaderConfig.read_from(model_dir)
    digest = hashlib.sha256(model_sha256.encode())
    digest.update(json.dumps([getattr(config, name) for name in ReaderConfig.EXPORTED]).encode())
    digest.update((model_dir / "adapter.safetensors").read_bytes())
    return Path(cache_dir) / f"reader-{digest.hexdigest()[:16]}"
