"""Run the eval suite: load `evals/cases/*.jsonl`, ask every case (history turns asked live) of a
`Bot`, score it, aggregate overall and per tag, and check the versioned thresholds.

A case folder may carry what it is asked over and what gates it: an `articles/` folder (then the
suite runs over those articles, in an index of its own, instead of the configured knowledge folder)
and a `thresholds.toml` (else `evals/thresholds.toml` applies). `load_suite` finds both.

Writing the files people read is `evals/report.py`'s job; the command line is `evals/cli.py`.
The bot is passed in (any object with `ask` and `articles`), so the baseline runs through the same code.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from evals.metrics import CaseScore, Rate, hit_at, mean, percentile, reciprocal_rank, score_case

EVALS_DIR = Path(__file__).resolve().parent
DEFAULT_CASES = EVALS_DIR / "cases"
DEFAULT_THRESHOLDS = EVALS_DIR / "thresholds.toml"
DEFAULT_OUT = EVALS_DIR / "out"
ARTICLES_FOLDER = "articles"  # a case folder's own articles
THRESHOLDS_FILE = "thresholds.toml"  # a case folder's own thresholds

# Summary metric → (label, higher is better, "rate" or "mean"); the order of every table.
METRICS: dict[str, tuple[str, bool, str]] = {
    "pass_rate": ("Cases passed", True, "rate"),
    "answer_accuracy": ("Answer accuracy", True, "rate"),
    "evidence_cited": ("Evidence cited", True, "rate"),
    "citation_validity": ("Citations valid", True, "rate"),
    "hit_at_1": ("Retrieval hit@1", True, "rate"),
    "hit_at_5": ("Retrieval hit@5", True, "rate"),
    "mrr": ("Retrieval MRR", True, "mean"),
    "abstention_accuracy": ("Abstains when unanswerable", True, "rate"),
    "false_refusal_rate": ("False refusals", False, "rate"),
}


class EvalInputError(ValueError):
    """A cases or thresholds file is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class Case:
    """One line of a cases file."""

    id: str
    question: str
    answerable: bool
    history: list[str] = field(default_factory=list)
    must: list[list[str]] = field(default_factory=list)
    evidence: str = ""
    tags: list[str] = field(default_factory=list)


def load_cases(path: str | Path) -> list[Case]:
    """Cases from one `.jsonl` file or every `*.jsonl` in a folder. `load_cases("evals/cases")[0].id`"""
    path = Path(path)
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not path.exists() or not files:
        raise EvalInputError(f"No cases found at {path} (expected a .jsonl file or a folder of them)")
    cases: list[Case] = []
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                cases.append(_parse_case(line, f"{file}:{number}"))
    ids = [c.id for c in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise EvalInputError(f"Duplicate case ids in {path}: {', '.join(duplicates)}")
    if not cases:
        raise EvalInputError(f"No cases found in {path}")
    return cases


@dataclass(frozen=True)
class Suite:
    """Cases and what they are asked over: `articles` is the case folder's own `articles/` (None: the
    configured knowledge folder); `thresholds` is the file that gates the run."""

    source: Path
    cases: list[Case]
    articles: Path | None
    thresholds: Path


def load_suite(path: str | Path, thresholds: str | Path | None = None) -> Suite:
    """The cases at `path` (a folder or one `.jsonl`) with the `articles/` and `thresholds.toml` beside them.

    An explicit `thresholds` wins over the folder's own file, which wins over `evals/thresholds.toml`.
    `load_suite("evals/cases/twin").articles` → Path('evals/cases/twin/articles')
    """
    path = Path(path)
    cases = load_cases(path)
    folder = path if path.is_dir() else path.parent
    articles = folder / ARTICLES_FOLDER
    own_thresholds = folder / THRESHOLDS_FILE
    if thresholds is None:
        thresholds = own_thresholds if own_thresholds.is_file() else DEFAULT_THRESHOLDS
    return Suite(path, cases, articles if articles.is_dir() else None, Path(thresholds))


@contextmanager
def suite_settings(suite: Suite, settings) -> Iterator:
    """`settings` for asking `suite`: unchanged, or over the suite's own articles with a temporary index
    (so the configured folder's index is never synced to other articles)."""
    if suite.articles is None:
        yield settings
        return
    with tempfile.TemporaryDirectory(prefix="dsqa-suite-") as scratch:
        yield replace(settings, knowledge_dir=suite.articles, index_dir=Path(scratch) / "index")


@contextmanager
def temporary_bot(write: Callable[[Path], None], prefix: str, settings_overrides: dict | None = None) -> Iterator:
    """(bot, knowledge folder, seconds spent indexing) for a benchmark: `write(folder)` fills a temporary
    knowledge folder, and a `Bot` over it is indexed in a temporary index (both removed afterwards)."""
    from bot import Bot
    from knowledge.settings import Settings

    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        knowledge = Path(scratch) / "knowledge"
        write(knowledge)
        settings = Settings.from_env(
            knowledge_dir=knowledge, index_dir=Path(scratch) / "index", progress=False, **(settings_overrides or {})
        )
        bot = Bot(settings=settings)
        started = time.perf_counter()
        bot.index()
        yield bot, knowledge, time.perf_counter() - started


def _parse_case(line: str, where: str) -> Case:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EvalInputError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(raw, dict):
        raise EvalInputError(f"{where}: expected a JSON object")
    missing = [key for key in ("id", "question", "answerable") if key not in raw]
    if missing:
        raise EvalInputError(f"{where}: missing {', '.join(missing)}")
    must = raw.get("must") or []
    if not all(isinstance(g, list) and all(isinstance(s, str) for s in g) for g in must):
        raise EvalInputError(f"{where}: 'must' must be a list of lists of strings")
    history = raw.get("history") or []
    if not all(isinstance(h, str) for h in history):
        raise EvalInputError(f"{where}: 'history' must be a list of earlier user questions")
    return Case(
        id=str(raw["id"]),
        question=str(raw["question"]),
        answerable=bool(raw["answerable"]),
        history=list(history),
        must=[list(g) for g in must],
        evidence=str(raw.get("evidence") or ""),
        tags=[str(t) for t in raw.get("tags") or []],
    )


def ask_with_history(bot, question: str, history: Sequence[str]):
    """Ask the earlier questions live, then `question` with the conversation so far, as a user would."""
    messages: list[dict] = []
    for earlier in history:
        reply = bot.ask(earlier, history=list(messages))
        messages += [{"role": "user", "content": earlier}, {"role": "assistant", "content": reply.text}]
    return bot.ask(question, history=messages)


def run_cases(
    bot, cases: Sequence[Case], progress: Callable[[Iterable], Iterable] | None = None, extra: Callable | None = None
) -> list[dict]:
    """Ask and score every case; one JSON-ready row per case (what `results.jsonl` holds), plus
    `extra(answer)`'s columns when given (the LLM run's)."""
    article_texts = {a.id: a.text for a in bot.articles()}
    rows = []
    for case in progress(cases) if progress else cases:
        started = time.perf_counter()
        answer = ask_with_history(bot, case.question, case.history)
        elapsed = (time.perf_counter() - started) * 1000
        row = result_row(case, answer, score_case(case, answer, article_texts), elapsed)
        rows.append(row | extra(answer) if extra else row)
    return rows


def result_row(case: Case, answer, score: CaseScore, elapsed_ms: float) -> dict:
    """The record of one case: what was asked, what came back, and pass/fail with the reasons."""
    return {
        "id": case.id,
        "tags": case.tags,
        "answerable": case.answerable,
        "history": case.history,
        "question": case.question,
        "query": answer.query,
        "answer": answer.text,
        "short_answer": getattr(answer, "short_answer", ""),
        "abstained": answer.abstained,
        "confidence": round(answer.confidence, 4),
        "citations": [
            {"number": c.number, "article_id": c.article_id, "quote": c.quote, "start": c.start, "end": c.end}
            for c in answer.citations
        ],
        "retrieved": [r.id for r in answer.retrieved],
        "must": case.must,
        "evidence": case.evidence,
        "evidence_rank": score.evidence_rank,
        "passed": score.passed,
        "reasons": score.reasons,
        "correct": score.correct,
        "evidence_cited": score.evidence_cited,
        "citations_valid": score.citations_valid,
        "timings": dict(answer.timings or {}) | {"case_total": elapsed_ms},
    }


def aggregate(rows: Sequence[dict]) -> dict:
    """Every metric of `METRICS` over some result rows: rates as `Rate.to_dict()`, MRR as a mean."""
    answerable = [r for r in rows if r["answerable"]]
    with_evidence = [r for r in answerable if r["evidence"]]
    ranks = [r["evidence_rank"] for r in with_evidence]
    mrr = mean(reciprocal_rank(k) for k in ranks)
    return {
        "cases": len(rows),
        "pass_rate": Rate.of_flags(r["passed"] for r in rows).to_dict(),
        "answer_accuracy": Rate.of_flags(r["correct"] for r in answerable).to_dict(),
        "evidence_cited": Rate.of_flags(r["evidence_cited"] for r in with_evidence).to_dict(),
        "citation_validity": Rate.of_flags(
            r["citations_valid"] for r in rows if r["citations"] or not r["abstained"]
        ).to_dict(),
        "hit_at_1": Rate.of_flags(hit_at(k, 1) for k in ranks).to_dict(),
        "hit_at_5": Rate.of_flags(hit_at(k, 5) for k in ranks).to_dict(),
        "mrr": {"value": mrr, "n": len(ranks)},
        "abstention_accuracy": Rate.of_flags(r["abstained"] for r in rows if not r["answerable"]).to_dict(),
        "false_refusal_rate": Rate.of_flags(r["abstained"] for r in answerable).to_dict(),
    }


def latency_summary(rows: Sequence[dict]) -> dict[str, dict[str, float]]:
    """p50/p95/mean milliseconds for every timed stage."""
    stages: dict[str, list[float]] = {}
    for row in rows:
        for stage, ms in row["timings"].items():
            if isinstance(ms, int | float) and not math.isnan(ms):
                stages.setdefault(stage, []).append(float(ms))
    return {
        s: {"p50": percentile(v, 50), "p95": percentile(v, 95), "mean": mean(v), "n": len(v)} for s, v in stages.items()
    }


def summarise(rows: Sequence[dict]) -> dict:
    """Overall metrics, the same per tag, and latency per stage."""
    tags = sorted({t for r in rows for t in r["tags"]})
    return {
        "overall": aggregate(rows),
        "by_tag": {t: aggregate([r for r in rows if t in r["tags"]]) for t in tags},
        "latency_ms": latency_summary(rows),
    }


def load_thresholds(path: str | Path = DEFAULT_THRESHOLDS) -> dict:
    """The `[min]` and `[max]` tables of a thresholds file (plus its `version`)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalInputError(f"Thresholds file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise EvalInputError(f"{path}: not valid TOML ({exc})") from None
    for table in ("min", "max"):
        if not all(isinstance(v, int | float) for v in data.get(table, {}).values()):
            raise EvalInputError(f"{path}: every value in [{table}] must be a number")
    return data


def metric_value(summary: dict, name: str) -> float:
    """A metric by threshold name: an overall metric, or `latency_<stage>_<p50|p95>_ms`."""
    if name.startswith("latency_") and name.endswith("_ms"):
        stage, _, which = name.removeprefix("latency_").removesuffix("_ms").rpartition("_")
        return summary["latency_ms"].get(stage, {}).get(which, math.nan)
    if name not in summary["overall"]:
        raise EvalInputError(
            f"Unknown metric in thresholds: {name!r} (known: {', '.join(METRICS)}, latency_<stage>_p95_ms)"
        )
    return summary["overall"][name]["value"]


def check_thresholds(summary: dict, thresholds: dict) -> list[dict]:
    """One row per threshold: name, bound, limit, measured value, ok. NaN (nothing measured) fails."""
    checks = []
    for bound in ("min", "max"):
        for name, limit in thresholds.get(bound, {}).items():
            value = metric_value(summary, name)
            ok = not math.isnan(value) and (value >= limit - 1e-9 if bound == "min" else value <= limit + 1e-9)
            checks.append({"name": name, "bound": bound, "limit": limit, "value": value, "ok": ok})
    return checks


def evaluate(
    bot, cases: Sequence[Case], thresholds: dict | None, baseline_bot=None, progress=None, source: str = ""
) -> tuple[dict, list[dict], list[dict]]:
    """Run the suite on `bot` (and the baseline when given): (summary, rows, baseline rows)."""
    rows = run_cases(bot, cases, progress)
    summary = {
        "kind": "suite",
        "title": "deepspace-qa eval suite",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "source": source,
        "system": "deepspace-qa",
        "metrics": METRICS,
        "headline": ["pass_rate", "answer_accuracy", "abstention_accuracy", "hit_at_5"],
        "chart_metric": "pass_rate",
        "notes": [
            "A case passes when it is answered with every expected fact and valid citations that include the evidence, "
            "or, when the articles do not hold the answer, when the bot declines.",
            "Conversation cases ask their earlier questions live, so the score is what a user would see.",
        ],
        **summarise(rows),
    }
    baseline_rows: list[dict] = []
    if baseline_bot is not None:
        from evals.baseline import BASELINE_NOTE, NAME

        baseline_rows = run_cases(baseline_bot, cases, progress)
        summary["baseline"] = {"name": NAME, **summarise(baseline_rows)}
        summary["notes"].append(BASELINE_NOTE)
    if thresholds is not None:
        summary["thresholds"] = check_thresholds(summary, thresholds)
        summary["passed"] = all(c["ok"] for c in summary["thresholds"])
        summary["thresholds_version"] = thresholds.get("version")
    return summary, rows, baseline_rows
