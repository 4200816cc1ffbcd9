"""Data the bot returns: `Answer`, its `Citation`s and the `RetrievedChunk`s it read.

Plain frozen dataclasses with `to_dict()` for JSON; building them is `bot/compose.py`'s job.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum


class AnswerMode(StrEnum):
    """Who wrote the shown text: quoted sentences (the default) or a verified LLM answer."""

    EXTRACTIVE = "extractive"
    LLM = "llm"


class AbstainReason(StrEnum):
    """Why the bot did not answer; one of these, never free text (details go into `Answer.notes`)."""

    OFF_TOPIC = "off-topic"  # the articles are about something else
    NOT_STATED = "not-stated"  # on topic, but no passage states the answer
    FALSE_PREMISE = "false-premise"  # the question assumes something the articles do not say
    INSTRUCTION = "instruction"  # instructions to the bot, not a question about the articles
    UNCLEAR = "unclear"  # gibberish, or a reference ("it") with nothing to point back to


@dataclass(frozen=True)
class RetrievedChunk:
    """One chunk the retriever returned, in rank order; `score` is the fused score (higher is better)."""

    id: str
    article_id: str
    title: str
    text: str
    start: int
    end: int
    score: float
    date: str = ""


@dataclass(frozen=True)
class Citation:
    """The source of one `[number]` marker: `quote` is verbatim `article.text[start:end]`; `text` is its chunk."""

    number: int
    article_id: str
    title: str
    quote: str
    start: int
    end: int
    text: str
    chunk_start: int = 0
    date: str = ""
    page: int | None = None  # 1-based page of the quote, for paged sources (PDF); None otherwise

    @classmethod
    def quoting(cls, number: int, chunk, start: int, end: int, quote: str) -> Citation:
        """Citation `number` for `quote` at [start, end) of the article, inside `chunk` (an index
        `Chunk` or a `RetrievedChunk`: anything with article_id, title, text, start and date)."""
        return cls(
            number=number,
            article_id=chunk.article_id,
            title=chunk.title,
            quote=quote,
            start=start,
            end=end,
            text=chunk.text,
            chunk_start=chunk.start,
            date=chunk.date,
        )


@dataclass(frozen=True)
class SentenceCounts:
    """What verification made of an LLM's answer: sentences written, shown (verified) and left out,
    and `[n]` markers written and kept (pointing at a passage given that helps support the sentence)."""

    generated: int = 0
    kept: int = 0
    dropped: int = 0
    markers: int = 0
    markers_kept: int = 0


@dataclass(frozen=True)
class Answer:
    """What `Bot.ask` returns. `text` holds `[n]` markers, one `Citation` per marker.

    >>> Answer(text="Hefei [1].", citations=[], abstained=False, query="q").abstained
    False
    """

    text: str
    citations: list[Citation]
    abstained: bool
    query: str
    retrieved: list[RetrievedChunk] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    question: str = ""
    short_answer: str = ""
    confidence: float = 0.0
    notes: list[str] = field(default_factory=list)
    mode: AnswerMode = AnswerMode.EXTRACTIVE
    abstain_reason: AbstainReason | None = None  # set exactly when `abstained`
    llm: SentenceCounts | None = None  # set when an LLM was asked, whichever mode answered
    draft: str = ""  # while an LLM answer streams: the sentence being written, not yet verified (never fact)

    def to_dict(self) -> dict:
        """A JSON-ready dict (used by `dsqa ask --json`, the eval results and the web API)."""
        return asdict(self)


@dataclass(frozen=True)
class ArticleSummary:
    """One indexed document, for a "what I know" panel: title, reported date, passages, format, pages."""

    article_id: str
    title: str
    date: str
    chunks: int  # passages the index holds for it
    format: str = ""  # file suffix without the dot: "md", "pdf", …
    pages: int | None = None  # for paged formats (PDF)
