"""Compose the `Answer`: decide with one calibrated score which read window answers the question, and
whether any does; then lead with the short answer the reader found in it (a date, name or number)
and quote the sentence verbatim with its `[n]` marker; or decline with a typed reason and say what
the articles cover.

The score is a logistic model over the ranker's and the reader's outputs, trained and thresholded on
a calibration split by `make train` (`training/calibrate.py`); the reason only describes the
decline, it never makes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from bot.messages import abstain_message
from bot.policy import Policy
from bot.rank import MODELS_DIR, LinearModel
from bot.read import Reading
from bot.retrieve import SearchIndex
from bot.stages import AnswerType, Intent, QuestionAnalysis, Rewrite
from bot.types import AbstainReason, Answer, Citation, RetrievedChunk
from index.lexical import tokenize

CALIBRATION_FEATURES = (
    "rank",  # the ranker's probability that the window's sentence holds the answer
    "margin",  # the reader's span score minus its no-answer score (-10 without a span)
    "span",
    "null",
    "dense",
    "overlap_window",
    "missing_idf",
    "unknown",
    "names_grounded",  # the least share of a question name's words the sentence (with its context) holds
    "names_unknown",  # the share of the question's names the articles never use
)
MAX_SHORT_WORDS = 12  # a longer span is a clause, not a short answer: the quote says it better
LEAD_SENTENCES = 3  # an overview quotes an article's opening sentences


class Scale(StrEnum):
    """Which calibrated score a confidence is on (each has its own thresholds)."""

    READER = "reader"  # the reader's spans and the ranker (English questions)
    SENTENCES = "sentences"  # the ranker's sentences alone (other languages; no reader)
    FOLLOW_UP = "follow-up"  # the reader's score, for a follow-up that cannot stand alone


@dataclass(frozen=True)
class Verdict:
    """The decision for one question: the reading to answer from, or a reason not to."""

    confidence: float
    reading: Reading | None
    reason: AbstainReason | None
    scale: Scale = Scale.READER


def name_tokens(names: list[str], index: SearchIndex, language: str = "en") -> list[list[frozenset[str]]]:
    """Each question name's search tokens, and those of the name it abbreviates ("IDSEA" → "International
    … Association"): either spelling grounds it."""
    found = []
    for name in names:
        spellings = [frozenset(tokenize(name, language))]
        if full := index.acronyms.get(name.lower()):
            spellings.append(frozenset(tokenize(full, language)))
        if spellings[0]:
            found.append(spellings)
    return found


def calibration_features(reading: Reading, names: list[list[frozenset[str]]], index: SearchIndex) -> tuple[float, ...]:
    """The `CALIBRATION_FEATURES` of one reading; `names` from `name_tokens`."""
    c = reading.candidate
    held = index.sentence_tokens[c.row]  # the sentence's words with its context (label, introduction)
    grounded = min((max(len(s & held) / len(s) for s in spellings) for spellings in names), default=1.0)
    unknown = sum(1 for spellings in names if not any(t in index.idf for s in spellings for t in s))
    return (
        c.score,
        reading.margin if reading.has_span else -10.0,
        reading.span_score,
        reading.null_score,
        c.feature("dense"),
        c.feature("overlap_window"),
        c.feature("missing_idf"),
        c.feature("unknown"),
        grounded,
        unknown / len(names) if names else 0.0,
    )


class AnswerComposer:
    """Decides and writes answers. Two calibrated scores, each with its threshold: one over the
    reader's spans (English questions: the reader learned English) and one over sentences alone."""

    def __init__(
        self,
        with_reader: tuple[LinearModel, float],
        sentences_only: tuple[LinearModel, float],
        lead_margin: float = float("inf"),
        follow_up_threshold: float | None = None,
        after_reading: Mapping[str, Mapping[str, float]] | None = None,
        not_stated_from: Mapping[str, float] | None = None,
    ):
        for model, _ in (with_reader, sentences_only):
            if tuple(model.names) != CALIBRATION_FEATURES:
                raise ValueError("calibrator features do not match: run `make train`")
        self.with_reader, self.sentences_only = with_reader, sentences_only
        self.lead_margin = lead_margin  # the reader's margin above which its span is led with
        # The reader's threshold for a follow-up that cannot stand alone (calibrated on conversations:
        # `training/conversation.py`); None: the same as for a question on its own.
        self.follow_up_threshold = follow_up_threshold
        # Per scale, the threshold that replaces the scale's own once the local reading model has read the
        # window, by what it said (`bot.llm_reader.SpanStatus` values; `Policy.after_reading`). A scale or
        # outcome not listed keeps the instant decision.
        self.after_reading = {k: dict(v) for k, v in (after_reading or {}).items()}
        # Per scale, the reading model's "not stated" probability from which it declines (`Policy.not_stated_from`).
        self.not_stated_from = dict(not_stated_from or {})

    @classmethod
    def bundled(cls, policy: Policy | None = None) -> AnswerComposer:
        """The calibrators `make train` ships, with the thresholds of `policy` (the bundled one by default)."""
        policy = policy or Policy.bundled()
        with_reader = LinearModel.load(MODELS_DIR / "calibrator.json")
        sentences_only = LinearModel.load(MODELS_DIR / "calibrator-sentences.json")
        return cls(
            (with_reader, policy.answer[Scale.READER]),
            (sentences_only, policy.answer[Scale.SENTENCES]),
            policy.lead_margin,
            policy.answer.get(Scale.FOLLOW_UP),
            policy.after_reading,
            policy.not_stated_from,
        )

    def before_search(self, analysis: QuestionAnalysis, rewrite: Rewrite) -> Verdict | None:
        """The declines that understanding alone decides, before anything is searched: an instruction
        ("write me a poem"), or a question whose pronoun points at nothing ("When did it launch?" in a
        new chat). None: search, read and `decide`."""
        if analysis.intent is Intent.INSTRUCTION:
            return Verdict(0.0, None, AbstainReason.INSTRUCTION)
        if rewrite.unresolved and analysis.intent is Intent.QUESTION:
            return Verdict(0.0, None, AbstainReason.UNCLEAR)
        return None

    def decide(
        self,
        readings: list[Reading],
        query: str,
        names: list[str],
        index: SearchIndex,
        known_words: frozenset[str],
        leans_on_history: bool = False,
    ) -> Verdict:
        """Answer from the most confident reading, or decline with the reason that describes why;
        `names`: the names the question mentions; `leans_on_history`: a follow-up that cannot stand
        alone ("What year?"), held to the conversation's threshold."""
        if not readings:
            return Verdict(0.0, None, AbstainReason.OFF_TOPIC)
        read = any(r.span_score or r.null_score for r in readings)
        model, threshold = self.with_reader if read else self.sentences_only
        scale = Scale.READER if read else Scale.SENTENCES
        if read and leans_on_history and self.follow_up_threshold is not None:
            threshold, scale = self.follow_up_threshold, Scale.FOLLOW_UP
        tokens = name_tokens(names, index)
        scores = model.probability(np.asarray([calibration_features(r, tokens, index) for r in readings]))
        best = int(np.argmax(scores))
        confidence, reading = float(scores[best]), readings[best]
        if confidence >= threshold:
            return Verdict(confidence, reading, None, scale)
        return Verdict(confidence, reading, _reason(query, reading, index, known_words, tokens), scale)

    def reconsider(self, verdict: Verdict, read_as: str, not_stated: float | None = None) -> Verdict:
        """The verdict once the local reading model has read its window and said `read_as` (a
        `SpanStatus` value), with `not_stated` its probability of "not stated": the same confidence
        against the threshold calibrated for that outcome, and a decline from the calibrated "not stated"
        probability on. A decline keeps the reason that describes it; an answer turned down is "not stated".

        >>> composer.reconsider(Verdict(0.4, reading, None), "not-stated").reason  # doctest: +SKIP
        <AbstainReason.NOT_STATED: 'not-stated'>
        """
        if verdict.reading is None:
            return verdict
        threshold = self.after_reading.get(verdict.scale, {}).get(read_as)
        answers = verdict.reason is None if threshold is None else verdict.confidence >= threshold
        cut = self.not_stated_from.get(verdict.scale)
        if cut is not None and not_stated is not None and not_stated >= cut:
            answers = False
        if answers == (verdict.reason is None):
            return verdict
        return replace(verdict, reason=None if answers else AbstainReason.NOT_STATED)

    def compose(
        self,
        analysis: QuestionAnalysis,
        query: str,
        verdict: Verdict,
        index: SearchIndex,
        rows: list[int],
        retrieved: list[RetrievedChunk],
        reader_stands_by: bool = True,
        lead: tuple[int, int] | None = None,
    ) -> Answer:
        """The `Answer` for a verdict to answer: quote `rows`, and lead with the reader's span when the
        reader stands by it (`reader_stands_by`: its margin clears its own no-answer threshold) and its
        margin is one from which spans match gold answers better than their sentences do (calibrated on
        held-out articles: `training/calibrate.py`). `lead`: article offsets of a span the local reading
        model found verbatim in the reading's window, led with instead when it is a short answer."""
        reading = verdict.reading
        text, citations = cite(rows, index, retrieved)
        short = ""
        span_at = None
        if lead is not None and reading is not None:
            span_at = lead
        elif reader_stands_by and reading is not None and reading.has_span and reading.margin >= self.lead_margin:
            span_at = (reading.start, reading.end)
        if span_at is not None:
            article_id = index.sentences.article_ids[reading.candidate.row]
            span = index.article_texts[article_id][span_at[0] : span_at[1]]
            holder = next((c for c in citations if c.article_id == article_id and c.start <= span_at[0] < c.end), None)
            quotes = " ".join(c.quote for c in citations)
            worth = _short_of_its_own(span, quotes) if lead is not None else _worth_leading(span, quotes, analysis)
            if holder is not None and worth:
                short = span
                text = f"{escape_markers(short)} [{holder.number}]\n\n{text}"
        return Answer(
            text=text,
            citations=citations,
            abstained=False,
            query=query,
            retrieved=retrieved,
            question=analysis.text,
            short_answer=short,
            confidence=verdict.confidence,
        )

    def overview(
        self, rows: list[int], index: SearchIndex, retrieved: list[RetrievedChunk], query: str, question: str
    ) -> Answer:
        """An overview ("summarize the article") quotes `rows` of the article it is about: there is nothing
        to be unsure of once the article is known, so its confidence is 1."""
        text, citations = cite(rows, index, retrieved)
        return Answer(text, citations, False, query, retrieved, question=question, confidence=1.0)


def overview_rows(article_id: str, index: SearchIndex) -> list[int]:
    """An article's opening sentences after its title line: what "summarize the article" quotes."""
    first = index.first_row_of(article_id)
    rows = []
    for row in range(first + 1, len(index.sentences.ids)):
        if not index.same_article(first, row) or len(rows) == LEAD_SENTENCES:
            break
        rows.append(row)
    return rows or [first]


def declined(
    reason: AbstainReason,
    analysis: QuestionAnalysis,
    query: str,
    titles: list[str],
    confidence: float = 0.0,
    retrieved: list[RetrievedChunk] | None = None,
    word: str = "",
) -> Answer:
    """An `Answer` that declines, with no citations; `word` is what an unclear question pointed at."""
    return Answer(
        text=abstain_message(reason, titles, analysis.language, word),
        citations=[],
        abstained=True,
        query=query,
        retrieved=retrieved or [],
        question=analysis.text,
        confidence=confidence,
        abstain_reason=reason,
        notes=[f"abstained: {reason.value}"],
    )


def cite(rows: list[int], index: SearchIndex, retrieved: list[RetrievedChunk]) -> tuple[str, list[Citation]]:
    """Answer text with `[n]` after each quoted sentence, and the matching citations."""
    retrieved_ids = [r.id for r in retrieved]
    parts, citations = [], []
    for number, row in enumerate(
        sorted(set(rows), key=lambda r: (index.sentences.article_ids[r], index.sentences.spans[r][0])), start=1
    ):
        start, end = index.sentences.spans[row]
        quote = index.article_texts[index.sentences.article_ids[row]][start:end]
        holders = index.chunk_of_sentence[row]
        whole = [c for c in holders if index.chunks[c].start <= start and end <= index.chunks[c].end] or holders
        rank = {chunk_id: i for i, chunk_id in enumerate(retrieved_ids)}
        chunk = index.chunks[min(whole, key=lambda c: rank.get(index.chunks[c].id, len(rank) + c))]
        citation = Citation.quoting(number, chunk, start, end, quote)
        citations.append(replace(citation, page=index.page_of(row)))
        parts.append(f"{escape_markers(quote)} [{number}]")
    return " ".join(parts), citations


def escape_markers(text: str) -> str:
    """An article's own bracketed numbers ("[3]") written with full-width brackets, so that only the
    bot's markers read as citations."""
    return re.sub(r"\[(\d+)\]", r"［\1］", text)


def _worth_leading(short: str, quotes: str, analysis: QuestionAnalysis) -> bool:
    """Lead with the span when it is a short answer of its own, not the whole quote or a clause."""
    return analysis.answer_type is not AnswerType.DESCRIPTION and _short_of_its_own(short, quotes)


def _short_of_its_own(short: str, quotes: str) -> bool:
    """A span short enough to stand above its quote: a few words, not most of the quote."""
    return 0 < len(short.split()) <= MAX_SHORT_WORDS and len(short) < 0.8 * len(quotes)


def _reason(
    query: str, reading: Reading, index: SearchIndex, known_words: frozenset[str], names: list
) -> AbstainReason:
    """Describe a decline: gibberish, off the articles' topic, a premise they contradict, or not stated."""
    from index.lexical import words

    typed = [w for w in words(query) if len(w) >= 3 and w.isascii() and w.isalpha()]
    known = [w for w in typed if w in index.vocabulary or w in known_words]
    if typed and len(known) * 2 < len(typed):
        return AbstainReason.UNCLEAR
    candidate = reading.candidate
    if candidate.feature("overlap_window") == 0.0 or candidate.feature("unknown") >= 0.5:
        return AbstainReason.OFF_TOPIC
    grounded, unknown = calibration_features(reading, names, index)[-2:]
    if names and (unknown > 0 or grounded < 0.5):  # a name the articles never use, or not with this
        return AbstainReason.FALSE_PREMISE
    return AbstainReason.NOT_STATED
