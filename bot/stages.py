"""The seams of the answer path: the data each stage hands the next, and a Protocol per stage.

analyze (question → `QuestionAnalysis`) → rewrite (history → `Rewrite`) → retrieve → read → compose
(→ `Answer`), optionally followed by an `Answerer` (an LLM) that may replace the extractive text.
Concrete stages live in their own modules; this module holds no logic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np

from bot.types import Answer, RetrievedChunk


class Role(StrEnum):
    """Who said a turn of the conversation."""

    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True)
class Turn:
    """One earlier message. `Turn(Role.USER, "When will IDSEA launch?")`"""

    role: Role
    content: str


class AnswerType(StrEnum):
    """The kind of fact a question asks for (what a short answer would be)."""

    DATE = "date"
    NUMBER = "number"
    NAME = "name"  # a person, place, organisation or titled thing
    DESCRIPTION = "description"  # why/how/what-is: a sentence or clause, not a name


class Intent(StrEnum):
    """What the user wants done."""

    QUESTION = "question"  # a question about the articles
    OVERVIEW = "overview"  # "Summarize the article", "What is this about?"
    INSTRUCTION = "instruction"  # instructions to the bot ("ignore your rules …"), not about the articles


@dataclass(frozen=True)
class QuestionAnalysis:
    """Everything read off the question itself, once per question."""

    text: str  # the question as asked, cleaned (whitespace, control characters)
    language: str  # ISO 639-1 code: "en", "zh", "fr", …
    intent: Intent = Intent.QUESTION
    answer_type: AnswerType = AnswerType.DESCRIPTION
    entities: tuple[str, ...] = ()  # names, dates and numbers the question mentions
    refers_back: bool = False  # leans on something said before ("it", "he", "When?", "And Chang'e 8?")


@dataclass(frozen=True)
class Rewrite:
    """What the rewrite stage makes of the question in its conversation."""

    query: str  # what retrieval searches for
    shown: str | None = None  # a readable standalone question ("understood as"), None when none was formed
    uses_history: bool = False
    unresolved: bool = False  # leans on the history but nothing there to lean on: ask the user to clarify
    alternatives: tuple[Rewrite, ...] = ()  # other readings: the answer path keeps the one retrieval is surest of


class Analyzer(Protocol):
    """question → `QuestionAnalysis`; `embed` gives a text's unit embedding, `default_language` is
    the language assumed when the question is too short to tell (the previous turn's)."""

    def analyze(
        self, question: str, embed: Callable[[str], np.ndarray], default_language: str = "en"
    ) -> QuestionAnalysis: ...


class Rewriter(Protocol):
    """The question plus the conversation so far → a standalone `Rewrite` (rules, retrieval or an LLM)."""

    def rewrite(self, analysis: QuestionAnalysis, history: Sequence[Turn], deadline=None) -> Rewrite: ...


class Answerer(Protocol):
    """An optional last stage (an LLM) that writes the answer from the retrieved passages.

    It must return `fallback` (with a note) whenever it cannot give a verified answer; `deadline` is
    the time budget of the whole LLM part of one answer (`bot.llm.client.Deadline`), None for its own."""

    def answer(self, question: str, passages: Sequence[RetrievedChunk], fallback: Answer, deadline=None) -> Answer: ...

    def stream(
        self, question: str, passages: Sequence[RetrievedChunk], fallback: Answer, deadline=None
    ) -> Iterator[Answer]: ...
