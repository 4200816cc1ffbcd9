"""The local reading model's part of an answer, after the instant extractive one: with `reader_condense`
on, a follow-up is made standalone and answered again (`bot/condense.py`); then the model reads the
decided window (`bot/llm_reader.py`) and the decision is taken again with what it said
(`AnswerPath.read_closely`).

Loading the model (from the cache `make setup` fills) is here too; without it, or with
`reader=extractive`, answers are the extractive path's alone. Building answers is `bot/pipeline.py`'s job.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from bot.condense import StandaloneRewriter
from bot.llm_reader import LLMSpanReader
from bot.pipeline import AnswerPath, Asked, Decided, OpenedIndex
from bot.stages import Turn
from bot.types import Answer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadingModel:
    """The local model's two jobs: the span reader and the follow-up rewriter (one model behind both)."""

    reader: LLMSpanReader
    rewriter: StandaloneRewriter | None  # None: follow-ups as the fast rewriter read them (`reader_condense`)

    @property
    def model(self):
        return self.reader.model


def load_reading_model(settings, language_of) -> ReadingModel | None:
    """The reading model `settings` ask for (loading in the background), or None: `reader=extractive`,
    the model not in the cache, or xllamacpp missing (then one log line says so)."""
    if settings.reader != "llm":
        return None
    from bot.gguf import cached

    path = cached(settings.reader_model, settings.reader_cache_dir)
    if path is None:
        log.warning(
            "Reading model %s is not in %s (make setup fetches it): extractive answers only",
            settings.reader_model,
            settings.reader_cache_dir,
        )
        return None
    if importlib.util.find_spec("xllamacpp") is None:
        log.warning("xllamacpp is not installed (make setup installs it): extractive answers only")
        return None
    from bot.llama import LocalModel

    model = LocalModel.shared(path, settings.reader_threads)
    budget = settings.reader_wait_s, settings.reader_read_s
    rewriter = StandaloneRewriter(model, language_of, *budget) if settings.reader_condense else None
    return ReadingModel(LLMSpanReader(model, *budget), rewriter)


def refine(
    path: AnswerPath,
    reading: ReadingModel,
    extractive: Answer,
    decided: Decided | None,
    turns: Sequence[Turn],
    index: OpenedIndex,
) -> Iterator[Answer]:
    """The extractive answer at once, then the answer the reading model leads to, when it differs: a
    follow-up's standalone form answered afresh (with a rewriter), and the decided window read."""
    yield extractive
    answer = extractive
    if turns and reading.rewriter is not None:
        language = path.languages.identify(extractive.question)
        standalone = reading.rewriter.rewrite(extractive.question, turns, language)
        if standalone is not None and standalone != extractive.query:
            answer, decided = path.answer_in_full(Asked(standalone, [], index))
            answer = replace(answer, question=extractive.question, notes=extractive.notes + answer.notes)
    if decided is not None:
        answer, _ = path.read_closely(answer, decided, reading.reader)
    if answer is not extractive:
        yield answer
