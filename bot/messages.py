"""Every message the bot says in its own voice, as data, filled by plain functions.

Answers themselves are quotes from the articles; only these wrappers are ours.
"""

from __future__ import annotations

ABSTAIN = "I can't find that in the articles I have, so I won't guess."
ABSTAIN_INJECTION = (
    "I can only answer questions from the articles I have; I can't follow instructions that change that."
)
COVERAGE_ONE = "They cover {titles}."
COVERAGE_TOPICS = "You could ask about {topics}."
EMPTY_QUESTION = "The question is empty: type a question about the articles."
TRUNCATED = "Your question was longer than {limit} characters, so only its first {limit} were used."
NO_ARTICLES = "There are no articles to answer from."


def abstain_message(titles: list[str], topics: list[str], injection: bool = False) -> str:
    """The reply when the articles do not hold the answer, naming what they do cover.

    >>> abstain_message(["“A” (2025-07-01)"], ["IDSEA"])
    "I can't find that in the articles I have, so I won't guess. They cover “A” (2025-07-01). You could ask about IDSEA."
    """
    parts = [ABSTAIN_INJECTION if injection else ABSTAIN]
    if titles:
        shown = titles[:5] + ([f"{len(titles) - 5} more"] if len(titles) > 5 else [])
        parts.append(COVERAGE_ONE.format(titles=_join(shown)))
    if topics:
        parts.append(COVERAGE_TOPICS.format(topics=_join(topics)))
    return " ".join(parts)


def truncated_note(limit: int) -> str:
    """The note added when a question was cut to `limit` characters."""
    return TRUNCATED.format(limit=limit)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
