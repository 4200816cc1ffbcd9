"""The reader's one-time export (torch): merge the committed LoRA adapter and QA head into the bundled
base, export to ONNX, quantise a copy to int8, check both against torch, and publish the cache folder
atomically. `load_reader` opens the cached export, exporting first only when its folder is missing.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np

from bot.reader import (
    CHECK_SAMPLES,
    MODEL_DIR,
    OnnxReader,
    ReaderConfig,
    encode_pairs,
    export_folder,
    feed,
    load_tokenizer,
)
from knowledge.settings import BUNDLED_MODEL_SHA256


def load_reader(
    cache_dir: Path, model_sha256: str = BUNDLED_MODEL_SHA256, progress: bool = False, model_dir: Path = MODEL_DIR
) -> OnnxReader:
    """The reader from `cache_dir`, exported there first if it is not yet (that step needs torch)."""
    folder = export_folder(cache_dir, model_sha256, model_dir)
    if not (folder / "model.int8.onnx").exists():
        export(folder, model_sha256, progress, model_dir)
    return OnnxReader(folder, model_dir=model_dir)


def merged_model(model_dir: Path = MODEL_DIR, model_sha256: str = BUNDLED_MODEL_SHA256):
    """The bundled base (sha256 checked) with the committed LoRA deltas and QA head merged in (torch)."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForQuestionAnswering
    from transformers.utils import logging

    from index.embeddings import bundled_identity, bundled_model_dir

    bundled_identity(model_sha256)
    config = ReaderConfig.read_from(model_dir)
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    model = AutoModelForQuestionAnswering.from_pretrained(
        str(bundled_model_dir()), num_hidden_layers=config.num_hidden_layers
    )
    state, tensors = model.state_dict(), load_file(str(model_dir / "adapter.safetensors"))
    with torch.no_grad():
        for name, tensor in tensors.items():
            if name.endswith(".lora_A.weight"):  # W += (alpha / r) · B A
                layer = name.removesuffix(".lora_A.weight")
                delta = tensors[layer + ".lora_B.weight"].float() @ tensor.float()
                state[layer + ".weight"] += delta * (config.lora_alpha / config.lora_rank)
            elif not name.endswith(".lora_B.weight"):  # the QA head, stored whole
                state[name].copy_(tensor.float())
    return model.eval().requires_grad_(False)


def export(folder: Path, model_sha256: str = BUNDLED_MODEL_SHA256, progress: bool = False, model_dir=MODEL_DIR) -> None:
    """Merge, export to ONNX, check against torch, quantise to int8; atomically publish `folder`."""
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if progress else (lambda text: None)
    say("Reader: merging the adapter into the bundled model …")
    model = merged_model(model_dir, model_sha256)
    building = folder.with_name(f"{folder.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        _export_into(building, model, model_dir, say)
        os.replace(building, folder)
    except OSError:
        if not (folder / "model.int8.onnx").exists():  # not "another process published it first"
            raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    say(f"Reader: cached in {folder}")


def _export_into(building: Path, model, model_dir: Path, say) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from index.embeddings import bundled_model_dir

    shutil.copy(bundled_model_dir() / "tokenizer.json", building / "tokenizer.json")
    tokenizer = load_tokenizer(building / "tokenizer.json", ReaderConfig.read_from(model_dir).max_length)
    encodings = [encode_pairs(tokenizer, q, [w])[0] for q, w in CHECK_SAMPLES]
    inputs = {k: torch.from_numpy(v) for k, v in feed(encodings).items()}

    class Logits(torch.nn.Module):  # the model as a submodule, so its weights export as initializers
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.start_logits, out.end_logits

    say("Reader: exporting to ONNX …")
    axes = {name: {0: "batch", 1: "tokens"} for name in (*inputs, "start_logits", "end_logits")}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        reference = [t.numpy() for t in Logits()(**inputs)]
        torch.onnx.export(
            Logits(), tuple(inputs.values()), str(building / "model.onnx"), input_names=list(inputs),
            output_names=["start_logits", "end_logits"], dynamic_axes=axes, opset_version=17, dynamo=False,
        )  # fmt: skip
    say("Reader: quantising to int8 …")
    logging.disable(logging.WARNING)  # its advice to pre-process the graph is for image models
    try:
        quantize_dynamic(building / "model.onnx", building / "model.int8.onnx", weight_type=QuantType.QInt8)
    finally:
        logging.disable(logging.NOTSET)
    # fp32 must match torch; int8 only approximates it, so this only catches a broken graph (its
    # quality is measured separately by `training/reader_eval.py`).
    feed_np = {k: v.numpy() for k, v in inputs.items()}
    real = feed_np["attention_mask"].astype(bool)
    for quantized in (False, True):
        got = OnnxReader(building, quantized=quantized, model_dir=model_dir)._session.run(None, feed_np)
        gap = max(float(np.max(np.abs(g - r)[real])) for g, r in zip(got, reference, strict=True))
        agreement = min(float(np.corrcoef(g[real], r[real])[0, 1]) for g, r in zip(got, reference, strict=True))
        if (gap > 1e-3) if not quantized else (agreement < 0.9):
            raise RuntimeError(
                f"reader export (int8={quantized}) disagrees with torch: gap {gap:.4f}, r {agreement:.4f}"
            )
