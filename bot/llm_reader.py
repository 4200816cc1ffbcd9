"""The local reading model as a reader: given the question and the window(s) the ranker chose, it
names the shortest span that answers, or says the windows do not state it. It never writes the answer:
a span that is not verbatim inside a window is discarded, and a kept one is only ever shown as the
article's own words at their offsets (`bot/pipeline.py` leads the answer with it).

The model runs in this process (`bot/llama.py`); the prompt is data (`bot/llm/prompts.py`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.llm import prompts

MAX_REPLY_TOKENS = 48  # {"span": "…"} of a short answer; the JSON schema stops it anyway


class SpanStatus(StrEnum):
    """What came of asking the reading model."""

    SPAN = "span"  # a span found verbatim in a window
    NOT_STATED = "not-stated"  # the model said the windows do not state the answer
    NOT_VERBATIM = "not-verbatim"  # the model's words are not in any window: discarded
    NO_REPLY = "no-reply"  # busy past the wait, failed, or an unreadable reply


@dataclass(frozen=True)
class SpanReading:
    """The reading model's verdict on the windows: a span at [start, end) of window `window` when found."""

    status: SpanStatus
    window: int = -1
    start: int = 0
    end: int = 0
    ms: float = 0.0


def locate_span(span: str, windows: Sequence[str]) -> tuple[int, int, int] | None:
    """(window, start, end) of `span` verbatim in the first window that holds it, or None. Only the
    span's outer whitespace and a final full stop are trimmed: its words must be the window's own.

    >>> locate_span("in 1932.", ["It opened in 1932.", "x"])
    (0, 10, 17)
    """
    span = span.strip()
    if span.endswith(".") and not span.endswith(".."):
        span = span[:-1].rstrip()
    if not span:
        return None
    for number, window in enumerate(windows):
        at = window.find(span)
        if at >= 0:
            return number, at, at + len(span)
    return None


def parse_span(content: str) -> str | None:
    """The span in a reply `{"span": "…"}`; "" when it says not stated; None when the reply is unreadable."""
    try:
        reply = json.loads(content)
    except (json.JSONDecodeError, TypeError):
        return None
    span = reply.get("span") if isinstance(reply, dict) else None
    return span if isinstance(span, str) else None


def request_body(question: str, windows: Sequence[str]) -> dict:
    """The chat request: the reading prompt, greedy decoding, and the reply held to `READ_SCHEMA`."""
    return {
        "messages": prompts.read_messages(question, windows),
        "max_tokens": MAX_REPLY_TOKENS,
        "temperature": 0,
        "response_format": {"type": "json_schema", "json_schema": {"schema": prompts.READ_SCHEMA}},
    }


class LLMSpanReader:
    """Asks a chat model (`bot.llama.LocalModel`, or anything with `chat(body, wait_s)`) for a span."""

    def __init__(self, model, wait_s: float = 3.0):
        self.model, self.wait_s = model, wait_s
        if hasattr(model, "prefill"):  # the instructions, read once at start-up rather than per question
            model.prefill(request_body("?", [""]))

    def read(self, question: str, windows: Sequence[str]) -> SpanReading:
        """The span of `windows` that answers `question`, within `wait_s` seconds, or why there is none."""
        began = time.perf_counter()
        reply = self.model.chat(request_body(question, windows), self.wait_s)
        ms = round((time.perf_counter() - began) * 1000, 3)
        try:
            content = reply["choices"][0]["message"]["content"]
        except (TypeError, KeyError, IndexError):
            return SpanReading(SpanStatus.NO_REPLY, ms=ms)
        span = parse_span(content)
        if span is None:
            return SpanReading(SpanStatus.NO_REPLY, ms=ms)
        if not span.strip():
            return SpanReading(SpanStatus.NOT_STATED, ms=ms)
        found = locate_span(span, windows)
        if found is None:
            return SpanReading(SpanStatus.NOT_VERBATIM, ms=ms)
        return SpanReading(SpanStatus.SPAN, *found, ms=ms)
