"""Follow-ups without an LLM: the question plus the conversation → a `Rewrite` with alternative
readings, among which the answer path keeps the one retrieval is surest of.

Readings offered for a follow-up: the question alone (a topic switch), the question with a pronoun
replaced by a name of the previous question, or the previous question with one of its names swapped
for the new one ("And Chang'e 8?"), and, for a question that leans on the history or was so
re-read, the previous question joined to it (searched with both, shown as the resolved question
when there is one). A question that stands alone and reads as nothing else is searched as asked.
No grammar decides between the readings: retrieval confidence does (`bot/pipeline.py`). The bot's
own refusals are never used as content, and a turn in another language is not mixed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from bot.analyze import PRONOUNS, find_names, has_pronoun
from bot.stages import QuestionAnalysis, Rewrite, Role, Turn

MAX_READINGS = 4  # each reading costs one retrieval probe


def earlier_questions(history: Sequence[Turn]) -> list[str]:
    """The user's earlier questions, oldest first (a question the bot declined still says what the
    conversation is about; the bot's own refusal text is never used)."""
    return [t.content.strip() for t in history if t.role is Role.USER and t.content.strip()]


def substitute_pronoun(question: str, language: str, name: str) -> str | None:
    """The question with its first pronoun replaced by `name` ("Who set it up?" → "Who set IDSEA up?")."""
    pronouns = PRONOUNS.get(language, PRONOUNS["en"])
    for match in re.finditer(r"\w+", question):
        word = match.group(0)
        if word.lower() in pronouns:
            possessive = language == "en" and word.lower() in {"his", "her", "its", "their"}
            return question[: match.start()] + (f"{name}’s" if possessive else name) + question[match.end() :]
    return None


def swap_name(previous: str, new: str) -> list[str]:
    """The previous question with each of its names replaced by the new one ("And Chang'e 8?")."""
    return [previous.replace(old, new, 1) for old in find_names(previous) if old != new and old in previous]


class ConversationRewriter:
    """The default `Rewriter`: offers readings, leaves the choice to retrieval.

    `language_of(text, default)` names a text's language, so a turn in another language is left out.

    >>> ConversationRewriter().rewrite(analysis, [Turn(Role.USER, "When will IDSEA launch?")]).alternatives[0].shown  # doctest: +SKIP
    'Who set IDSEA up?'
    """

    def __init__(self, language_of: Callable[[str, str], str] | None = None):
        self.language_of = language_of or (lambda text, default: default)

    def rewrite(self, analysis: QuestionAnalysis, history: Sequence[Turn], deadline=None) -> Rewrite:
        """Readings of `analysis.text` given the turns before it (`deadline`: unused, no LLM here)."""
        question, language = analysis.text, analysis.language
        earlier = [q for q in earlier_questions(history) if self.language_of(q, language) == language]
        pronoun = has_pronoun(question, language)
        if not earlier:  # a pronoun needs a name to point to, in this question ("its main courthouse in
            # Brooklyn", "Her alter ego, according to Beyonce") or an earlier one
            return Rewrite(query=question, unresolved=pronoun and not find_names(question))
        previous = earlier[-1]
        resolved: list[str] = []
        if pronoun:
            names = [n for n in find_names(previous) if not n[0].isdigit()][:2]  # "it" is never "1998"
            resolved = [r for n in names if (r := substitute_pronoun(question, language, n))]
        elif (names := [n for n in analysis.entities if not n[0].isdigit()]) and len(question.split()) <= 5:
            resolved = swap_name(previous, names[0])[:2]  # "And Chang'e 8?" after a question about Chang'e 7
        readings = [Rewrite(query=r, shown=r, uses_history=True) for r in resolved]
        # The previous question joined to it searches with both; its sentences are judged and read against
        # the resolved question when there is one (and that is what is shown), else the question as asked.
        # A question that stands alone, and reads as nothing else, is searched as asked.
        if analysis.refers_back or resolved:
            joined = Rewrite(f"{previous} {question}", shown=resolved[0] if resolved else None, uses_history=True)
            readings.append(joined)
        if analysis.refers_back:  # it cannot stand alone: its readings only
            return replace(readings[0], alternatives=tuple(readings[1:MAX_READINGS]))
        return Rewrite(query=question, alternatives=tuple(readings[: MAX_READINGS - 1]))
