"""`LLMRewriter`: the `bot.stages.Rewriter` that asks the LLM to "condense the question": a follow-up
plus the conversation so far becomes one standalone question, used for retrieval and shown.

Used only when an LLM is configured, and only for questions with history; a question without history,
an LLM failure or an unusable reply (empty, several lines, far longer than the question) goes to
the rule-based rewriter it wraps, so follow-ups never depend on the server being up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.llm import prompts
from bot.llm.client import Deadline, LLMClient, LLMFailure
from bot.stages import QuestionAnalysis, Rewrite, Rewriter, Turn

MAX_GROWTH = 200  # characters a standalone question may add to the follow-up (the names it resolves)
REWRITE_SHARE = 0.5  # of the answer's LLM budget: the rest is kept for the answer itself
_LABEL = re.compile(r"^\s*(?:standalone question|question|rewritten question)\s*:\s*", re.I)


class LLMRewriter:
    """Follow-ups made standalone by the LLM; everything else (and every failure) by `fallback`."""

    def __init__(self, client: LLMClient, fallback: Rewriter):
        self.client = client
        self.fallback = fallback

    def rewrite(self, analysis: QuestionAnalysis, history: Sequence[Turn], deadline: Deadline | None = None) -> Rewrite:
        """A standalone `Rewrite` of `analysis.text` in its conversation."""
        if not history:
            return self.fallback.rewrite(analysis, history)
        deadline = deadline or self.client.deadline()
        own = Deadline.after(max(0.0, deadline.remaining()) * REWRITE_SHARE)
        try:
            reply = self.client.complete(prompts.condense_messages(analysis.text, history), own)
        except LLMFailure:
            return self.fallback.rewrite(analysis, history)
        question = standalone_question(reply, analysis.text)
        if question is None:
            return self.fallback.rewrite(analysis, history)
        return Rewrite(query=question, shown=question, uses_history=True)


def standalone_question(reply: str, asked: str) -> str | None:
    """The model's standalone question, cleaned, or None when the reply is not one.

    >>> standalone_question('Standalone question: "Where will IDSEA be based?"', "Where will it be based?")
    'Where will IDSEA be based?'
    """
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    if len(lines) != 1:
        return None
    question = _LABEL.sub("", lines[0]).strip().strip("\"'“”‘’`").strip()
    if not question or len(question) > len(asked) + MAX_GROWTH:
        return None
    return question
