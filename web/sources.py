"""Source cards for the web chat: an answer's citations grouped into one card per passage.

Citations from one article whose passages (chunks) overlap or touch become a single card: the
passages are joined at their article offsets, every quote is marked, and the text is trimmed to
some context around the quotes (a long stretch between two quotes is elided). Plain data only;
`web/render.py` turns a card into HTML.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.types import Citation

CONTEXT_CHARS = 220  # shown on each side of a quote
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")  # one line break is enough inside a short context


@dataclass(frozen=True)
class SourceCard:
    """One card: the numbers it stands for, its article, and `segments` of (text, is a quote)."""

    article_id: str
    title: str
    date: str
    numbers: tuple[int, ...]
    segments: tuple[tuple[str, bool], ...]
    pages: tuple[int, ...] = ()


@dataclass
class _Passage:
    """A stretch of one article's text (at article offsets) and the quotes inside it."""

    start: int
    text: str
    quotes: list[tuple[int, int]]
    citations: list[Citation]

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    def absorb(self, other: _Passage) -> None:
        if other.end > self.end:
            self.text += other.text[self.end - other.start :]
        self.quotes += other.quotes
        self.citations += other.citations


def _passage_of(c: Citation) -> _Passage:
    """The citation's chunk at article offsets, with its quote located (by offsets, else by search)."""
    chunk, quote = c.text or "", c.quote or ""
    lo = c.start - c.chunk_start
    if not (0 <= lo and chunk[lo : lo + len(quote)] == quote and quote):
        found = chunk.find(quote) if quote else -1
        if found < 0:  # the chunk does not hold the quote: show the quote alone
            return _Passage(c.start, quote, [(c.start, c.start + len(quote))], [c])
        lo = found
    start = c.chunk_start + lo
    return _Passage(c.chunk_start, chunk, [(start, start + len(quote))], [c])


def merge_citations(citations: Sequence[Citation]) -> list[SourceCard]:
    """One card per article passage, overlapping passages merged, in order of their first number.

    >>> c = lambda n, s, e: Citation(n, "a", "T", "Hefei."[: e - s], s, e, "Based in Hefei.", 0)
    >>> [card.numbers for card in merge_citations([c(1, 9, 15), c(2, 9, 15)])]
    [(1, 2)]
    """
    by_article: dict[str, list[_Passage]] = {}
    for c in citations:
        by_article.setdefault(c.article_id, []).append(_passage_of(c))
    cards = []
    for passages in by_article.values():
        passages.sort(key=lambda p: p.start)
        merged = [passages[0]]
        for passage in passages[1:]:
            if passage.start <= merged[-1].end:
                merged[-1].absorb(passage)
            else:
                merged.append(passage)
        cards += [_card(p) for p in merged]
    return sorted(cards, key=lambda card: card.numbers[0])


def _card(p: _Passage) -> SourceCard:
    first = p.citations[0]
    return SourceCard(
        article_id=first.article_id,
        title=first.title,
        date=first.date,
        numbers=tuple(sorted({c.number for c in p.citations})),
        segments=tuple(_segments(p)),
        pages=tuple(sorted({c.page for c in p.citations if c.page})),
    )


def _segments(p: _Passage, context: int = CONTEXT_CHARS) -> list[tuple[str, bool]]:
    """The passage trimmed around its quotes: plain and marked stretches, "…" where text was left out."""
    spans: list[list[int]] = []
    for lo, hi in sorted((lo - p.start, hi - p.start) for lo, hi in p.quotes):
        if spans and lo <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], hi)
        else:
            spans.append([lo, hi])
    text, out = p.text, []
    cursor = _left_edge(text, spans[0][0] - context, spans[0][0])
    if cursor > 0:
        out.append(("…", False))
    for i, (lo, hi) in enumerate(spans):
        if lo - cursor > 2 * context and i > 0:  # a long stretch between two quotes: keep its ends
            cut = _right_edge(text, cursor + context, cursor)
            out += [(_tidy(text[cursor:cut]), False), (" … ", False)]
            cursor = _left_edge(text, lo - context, lo)
        out += [(_tidy(text[cursor:lo]), False), (text[lo:hi], True)]
        cursor = hi
    end = _right_edge(text, spans[-1][1] + context, spans[-1][1])
    out.append((_tidy(text[cursor:end]) + ("…" if end < len(text) else ""), False))
    return [(s, marked) for s, marked in out if s]


def _left_edge(text: str, at: int, limit: int) -> int:
    """Where shown text starts near `at` (≤ `limit`): after a line break, else a space; never mid-word."""
    if at <= 0:
        return 0
    line, space = text.find("\n", at, limit), text.find(" ", at, limit)
    return line + 1 if line >= 0 else space + 1 if space >= 0 else at


def _right_edge(text: str, at: int, limit: int) -> int:
    """Where shown text ends near `at` (≥ `limit`): at a line break, else a space."""
    if at >= len(text):
        return len(text)
    line, space = text.rfind("\n", limit, at), text.rfind(" ", limit, at)
    return line if line >= 0 else space if space >= 0 else at


def _tidy(text: str) -> str:
    return _PARAGRAPH_BREAK.sub("\n", text)
