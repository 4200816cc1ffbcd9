"""`make bench-scale`: the index and the answer path at 1k, 20k and 50k chunks of real Wikipedia.

Unpacks the shared corpus into a temporary folder (outside the repo), takes the first N files in
name order for each size, and prints medians of several runs: index build time and throughput
against the model's raw encode throughput (same run), on-disk size, no-op and one-changed-file
re-sync, cold `dsqa ask`, start-up, warm answer p50/p95 with per-stage timings, retrieval hit@5 on
the corpus questions, and the answering process's peak RSS; the LangChain baseline recipe and a
Chroma server beside them. Embeddings are cached by content hash across runs (outside the repo), so
repeated runs measure everything but embedding: the output says how many texts came from the cache.

    python -m evals.bench_scale [--sizes 1000,20000,50000] [--runs 3] [--no-baseline] [--no-server]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from evals.chroma_server import start_chroma_server
from evals.scale_processes import hit, median
from knowledge.settings import PROJECT_ROOT, Settings, go_offline

CORPUS = PROJECT_ROOT.parent / "shared" / "data" / "wiki-scale-corpus.tar.gz"
CACHE = Path.home() / ".cache" / "deepspace-qa" / "bench-embeddings"  # the embeddings of the corpus, across runs


def unpack(target: Path, corpus: Path = CORPUS) -> tuple[list[Path], list[dict]]:
    """The corpus's article files (in name order) and its questions."""
    with tarfile.open(corpus) as archive:
        archive.extractall(target, filter="data")
    root = next(target.glob("**/questions.json")).parent
    return sorted((root / "articles").iterdir()), json.loads((root / "questions.json").read_text(encoding="utf-8"))


def first_files_with(files: list[Path], chunks: int) -> list[Path]:
    """The first files, in name order, holding at least `chunks` chunks between them."""
    from index.records import derive_records
    from knowledge.loaders import load_article

    settings, taken, total = Settings(), [], 0
    for path in files:
        article = load_article(path)
        if article is not None:
            total += len(derive_records(article, settings.chunk_size, settings.chunk_overlap).chunks)
        taken.append(path)
        if total >= chunks:
            break
    return taken


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _answer_run(
    knowledge: Path, index: Path, questions_file: Path, chroma_url: str = "", mode: str = "--answer"
) -> dict:
    command = [sys.executable, "-m", "evals.scale_processes", mode, str(knowledge), str(index), str(questions_file)]
    done = subprocess.run(
        command + ([chroma_url] if chroma_url else []), capture_output=True, text=True, cwd=PROJECT_ROOT, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cold_ask(knowledge: Path, index: Path, question: str) -> float:
    began = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "cli.py"),
            "ask",
            question,
            "--knowledge",
            str(knowledge),
            "--index",
            str(index),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "DSQA_WATCH": "0"},
    )
    return time.perf_counter() - began


# --- the baseline --------------------------------------------------------------------------------
def baseline_figures(knowledge: Path, questions: list[dict], embedder) -> dict:
    from evals.baseline import BaselineBot

    bot = BaselineBot(knowledge, embedder=embedder)
    began = time.perf_counter()
    bot.index()
    build = time.perf_counter() - began
    bot.ask(questions[0]["question"])
    totals, hits = [], 0
    for q in questions:
        embedder.clear_cache()  # as for the bot: each question embedded anew, not from an earlier size's run
        t = time.perf_counter()
        answer = bot.ask(q["question"])
        totals.append((time.perf_counter() - t) * 1000)
        hits += hit(answer.retrieved, q)
    totals.sort()
    return {
        "build_s": build,
        "p50_ms": median(totals),
        "p95_ms": totals[int(0.95 * (len(totals) - 1))],
        "hit5": hits / len(questions),
    }


# --- one size ----------------------------------------------------------------------------------
def measure_size(
    files, questions, chunks, embedder, raw_rate, work: Path, runs: int, full: bool, baseline: bool, server: bool
):
    from index.build import sync_index
    from index.folder import IndexFolder
    from knowledge.loaders import load_articles

    knowledge, index_dir = work / f"articles-{chunks}", work / f"index-{chunks}"
    knowledge.mkdir()
    for path in first_files_with(files, chunks):
        shutil.copy(path, knowledge / path.name)
    articles = load_articles(knowledge)
    titles = {a.title for a in articles}
    asked = [q for q in questions if q["title"] in titles]
    questions_file = work / f"questions-{chunks}.json"
    questions_file.write_text(json.dumps(asked), encoding="utf-8")
    folder = IndexFolder(index_dir)
    settings = Settings()

    misses, encoding = embedder.misses, embedder.encode_seconds
    began = time.perf_counter()
    report = sync_index(articles, folder, embedder, settings.chunk_size, settings.chunk_overlap)
    build = time.perf_counter() - began
    embedded_now = embedder.misses - misses
    snapshot = folder.snapshot()
    texts = report.embedded
    # Everything but embedding, and the indexing throughput it gives at the model's raw rate: what a
    # build without the cache achieves (the cache only removes the model's own time).
    overhead = build - (embedder.encode_seconds - encoding)
    projected = texts / (overhead + texts / raw_rate)

    def sync(verify: bool) -> float:
        t = time.perf_counter()
        sync_index(load_articles(knowledge), folder, embedder, verify=verify)
        return time.perf_counter() - t

    noop_quick = median([sync(False) for _ in range(runs)])
    noop_full = median([sync(True) for _ in range(runs)])
    changed_total, changed_embed = [], []
    target = sorted(knowledge.iterdir())[len(list(knowledge.iterdir())) // 2]
    original = target.read_text(encoding="utf-8")
    for n in range(runs):
        target.write_text(
            original + f"\n\nA sentence added by the benchmark, run {n}, to change this file.\n", encoding="utf-8"
        )
        before_time = embedder.encode_seconds
        changed_total.append(sync(False))
        changed_embed.append(embedder.encode_seconds - before_time)
    target.write_text(original, encoding="utf-8")
    sync(False)

    retrieving = [_answer_run(knowledge, index_dir, questions_file, mode="--retrieve") for _ in range(runs)]
    row = {
        "chunks": snapshot.manifest["chunks"],
        "sentences": snapshot.manifest["sentences"],
        "articles": len(articles),
        "questions": len(asked),
        "build_s": build,
        "embedded_now": embedded_now,
        "texts": texts,
        "overhead_s": overhead,
        "throughput_vs_raw": projected / raw_rate,
        "disk_mb": _du(index_dir) / 1e6,
        "noop_quick_s": noop_quick,
        "noop_full_s": noop_full,
        "one_changed_s": median(changed_total),
        "one_changed_embed_s": median(changed_embed),
        "index_open_s": median([r["open_s"] for r in retrieving]),
        "retrieve_p50_ms": median([r["p50_ms"] for r in retrieving]),
        "retrieve_p95_ms": median([r["p95_ms"] for r in retrieving]),
        "retrieve_hit5": retrieving[0]["hit5"],
        "retrieve_rss_mb": max(r["rss_mb"] for r in retrieving),
    }
    if not full:
        return row
    answering = [_answer_run(knowledge, index_dir, questions_file) for _ in range(runs)]
    row["bot"] = {
        "cold_ask_s": median([_cold_ask(knowledge, index_dir, asked[0]["question"]) for _ in range(runs)]),
        "startup_s": median([a["startup_s"] for a in answering]),
        "p50_ms": median([a["p50_ms"] for a in answering]),
        "p95_ms": median([a["p95_ms"] for a in answering]),
        "stages_ms": {k: median([a["stages_ms"][k] for a in answering]) for k in answering[0]["stages_ms"]},
        "hit5": answering[0]["hit5"],
        "rss_mb": max(a["rss_mb"] for a in answering),
    }
    for name, wanted, measure in (
        ("baseline", baseline, lambda: baseline_figures(knowledge, asked, embedder)),
        (
            "server",
            server,
            lambda: server_figures(knowledge, questions_file, embedder, work / f"server-{chunks}", answering[0], row),
        ),
    ):
        if wanted:
            try:
                row[name] = measure()
            except Exception as exc:  # a side measurement failing must not lose the main one
                print(f"{name} at {chunks} chunks failed: {exc}", file=sys.stderr)
    return row


def server_figures(knowledge: Path, questions_file: Path, embedder, work: Path, embedded: dict, row: dict) -> dict:
    """The same folder indexed with its vectors on a `chroma run` server, answered in a new process."""
    from index.build import sync_index
    from index.folder import IndexFolder
    from index.store import ChromaServer
    from knowledge.loaders import load_articles

    work.mkdir()
    process, url = start_chroma_server(work / "chroma")
    try:
        folder = IndexFolder(work / "index")
        began = time.perf_counter()
        sync_index(load_articles(knowledge), folder, embedder, server=ChromaServer(url, folder.identity()))
        build = time.perf_counter() - began
        run = _answer_run(knowledge, work / "index", questions_file, url)
    finally:
        process.terminate()
        process.wait(timeout=60)
    same = sum(a == b for a, b in zip(run["answers"], embedded["answers"], strict=True)) / len(run["answers"])
    return {
        "build_s": build,
        "startup_s": run["startup_s"],
        "p50_ms": run["p50_ms"],
        "p95_ms": run["p95_ms"],
        "ratio": run["p50_ms"] / row["bot"]["p50_ms"],
        "hit5": run["hit5"],
        "same_answers": same,
    }


def measure_raw_rate(model, files: list[Path], n: int = 512) -> float:
    """The model's own encode throughput (texts/s) on this corpus's texts, uncached, now."""
    from index.records import derive_records
    from knowledge.loaders import load_article

    texts: list[str] = []
    for path in files[20:]:
        article = load_article(path)
        if article is not None:
            texts += derive_records(article, 700, 150).texts_to_embed()
        if len(texts) >= n:
            break
    texts = texts[:n]
    began = time.perf_counter()
    model.encode(texts)
    return len(texts) / (time.perf_counter() - began)


def print_table(rows: list[dict], raw_rate: float, embedder) -> None:
    print(f"\ndeepspace-qa bench-scale ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, medians)")
    print(
        f"embeddings: {embedder.hits} texts from the cache, {embedder.misses} embedded now "
        f"(cache by content hash in {embedder.folder}); raw encode {raw_rate:.0f} texts/s"
    )
    lines = [
        ("chunks (sentences, articles)", lambda r: f"{r['chunks']:,} ({r['sentences']:,}, {r['articles']})"),
        (
            "index build, s (texts; embedded now)",
            lambda r: f"{r['build_s']:.1f} ({r['texts']:,}; {r['embedded_now']:,})",
        ),
        ("  non-embedding work, s", lambda r: f"{r['overhead_s']:.1f}"),
        ("  throughput vs raw encode", lambda r: f"{r['throughput_vs_raw']:.0%}"),
        ("on-disk size, MB", lambda r: f"{r['disk_mb']:.0f}"),
        ("no-op re-sync, s (question / dsqa index)", lambda r: f"{r['noop_quick_s']:.2f} / {r['noop_full_s']:.2f}"),
        (
            "one changed file re-sync, s (embedding)",
            lambda r: f"{r['one_changed_s']:.2f} ({r['one_changed_embed_s']:.2f})",
        ),
        ("index open (snapshot, core), s", lambda r: f"{r['index_open_s']:.2f}"),
        ("retrieval p50 / p95, ms", lambda r: f"{r['retrieve_p50_ms']:.0f} / {r['retrieve_p95_ms']:.0f}"),
        ("retrieval hit@5 (questions)", lambda r: f"{r['retrieve_hit5']:.2f} ({r['questions']})"),
        ("peak RSS, retrieval process, MB", lambda r: f"{r['retrieve_rss_mb']:.0f}"),
        ("bot: cold dsqa ask, s", lambda r: _b(r, "bot", lambda b: f"{b['cold_ask_s']:.2f}")),
        ("bot: start-up, s", lambda r: _b(r, "bot", lambda b: f"{b['startup_s']:.2f}")),
        ("bot: warm answer p50 / p95, ms", lambda r: _b(r, "bot", lambda b: f"{b['p50_ms']:.0f} / {b['p95_ms']:.0f}")),
        (
            "bot: per stage p50, ms",
            lambda r: _b(
                r, "bot", lambda b: " ".join(f"{k} {v:.0f}" for k, v in b["stages_ms"].items() if k != "total")
            ),
        ),
        ("bot: hit@5", lambda r: _b(r, "bot", lambda b: f"{b['hit5']:.2f}")),
        ("bot: peak RSS, MB", lambda r: _b(r, "bot", lambda b: f"{b['rss_mb']:.0f}")),
        (
            "baseline: build s, p50 / p95 ms",
            lambda r: _b(r, "baseline", lambda b: f"{b['build_s']:.0f}, {b['p50_ms']:.0f} / {b['p95_ms']:.0f}"),
        ),
        ("baseline: hit@4", lambda r: _b(r, "baseline", lambda b: f"{b['hit5']:.2f}")),
        (
            "server: p50 / p95 ms (× embedded)",
            lambda r: _b(r, "server", lambda s: f"{s['p50_ms']:.0f} / {s['p95_ms']:.0f} ({s['ratio']:.2f}×)"),
        ),
        (
            "server: start-up s, same answers",
            lambda r: _b(r, "server", lambda s: f"{s['startup_s']:.2f}, {s['same_answers']:.0%}"),
        ),
    ]
    width = max(len(name) for name, _ in lines)
    for name, cell in lines:
        print(f"  {name:<{width}}  " + "  ".join(f"{cell(r):>24}" for r in rows))
    print(
        "  bot/baseline/server rows: only up to --full-up-to chunks (whole answers are the slow part of a run).\n"
        "  Retrieval rows: the index side alone."
    )


def _b(row: dict, key: str, show) -> str:
    return show(row[key]) if key in row else "—"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,20000,50000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-server", action="store_true")
    parser.add_argument("--cache", type=Path, default=CACHE, help="Folder of cached corpus embeddings")
    parser.add_argument(
        "--full-up-to",
        type=int,
        default=20000,
        help="Measure whole answers (the Bot, the baseline, the server) only up to this many chunks",
    )
    args = parser.parse_args()
    go_offline()
    from evals.embedding_cache import CachedEmbedder
    from index.embeddings import SentenceEmbedder

    embedder = CachedEmbedder(SentenceEmbedder(), args.cache)
    with tempfile.TemporaryDirectory(prefix="dsqa-scale-") as folder:
        work = Path(folder)
        files, questions = unpack(work / "corpus")
        raw_rate = measure_raw_rate(embedder.inner, files)
        rows = []
        for size in [int(s) for s in args.sizes.split(",")]:
            rows.append(
                measure_size(
                    files,
                    questions,
                    size,
                    embedder,
                    raw_rate,
                    work,
                    args.runs,
                    size <= args.full_up_to,
                    size <= args.full_up_to and not args.no_baseline,
                    size <= args.full_up_to and not args.no_server,
                )
            )
            print_table(rows, raw_rate, embedder)
        out = PROJECT_ROOT / "evals" / "out"
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench-scale.json").write_text(json.dumps(rows, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
