"""Decide when the articles do not hold the answer: instructions instead of a question, gibberish,
a name the articles never mention, or too little match between question and best sentence.

The confidence threshold lives in Settings (`abstain_below`) and was calibrated on data (README);
nothing here is keyed to any one article's wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.conversation import find_entities
from bot.retrieve import SearchIndex
from bot.tokenize import STOPWORDS, normalise, words

_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,40}\b(?:instructions?|rules|prompts?|guidelines|directions|context)\b"
    r"|\bsystem prompt\b|\byou are now\b|\bact as\b|\bpretend (?:to be|you)\b|\bjailbreak\b|\bdeveloper mode\b"
    r"|\breveal (?:your|the) (?:prompt|instructions|rules)\b|\bdo anything now\b",
    re.I | re.S,
)


@dataclass(frozen=True)
class Verdict:
    """Why the bot abstains ("" when it answers) and the confidence it had."""

    reason: str
    confidence: float


def confidence_of(dense: float, lexical: float) -> float:
    """One number for "the best sentence answers this": meaning and word overlap, 0..1."""
    return 0.6 * dense + 0.4 * lexical


def unknown_names(query: str, index: SearchIndex) -> list[str]:
    """Names in the query the articles never mention (a false premise or an absent subject).

    A multi-word name counts as unknown when most of its words are absent; a name with a number
    ("Chang’e 9") must appear whole. Acronyms of phrases in the articles ("ESA") are known.
    """
    unknown = []
    corpus = index.normalised_text
    for entity in find_entities(query):
        tokens = [w for w in words(entity.text) if w not in STOPWORDS]
        if not tokens:
            continue
        if re.search(r"\d", entity.text):
            if normalise(entity.text) not in corpus:
                unknown.append(entity.text)
            continue
        if len(tokens) == 1 and entity.text.isupper() and entity.text.lower() in index.acronyms:
            continue
        missing = [t for t in tokens if t not in index.vocabulary and t not in index.acronyms]
        if missing and len(missing) * 2 > len(tokens) or (len(tokens) == 1 and missing):
            unknown.append(entity.text)
    return unknown


def looks_like_gibberish(query: str, index: SearchIndex, known_words: frozenset[str]) -> bool:
    """Most words are neither in the articles nor in the model's English vocabulary."""
    tokens = [w for w in words(query) if len(w) >= 3 and not w.isdigit() and not re.match(r"[\u3400-\u9fff]", w)]
    if not tokens:
        return not re.search(r"[\u3400-\u9fff]", query)
    known = sum(1 for w in tokens if w in index.vocabulary or w in known_words)
    return known * 2 < len(tokens)


def judge(query: str, dense: float, lexical: float, index: SearchIndex, known_words: frozenset[str], threshold: float) -> Verdict:
    """Should the bot abstain on this (standalone) query, given its best sentence's scores?"""
    confidence = confidence_of(dense, lexical)
    if _INJECTION.search(query):
        return Verdict("instructions, not a question", confidence)
    if looks_like_gibberish(query, index, known_words):
        return Verdict("not a recognisable question", confidence)
    if names := unknown_names(query, index):
        return Verdict(f"the articles never mention {', '.join(names)}", confidence)
    if confidence < threshold:
        return Verdict(f"low confidence {confidence:.2f} < {threshold:.2f}", confidence)
    return Verdict("", confidence)
