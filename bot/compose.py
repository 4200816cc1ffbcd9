"""Compose the answer: pick the sentence(s) that answer the question, quote them verbatim with
`[n]` markers, and attach one `Citation` per marker; or abstain, naming what the articles cover.

A list line is quoted whole, a sentence that ends in ":" brings the one it introduces, and a
who/when/where question missing its fact in the best sentence takes the neighbour that holds it.
"""

from __future__ import annotations

import re

from bot.abstain import judge, names_missing_from, query_names
from bot.conversation import find_entities
from bot.messages import abstain_message
from bot.rank import ANSWER_PATTERNS, LIST_QUESTION, ScoredSentence, fills_type, question_type, without_expansions
from bot.retrieve import SearchIndex
from bot.types import Answer, Citation, RetrievedChunk
from index.lexical import STOPWORDS, tokenize, words

MAX_SENTENCES = 4  # a list answer
MAX_PLAIN_SENTENCES = 2  # any other answer, unless its own rules (a list line, a quote) need more
CLOSE_RUNNER_UP = 0.92  # a runner-up this close to the best sentence is as likely to be the answer


_PRONOUN_START = re.compile(r"[\"“‘']?(?:He|She|They|It|His|Her|Their|Its)\b")


def pick_best(
    names: list[str], ranked: list[ScoredSentence], index: SearchIndex, depth: int = 8
) -> tuple[ScoredSentence, list[str]]:
    """The best-ranked sentence whose passage mentions every specific name the question gives, or
    else the one missing the fewest (with the names it misses: then the bot abstains)."""
    fewest: tuple[ScoredSentence, list[str]] | None = None
    for candidate in ranked[:depth]:
        missing = names_missing_from(names, index.passage([candidate.row]), index.acronyms)
        if not missing:
            return candidate, []
        if fewest is None or len(missing) < len(fewest[1]):
            fewest = (candidate, missing)
    return fewest if fewest else (ranked[0], [])


def choose_sentences(
    question: str, query: str, names: list[str], best: ScoredSentence, ranked: list[ScoredSentence], index: SearchIndex
) -> list[int]:
    """Sentence rows that together answer the question, in reading order."""
    chosen = [best.row]
    texts = index.sentences.texts
    if index.line_label(best.row):
        line = index.sentence_line[best.row]  # a labelled list line ("Chang’e 8: …") is one answer
        chosen += [r for r, other in enumerate(index.sentence_line) if other == line and r != best.row]
    if texts[best.row].rstrip().endswith(":"):  # "… stated the following:" → what follows it
        follow = [r.row for r in ranked[:10] if index.sentence_intro[r.row] == best.row]
        chosen.append(follow[0] if follow else best.row + 1) if follow or _same_article(
            index, best.row, best.row + 1
        ) else None
    kind = question_type(question)
    intro = index.sentence_intro[best.row]
    if intro >= 0 and (
        names_missing_from(names, texts[best.row], index.acronyms)
        or (kind == "who" and not fills_type(kind, texts[best.row], question))
    ):
        chosen.append(intro)  # the quote's speaker, the list's subject
    antecedent = index.sentence_antecedent[best.row]
    if antecedent >= 0 and kind == "who" and _PRONOUN_START.match(texts[best.row]):
        chosen.append(antecedent)  # "He appointed …": who "he" is stands in the sentence before
    if kind in ("who", "when", "where", "number") and not any(fills_type(kind, texts[r], question) for r in chosen):
        for offset in (-1, 1, -2, 2):  # the fact may sit in the next or previous sentence of the paragraph
            neighbour = best.row + offset
            if _same_line(index, best.row, neighbour) and fills_type(kind, texts[neighbour], question):
                chosen.append(neighbour)
                break
    # A close runner-up joins only when it adds something: more of a list, or words of the query the
    # chosen sentences (with their context) leave uncovered.
    listing = bool(LIST_QUESTION.search(question))
    wanted = set(tokenize(without_expansions(query)))
    covered = set().union(*(index.sentence_tokens[r] | index.sentence_context[r] for r in chosen))
    limit = MAX_SENTENCES if listing else max(len(set(chosen)), MAX_PLAIN_SENTENCES)
    for other in ranked[:6]:
        if len(set(chosen)) >= limit:
            break
        if other.row in chosen or other.lexical <= 0 or other.score < (0.8 if listing else 0.92) * best.score:
            continue
        adds = (wanted & index.sentence_tokens[other.row]) - covered
        same_paragraph = any(index.sentence_line[other.row] == index.sentence_line[r] for r in chosen)
        close = other.score >= CLOSE_RUNNER_UP * best.score
        if (listing or adds or same_paragraph or close) and not names_missing_from(
            names, index.passage([other.row]), index.acronyms
        ):
            chosen.append(other.row)
            covered |= index.sentence_tokens[other.row] | index.sentence_context[other.row]
    return sorted(set(chosen), key=lambda r: (index.sentences.article_ids[r], index.sentences.spans[r][0]))


def _same_line(index: SearchIndex, row: int, other: int) -> bool:
    return 0 <= other < len(index.sentences.ids) and index.sentence_line[other] == index.sentence_line[row]


def _same_article(index: SearchIndex, row: int, other: int) -> bool:
    return (
        0 <= other < len(index.sentences.ids) and index.sentences.article_ids[other] == index.sentences.article_ids[row]
    )


def cite(rows: list[int], index: SearchIndex, chunk_ranking: list[tuple[int, float]]) -> tuple[str, list[Citation]]:
    """Answer text with `[n]` after each quoted sentence, and the matching citations."""
    retrieved_rank = {chunk: rank for rank, (chunk, _) in enumerate(chunk_ranking)}
    parts, citations = [], []
    for number, row in enumerate(rows, start=1):
        start, end = index.sentences.spans[row]
        article_id = index.sentences.article_ids[row]
        quote = index.article_texts[article_id][start:end]
        holders = index.chunk_of_sentence[row]
        whole = [c for c in holders if index.chunks[c].start <= start and end <= index.chunks[c].end] or holders
        chunk = index.chunks[min(whole, key=lambda c: retrieved_rank.get(c, len(retrieved_rank) + c))]
        citations.append(Citation.quoting(number, chunk, start, end, quote))
        parts.append(f"{quote} [{number}]")
    return " ".join(parts), citations


_DATE = re.compile(
    r"(?:(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday),?\s+)?(?:January|February|March|April|May|June|July"
    r"|August|September|October|November|December)\s+\d{1,2}(?:st|nd|rd|th)?,?\s*(?:\d{4})?"
    r"|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:January|February|March|April|May|June|July|August|September|October"
    r"|November|December)(?:\s+\d{4})?|\b\d{1,2}(?:st|nd|rd|th) centur(?:y|ies)\b|\b(?:1[0-9]|20)\d0s\b|\b(?:1[0-9]|20)\d\d\b"
)
_PLACE_BEFORE = re.compile(r"\b(?:in|at|from|near|to|into|of)\s+(?:the\s+)?$")


def short_answer(question: str, quote: str) -> str:
    """The phrase of the quote that answers the question, when one stands out; else "".

    A date for "when", a number for "how many", and otherwise the name in the quote that the
    question does not already hold, nearest to the words it shares with the question (a place
    after "in"/"at" for "where"). Used for SQuAD-style exact match; the answer text quotes whole.
    >>> short_answer("When will IDSEA launch?", "It will launch on Monday, July 7th 2025.")
    'Monday, July 7th 2025'
    """
    kind = question_type(question)
    asked = set(words(question)) - STOPWORDS
    if kind == "when":
        spans = [(m.start(), m.group(0).strip(" ,")) for m in _DATE.finditer(quote)]
    elif kind == "number":
        spans = [(m.start(), m.group(0)) for m in ANSWER_PATTERNS["number"].finditer(quote)]
    elif kind in ("who", "where", ""):
        spans = [(m.start(), m.group(0)) for m in _name_spans(quote)]
        if kind == "where":
            spans = [(at, name) for at, name in spans if _PLACE_BEFORE.search(quote[:at])] or spans
    else:
        return ""
    spans = [(at, span) for at, span in spans if not set(words(span)) <= asked]
    if not spans:
        return ""
    shared = [m.start() for m in re.finditer(r"[\w’']{4,}", quote) if set(words(m.group(0))) & asked]
    if not shared:
        return spans[0][1]
    return min(spans, key=lambda s: min(abs(s[0] - at) for at in shared))[1]


def _name_spans(text: str):
    """Names in the text, as match-like objects with .start() and .group(0)."""
    position = 0
    for entity in find_entities(text):
        at = text.find(entity.text, position)
        if at >= 0:
            position = at + len(entity.text)
            yield re.compile(re.escape(entity.text)).search(text, at)


def compose_answer(
    question: str,
    query: str,
    ranked: list[ScoredSentence],
    chunk_ranking: list[tuple[int, float]],
    index: SearchIndex,
    known_words: frozenset[str],
    threshold: float,
    coverage: tuple[list[str], list[str]],
) -> Answer:
    """The `Answer` for one question (timings and notes are filled in by the caller)."""
    retrieved = [_retrieved(index, chunk, score) for chunk, score in chunk_ranking]

    def abstention(reason: str, confidence: float) -> Answer:
        text = abstain_message(*coverage, injection=reason.startswith("instructions"))
        return Answer(
            text=text,
            citations=[],
            abstained=True,
            query=query,
            retrieved=retrieved,
            question=question,
            confidence=confidence,
            notes=[f"abstained: {reason}"],
        )

    if not ranked:
        return abstention("nothing retrieved", 0.0)
    verdict = judge(query, ranked[0], index, known_words, threshold)
    if verdict.reason:
        return abstention(verdict.reason, verdict.confidence)
    names = [n for n in query_names(query) if index.is_specific(n)]
    best, missing = pick_best(names, ranked, index)
    if missing:
        return abstention(f"no passage mentions {', '.join(missing)} with the rest of the question", verdict.confidence)
    rows = choose_sentences(question, query, names, best, ranked, index)
    kind = question_type(question)
    if kind in ("when", "number") and not any(fills_type(kind, index.sentences.texts[r], question) for r in rows):
        fact = "date" if kind == "when" else "number"
        return abstention(f"the passage that fits holds no {fact}", verdict.confidence)
    text, citations = cite(rows, index, chunk_ranking)
    return Answer(
        text=text,
        citations=citations,
        abstained=False,
        query=query,
        retrieved=retrieved,
        question=question,
        short_answer=short_answer(question, index.sentences.texts[best.row]),
        confidence=verdict.confidence,
    )


def _retrieved(index: SearchIndex, chunk_index: int, score: float) -> RetrievedChunk:
    chunk = index.chunks[chunk_index]
    return RetrievedChunk(
        id=chunk.id,
        article_id=chunk.article_id,
        title=chunk.title,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        score=score,
        date=chunk.date,
    )
