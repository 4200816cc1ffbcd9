"""The local reading model as a reader: given the question and the window(s) the ranker chose, it
names the shortest span that answers, or says the windows do not state it. It never writes the answer:
a span whose words are not a window's own (letter case and spacing aside) is discarded, and a kept one is
only ever shown as the article's own text at its offsets (`bot/pipeline.py` leads the answer with it).

The model runs in this process (`bot/llama.py`); the prompt is data (`bot/llm/prompts.py`).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.llm import prompts

MAX_REPLY_TOKENS = 48  # {"span": "…"} of a short answer; the JSON schema stops it anyway
TOP_LOGPROBS = 5  # alternatives per token llama.cpp reports: an empty span is among them whenever it is likely
_SPAN_OPENED = re.compile(r'\s*\{\s*"span"\s*:\s*"')  # the reply so far has begun the span's value
_SPAN_EMPTY = re.compile(r'\s*\{\s*"span"\s*:\s*""')  # … and closed it at once: "not stated"


class SpanStatus(StrEnum):
    """What came of asking the reading model."""

    SPAN = "span"  # a span found in a window (`locate_span`)
    NOT_STATED = "not-stated"  # the model said the windows do not state the answer
    NOT_VERBATIM = "not-verbatim"  # the model's words are not any window's own: discarded
    NO_REPLY = "no-reply"  # busy past the wait, failed, or an unreadable reply


@dataclass(frozen=True)
class SpanReading:
    """The reading model's verdict on the windows: a span at [start, end) of window `window` when found."""

    status: SpanStatus
    window: int = -1
    start: int = 0
    end: int = 0
    ms: float = 0.0
    # How likely the model held "not stated" where the span began (`not_stated_probability`); None when
    # the reply carried no token probabilities.
    not_stated: float | None = None


def locate_span(span: str, windows: Sequence[str]) -> tuple[int, int, int] | None:
    """(window, start, end) of `span` in the first window that holds its words in order, or None. The
    words must be the window's own; only letter case and the spaces between them may differ (a small
    model writes "the energy crisis" for a sentence's "The energy crisis"), and the span's final full
    stop is dropped. What is shown is then the window's text at those offsets, never the reply's.

    >>> locate_span("in 1932.", ["It opened in 1932.", "x"])
    (0, 10, 17)
    >>> locate_span("it  Opened", ["x", "It opened in 1932."])
    (1, 0, 9)
    """
    words = span.split()
    if words and words[-1].endswith(".") and not words[-1].endswith(".."):
        words[-1] = words[-1][:-1]
    words = [w for w in words if w]
    if not words:
        return None
    pattern = re.compile(r"\s+".join(map(re.escape, words)), re.IGNORECASE)
    for number, window in enumerate(windows):
        found = pattern.search(window)
        if found:
            return number, found.start(), found.end()
    return None


def parse_span(content: str) -> str | None:
    """The span in a reply `{"span": "…"}`; "" when it says not stated; None when the reply is unreadable."""
    try:
        reply = json.loads(content)
    except (json.JSONDecodeError, TypeError):
        return None
    span = reply.get("span") if isinstance(reply, dict) else None
    return span if isinstance(span, str) else None


def not_stated_probability(tokens: Sequence[dict]) -> float | None:
    """The probability the model gave an empty span at the token that began the span's value: the sum over
    that token's reported alternatives (OpenAI `logprobs.content`) that close the value at once. It grades
    "not stated" where the reply itself is only ever yes or no. None when no token began the value.

    >>> not_stated_probability([{"token": '{"span": "', "top_logprobs": [
    ...     {"token": '{"span": "', "logprob": -0.2}, {"token": '{"span": ""', "logprob": -1.8}]}])
    0.165
    """
    text = ""
    for token in tokens:
        before, text = text, text + token.get("token", "")
        if _SPAN_OPENED.match(text):
            alternatives = token.get("top_logprobs") or ()
            total = sum(math.exp(a["logprob"]) for a in alternatives if _SPAN_EMPTY.match(before + a.get("token", "")))
            return round(min(total, 1.0), 3)
    return None


def request_body(question: str, windows: Sequence[str]) -> dict:
    """The chat request: the reading prompt, greedy decoding, and the reply held to `READ_SCHEMA`."""
    return {
        "messages": prompts.read_messages(question, windows),
        "max_tokens": MAX_REPLY_TOKENS,
        "temperature": 0,
        "logprobs": True,
        "top_logprobs": TOP_LOGPROBS,
        "response_format": {"type": "json_schema", "json_schema": {"schema": prompts.READ_SCHEMA}},
    }


class LLMSpanReader:
    """Asks a chat model (`bot.llama.LocalModel`, or anything with `chat(body, wait_s, read_s)`) for a span:
    it waits `wait_s` seconds at most for the model to be free, then `read_s` at most for the read."""

    def __init__(self, model, wait_s: float, read_s: float):
        self.model, self.wait_s, self.read_s = model, wait_s, read_s
        if hasattr(model, "prefill"):  # the instructions, read once at start-up rather than per question
            model.prefill(request_body("?", [""]))

    def read(self, question: str, windows: Sequence[str]) -> SpanReading:
        """The span of `windows` that answers `question`, within the budget, or why there is none."""
        began = time.perf_counter()
        reply = self.model.chat(request_body(question, windows), self.wait_s, self.read_s)
        ms = round((time.perf_counter() - began) * 1000, 3)
        try:
            choice = reply["choices"][0]
            content = choice["message"]["content"]
        except (TypeError, KeyError, IndexError):
            return SpanReading(SpanStatus.NO_REPLY, ms=ms)
        span = parse_span(content)
        if span is None:
            return SpanReading(SpanStatus.NO_REPLY, ms=ms)
        not_stated = not_stated_probability((choice.get("logprobs") or {}).get("content") or ())
        if not span.strip():
            return SpanReading(SpanStatus.NOT_STATED, ms=ms, not_stated=not_stated)
        found = locate_span(span, windows)
        if found is None:
            return SpanReading(SpanStatus.NOT_VERBATIM, ms=ms, not_stated=not_stated)
        return SpanReading(SpanStatus.SPAN, *found, ms=ms, not_stated=not_stated)
