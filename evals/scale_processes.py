"""The benchmark's measuring processes: each runs in a fresh Python process, opens an index the way
the product does, asks the corpus questions and prints one JSON line of figures (start-up, warm
p50/p95 with per-stage timings, hit@5, peak RSS). `evals/bench_scale.py` starts and reads them.

    python -m evals.scale_processes --answer KNOWLEDGE INDEX QUESTIONS [CHROMA_URL]
    python -m evals.scale_processes --retrieve KNOWLEDGE INDEX QUESTIONS
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from dataclasses import replace
from pathlib import Path

from knowledge.settings import Settings, go_offline


def median(values) -> float:
    """The median, NaN for none."""
    return statistics.median(values) if values else float("nan")


def answering_process(knowledge: str, index: str, questions_file: str, chroma_url: str = "") -> None:
    """Run in a fresh process (`--answer`): prints one JSON line of measurements."""
    go_offline()
    began = time.perf_counter()
    from bot import Bot

    settings = Settings.from_env(knowledge_dir=Path(knowledge), index_dir=Path(index), progress=False, watch=False)
    settings = replace(settings, chroma_url=chroma_url)
    bot = Bot(settings=settings)
    bot._ensure_ready()
    startup = time.perf_counter() - began
    questions = json.loads(Path(questions_file).read_text(encoding="utf-8"))
    bot.ask(questions[0]["question"])  # warm
    totals, stages, hits, texts = [], {}, 0, []
    for q in questions:
        bot.query_encoder.clear_cache()
        t = time.perf_counter()
        answer = bot.ask(q["question"])
        totals.append((time.perf_counter() - t) * 1000)
        for stage, ms in answer.timings.items():
            stages.setdefault(stage, []).append(ms)
        hits += hit(answer.retrieved, q)
        texts.append(answer.text)
    totals.sort()
    print(
        json.dumps(
            {
                "startup_s": startup,
                "p50_ms": median(totals),
                "p95_ms": totals[int(0.95 * (len(totals) - 1))],
                "stages_ms": {k: median(v) for k, v in stages.items()},
                "hit5": hits / len(questions),
                "rss_mb": peak_rss_mb(),
                "answers": texts,
            }
        )
    )


def retrieval_process(knowledge: str, index: str, questions_file: str) -> None:
    """Run in a fresh process (`--retrieve`): the index side alone — open the snapshot's search index,
    then hybrid retrieval per question. One JSON line."""
    go_offline()
    began = time.perf_counter()
    from bot.retrieve import HybridRetriever, SearchIndex
    from index.embeddings import bundled_embedder
    from index.folder import IndexFolder
    from index.onnx_query import load_or_export

    settings = Settings()
    snapshot = IndexFolder(index).snapshot()
    search = SearchIndex.load(snapshot)
    opened = time.perf_counter() - began
    encoder = load_or_export(settings.cache_dir, bundled_embedder(settings.model_sha256))
    retriever = HybridRetriever(search_index=search, store=snapshot, embedder=encoder, top_k=5, candidates_k=20)
    questions = json.loads(Path(questions_file).read_text(encoding="utf-8"))
    retriever.retrieve(questions[0]["question"])
    times, hits = [], 0
    for q in questions:
        encoder.clear_cache()
        t = time.perf_counter()
        ranked = retriever.retrieve(q["question"]).ranking
        times.append((time.perf_counter() - t) * 1000)
        hits += hit([search.chunks[i] for i, _ in ranked], q)
    times.sort()
    print(
        json.dumps(
            {
                "open_s": opened,
                "p50_ms": median(times),
                "p95_ms": times[int(0.95 * (len(times) - 1))],
                "hit5": hits / len(questions),
                "rss_mb": peak_rss_mb(),
            }
        )
    )


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM; `ru_maxrss` would report the parent's after fork+exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hit(retrieved, question: dict) -> bool:
    """A retrieved chunk of the question's article holds one of its gold answers."""
    golds = [a.lower() for a in question["answers"]]
    return any(c.title == question["title"] and any(g in c.text.lower() for g in golds) for c in retrieved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answer", nargs="+", metavar="ARG", help="knowledge index questions [chroma_url]")
    parser.add_argument("--retrieve", nargs=3, metavar="ARG", help="knowledge index questions")
    args = parser.parse_args()
    if args.answer:
        answering_process(*args.answer)
    elif args.retrieve:
        retrieval_process(*args.retrieve)
    else:
        parser.error("give --answer or --retrieve")


if __name__ == "__main__":
    main()
