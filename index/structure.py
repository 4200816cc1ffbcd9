"""What a sentence means beyond its own words, read off the article's layout at index time: the label
of a list line ("Chang’e 8: …" for every sentence of that line), the sentence introducing a quote or
a list ("… stated the following:"), the sentence a "The association …" or "He …" points back to, and
the acronyms an article spells out ("IDSEA" for the International Deep Space Exploration Association,
from the name's initials).

General typographic conventions, computed once per article; nothing here knows any article.
"""

from __future__ import annotations

import re

MAX_LABEL_WORDS = 8  # "Note 1, on the International Lunar Research Station: …" is a label; a clause is not
MAX_LIST_LINES = 12  # how far back over labelled lines an introduction ("… as follows:") is looked for
# A sentence opening with one of these (English closed-class words) points back to the one before it:
# "The association is set to be located in Hefei" is about what the sentence before names.
ANAPHORA = frozenset("the this that these those it its they their them he his she her such".split())
_LABEL = re.compile(r"([^\W\d_][^:\n]{0,90}?):\s")
_NAME = re.compile(r"[A-Z][\w’'-]*(?:\s+(?:(?:of|and|for|the|de|on)\s+)*[A-Z][\w’'-]*)+")
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,7}\b")


def line_label(text: str, line_start: int) -> str:
    """The label opening a line ("Chang’e 8" in "Chang’e 8: …"), or "": a capitalised phrase of at most
    `MAX_LABEL_WORDS` words before a colon."""
    match = _LABEL.match(text, line_start)
    if not match or not match.group(1)[:1].isupper() or len(match.group(1).split()) > MAX_LABEL_WORDS:
        return ""
    return match.group(1)


def sentence_contexts(text: str, spans: list[tuple[int, int]]) -> list[str]:
    """For each sentence, the words it leans on that it does not hold itself: its line's label (after the
    line's first sentence) and the introduction of the quote or list it belongs to."""
    line_of, line, previous = [], 0, 0
    for start, _ in spans:  # line numbers, counted once over the text
        line += text.count("\n", previous, start)
        line_of.append(line)
        previous = start
    first_of_line: dict[int, int] = {}
    for row, line in enumerate(line_of):
        first_of_line.setdefault(line, row)
    contexts = []
    for row, (start, end) in enumerate(spans):
        line_start = text.rfind("\n", 0, start) + 1
        label = line_label(text, line_start)
        parts = [label] if label and line_start < start and label not in text[start:end] else []
        intro = _introduction(text, spans, line_of, first_of_line, row)
        if intro >= 0:
            parts.insert(0, text[spans[intro][0] : spans[intro][1]])
        elif row > 0 and line_of[row - 1] == line_of[row] and _points_back(text[start:end]):
            parts.insert(0, text[spans[row - 1][0] : spans[row - 1][1]])
        contexts.append(" ".join(parts))
    return contexts


def _points_back(sentence: str) -> bool:
    """Does the sentence open with a word that refers to something named before it?"""
    first = re.match(r"[\W_]*([^\W\d_]+)", sentence)
    return bool(first) and first.group(1).lower() in ANAPHORA


def _introduction(text, spans, line_of, first_of_line, row) -> int:
    """The sentence ending in ":" that introduces this sentence's line, directly or over a run of
    labelled lines ("… as follows:" then "Chang’e 4: …", "Chang’e 5: …"), else -1."""
    first = first_of_line[line_of[row]]
    before = first - 1
    labelled = bool(line_label(text, text.rfind("\n", 0, spans[first][0]) + 1))
    for _ in range(MAX_LIST_LINES if labelled else 1):  # only a list item looks back over other items
        if before < 0:
            return -1
        s, e = spans[before]
        if text[s:e].rstrip().endswith(":"):
            return before
        first = first_of_line[line_of[before]]
        if not line_label(text, text.rfind("\n", 0, spans[first][0]) + 1):
            return -1
        before = first - 1
    return -1


def acronyms(text: str) -> dict[str, str]:
    """Lower-case acronym → the name it stands for, for every acronym of the text whose name the text
    also gives: a capitalised name whose initials spell it ("International Lunar Research Station" for
    "ILRS", "… Association (IDSEA)").

    >>> acronyms("The European Space Agency (ESA) met. ESA agreed.")
    {'esa': 'European Space Agency'}
    """
    used = {a for a in _ACRONYM.findall(text) if a.isupper()}
    if not used:
        return {}
    by_initials: dict[str, str] = {}
    for match in _NAME.finditer(text):
        name = match.group(0)
        words = name.split()
        while words and words[0] in ("The", "A", "An"):
            words = words[1:]
        initials = "".join(w[0] for w in words if w[:1].isupper())
        if len(initials) >= 2:
            by_initials.setdefault(initials, " ".join(words))
    return {a.lower(): by_initials[a] for a in sorted(used) if a in by_initials}
