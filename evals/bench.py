"""`make bench`: speed figures of the answer path beside the floor, measured in the same run.

Prints, as medians of several runs: the floor (one query embedding with the bundled model, both as
answers run it — ONNX — and with sentence-transformers), a warm instant (extractive) answer's p50/p95,
the read answer's (the local reading model's) p50/p95 and a condensed follow-up's p50, a cold `dsqa ask` (a new process, index already built), and indexing throughput
against the model's raw encode throughput on the same texts, and a follow-up's cost beside a first
question's. Figures, not pass/fail: the targets (warm p50 ≤ 3× floor, a follow-up ≤ 2× a first
question, cold < 4 s, indexing ≥ 90% of raw) are printed beside them.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from knowledge.settings import PROJECT_ROOT, Settings, go_offline

QUESTIONS = [
    "Where will the association be located?",
    "When will IDSEA launch?",
    "Who established the Deep Space Exploration Laboratory?",
    "Which countries are members of the ILRS?",
    "What did Sweden provide for Chang'e 6?",
    "What is the Global South?",
    "Who is 王中民?",
    "What is the capital of France?",
]


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def measure_floor(embedder, runs: int = 30) -> float:
    """Median ms of one query embedding (uncached: a new string each run)."""
    times = []
    for i in range(runs):
        text = f"{QUESTIONS[i % len(QUESTIONS)]} ({i})"
        began = time.perf_counter()
        embedder.encode([text])
        times.append(time.perf_counter() - began)
    return _median_ms(times[3:])


def _ask_times(bot, asks: list[tuple[str, list[dict] | None]], rounds: int, read: bool = False) -> list[float]:
    """Seconds to the instant (extractive) answer of each `bot.stream(question, history)`, or with `read`
    to its last answer (the reading model's, when it found a span), `rounds` times over, the
    query-embedding cache emptied before each (so every question is embedded anew)."""
    times = []
    for _ in range(rounds):
        for question, history in asks:
            bot.query_encoder.clear_cache()
            began = time.perf_counter()
            stream = bot.stream(question, history=history)
            next(stream)
            if read:
                for _ in stream:
                    pass
            times.append(time.perf_counter() - began)
    return times


def measure_read(bot, rounds: int = 3) -> tuple[float, float] | None:
    """p50 and p95 ms to the read answer (the reading model's span, or the instant answer kept when it
    found none in time), over the questions the bot answers; None without the reading model."""
    if bot.span_reader is None or not bot.span_reader.model.wait_loaded(120):
        return None
    answered = [(q, None) for q in QUESTIONS if not bot.ask(q).abstained]
    times = sorted(_ask_times(bot, answered, rounds, read=True))
    return _median_ms(times), times[int(0.95 * (len(times) - 1))] * 1000


def measure_warm(bot, rounds: int = 5) -> tuple[float, float]:
    """p50 and p95 ms to the instant answer on a warm bot, with the query-embedding cache emptied each time."""
    next(bot.stream(QUESTIONS[0]))
    times = sorted(_ask_times(bot, [(q, None) for q in QUESTIONS], rounds))
    return _median_ms(times), times[int(0.95 * (len(times) - 1))] * 1000


FOLLOW_UPS = [
    ("When will IDSEA launch?", "Where will it be based?"),
    ("What is the ILRS?", "Who leads it?"),
    ("What did Sweden provide for Chang'e 6?", "And for Chang'e 7?"),
]


def _conversations(bot) -> list[tuple[str, list[dict]]]:
    return [
        (follow_up, [{"role": "user", "content": first}, {"role": "assistant", "content": bot.ask(first).text}])
        for first, follow_up in FOLLOW_UPS
    ]


def measure_follow_up(bot, rounds: int = 5) -> float:
    """p50 ms to the instant answer of a follow-up asked with its conversation (the first question and its answer)."""
    return _median_ms(_ask_times(bot, _conversations(bot), rounds))


def measure_condensed(bot, rounds: int = 3) -> float | None:
    """p50 ms to a follow-up's last answer with the reading model: read, and first made standalone and
    answered afresh when `reader_condense` is on (`bot/close_reading.py`); None without the reading model."""
    if bot.span_reader is None or not bot.span_reader.model.wait_loaded(120):
        return None
    return _median_ms(_ask_times(bot, _conversations(bot), rounds, read=True))


def measure_cold(index_dir: Path, runs: int = 3) -> float:
    """Median seconds of a whole `dsqa ask` process against a built index (the extractive reader: a
    new process would otherwise also load the reading model, which a running chat has loaded once)."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, str(PROJECT_ROOT / "cli.py"), "ask", QUESTIONS[0], "--index", str(index_dir)],
            check=True,
            capture_output=True,
            env={**os.environ, "DSQA_READER": "extractive"},
        )
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def measure_indexing(embedder, settings: Settings, copies: int = 8, runs: int = 3) -> tuple[float, float, int]:
    """(raw encode texts/s, indexing texts/s, texts): the shipped articles, `copies` times over (so
    fixed costs weigh as they would in a real folder), embedded raw vs synced into a new index."""
    from dataclasses import replace

    from index.build import sync_index
    from index.folder import IndexFolder
    from index.records import derive_records
    from knowledge.loaders import load_articles

    originals = load_articles(settings.knowledge_dir)
    articles = [replace(a, id=f"{a.id}-{k}", text=f"{a.text}\nCopy {k}.\n") for k in range(copies) for a in originals]
    texts = [
        t for a in articles for t in derive_records(a, settings.chunk_size, settings.chunk_overlap).texts_to_embed()
    ]
    raw, indexing = [], []
    for _ in range(runs):
        began = time.perf_counter()
        embedder.encode(texts)
        raw.append(time.perf_counter() - began)
        with tempfile.TemporaryDirectory() as folder:
            index = IndexFolder(folder)
            began = time.perf_counter()
            report = sync_index(articles, index, embedder, settings.chunk_size, settings.chunk_overlap)
            indexing.append(time.perf_counter() - began)
            assert report.embedded == len(texts)
    return len(texts) / statistics.median(raw), len(texts) / statistics.median(indexing), len(texts)


def main() -> None:
    go_offline()
    from bot import Bot

    with tempfile.TemporaryDirectory() as folder:
        bot = Bot(settings=Settings.from_env(index_dir=Path(folder), progress=False))
        bot.index()  # as a user's first run: builds the index (and the query encoder, if not cached)
        encoder = bot.query_encoder  # what answers use: the ONNX export, or sentence-transformers
        floor = measure_floor(encoder)
        p50, p95 = measure_warm(bot)
        follow_up = measure_follow_up(bot)
        read = measure_read(bot)
        condensed = measure_condensed(bot)
        cold = measure_cold(Path(folder))
        embedder = bot.embedder.model() if hasattr(bot.embedder, "model") else bot.embedder
        torch_floor = measure_floor(embedder)
        raw, indexing, n_texts = measure_indexing(embedder, bot.settings)
    rows = [
        (f"floor: one query embedding ({type(encoder).__name__})", f"{floor:.1f} ms", "what answers use"),
        ("the same with sentence-transformers (torch)", f"{torch_floor:.1f} ms", "the issue's ~12 ms floor"),
        (
            "warm answer p50",
            f"{p50:.1f} ms",
            f"{p50 / floor:.2f}× the ONNX floor, {p50 / torch_floor:.2f}× the torch floor (target ≤ 3×)",
        ),
        ("warm answer p95", f"{p95:.1f} ms", f"{p95 / floor:.2f}× floor"),
        (
            "read short answer p50 / p95",
            f"{read[0] / 1000:.2f} / {read[1] / 1000:.2f} s" if read else "—",
            f"{bot.settings.reader_model} reading model (targets p50 ≤ 1.5 s, p95 ≤ 3 s)" if read else "reader off",
        ),
        ("warm follow-up p50", f"{follow_up:.1f} ms", f"{follow_up / p50:.2f}× a first question (target ≤ 2×)"),
        (
            "follow-up p50, last answer",
            f"{condensed / 1000:.2f} s" if condensed else "—",
            (("condensed, answered and read" if bot.settings.reader_condense else "read") + " (target ≤ 2.5 s)")
            if condensed
            else "reader off",
        ),
        ("cold `dsqa ask` (new process, extractive)", f"{cold:.2f} s", "target < 4 s"),
        ("raw encode throughput (SentenceEmbedder)", f"{raw:.0f} texts/s", f"{n_texts} texts (chunks + sentences)"),
        (
            "indexing throughput (sync into a new index)",
            f"{indexing:.0f} texts/s",
            f"{indexing / raw:.0%} of raw (target ≥ 90%)",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"deepspace-qa bench — medians of several runs on this machine ({time.strftime('%Y-%m-%d')})")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>14}  {note}")


if __name__ == "__main__":
    main()
