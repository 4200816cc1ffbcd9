"""`make train`: fine-tune the bundled all-MiniLM-L6-v2 into a SQuAD 2.0-style extractive reader with
LoRA, and save only the adapter and QA head (fp16) in `bot/models/reader/`.

Input `[CLS] question [SEP] window [SEP]`; the loss is cross-entropy of the start and end positions,
with [CLS] as both for windows that do not answer. Trained on the SQuAD train sample less two held-out
articles (model selection); the dev sample is never read here. Fixed seeds: the same run gives the same
model on the same machine. `python -m training.reader --help` lists the knobs.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.reader import MODEL_DIR, SpanPrediction, best_spans, encode_pairs, feed, load_tokenizer
from index.embeddings import bundled_identity, bundled_model_dir
from knowledge.settings import BUNDLED_MODEL_SHA256, go_offline
from training.reader_data import (
    HELD_OUT_TITLES,
    TRAIN_FILE,
    cached_embeddings,
    evaluate,
    load_squad,
    threshold_for,
    training_examples,
)


class TorchReader:
    """The model being trained, behind the `Reader` protocol, for held-out evaluation."""

    def __init__(self, model, tokenizer, max_answer_tokens: int = 30):
        self.model, self.tokenizer, self.max_answer_tokens = model, tokenizer, max_answer_tokens

    def read(self, question: str, windows) -> list[SpanPrediction]:
        import torch

        encodings = encode_pairs(self.tokenizer, question, windows)
        with torch.inference_mode():
            out = self.model(**{k: torch.from_numpy(v) for k, v in feed(encodings).items()})
        return best_spans(out.start_logits.numpy(), out.end_logits.numpy(), encodings, windows, self.max_answer_tokens)


def labelled(examples, tokenizer):
    """(encoding, start token, end token) per example; null → (0, 0); answers cut off are dropped."""
    rows = []
    for ex in examples:
        [encoding] = encode_pairs(tokenizer, ex.question, [ex.window])
        start = end = 0
        if ex.start >= 0:
            context = [i for i, seq in enumerate(encoding.sequence_ids) if seq == 1]
            starts = [i for i in context if encoding.offsets[i][0] <= ex.start < encoding.offsets[i][1]]
            ends = [i for i in context if encoding.offsets[i][0] < ex.end <= encoding.offsets[i][1]]
            if not starts or not ends:
                continue
            start, end = starts[0], ends[-1]
        rows.append((encoding, start, end))
    return rows


def batches(rows, size: int, rng: random.Random):
    """Batches of similar length (little padding), in random order, as torch tensors."""
    import torch

    order = sorted(rng.sample(range(len(rows)), len(rows)), key=lambda i: len(rows[i][0].ids))
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(groups)
    for group in groups:
        inputs = {k: torch.from_numpy(v) for k, v in feed([rows[i][0] for i in group]).items()}
        inputs["start_positions"] = torch.tensor([rows[i][1] for i in group])
        inputs["end_positions"] = torch.tensor([rows[i][2] for i in group])
        yield inputs


def saved_name(name: str) -> str | None:
    """peft's name of a trained tensor → the committed one (the base model's module names); None if frozen."""
    name = name.replace("base_model.model.", "").replace("modules_to_save.default.", "")
    if "original_module" in name or ("lora_" not in name and "qa_outputs" not in name):
        return None
    return name.replace(".default", "")


def adapter_tensors(model) -> dict:
    """LoRA A/B and the QA head, named after the base model's modules, in fp16."""
    import torch

    named = ((saved_name(name), tensor) for name, tensor in model.state_dict().items())
    return {name: tensor.detach().to(torch.float16).contiguous() for name, tensor in named if name}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=4, help="transformer layers kept from the bottom")
    parser.add_argument("--rank", type=int, default=16, help="LoRA rank")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128, help="token budget of training pairs")
    parser.add_argument("--limit", type=int, default=0, help="use only N random pairs (quick runs)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    args = parser.parse_args(argv)

    go_offline()
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForQuestionAnswering, get_linear_schedule_with_warmup
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    began = time.time()
    say = lambda text: print(f"[{time.time() - began:6.0f}s] {text}", flush=True)  # noqa: E731

    bundled_identity(BUNDLED_MODEL_SHA256)
    counter = load_tokenizer(bundled_model_dir() / "tokenizer.json", args.max_length)
    counter.no_truncation()
    tokenizer = load_tokenizer(bundled_model_dir() / "tokenizer.json", args.max_length)
    count = lru_cache(maxsize=None)(lambda text: len(counter.encode(text, add_special_tokens=False).ids))
    fits = lambda question, window: count(question) + count(window) + 3 <= args.max_length  # noqa: E731

    from index.embeddings import SentenceEmbedder

    embedder = lru_cache(maxsize=1)(lambda: SentenceEmbedder("bundled:all-MiniLM-L6-v2", BUNDLED_MODEL_SHA256))
    train_p, train_q = load_squad(TRAIN_FILE, exclude=HELD_OUT_TITLES)
    held_p, held_q = load_squad(TRAIN_FILE, titles=HELD_OUT_TITLES)
    say(f"train: {len(train_q)} questions; held out ({', '.join(HELD_OUT_TITLES)}): {len(held_q)}")
    say("embedding sentences and questions (bundled model) …")
    train_vectors = cached_embeddings("train", train_p, train_q, embedder)
    held_vectors = cached_embeddings("held-out", held_p, held_q, embedder)
    examples = training_examples(train_p, train_q, *train_vectors, fits, seed=args.seed)
    rng = random.Random(args.seed)
    if args.limit:  # a quick run: fewer pairs, and a quarter as many held-out questions
        examples = [examples[i] for i in rng.sample(range(len(examples)), min(args.limit, len(examples)))]
        keep = sorted(rng.sample(range(len(held_q)), min(args.limit // 4, len(held_q))))
        held_q, held_vectors = [held_q[i] for i in keep], (held_vectors[0], held_vectors[1][keep])
    rows = labelled(examples, tokenizer)
    kinds = {kind: sum(e.kind == kind for e in examples) for kind in sorted({e.kind for e in examples})}
    say(f"{len(rows)} training pairs: {kinds}")

    model = AutoModelForQuestionAnswering.from_pretrained(str(bundled_model_dir()), num_hidden_layers=args.layers)
    lora = LoraConfig(
        r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.1,
        target_modules=["query", "key", "value", "dense"], modules_to_save=["qa_outputs"],
    )  # fmt: skip
    model = get_peft_model(model, lora)
    trainable = [p for p in model.parameters() if p.requires_grad]
    say(f"{args.layers} layers, LoRA rank {args.rank}: {sum(p.numel() for p in trainable):,} trainable parameters")
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(rows) + args.batch - 1) // args.batch)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * steps), steps)

    best, history, step = None, [], 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        losses, tick = [], time.time()
        for inputs in batches(rows, args.batch, rng):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = model(**inputs).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            step += 1
            if step % 25 == 0:
                rate = 25 * args.batch / (time.time() - tick)
                say(f"epoch {epoch} step {step}/{steps} loss {np.mean(losses[-25:]):.3f} ({rate:.1f} pairs/s)")
                tick = time.time()
        model.eval()
        if args.epochs == 1:  # nothing to choose between: `reader_eval.py` measures the export instead
            best = (0.0, epoch, adapter_tensors(model))
            break
        scores = evaluate(TorchReader(model, tokenizer), held_p, held_q, *held_vectors)
        declined, falsely = scores.declined(threshold_for(scores))
        selection = (scores.oracle_f1 + declined) / 2
        history.append({"epoch": epoch, "oracle_f1": scores.oracle_f1, "declined_at_10pct": declined})
        say(f"epoch {epoch}: held-out oracle F1 {scores.oracle_f1:.3f}, declined {declined:.3f} at {falsely:.3f} false")
        if best is None or selection > best[0]:
            best = (selection, epoch, adapter_tensors(model))

    from safetensors.torch import save_file

    args.out.mkdir(parents=True, exist_ok=True)
    save_file(best[2], str(args.out / "adapter.safetensors"))
    config = {
        "num_hidden_layers": args.layers, "lora_rank": args.rank, "lora_alpha": 2 * args.rank,
        "max_length": 256, "max_answer_tokens": 30, "base_sha256": BUNDLED_MODEL_SHA256,
        "trained": {**{k: v for k, v in vars(args).items() if k != "out"}, "epoch_kept": best[1],
                    "examples": kinds, "held_out_titles": list(HELD_OUT_TITLES), "history": history},
    }  # fmt: skip
    (args.out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    say(f"saved epoch {best[1]} to {args.out} ({(args.out / 'adapter.safetensors').stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
