"""Search tokens, the same for documents (at index time) and questions: lower-case, curly quotes
folded, stop words dropped and Snowball stems in the text's language (English by default; the stop
word lists of other languages are bm25s's), and Chinese characters as single characters plus bigrams
(so 合肥 matches 合肥市). No model, no network; query-side spelling repair is in `bot/`.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves also may might must shall per via s t ll d re ve m
    tell say said according
    get gets got getting gotten make makes made making give gives gave given go goes went gone take takes
    took taken come comes came use uses used know knows knew thing things kind sort type way ones""".split()
)  # the last two lines: light verbs and filler nouns, which say little about what is asked
# Question words carry no topic; they still steer answer types in compose.py.
QUESTION_WORDS = frozenset("what which who whom whose when where why how much many".split())

_CJK_RANGE = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[^\W_{_CJK_RANGE}]+(?:'[^\W_{_CJK_RANGE}]+)*|[{_CJK_RANGE}]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def normalise(text: str) -> str:
    """Lower-case, NFKC, curly quotes and dashes folded: `normalise("Chang’e") == "chang'e"`."""
    text = unicodedata.normalize("NFKC", text).lower()
    return text.replace("’", "'").replace("‘", "'").replace("`", "'").replace("–", "-").replace("—", "-")


def fold(text: str) -> str:
    """Normalised, accents and everything but letters and digits dropped: `fold("Türkiye") == "turkiye"`."""
    plain = unicodedata.normalize("NFKD", normalise(text))
    return "".join(ch for ch in plain if ch.isalnum())


# ISO 639-1 code → (PyStemmer's Snowball algorithm, bm25s's stop word list); other languages: neither.
LANGUAGES = {
    "en": ("english", None),
    "fr": ("french", "STOPWORDS_FRENCH"),
    "de": ("german", "STOPWORDS_GERMAN"),
    "es": ("spanish", "STOPWORDS_SPANISH"),
    "it": ("italian", "STOPWORDS_ITALIAN"),
    "pt": ("portuguese", "STOPWORDS_PORTUGUESE"),
    "nl": ("dutch", "STOPWORDS_DUTCH"),
    "sv": ("swedish", "STOPWORDS_SWEDISH"),
    "da": ("danish", "STOPWORDS_DANISH"),
    "no": ("norwegian", "STOPWORDS_NORWEGIAN"),
    "ru": ("russian", "STOPWORDS_RUSSIAN"),
    "tr": ("turkish", "STOPWORDS_TURKISH"),
}


@lru_cache(maxsize=16)
def _stemmer(language: str):
    import Stemmer

    algorithm = LANGUAGES.get(language, (None, None))[0]
    return Stemmer.Stemmer(algorithm) if algorithm else None


@lru_cache(maxsize=16)
def stopwords(language: str) -> frozenset[str]:
    """The stop words of a language (ours for English; bm25s's for the others it lists)."""
    name = LANGUAGES.get(language, (None, None))[1]
    if language == "en" or name is None:
        return STOPWORDS if language == "en" else frozenset()
    import bm25s.stopwords

    return frozenset(normalise(w) for w in getattr(bm25s.stopwords, name))


def stem(word: str, language: str = "en") -> str:
    """Snowball stem of one lower-case word (`stem("launches") == "launch"`); unstemmed without one."""
    stemmer = _stemmer(language)
    return stemmer.stemWord(word) if stemmer else word


def words(text: str) -> list[str]:
    """Normalised word tokens, possessive 's removed, stop words kept: `words("IDSEA's")` → ['idsea']."""
    found = []
    for token in _WORD.findall(normalise(text)):
        if _CJK.match(token):
            found.append(token)
            continue
        token = re.sub(r"'s$", "", token)
        head, _, rest = token.partition("'")
        if rest and len(head) <= 2:  # an elision: l'association, d'Alembert, qu'il
            token = rest
        found.extend(part for part in token.split("'") if part) if token.count("'") > 1 else found.append(token)
    return found


def tokenize(text: str, language: str = "en") -> list[str]:
    """Search tokens of a text. `tokenize("Where is 合肥市?")` → ['合', '肥', '市', '合肥', '肥市']."""
    tokens: list[str] = []
    dropped = stopwords(language) | (QUESTION_WORDS if language == "en" else frozenset())
    for word in words(text):
        if _CJK.match(word):
            tokens.extend(word)
            tokens.extend(word[i : i + 2] for i in range(len(word) - 1))
        elif word not in dropped:
            # A name with an inner apostrophe (Chang'e, O'Neill) is kept whole: stemmed, "chang'e" would
            # become "chang" and match every "change".
            tokens.append(word if "'" in word else stem(word, language))
    return tokens
