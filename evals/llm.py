"""`dsqa eval --llm`: the suite through the LLM path, beside the extractive bot on the same cases.

Per case it records the mode that answered, the verifier's counts and the fallback note; overall it
adds the LLM's share of answers (and so the fallback rate), ALCE-style citation recall and precision
of what the model wrote (sentences supported by their cited passages; markers that help support
their sentence) and of what was shown (the final text re-checked from its citations alone), and
the LLM's latency. The gate: what is shown must be fully supported and validly cited.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, replace

from evals.metrics import Rate
from evals.runner import METRICS, check_thresholds, run_cases, summarise

LLM_METRICS: dict[str, tuple[str, bool, str]] = {
    "llm_answered": ("LLM answered (verified)", True, "rate"),
    "fallback_rate": ("Fell back to extractive", False, "rate"),
    "raw_citation_recall": ("Model: sentences supported", True, "rate"),
    "raw_citation_precision": ("Model: markers supporting", True, "rate"),
    "shown_citation_recall": ("Shown: sentences supported", True, "rate"),
    "shown_citation_precision": ("Shown: markers supporting", True, "rate"),
}
# What verification promises, whatever the model: nothing unsupported or wrongly cited is shown.
LLM_GATE = {
    "version": "llm-1",
    "min": {"citation_validity": 1.0, "shown_citation_recall": 1.0, "shown_citation_precision": 1.0},
}
EXTRACTIVE_NAME = "extractive (no LLM)"


def shown_support(answer) -> tuple[int, int, int, int]:
    """(sentences supported, sentences, markers supporting, markers) of the shown text of an LLM
    answer, re-checked against the chunks its citations carry. Extractive answers count zero."""
    from bot.llm.reply import split_generated
    from bot.llm.verify import verify_sentence
    from bot.types import AnswerMode, RetrievedChunk

    if answer.mode != AnswerMode.LLM:
        return 0, 0, 0, 0
    by_number = {c.number: c for c in answer.citations}
    last = max(by_number, default=0)
    passages = [
        RetrievedChunk(
            id="", article_id=c.article_id, title=c.title, text=c.text, start=c.chunk_start,
            end=c.chunk_start + len(c.text), score=0.0,
        )
        if (c := by_number.get(n))
        else RetrievedChunk(id="", article_id="", title="", text="", start=0, end=0, score=0.0)
        for n in range(1, last + 1)
    ]  # fmt: skip
    verdicts = [verify_sentence(s, passages) for s in split_generated(answer.text)]
    return (
        sum(v.supported for v in verdicts),
        len(verdicts),
        sum(len(v.kept_markers) for v in verdicts),
        sum(len(v.sentence.markers) for v in verdicts),
    )


def llm_fields(answer) -> dict:
    """The LLM columns of one result row."""
    supported, sentences, supporting, markers = shown_support(answer)
    return {
        "mode": str(answer.mode),
        "llm": asdict(answer.llm) if answer.llm else None,
        "llm_note": next((n for n in answer.notes if n.startswith(("LLM", "The LLM", "No sentence"))), ""),
        "shown": {"supported": supported, "sentences": sentences, "supporting": supporting, "markers": markers},
    }


def aggregate_llm(rows: Sequence[dict]) -> dict:
    """The `LLM_METRICS` over result rows (only cases where the LLM was asked count for its rates)."""
    asked = [r for r in rows if r.get("llm")]
    answered = [r["mode"] == "llm" for r in asked]
    counts = [r["llm"] for r in asked]
    shown = [r["shown"] for r in rows if r.get("shown")]
    return {
        "llm_answered": Rate.of_flags(answered).to_dict(),
        "fallback_rate": Rate.of_flags(not a for a in answered).to_dict(),
        "raw_citation_recall": Rate.of(sum(c["kept"] for c in counts), sum(c["generated"] for c in counts)).to_dict(),
        "raw_citation_precision": Rate.of(
            sum(c["markers_kept"] for c in counts), sum(c["markers"] for c in counts)
        ).to_dict(),
        "shown_citation_recall": Rate.of(
            sum(s["supported"] for s in shown), sum(s["sentences"] for s in shown)
        ).to_dict(),
        "shown_citation_precision": Rate.of(
            sum(s["supporting"] for s in shown), sum(s["markers"] for s in shown)
        ).to_dict(),
    }


def evaluate_llm(settings, cases, progress=None, source: str = "") -> tuple[dict, list[dict], list[dict]]:
    """Run `cases` through a Bot with the LLM and one without: (summary, LLM rows, extractive rows)."""
    from bot import Bot

    if not settings.llm_base_url:
        raise ValueError("dsqa eval --llm needs a server: set DSQA_LLM_BASE_URL (e.g. http://127.0.0.1:8080/v1)")
    extractive = Bot(settings=replace(settings, llm_base_url=""))
    extractive.index()
    extractive_rows = run_cases(extractive, cases, progress)
    llm_bot = Bot(settings=settings)
    rows = run_cases(llm_bot, cases, progress, extra=llm_fields)
    summary = {
        "kind": "suite",
        "title": f"deepspace-qa eval suite, LLM path ({settings.llm_model} at {settings.llm_base_url})",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "source": source,
        "system": "deepspace-qa + LLM",
        "metrics": {**METRICS, **LLM_METRICS},
        "headline": ["answer_accuracy", "llm_answered", "shown_citation_recall", "raw_citation_recall"],
        "chart_metric": "pass_rate",
        "notes": [
            "Each case is asked of the bot with the LLM (verified sentences, extractive fallback) and, beside it, "
            "without: the extractive column.",
            "Citation recall/precision are ALCE's, with the bot's lexical verifier in place of an NLI model: "
            "'Model' scores what the LLM wrote, 'Shown' re-checks the final text from its citations alone.",
        ],
        **summarise(rows),
        "baseline": {"name": EXTRACTIVE_NAME, **summarise(extractive_rows)},
    }
    summary["overall"].update(aggregate_llm(rows))
    summary["thresholds"] = check_thresholds(summary, LLM_GATE)
    summary["passed"] = all(c["ok"] for c in summary["thresholds"])
    summary["thresholds_version"] = LLM_GATE["version"]
    return summary, rows, extractive_rows
