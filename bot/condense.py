"""A follow-up made standalone by the local reading model ("And to Chang'e 6?" after a question about
Chang'e 7 → "Which countries contribute instruments to Chang'e 6?"), and checked before it is used.

The model only rewrites the question; it never sees the articles or writes an answer. A rewrite is
kept only when it keeps every search word of the follow-up, brings no name or number that neither the
follow-up nor the conversation holds, and is neither the follow-up itself nor an earlier question with
the follow-up glued on. The bot's own
refusals, and turns in another language than the follow-up's, are left out of what it is shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from bot.analyze import find_names
from bot.llm import prompts
from bot.messages import is_refusal
from bot.stages import Role, Turn
from index.lexical import normalise, tokenize

MAX_REPLY_TOKENS = 80  # {"question": "…"}: one question
_MARKERS = re.compile(r"\s*\[\d+\]")


def usable_history(history: Sequence[Turn], language: str, language_of: Callable[[str, str], str]) -> list[Turn]:
    """The turns a rewrite may draw on: in the follow-up's language, without the bot's refusals or its
    `[n]` markers."""
    kept = []
    for turn in history:
        content = _MARKERS.sub("", turn.content).strip()
        if not content or (turn.role is Role.ASSISTANT and is_refusal(turn.content)):
            continue
        if language_of(content, language) != language:
            continue
        kept.append(Turn(turn.role, content))
    return kept


def checked(rewrite: str, question: str, history: Sequence[Turn], language: str) -> str | None:
    """`rewrite` when it is a usable standalone form of `question` given `history`, else None: it keeps
    every search word of the question, every name and number in it occurs in the question or the
    conversation, and it is neither the question itself nor holds an earlier question whole.

    >>> checked("Which teams played in the 2014 final?", "And in 2014?", [Turn(Role.USER, "Which teams played in the 2010 final?")], "en")
    'Which teams played in the 2014 final?'
    """
    rewrite = " ".join(rewrite.split())
    if not rewrite or normalise(rewrite) == normalise(question):
        return None
    if not set(tokenize(question, language)) <= set(tokenize(rewrite, language)):
        return None  # a word of the follow-up was lost: it answers or asks something else
    earlier = [normalise(t.content) for t in history if t.role is Role.USER]
    if any(q in normalise(rewrite) for q in earlier):
        return None  # the earlier question with the follow-up glued on: the fast rewriter's joined reading
    said = set(tokenize(" ".join([question, *(t.content for t in history)]), language))
    if any(not set(tokenize(name, language)) <= said for name in find_names(rewrite)):
        return None  # a name or number from nowhere
    return rewrite


class StandaloneRewriter:
    """Asks a chat model (`bot.llama.LocalModel`, or anything with `chat(body, wait_s, read_s)`) for the
    standalone form of a follow-up, within the same budget as `LLMSpanReader`.

    >>> StandaloneRewriter(model).rewrite("And to Chang'e 6?", turns, "en")  # doctest: +SKIP
    "Which countries contribute instruments to Chang'e 6?"
    """

    def __init__(self, model, language_of: Callable[[str, str], str], wait_s: float, read_s: float):
        self.model, self.language_of, self.wait_s, self.read_s = model, language_of, wait_s, read_s

    def rewrite(self, question: str, history: Sequence[Turn], language: str) -> str | None:
        """The checked standalone question, or None (no usable history, no reply in time, or it failed a check)."""
        turns = usable_history(history, language, self.language_of)
        if not any(t.role is Role.USER for t in turns):
            return None
        body = {
            "messages": prompts.standalone_messages(question, turns),
            "max_tokens": MAX_REPLY_TOKENS,
            "temperature": 0,
            "response_format": {"type": "json_schema", "json_schema": {"schema": prompts.STANDALONE_SCHEMA}},
        }
        reply = self.model.chat(body, self.wait_s, self.read_s)
        try:
            rewrite = json.loads(reply["choices"][0]["message"]["content"])["question"]
        except (TypeError, KeyError, IndexError, json.JSONDecodeError):
            return None
        return checked(rewrite, question, turns, language) if isinstance(rewrite, str) else None
