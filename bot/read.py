"""Read the best candidate sentences closely: a learned extractive reader looks for the answer span
in a short window (the sentence and the one before it, which often says who "he" or "it" is) and
gives a no-answer score on the same scale. Without a reader, each window yields no span.

The reader model itself is `bot/reader.py`; this module picks the windows and maps spans back to
article offsets.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.rank import Candidate
from bot.reader import Reader
from bot.retrieve import SearchIndex

# Windows read per question: the ranker's best two. Choosing between them by the calibrated score
# beats the ranker's first by 3 points on SQuAD (calibration articles and dev alike); a third adds
# less than one point for another read, the costliest step of an answer.
READ_TOP = 2
READER_LANGUAGES = frozenset({"en"})  # what the reader was trained on (SQuAD); others are read as sentences


@dataclass(frozen=True)
class Reading:
    """One window read for a question."""

    candidate: Candidate  # the sentence the window is built around
    rows: tuple[int, ...]  # the window's sentences, in reading order
    start: int  # article offsets of the answer span; start == end when there is none
    end: int
    span_score: float = 0.0
    null_score: float = 0.0

    @property
    def has_span(self) -> bool:
        """The reader found a span (it may still prefer no answer: compare the scores)."""
        return self.end > self.start

    @property
    def margin(self) -> float:
        """How much the reader prefers the span to no answer (its own scale)."""
        return self.span_score - self.null_score


def window_rows(row: int, index: SearchIndex) -> tuple[int, ...]:
    """The sentence and the one before it in the same article (never the article's title line)."""
    before = row - 1
    if index.same_article(row, before) and before != index.first_row_of(index.sentences.article_ids[row]):
        return (before, row)
    return (row,)


def window_text(rows: tuple[int, ...], index: SearchIndex) -> tuple[str, int]:
    """The window's exact text in its article and the article offset it starts at."""
    article = index.article_texts[index.sentences.article_ids[rows[0]]]
    start, end = index.sentences.spans[rows[0]][0], index.sentences.spans[rows[-1]][1]
    return article[start:end], start


class PassageReader:
    """Reads the top candidates' windows with a `bot.reader.Reader` (or yields spanless readings without one)."""

    def __init__(self, reader: Reader | None, top: int = READ_TOP, null_threshold: float = 0.0):
        self.reader, self.top = reader, top
        self.null_threshold = null_threshold  # it stands by a span from this margin (`Policy.reader_null_threshold`)

    def read(
        self, question: str, candidates: list[Candidate], index: SearchIndex, language: str = "en"
    ) -> list[Reading]:
        """Readings of the best `top` candidates' windows, in candidate order (spanless when the
        question's language is not one the reader learned)."""
        chosen, seen = [], set()
        for candidate in candidates:
            rows = window_rows(candidate.row, index)
            if rows not in seen:
                chosen.append((candidate, rows))
                seen.add(rows)
            if len(chosen) == self.top:
                break
        if self.reader is None or not chosen or language not in READER_LANGUAGES:
            return [Reading(c, rows, 0, 0) for c, rows in chosen]
        texts = [window_text(rows, index) for _, rows in chosen]
        # The sentence before is context (who "he" is): the answer comes from the candidate's own sentence.
        own = [index.sentences.spans[c.row][0] - offset for (c, _), (_, offset) in zip(chosen, texts, strict=True)]
        predictions = self.reader.read(question, [text for text, _ in texts], own)
        return [
            Reading(c, rows, offset + p.start, offset + p.end, float(p.score), float(p.null_score))
            for (c, rows), (_, offset), p in zip(chosen, texts, predictions, strict=True)
        ]

    def trusts(self, reading: Reading) -> bool:
        """Does the reader stand by its span? Its margin over no answer clears the threshold chosen
        on held-out articles (`Policy.reader_null_threshold`)."""
        return reading.has_span and reading.margin >= self.null_threshold

    def rows_of_span(self, reading: Reading, index: SearchIndex) -> list[int]:
        """The sentences to quote: those the span touches when the reader stands by it, else the
        candidate's own sentence."""
        if not self.trusts(reading):
            return [reading.candidate.row]
        return [
            r
            for r in reading.rows
            if index.sentences.spans[r][0] < reading.end and reading.start < index.sentences.spans[r][1]
        ]
