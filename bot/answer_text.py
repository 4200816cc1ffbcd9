"""An answer as plain text with a numbered source list: what the CLI prints and the page's Copy copies.

It sits in `bot/`, below both of them, so neither takes its text from the other's renderer. No HTML here.
"""

from __future__ import annotations

from bot.types import Answer


def answer_as_text(answer: Answer) -> str:
    """The answer as plain text with a numbered source list: what the copy button copies.

    >>> print(answer_as_text(Answer("Hefei [1].", [], False, "q")))
    Hefei [1].
    """
    lines = [answer.text]
    if answer.citations:
        lines += ["", "Sources:"]
        for c in answer.citations:
            where = ", ".join(part for part in (c.date, f"p. {c.page}" if c.page else "") if part)
            lines.append(f"[{c.number}] {c.title}" + (f" ({where})" if where else "") + f" — “{c.quote}”")
    return "\n".join(lines)
