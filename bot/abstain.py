"""Decide when the articles do not hold the answer: instructions instead of a question, gibberish,
a name the articles never mention, an answer passage that leaves out a name the question gives
(a false premise: "What did Japan provide for Chang'e 6?"), or too little match overall.

The confidence threshold lives in Settings (`abstain_below`) and was calibrated on data (README);
nothing here is keyed to any one article's wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.aliases import ALIASES
from bot.conversation import find_entities
from bot.rank import ScoredSentence, without_expansions
from bot.retrieve import SearchIndex
from index.lexical import STOPWORDS, fold, words

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


def word_is_mentioned(word: str, known: set[str]) -> bool:
    """Is `word` (normalised) among `known` words: exactly, folded, by alias, or as a demonym
    sharing a long prefix ("japanese" ~ "japan")?"""
    if word in known or fold(word) in known:
        return True
    if any(fold(alias.split()[-1]) in known for alias in ALIASES.get(word, ())):
        return True
    need = max(4, len(word) - 3)
    return len(word) >= 5 and any(len(k) >= need and k[:need] == word[:need] for k in known)


def _name_tokens(name: str) -> list[str]:
    return [w for w in words(name) if w not in STOPWORDS]


def name_is_mentioned(name: str, known: set[str], squashed: str) -> bool:
    """A name counts as mentioned when most of its words are; a name with a number must appear whole."""
    if re.search(r"\d", name):
        return fold(name) in squashed
    tokens = _name_tokens(name)
    if not tokens:
        return True
    found = sum(1 for t in tokens if word_is_mentioned(t, known))
    return found * 2 >= len(tokens) if len(tokens) > 1 else found == 1


def query_names(query: str) -> list[str]:
    """Names in a standalone query, leaving out spelled-out acronyms "(…)" the bot added."""
    return [e.text for e in find_entities(without_expansions(query))]


def unknown_names(query: str, index: SearchIndex) -> list[str]:
    """Names in the query that the articles never mention (a false premise or an absent subject)."""
    known = index.known_words
    return [
        n
        for n in query_names(query)
        if not (n.lower() in index.acronyms or name_is_mentioned(n, known, index.squashed_text))
    ]


def names_missing_from(names: list[str], passage: str, acronyms: dict[str, str] | None = None) -> list[str]:
    """The names an answer passage does not mention (an acronym counts when its full name is there)."""
    if not names:
        return []
    known = {fold(w) for w in words(passage)} | set(words(passage))
    squashed = fold(passage)
    acronyms = acronyms or {}

    def mentioned(name: str) -> bool:
        full = acronyms.get(name.lower(), "")
        return name_is_mentioned(name, known, squashed) or bool(full and name_is_mentioned(full, known, squashed))

    return [n for n in names if not mentioned(n)]


def looks_like_gibberish(query: str, index: SearchIndex, known_words: frozenset[str]) -> bool:
    """Most words are neither in the articles nor in the model's English vocabulary."""
    tokens = [w for w in words(query) if len(w) >= 3 and not w.isdigit() and not re.match(r"[\u3400-\u9fff]", w)]
    if not tokens:
        return not re.search(r"[\u3400-\u9fff]", query)
    known = sum(1 for w in tokens if w in index.vocabulary or w in known_words)
    return known * 2 < len(tokens)


def judge(
    query: str, best: ScoredSentence, index: SearchIndex, known_words: frozenset[str], threshold: float
) -> Verdict:
    """Should the bot abstain on this (standalone) query, given its best sentence?"""
    confidence = confidence_of(best.dense, best.lexical)
    if best.focused:  # asked by form for this very sentence ("What does X stand for?")
        confidence = max(confidence, threshold + 0.25)
    if _INJECTION.search(query):
        return Verdict("instructions, not a question", confidence)
    if looks_like_gibberish(query, index, known_words):
        return Verdict("not a recognisable question", confidence)
    if names := unknown_names(query, index):
        return Verdict(f"the articles never mention {', '.join(names)}", confidence)
    if confidence < threshold:
        return Verdict(f"low confidence {confidence:.2f} < {threshold:.2f}", confidence)
    return Verdict("", confidence)
