"""Typo repair for questions: an unknown word is mapped to the closest word of the corpus.

Tokenization itself is shared with the index and lives in `index/lexical.py`.
"""

from __future__ import annotations

import re

from index.lexical import QUESTION_WORDS, STOPWORDS, normalise


def repair_typos(text: str, spellings: dict[str, str], known_words: frozenset[str] | set[str] = frozenset()) -> str:
    """Fix words that are neither in the articles nor known English, and write acronyms as the
    articles do. `spellings` maps normalised article words to their usual spelling; `known_words`
    is a dictionary of real words left alone (a real word absent from the articles is a signal).

    >>> repair_typos("wher is hefie, idsea?", {"hefei": "Hefei", "idsea": "IDSEA"})
    'where is Hefei, IDSEA?'
    """
    from rapidfuzz import fuzz, process

    candidates = list(spellings) + [w for w in QUESTION_WORDS | STOPWORDS if len(w) >= 4]

    def fix(match: re.Match) -> str:
        word, possessive = match.group(1), match.group(2) or ""
        lower = normalise(word)
        if lower in spellings:
            surface = spellings[lower]
            return (surface if surface.isupper() and len(surface) > 1 else word) + possessive  # idsea → IDSEA
        if len(lower) < 4 or lower in known_words or lower in STOPWORDS or lower in QUESTION_WORDS:
            return word + possessive
        # Indel ratio: a dropped or doubled letter costs less than a changed one ("wher" → where, not when).
        best = process.extractOne(lower, candidates, scorer=fuzz.ratio, score_cutoff=80)
        if not best:
            return word + possessive
        surface = spellings.get(best[0], best[0])
        return (
            surface if surface[:1].isupper() else (surface.capitalize() if word[:1].isupper() else surface)
        ) + possessive

    return re.sub(r"([A-Za-z](?:[A-Za-z]|['’](?![sS]\b)[A-Za-z])*)(['’][sS]\b)?", fix, text)
