"""External benchmark on a SQuAD 2.0 file: each article (its paragraphs joined) becomes a file in a
temporary knowledge folder, a `Bot` is built over it, and every question is asked once.

Scores: answer contains a gold answer, official SQuAD v2 EM/F1 (of `short_answer` when the bot
gives one, else of the answer text; '' when it abstains), retrieval hit@1/hit@5, no-answer accuracy,
false refusals, latency. Data from outside the project: nothing here is tuned to its questions.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from evals.metrics import (
    Rate,
    first_hit_rank,
    hit_at,
    mean_interval,
    normalize_answer,
    squad_scores,
    strip_markers,
    wilson_interval,
)
from evals.runner import EvalInputError, latency_summary, temporary_bot

METRICS: dict[str, tuple[str, bool, str]] = {
    "correct": ("Right overall (gold or declined)", True, "rate"),
    "contains_gold": ("Answer contains a gold answer", True, "rate"),
    "exact": ("Exact match (SQuAD v2)", True, "rate"),
    "f1": ("Token F1 (SQuAD v2)", True, "mean"),
    "f1_answerable": ("Token F1, answerable only", True, "mean"),
    "hit_at_1": ("Retrieval hit@1", True, "rate"),
    "hit_at_5": ("Retrieval hit@5", True, "rate"),
    "no_answer_accuracy": ("Abstains on impossible questions", True, "rate"),
    "false_refusal_rate": ("False refusals", False, "rate"),
}


@dataclass(frozen=True)
class SquadQuestion:
    """One SQuAD question with its gold answers (none when `impossible`)."""

    id: str
    question: str
    answers: list[str]
    impossible: bool
    title: str


def load_squad(path: str | Path) -> tuple[dict[str, str], list[SquadQuestion]]:
    """(article title → text of its paragraphs joined, questions in file order). A blank question (some
    public files hold one, e.g. CMRC 2018's trial set) is left out: there is nothing to ask."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        articles, questions = {}, []
        for article in data:
            title = str(article["title"]).replace("_", " ")
            articles[title] = "\n\n".join(p["context"].strip() for p in article["paragraphs"])
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    if not str(qa["question"]).strip():
                        continue
                    answers = [a["text"] for a in qa.get("answers", [])]
                    questions.append(
                        SquadQuestion(
                            str(qa["id"]), qa["question"], answers, bool(qa.get("is_impossible", not answers)), title
                        )
                    )
    except FileNotFoundError:
        raise EvalInputError(f"SQuAD file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"{path}: not valid JSON ({exc})") from None
    except (KeyError, TypeError) as exc:
        raise EvalInputError(f"{path}: not a SQuAD 2.0 file (missing {exc})") from None
    if not questions:
        raise EvalInputError(f"{path}: holds no questions")
    return articles, questions


CALIBRATION_EVERY = 3  # every third article (the 1st, 4th, …) is the calibration part; the rest is reported


def article_part(articles: dict[str, str], questions: list[SquadQuestion], part: str | None):
    """The articles and questions of one part of a file, split by article so no article is in both:
    `calibration` (every third article, from the first) to choose things on, `report` (the others) to
    report; None: the whole file."""
    if part is None:
        return articles, questions
    if part not in ("calibration", "report"):
        raise EvalInputError(f"part {part!r}: expected calibration or report")
    kept = {t for i, t in enumerate(articles) if (i % CALIBRATION_EVERY == 0) == (part == "calibration")}
    return {t: a for t, a in articles.items() if t in kept}, [q for q in questions if q.title in kept]


def spread(questions: Sequence[SquadQuestion], limit: int | None) -> list[SquadQuestion]:
    """`limit` questions evenly spread over the file (every article, both kinds), or all of them."""
    if not limit or limit >= len(questions):
        return list(questions)
    return [questions[i * len(questions) // limit] for i in range(limit)]


def write_knowledge(articles: dict[str, str], folder: Path) -> None:
    """One `.txt` per article: the title line, then the paragraphs. The file is named after the title's
    letters and digits only (PIAF's titles hold HTML, with "/" in it)."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, (title, text) in enumerate(articles.items()):
        name = re.sub(r"[^\w]+", "-", title).strip("-")[:60]
        (folder / f"{number:03d}-{name}.txt").write_text(f"{title}\n\n{text}\n", encoding="utf-8")


def contains_gold(golds: Sequence[str], text: str, chars: bool = False) -> bool:
    """Whether `text` holds a gold answer as whole words (`chars`: anywhere, spaces ignored, for Chinese)."""
    normalized = [normalize_answer(g) for g in golds if normalize_answer(g)]
    if chars:
        squeezed = "".join(normalize_answer(text).split())
        return any("".join(g.split()) in squeezed for g in normalized)
    return any(f" {g} " in f" {normalize_answer(text)} " for g in normalized)


def score_question(question: SquadQuestion, answer, chars: bool = False) -> dict:
    """One result row: the prediction scored, the gold answers and why it failed (if it did);
    `chars`: character F1 and containment, for Chinese."""
    text = strip_markers(answer.text)
    prediction = "" if answer.abstained else (getattr(answer, "short_answer", "") or text)
    exact, f1 = squad_scores(question.answers, prediction, chars)
    contains = None if question.impossible else (not answer.abstained and contains_gold(question.answers, text, chars))
    rank = None if question.impossible else first_hit_rank([c.text for c in answer.retrieved], question.answers)
    reasons = []
    if question.impossible and not answer.abstained:
        reasons.append("answered an impossible question")
    elif not question.impossible and answer.abstained:
        reasons.append("abstained (false refusal)" + ("" if rank else "; gold not retrieved"))
    elif not question.impossible and not contains:
        reasons.append(
            "no gold answer in the answer" + (f" (gold in retrieved chunk {rank})" if rank else " (gold not retrieved)")
        )
    return {
        "id": question.id,
        "tags": [question.title, "impossible" if question.impossible else "answerable"],
        "question": question.question,
        "gold": question.answers,
        "impossible": question.impossible,
        "query": answer.query,
        "answer": answer.text,
        "short_answer": getattr(answer, "short_answer", ""),
        "prediction": prediction,
        "abstained": answer.abstained,
        "confidence": round(answer.confidence, 4),
        "citations": [{"number": c.number, "article_id": c.article_id, "quote": c.quote} for c in answer.citations],
        "retrieved": [r.id for r in answer.retrieved],
        "exact": exact,
        "f1": f1,
        "contains_gold": contains,
        "gold_rank": rank,
        "passed": not reasons,
        "reasons": reasons,
        "timings": dict(answer.timings or {}),
    }


def aggregate_squad(rows: Sequence[dict]) -> dict:
    """Every SQuAD metric over some rows."""
    answerable = [r for r in rows if not r["impossible"]]
    ranks = [r["gold_rank"] for r in answerable]
    exact = sum(r["exact"] for r in rows)
    low, high = wilson_interval(exact, len(rows))
    return {
        "cases": len(rows),
        "correct": Rate.of_flags(r["passed"] for r in rows).to_dict(),
        "contains_gold": Rate.of_flags(r["contains_gold"] for r in answerable).to_dict(),
        "exact": {
            "value": exact / len(rows) if rows else float("nan"),
            "successes": exact,
            "n": len(rows),
            "low": low,
            "high": high,
        },
        "f1": mean_interval([r["f1"] for r in rows]),
        "f1_answerable": mean_interval([r["f1"] for r in answerable]),
        "hit_at_1": Rate.of_flags(hit_at(k, 1) for k in ranks).to_dict(),
        "hit_at_5": Rate.of_flags(hit_at(k, 5) for k in ranks).to_dict(),
        "no_answer_accuracy": Rate.of_flags(r["abstained"] for r in rows if r["impossible"]).to_dict(),
        "false_refusal_rate": Rate.of_flags(r["abstained"] for r in answerable).to_dict(),
    }


def summarise_squad(rows: Sequence[dict]) -> dict:
    """Overall, per tag (article, answerable/impossible) and latency."""
    tags = list(dict.fromkeys(t for r in rows for t in r["tags"]))
    return {
        "overall": aggregate_squad(rows),
        "by_tag": {t: aggregate_squad([r for r in rows if t in r["tags"]]) for t in tags},
        "latency_ms": latency_summary(rows),
    }


def ask_both(bot, question: SquadQuestion, chars: bool = False) -> tuple[dict, dict]:
    """(row of the final answer, row of the instant extractive one) from one `Bot.stream`: with the
    reading model on, the first answer is the extractive reader's and the last may be led by the model's
    span. Each row's `wall` timing is the wall-clock time to that answer."""
    started = time.perf_counter()
    stream = bot.stream(question.question)
    first = next(stream)
    first_ms = (time.perf_counter() - started) * 1000
    *_, final = [first, *stream]
    final_ms = (time.perf_counter() - started) * 1000
    first_row, final_row = score_question(question, first, chars), score_question(question, final, chars)
    first_row["timings"]["wall"], final_row["timings"]["wall"] = round(first_ms, 3), round(final_ms, 3)
    return final_row, first_row


def run_squad(
    path: str | Path,
    limit: int | None = None,
    baseline: bool = False,
    progress=None,
    settings_overrides: dict | None = None,
    chars: bool = False,
    part: str | None = None,
) -> tuple[dict, list[dict], list[dict]]:
    """Build a Bot over the file's articles and ask its questions: (summary, rows, baseline rows). With
    the reading model on, `summary["extractive"]` scores the instant answers of the same run."""
    articles, questions = article_part(*load_squad(path), part)
    chosen = spread(questions, limit)
    write = partial(write_knowledge, articles)
    with temporary_bot(write, "dsqa-squad-", settings_overrides) as (bot, knowledge, index_seconds):
        reader = bot.span_reader
        if reader is not None:  # measure answers, not the model's start-up
            reader.model.wait_loaded(120)
        started = time.perf_counter()
        pairs = [ask_both(bot, q, chars) for q in (progress(chosen) if progress else chosen)]
        rows, first_rows = [final for final, _ in pairs], [first for _, first in pairs]
        ask_seconds = time.perf_counter() - started
        summary = {
            "kind": "squad",
            "title": f"SQuAD 2.0 benchmark: {Path(path).name}",
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "source": str(path),
            "system": "deepspace-qa",
            "metrics": METRICS,
            "headline": ["correct", "contains_gold", "f1", "hit_at_5", "no_answer_accuracy"],
            "chart_metric": "correct",
            "index_seconds": index_seconds,
            "ask_seconds": ask_seconds,
            "notes": [
                f"{len(chosen)} of {len(questions)} questions over {len(articles)} articles; index built in {index_seconds:.1f} s, "
                f"questions answered in {ask_seconds:.1f} s.",
                "EM and F1 follow the official SQuAD v2 script: the short answer when the bot gives one, else the answer "
                "text; an abstention is the empty answer, right only on impossible questions.",
            ],
            "reader": "llm" if reader is not None else "extractive",
            "character_f1": chars,
            "part": part or "whole file",
            **summarise_squad(rows),
        }
        if reader is not None:
            summary["extractive"] = {"name": "extractive (same run, instant answer)", **summarise_squad(first_rows)}
        baseline_rows: list[dict] = []
        if baseline:
            from evals.baseline import BASELINE_NOTE, NAME, BaselineBot

            reference = BaselineBot(knowledge)
            baseline_rows = [
                score_question(q, reference.ask(q.question), chars) for q in (progress(chosen) if progress else chosen)
            ]
            summary["baseline"] = {"name": NAME, **summarise_squad(baseline_rows)}
            summary["notes"].append(BASELINE_NOTE)
    return summary, rows, baseline_rows
