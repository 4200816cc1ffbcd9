"""Conversational benchmark on a CoQA file: every story becomes an article in one temporary knowledge
folder, one `Bot` is built over all of them, and every run of consecutive turns is played as a person
would use the chat: an opener `Tell me about “<title>”`, then the run's questions, with the bot's own
answers (`Answer.text`) kept in the history.

Two baselines go through the same `Bot` with no history: the question alone, and the previous
question glued before it. Scores per turn: the gold answer contained in the answer (on span answers:
gold answers that occur verbatim in the story, normalised as SQuAD does), token F1 of `short_answer`
(the answer text when empty), evidence quoted (the rationale span overlaps a citation's quote), story
hit@1/hit@5 (the right story among the retrieved chunks' articles) and false refusals; overall and for
follow-ups (every turn of a run after its first). Data from outside the project: nothing is tuned on it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path

from evals.metrics import Rate, hit_at, mean_interval, normalize_answer, squad_scores, squash, strip_markers
from evals.runner import EvalInputError, latency_summary, temporary_bot

METRICS: dict[str, tuple[str, bool, str]] = {
    "contains_gold": ("Gold contained (span answers)", True, "rate"),
    "f1": ("Token F1 of the short answer", True, "mean"),
    "evidence_quoted": ("Evidence quoted (rationale cited)", True, "rate"),
    "story_hit_at_1": ("Right story at rank 1", True, "rate"),
    "story_hit_at_5": ("Right story in the top 5", True, "rate"),
    "false_refusal_rate": ("False refusals", False, "rate"),
}
FOLLOW_UP, FIRST_TURN = "follow-up", "first-turn"
# CoQA's own answer categories that are not spans of the story (its annotation guidelines).
_NOT_SPANS = frozenset({"yes", "no", "unknown"})


class HistoryMode(StrEnum):
    """How a turn's conversation reaches the bot."""

    CONVERSATION = "conversation"  # earlier questions and the bot's own answers, as in the chat
    NONE = "no history"  # the question alone
    PREVIOUS_QUESTION = "previous question + question"  # the previous question glued before it, no history


@dataclass(frozen=True)
class CoqaTurn:
    """One question of a run with its free-form gold answer, rationale span and any extra answers."""

    turn_id: int
    question: str
    answer: str
    rationale: str
    additional_answers: tuple[str, ...] = ()

    @property
    def golds(self) -> list[str]:
        """The gold answer, then the additional ones, without duplicates."""
        return list(dict.fromkeys(a for a in (self.answer, *self.additional_answers) if a.strip()))

    @property
    def unanswerable(self) -> bool:
        return normalize_answer(self.answer) == "unknown"


@dataclass(frozen=True)
class CoqaStory:
    """One story and its runs of consecutive turns."""

    id: str
    source: str
    title: str
    story: str
    runs: tuple[tuple[CoqaTurn, ...], ...]

    @property
    def file_name(self) -> str:
        """The file it is written to in the knowledge folder (unique: the story id is in it)."""
        return f"{self.id}.txt"


def load_coqa(path: str | Path) -> list[CoqaStory]:
    """The stories of a CoQA sample file (`{"stories": [{"id", "source", "title", "story", "runs"}]}`)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        stories = [
            CoqaStory(
                id=str(s["id"]),
                source=str(s.get("source") or "unknown"),
                title=" ".join(str(s["title"]).split()),
                story=str(s["story"]),
                runs=tuple(
                    tuple(
                        CoqaTurn(
                            int(t["turn_id"]),
                            str(t["question"]),
                            str(t["answer"]),
                            str(t["rationale"]),
                            tuple(str(a) for a in t.get("additional_answers") or ()),
                        )
                        for t in run
                    )
                    for run in s["runs"]
                ),
            )
            for s in data["stories"]
        ]
    except FileNotFoundError:
        raise EvalInputError(f"CoQA file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"{path}: not valid JSON ({exc})") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise EvalInputError(f"{path}: not a CoQA sample file (bad or missing {exc})") from None
    if not any(turn for story in stories for run in story.runs for turn in run):
        raise EvalInputError(f"{path}: holds no turns")
    ids = [s.id for s in stories]
    if len(set(ids)) != len(ids):
        raise EvalInputError(f"{path}: story ids are not unique")
    return stories


def spread_runs(stories: Sequence[CoqaStory], limit: int | None) -> list[tuple[CoqaStory, int]]:
    """(story, run index) for `limit` runs evenly spread over the file, or for every run."""
    runs = [(story, index) for story in stories for index in range(len(story.runs)) if story.runs[index]]
    if not limit or limit >= len(runs):
        return runs
    return [runs[i * len(runs) // limit] for i in range(limit)]


def write_stories(stories: Sequence[CoqaStory], folder: Path) -> None:
    """One `.txt` per story: its title line, then the story (the loader reads the first line as the title)."""
    folder.mkdir(parents=True, exist_ok=True)
    for story in stories:
        (folder / story.file_name).write_text(f"{story.title}\n\n{story.story.strip()}\n", encoding="utf-8")


def opener(title: str) -> str:
    """The first thing a person types about a story. `opener("Munich")` → 'Tell me about “Munich”'"""
    return f"Tell me about “{title}”"


# --- scoring one turn ---------------------------------------------------------------------------


def span_golds(golds: Sequence[str], story: str) -> list[str]:
    """The gold answers that occur verbatim in the story (case and spacing aside; not yes/no/unknown)."""
    text = squash(story)
    kept = []
    for gold in golds:
        core = squash(gold).strip(" .,;:!?\"'“”‘’")
        if core and normalize_answer(core) not in _NOT_SPANS and core in text:
            kept.append(gold)
    return kept


def contains_gold(answer_text: str, golds: Sequence[str]) -> bool:
    """Whether a normalised gold answer is a run of whole words of the normalised answer text."""
    answer = f" {normalize_answer(strip_markers(answer_text))} "
    return any(f" {g} " in answer for g in (normalize_answer(g) for g in golds) if g)


def rationale_spans(article_text: str, rationale: str, after: int = 0) -> list[tuple[int, int]]:
    """Every (start, end) of the rationale in the article text at or after `after`, spacing aside."""
    words = rationale.split()
    if not words:
        return []
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    return [m.span() for m in pattern.finditer(article_text) if m.start() >= after]


def evidence_quoted(citations: Iterable, article_id: str, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether a citation of the story's article overlaps a rationale span (by character offsets)."""
    return any(
        c.article_id == article_id and c.start < end and start < c.end for c in citations for start, end in spans
    )


def story_rank(retrieved: Sequence, article_id: str) -> int | None:
    """1-based rank of the first retrieved chunk from the story's article, None when none is."""
    return next((rank for rank, chunk in enumerate(retrieved, start=1) if chunk.article_id == article_id), None)


def answer_kind(turn: CoqaTurn, spans: Sequence[str]) -> str:
    """span (a gold occurs in the story), yes/no, unknown, or free-form."""
    if turn.unanswerable:
        return "unknown"
    if spans:
        return "span"
    return "yes/no" if normalize_answer(turn.answer) in {"yes", "no"} else "free-form"


def score_turn(
    story: CoqaStory, article, turn: CoqaTurn, position: int, answer, asked: str, history: Sequence[str]
) -> dict:
    """One result row: what was asked, what came back, the scores, and why it failed (if it did).

    `article` is the story's `Article` (id and text, what citation offsets point into); `position` is
    the turn's 0-based place in its run (0: the first question after the opener).
    """
    golds = turn.golds
    spans = span_golds(golds, story.story)
    kind = answer_kind(turn, spans)
    prediction = "" if answer.abstained else (getattr(answer, "short_answer", "") or strip_markers(answer.text))
    _, f1 = squad_scores([] if turn.unanswerable else golds, prediction)
    contained = (not answer.abstained and contains_gold(answer.text, spans)) if spans else None
    located = rationale_spans(article.text, turn.rationale, after=len(story.title))
    quoted = None if turn.unanswerable or not located else evidence_quoted(answer.citations, article.id, located)
    rank = story_rank(answer.retrieved, article.id)
    reasons = []
    if turn.unanswerable:
        if not answer.abstained:
            reasons.append("answered a question the story does not answer")
    elif answer.abstained:
        reasons.append("abstained (false refusal)" + ("" if hit_at(rank, 5) else "; story not retrieved"))
    else:
        if contained is False:
            reasons.append("no gold answer in the answer")
        if quoted is False:
            reasons.append("rationale not quoted" + ("" if hit_at(rank, 5) else " (story not in the top 5)"))
    return {
        "id": f"{story.id}#{turn.turn_id}",
        "story": story.id,
        "tags": [FOLLOW_UP if position else FIRST_TURN, story.source, kind],
        "history": list(history),
        "question": turn.question,
        "asked": asked,
        "gold": golds,
        "rationale": turn.rationale,
        "unanswerable": turn.unanswerable,
        "query": answer.query,
        "answer": answer.text,
        "short_answer": getattr(answer, "short_answer", ""),
        "prediction": prediction,
        "abstained": answer.abstained,
        "confidence": round(answer.confidence, 4),
        "citations": [
            {"number": c.number, "article_id": c.article_id, "quote": c.quote, "start": c.start, "end": c.end}
            for c in answer.citations
        ],
        "retrieved": [r.id for r in answer.retrieved],
        "f1": f1,
        "contains_gold": contained,
        "evidence_quoted": quoted,
        "story_rank": rank,
        "passed": not reasons,
        "reasons": reasons,
        "timings": dict(answer.timings or {}),
    }


# --- playing -----------------------------------------------------------------------------------


def play_run(bot, story: CoqaStory, article, run: Sequence[CoqaTurn], mode: HistoryMode) -> list[dict]:
    """Ask one run of turns in a fresh conversation and score every turn (the opener is not scored)."""
    rows: list[dict] = []
    messages: list[dict] = []
    previous = opener(story.title)
    if mode is HistoryMode.CONVERSATION:
        reply = bot.ask(previous, history=[])
        messages = [{"role": "user", "content": previous}, {"role": "assistant", "content": reply.text}]
    for position, turn in enumerate(run):
        if mode is HistoryMode.CONVERSATION:
            asked, history = turn.question, [m["content"] for m in messages if m["role"] == "user"]
            answer = bot.ask(asked, history=list(messages))
            messages += [{"role": "user", "content": asked}, {"role": "assistant", "content": answer.text}]
        else:
            asked = turn.question if mode is HistoryMode.NONE else f"{previous} {turn.question}"
            history = []
            answer = bot.ask(asked, history=[])
        rows.append(score_turn(story, article, turn, position, answer, asked, history) | {"system": str(mode)})
        previous = turn.question
    return rows


def play(
    bot,
    chosen: Sequence[tuple[CoqaStory, int]],
    articles: dict[str, object],
    mode: HistoryMode,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> list[dict]:
    """Play the chosen runs in one mode; `articles` maps a story id to its `Article`."""
    rows: list[dict] = []
    for story, index in progress(chosen) if progress else chosen:
        rows += play_run(bot, story, articles[story.id], story.runs[index], mode)
    return rows


# --- aggregating -------------------------------------------------------------------------------


def aggregate_coqa(rows: Sequence[dict]) -> dict:
    """Every CoQA metric over some rows."""
    answerable = [r for r in rows if not r["unanswerable"]]
    return {
        "cases": len(rows),
        "contains_gold": Rate.of_flags(r["contains_gold"] for r in rows).to_dict(),
        "f1": mean_interval([r["f1"] for r in rows]),
        "evidence_quoted": Rate.of_flags(r["evidence_quoted"] for r in rows).to_dict(),
        "story_hit_at_1": Rate.of_flags(hit_at(r["story_rank"], 1) for r in rows).to_dict(),
        "story_hit_at_5": Rate.of_flags(hit_at(r["story_rank"], 5) for r in rows).to_dict(),
        "false_refusal_rate": Rate.of_flags(r["abstained"] for r in answerable).to_dict(),
    }


def summarise_coqa(rows: Sequence[dict]) -> dict:
    """Overall, per tag (follow-up / first-turn, story source, answer kind) and latency."""
    tags = sorted({t for r in rows for t in r["tags"]}, key=lambda t: (t not in (FOLLOW_UP, FIRST_TURN), t))
    return {
        "overall": aggregate_coqa(rows),
        "by_tag": {t: aggregate_coqa([r for r in rows if t in r["tags"]]) for t in tags},
        "latency_ms": latency_summary(rows),
    }


def run_coqa(
    path: str | Path,
    limit: int | None = None,
    progress: Callable[[str], Callable[[Iterable], Iterable]] | None = None,
    settings_overrides: dict | None = None,
) -> tuple[dict, list[dict], list[dict]]:
    """Index every story, play the chosen runs in the three modes: (summary, rows, both baselines' rows).

    `progress(description)` returns a wrapper for an iterable (a progress bar), or is None.
    """
    stories = load_coqa(path)
    chosen = spread_runs(stories, limit)
    write = partial(write_stories, stories)
    with temporary_bot(write, "dsqa-coqa-", settings_overrides) as (bot, _knowledge, index_seconds):
        by_file = {a.metadata.get("file"): a for a in bot.articles()}
        missing = [s.file_name for s in stories if s.file_name not in by_file]
        if missing:
            raise EvalInputError(f"{path}: stories the loader could not read: {', '.join(missing[:5])}")
        articles = {s.id: by_file[s.file_name] for s in stories}
        played, seconds = {}, {}
        for mode in HistoryMode:
            started = time.perf_counter()
            played[mode] = play(bot, chosen, articles, mode, progress(f"CoQA, {mode}") if progress else None)
            seconds[mode] = time.perf_counter() - started
    rows = played[HistoryMode.CONVERSATION]
    baselines = [m for m in HistoryMode if m is not HistoryMode.CONVERSATION]
    follow_ups = sum(FOLLOW_UP in r["tags"] for r in rows)
    summary = {
        "kind": "coqa",
        "title": f"CoQA conversations: {Path(path).name}",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "source": str(path),
        "system": "deepspace-qa",
        "metrics": METRICS,
        "headline": ["contains_gold", "f1", "story_hit_at_5", "false_refusal_rate"],
        "chart_metric": "contains_gold",
        "highlight_tags": [FOLLOW_UP],
        "index_seconds": index_seconds,
        "ask_seconds": {str(m): s for m, s in seconds.items()},
        "notes": [
            f"{len(rows)} turns ({follow_ups} follow-ups) in {len(chosen)} runs over {len(stories)} stories, all in one "
            f"knowledge folder; index built in {index_seconds:.1f} s.",
            "deepspace-qa plays each run as a chat: the opener Tell me about “<title>” first, then every question with "
            "the earlier questions and the bot's own answers as history. The opener is not scored.",
            "Baselines, through the same bot with no history: the question alone, and the previous question (the opener "
            "for a run's first turn) glued before it.",
            "Gold contained counts span answers only (a gold answer occurring verbatim in the story, not yes/no); F1 is "
            "SQuAD's, of the short answer (else the answer text; a refusal is empty). Evidence quoted: a citation "
            "overlaps the rationale's offsets in the story.",
        ],
        **summarise_coqa(rows),
        "baselines": [{"name": str(m), **summarise_coqa(played[m])} for m in baselines],
    }
    return summary, rows, [r for m in baselines for r in played[m]]
