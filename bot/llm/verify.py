"""Check an LLM's answer sentence by sentence against the passages it cites; keep only what holds.

A sentence is kept when it carries at least one `[n]` marker of a passage that was given and the
cited passages *support* it: every content word, name and number of the sentence (stop words
aside; words compared as Snowball stems, numbers by their digits, Chinese by characters and
bigrams) appears in them, each number sits in a passage sentence that shares words with it too
(not one about something else), no name takes the place of another in the passage clause closest
to it, and the passage sentence closest to it agrees on negation ("not",
"never", "n't" …: both say it or neither does). A marker is kept when its passage supports the sentence alone, or the
sentence stops being supported without it (ALCE's citation precision). Each kept marker becomes a
`Citation` quoting, verbatim and at exact offsets, the passage sentence sharing most words with
the generated one. Lexical support cannot see a swapped relation between two words that are both
in the passage; it never accepts a word, name or number that is not there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.llm.reply import GeneratedSentence
from bot.types import Citation, RetrievedChunk
from index.chunking import split_into_sentences
from index.lexical import STOPWORDS, tokenize, words

_NAME = re.compile(r"\b[A-Z][\w’'-]*")
_NEGATIONS = frozenset({"not", "no", "never", "nor", "neither", "none", "nobody", "nothing", "without", "cannot"})


@dataclass(frozen=True)
class Quote:
    """A verbatim span of a passage: `text == article.text[start:end]`."""

    passage: int  # 1-based number of the passage, as the prompt numbered it
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class SentenceCheck:
    """What verification decided for one generated sentence."""

    sentence: GeneratedSentence
    supported: bool
    kept_markers: tuple[int, ...]  # valid markers that help support it (empty when not supported)
    quotes: tuple[Quote, ...]  # one per kept marker
    unsupported: tuple[str, ...]  # the sentence's words no cited passage holds (why it failed)


def claim_tokens(text: str) -> set[str]:
    """The words a sentence claims something with: content stems, numbers as digits, CJK characters/bigrams.

    >>> sorted(claim_tokens("IDSEA will launch on July 7th, 2025."))
    ['2025', '7', 'idsea', 'juli', 'launch']
    """
    found = set()
    for token in tokenize(text):
        digits = re.sub(r"\D", "", token)
        found.add(digits if digits and token[:1].isdigit() else token)
    return found


def negated(text: str) -> bool:
    """Whether a text says "not" in some way. `negated("It isn't open.")` is True."""
    return any(w in _NEGATIONS or w.endswith("n't") for w in words(text))


def support_gap(sentence: str, passages: Sequence[str]) -> tuple[str, ...]:
    """The claim tokens of `sentence` that the passages do not hold ('not' when a negation is
    differs from the closest passage sentence); empty means the passages support it."""
    claims = claim_tokens(sentence)
    units = [p[s:e] for p in passages for s, e in split_into_sentences(p)]
    held = [claim_tokens(text) for text in units]
    gap = sorted(claims - set().union(*held)) if held else sorted(claims)
    gap += sorted(loose_numbers(claims, held))
    gap += sorted(swapped_names(sentence, claims, units))
    # Words all present can still be denied: the passage sentence closest to it must agree on "not".
    closest = max(zip(units, held, strict=True), key=lambda unit: len(claims & unit[1]), default=("", set()))[0]
    if negated(sentence) != negated(closest):
        gap.append("not")
    return tuple(dict.fromkeys(gap))


def names_in(text: str) -> set[str]:
    """Claim tokens of the capitalised words of a text, leaving out capitalised stop words ("The").

    >>> sorted(names_in("Then Italy provided the Negative Ions instrument."))
    ['ion', 'itali', 'negat']
    """
    return {t for m in _NAME.finditer(text) if m.group().lower() not in STOPWORDS for t in claim_tokens(m.group())}


def swapped_names(sentence: str, claims: set[str], units: Sequence[str]) -> set[str]:
    """Names the sentence puts where the passage has another: its closest passage clause (a sentence
    cut at , ; :) names someone the sentence does not, while the sentence names someone the clause
    does not ("Italy provided the Negative Ions instrument" against "Sweden provided the Negative
    Ions instrument, and Italy provided the laser retroreflector")."""
    clauses = [part for unit in units for part in re.split(r"[,;:]\s", unit)]
    closest = max(clauses, key=lambda clause: len(claims & claim_tokens(clause)), default="")
    held = claim_tokens(closest)
    extra = names_in(closest) - claims
    return (names_in(sentence) - held) if extra else set()


def loose_numbers(claims: set[str], held: Sequence[set[str]]) -> set[str]:
    """Numbers a sentence can only have taken from a passage sentence about something else: cover the
    claims greedily with passage sentences (most new claims first, words before numbers); a sentence of
    the cover that adds numbers and no word gives numbers with nothing they qualify ("Chang'e 5"
    for a list line that says "Chang'e 4", because another line mentions Chang'e 5)."""
    numbers = {c for c in claims if c.isdigit()}
    left, loose = set(claims), set()
    while left & numbers:
        best = max(held, key=lambda tokens: (len(left & tokens), len((left & tokens) - numbers)), default=set())
        added = left & best
        if not added:
            break
        if added <= numbers:
            loose |= added
        left -= added
    return loose


def best_quote(sentence: str, number: int, passage: RetrievedChunk) -> Quote:
    """The sentence of `passage` that shares most claim tokens with `sentence` (earliest on a tie),
    at absolute article offsets (a chunk's text is `article.text[chunk.start:chunk.end]`)."""
    wanted = claim_tokens(sentence)
    spans = split_into_sentences(passage.text) or [(0, len(passage.text))]
    start, end = max(spans, key=lambda span: (len(wanted & claim_tokens(passage.text[span[0] : span[1]])), -span[0]))
    return Quote(number, passage.start + start, passage.start + end, passage.text[start:end])


def verify_sentence(sentence: GeneratedSentence, passages: Sequence[RetrievedChunk]) -> SentenceCheck:
    """Keep or drop one generated sentence, given the passages in prompt order ([1] is passages[0])."""
    valid = tuple(dict.fromkeys(n for n in sentence.markers if 1 <= n <= len(passages)))
    texts = {n: passages[n - 1].text for n in valid}
    claims = claim_tokens(sentence.text)
    gap = support_gap(sentence.text, list(texts.values())) if valid else tuple(sorted(claims))
    if not valid or not claims or gap:  # no marker to check, nothing claimed, or a claim no passage holds
        return SentenceCheck(sentence, False, (), (), gap)
    kept = tuple(
        n
        for n in valid
        if not support_gap(sentence.text, [texts[n]]) or support_gap(sentence.text, [texts[m] for m in valid if m != n])
    )
    quotes = tuple(best_quote(sentence.text, n, passages[n - 1]) for n in kept)
    return SentenceCheck(sentence, True, kept, quotes, ())


def cite_verified(verdicts: Sequence[SentenceCheck], passages: Sequence[RetrievedChunk]) -> tuple[str, list[Citation]]:
    """The answer text of the supported sentences, each followed by its `[n]` markers, and one
    `Citation` per distinct quote, numbered in order of first use."""
    numbers: dict[tuple[str, int, int], int] = {}
    citations: list[Citation] = []
    parts: list[str] = []
    for verdict in verdicts:
        if not verdict.supported:
            continue
        marks = []
        for quote in verdict.quotes:
            passage = passages[quote.passage - 1]
            key = (passage.article_id, quote.start, quote.end)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                citations.append(Citation.quoting(numbers[key], passage, quote.start, quote.end, quote.text))
            if numbers[key] not in marks:
                marks.append(numbers[key])
        parts.append(verdict.sentence.text + "".join(f" [{n}]" for n in marks))
    return " ".join(parts), citations
