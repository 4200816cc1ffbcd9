"""Typo repair for questions: a word that is neither in the articles nor a known word is replaced
by the closest word of the articles ("locted" → "located"), using rapidfuzz, when English usage
(wordfreq's frequencies) says the typed word is far rarer than its correction: "teh" and "wil" are
typos, "transpire" is a rare word and stays.

Only plain ASCII words of four letters or more are ever touched: a word written with accents or in
another script ("Türkiye", "Zürich", "São Paulo", "合肥") was typed on purpose and is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from index.lexical import QUESTION_WORDS, STOPWORDS, normalise

_WORD = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)
# A real word is taken for a typo only when it is at least 100 times rarer in English use than its
# correction (Zipf scale: log10 per billion words; 0 for a word never seen, always repaired).
TYPO_RARER_BY = 2.0


def english_frequency(word: str) -> float:
    """The word's Zipf frequency in English (wordfreq's bundled lists; 0.0 for an unseen word)."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


class SpellingRepair:
    """Built once per index from the articles' spellings and a dictionary of real words.

    >>> SpellingRepair({"hefei": "Hefei", "located": "located"}, set()).repair("wher is hefie locted?")
    'where is Hefei located?'
    """

    def __init__(
        self, spellings: dict[str, str], known_words: Iterable[str], frequency: Callable[[str], float] | None = None
    ):
        self.spellings = spellings
        self.frequency = frequency or english_frequency
        self.known = frozenset(known_words) | QUESTION_WORDS | STOPWORDS
        # Question and function words are candidates too ("wher" → "where"), article words first.
        self._candidates = list(spellings) + sorted(w for w in QUESTION_WORDS | STOPWORDS if len(w) >= 4)

    def repair(self, text: str) -> str:
        """The text with unknown ASCII words replaced by their closest article word."""
        from rapidfuzz import fuzz, process

        def fix(match: re.Match) -> str:
            word = match.group(0)
            lower = normalise(word)
            if not word.isascii() or not word.isalpha() or len(word) < 4:
                return word
            if lower in self.spellings or lower in self.known:
                return word
            # Indel ratio: a dropped or doubled letter costs less than a changed one ("wher" → where, not when).
            best = process.extractOne(lower, self._candidates, scorer=fuzz.ratio, score_cutoff=80)
            if not best:
                return word
            typed = self.frequency(lower)  # an unseen word is a typo; a real one only if far rarer
            if typed > 0 and self.frequency(best[0]) - typed < TYPO_RARER_BY:
                return word
            surface = self.spellings.get(best[0], best[0])
            if surface[:1].isupper() or not word[:1].isupper():
                return surface
            return surface[:1].upper() + surface[1:]

        return _WORD.sub(fix, text)
