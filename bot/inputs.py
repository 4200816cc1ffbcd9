"""Clean what callers hand `Bot.ask`: the question and the conversation so far.

A question must be a `str` (else `TypeError`); text is made safe for every later stage: surrogate
pairs are joined and lone surrogates replaced, NUL and other control characters become spaces,
invisible format characters (bidi overrides, zero-width marks) are dropped, and the result is NFC.
A history may have any shape: only `{"role": "user"|"assistant", "content": str}` items (or `Turn`s)
are kept, and only the most recent ones, bounded in number and size. Truncating an over-long
question is the bot's job (it adds a note); this module never raises for a history.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from bot.messages import EMPTY_QUESTION
from bot.stages import Role, Turn

MAX_TURNS = 12  # the rewriter looks back a few turns; more only costs time
MAX_TURN_CHARS = 4000  # a longer turn keeps only its start
MAX_HISTORY_CHARS = 16000  # all kept turns together
MAX_SCANNED_ITEMS = 10000  # a history that is a huge iterator is read this far, no further

_ROLES = frozenset(r.value for r in Role)
# C0/C1 controls except tab and newline (carriage returns are folded into newlines first).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Format characters that change how text looks or orders without being text: bidi controls, zero-width
# marks, the BOM. (The zero-width joiner is kept: emoji and some scripts need it.)
_INVISIBLE = re.compile(r"[\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def clean_text(text: str) -> str:
    """`text` safe to tokenize, embed, store and show. `clean_text("a\\x00b\\u202e") == "a b"`"""
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        # Joins a surrogate pair that stands for one character; a lone surrogate becomes U+FFFD.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", _CONTROL.sub(" ", text))
    return unicodedata.normalize("NFC", text)


def clean_question(question: object) -> str:
    """The question, cleaned and stripped; `TypeError` if it is not a str, `ValueError` if it is blank.

    >>> clean_question("  When will IDSEA launch?\\x00 ")
    'When will IDSEA launch?'
    """
    if not isinstance(question, str):
        raise TypeError(f"the question must be a str, not {type(question).__name__}")
    cleaned = clean_text(question).strip()
    if not cleaned:
        raise ValueError(EMPTY_QUESTION)
    return cleaned


def clean_history(history: object) -> list[Turn]:
    """The usable recent turns of `history`, oldest first; anything unusable is dropped, never an error.

    >>> clean_history([{"role": "user", "content": "Hi", "metadata": {}}, {"role": "tool"}, 42, None])
    [Turn(role=<Role.USER: 'user'>, content='Hi')]
    """
    recent: list[Turn] = []
    size = 0
    for item in reversed(_recent_items(history)):
        turn = _as_turn(item)
        if turn is None:
            continue
        if size + len(turn.content) > MAX_HISTORY_CHARS:
            break
        recent.append(turn)
        size += len(turn.content)
        if len(recent) == MAX_TURNS:
            break
    return recent[::-1]


def _recent_items(history: object) -> Sequence:
    """The tail of `history` worth looking at, without reading a huge one whole."""
    if history is None or isinstance(history, str | bytes | bytearray):
        return ()
    if isinstance(history, Mapping | Turn):  # one message on its own
        return (history,)
    window = MAX_TURNS * 8  # room for skipped junk between the usable turns
    try:
        if isinstance(history, Sequence):
            return tuple(history[-window:])
        if isinstance(history, Iterable):
            return tuple(itertools.islice(history, MAX_SCANNED_ITEMS))[-window:]
    except Exception:  # a history that breaks when read is no history
        return ()
    return ()


def _as_turn(item: object) -> Turn | None:
    if isinstance(item, Turn):
        role, content = item.role, item.content
    elif isinstance(item, Mapping):
        role, content = item.get("role"), item.get("content")
    else:
        return None
    if not isinstance(content, str) or not isinstance(role, str) or role not in _ROLES:
        return None
    content = clean_text(content[: MAX_TURN_CHARS * 2])[:MAX_TURN_CHARS].strip()
    return Turn(Role(role), content) if content else None
