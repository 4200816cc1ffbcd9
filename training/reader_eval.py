"""Measure the committed reader as the bot runs it (ONNX, fp32 and int8), and calibrate it.

On the held-out train articles: the null threshold (at most 10% of answerable questions falsely
declined) and whether int8 keeps quality. On the SQuAD dev sample, which nothing was tuned on:
oracle-window EM/F1, null detection at that threshold over the top-3 retrieved windows, and read
latency against one query embedding in the same run. `--write` records the int8 choice in
`bot/models/reader/config.json` and the no-answer threshold in the policy file (`bot/policy.py`). Run by `make train`; `python -m training.reader_eval`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from bot.reader import MODEL_DIR, OnnxReader, export_folder, load_tokenizer
from bot.reader_export import load_reader
from index.embeddings import bundled_embedder
from index.onnx_query import load_or_export
from knowledge.settings import PROJECT_ROOT, Settings, go_offline
from training.policy_file import update
from training.reader_data import (
    DEV_FILE,
    HELD_OUT_TITLES,
    TRAIN_FILE,
    cached_embeddings,
    evaluate,
    load_squad,
    threshold_for,
)

FALSE_DECLINES = (0.05, 0.10, 0.20)  # trade-off points, each threshold chosen on the held-out articles


def latency_windows(paragraphs, tokenizer, question: str, tokens: int = 70, count: int = 4) -> list[str]:
    """`count` dev sentences (or pairs) whose pair with `question` is closest to `tokens` word pieces."""
    texts = {p.window(max(0, i - 1), i)[0] for p in paragraphs for i in range(len(p.sentences))}
    length = lambda w: len(tokenizer.encode(question, w).ids)  # noqa: E731
    return sorted(sorted(texts), key=lambda w: abs(length(w) - tokens))[:count]


def median_ms(action, runs: int) -> float:
    action()
    times = []
    for i in range(runs):
        began = time.perf_counter()
        action(i)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def measure_quality(readers, held, dev) -> dict:
    """Held-out and dev scores of each variant, at thresholds chosen on the held-out articles."""
    variants = {}
    for variant, reader in readers.items():
        print(f"{variant}: reading the held-out articles and the dev sample …", flush=True)
        on_held, on_dev = evaluate(reader, *held), evaluate(reader, *dev)
        points = []
        for target in FALSE_DECLINES:
            threshold = threshold_for(on_held, target)
            declined, falsely = on_dev.declined(threshold)
            held_declined, held_falsely = on_held.declined(threshold)
            points.append({
                "target_false_declines": target, "threshold": round(threshold, 3),
                "held_out": {"impossible_declined": held_declined, "answerable_declined": held_falsely},
                "dev": {"impossible_declined": declined, "answerable_declined": falsely,
                        "answerable_f1": on_dev.end_to_end_f1(threshold)},
            })  # fmt: skip
        variants[variant] = {
            "held_out": {"oracle_exact": on_held.oracle_exact, "oracle_f1": on_held.oracle_f1},
            "dev": {"oracle_exact": on_dev.oracle_exact, "oracle_f1": on_dev.oracle_f1,
                    "retrieval_hits": on_dev.retrieval_hits, "answerable": len(on_dev.answerable_margins),
                    "impossible": len(on_dev.impossible_margins)},
            "trade_off": points,
        }  # fmt: skip
    return variants


def measure_latency(readers, encoder, paragraphs, question: str, runs: int) -> dict:
    """Median ms of one query embedding and of `read()` on 1, 2 and 4 windows of ~70 tokens, same run."""
    tokenizer = load_tokenizer(next(iter(readers.values())).folder / "tokenizer.json", 512)
    windows = latency_windows(paragraphs, tokenizer, question)
    latency = {"query_embedding": median_ms(lambda i=0: encoder._encode_one(f"{question} ({i})"), runs)}
    for variant, reader in readers.items():
        for n in (1, 2, 4):
            latency[f"read_{variant}_{n}"] = median_ms(lambda i=0, r=reader, n=n: r.read(question, windows[:n]), runs)
    latency = {k: round(v, 2) for k, v in latency.items()}
    return {"ms": latency, "window_tokens": [len(tokenizer.encode(question, w).ids) for w in windows]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", action="store_true", help="record the int8 choice in config.json, the threshold in the policy file"
    )
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR, help="the adapter and config to measure")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per latency figure")
    parser.add_argument("--latency-only", action="store_true", help="only the latency figures")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "evals" / "out" / "reader-eval.json")
    args = parser.parse_args(argv)
    go_offline()
    settings = Settings.from_env()
    encoder = load_or_export(settings.cache_dir, bundled_embedder(settings.model_sha256))
    if encoder is None:
        raise SystemExit("the ONNX query encoder could not be exported (see the warning above)")
    load_reader(settings.cache_dir, settings.model_sha256, progress=True, model_dir=args.model_dir)
    folder = export_folder(settings.cache_dir, settings.model_sha256, args.model_dir)
    readers = {q: OnnxReader(folder, quantized=q == "int8", model_dir=args.model_dir) for q in ("fp32", "int8")}
    dev_p, dev_q = load_squad(DEV_FILE)
    latency = measure_latency(readers, encoder, dev_p, dev_q[0].text, args.runs)
    if args.latency_only:
        print(json.dumps(latency, indent=2))
        return
    held_p, held_q = load_squad(TRAIN_FILE, titles=HELD_OUT_TITLES)
    embed = lambda: encoder  # noqa: E731
    held = (held_p, held_q, *cached_embeddings("held-out", held_p, held_q, embed))
    dev = (dev_p, dev_q, *cached_embeddings("dev", dev_p, dev_q, embed))
    report = {"held_out_titles": list(HELD_OUT_TITLES), "variants": measure_quality(readers, held, dev), **latency}

    # int8 when, on the held-out articles, it costs at most 1 point of F1 and 2 of declines, and is faster.
    fp32, int8 = (report["variants"][v] for v in ("fp32", "int8"))
    f1_drop = fp32["held_out"]["oracle_f1"] - int8["held_out"]["oracle_f1"]
    declines = [v["trade_off"][1]["held_out"]["impossible_declined"] for v in (fp32, int8)]
    faster = latency["ms"]["read_int8_4"] < latency["ms"]["read_fp32_4"]
    quantized = f1_drop <= 0.01 and declines[0] - declines[1] <= 0.02 and faster
    chosen = report["variants"]["int8" if quantized else "fp32"]
    report["chosen"] = {"quantized": quantized, "null_threshold": chosen["trade_off"][1]["threshold"]}
    print(json.dumps(report, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.write:
        path = args.model_dir / "config.json"
        config = json.loads(path.read_text(encoding="utf-8"))
        config.update(quantized=quantized, measured=report)
        path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        null_threshold = report["chosen"]["null_threshold"]
        update({"reader_null_threshold": null_threshold}, "training/reader_eval.py --write: held-out articles")
        print(f"recorded {report['chosen']} in {path} and the policy file")


if __name__ == "__main__":
    main()
