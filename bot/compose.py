"""Compose the answer: pick the sentence(s) that answer the question, quote them verbatim with
`[n]` markers, and attach one `Citation` per marker; or abstain, naming what the articles cover.

A list line is quoted whole, a sentence that ends in ":" brings the one it introduces, and a
who/when/where question missing its fact in the best sentence takes the neighbour that holds it.
"""

from __future__ import annotations

import re

from bot.abstain import Verdict, judge
from bot.messages import abstain_message
from bot.rank import LIST_QUESTION, ScoredSentence, fills_type, question_type
from bot.retrieve import SearchIndex
from bot.types import Answer, Citation, RetrievedChunk

MAX_SENTENCES = 4


def choose_sentences(question: str, ranked: list[ScoredSentence], index: SearchIndex) -> list[int]:
    """Sentence rows that together answer the question, in reading order."""
    best = ranked[0]
    chosen = [best.row]
    rows_of_line = [r for r, line in enumerate(index.sentence_line) if line == index.sentence_line[best.row]]
    if index.sentence_context[best.row]:  # a labelled list line ("Chang’e 8: …") is one answer
        chosen += [r for r in rows_of_line if r != best.row]
    text = index.sentences.texts[best.row]
    if text.rstrip().endswith(":") and _same_article(index, best.row, best.row + 1):
        chosen.append(best.row + 1)  # "… stated the following:" → the statement
    kind = question_type(question)
    if kind in ("who", "when", "where", "number") and not any(fills_type(kind, index.sentences.texts[r], question) for r in chosen):
        for offset in (-1, 1, -2, 2):
            neighbour = best.row + offset
            if _same_article(index, best.row, neighbour) and fills_type(kind, index.sentences.texts[neighbour], question):
                chosen.append(neighbour)
                break
    ratio = 0.8 if LIST_QUESTION.search(question) else 0.92
    for other in ranked[1:6]:
        if len(chosen) >= MAX_SENTENCES:
            break
        if other.row not in chosen and other.lexical > 0 and other.score >= ratio * best.score:
            chosen.append(other.row)
    return sorted(set(chosen), key=lambda r: (index.sentences.article_ids[r], index.sentences.spans[r][0]))


def _same_article(index: SearchIndex, row: int, other: int) -> bool:
    return 0 <= other < len(index.sentences.ids) and index.sentences.article_ids[other] == index.sentences.article_ids[row]


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
        citations.append(
            Citation(number=number, article_id=article_id, title=chunk.title, quote=quote, start=start, end=end,
                     text=chunk.text, chunk_start=chunk.start, date=chunk.date)
        )
        parts.append(f"{quote} [{number}]")
    return " ".join(parts), citations


def short_answer(question: str, quote: str) -> str:
    """The phrase of the quote that answers a when/how-many question, when one stands out; else ""."""
    kind = question_type(question)
    if kind == "when":
        date = re.search(
            r"(?:(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday),?\s+)?(?:January|February|March|April|May|June|July|August|September|October|November|December)\s+\d{1,2}(?:st|nd|rd|th)?,?\s*(?:\d{4})?|\b(?:in\s+)?(?:1[5-9]|20)\d\d\b",
            quote,
        )
        return date.group(0).strip(" ,").removeprefix("in ") if date else ""
    if kind == "number":
        number = re.search(r"\b\d[\d,.]*(?:\s+(?:million|billion|thousand|percent|%))?|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b", quote, re.I)
        return number.group(0) if number else ""
    return ""


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
    verdict = judge(query, ranked[0].dense, ranked[0].lexical, index, known_words, threshold) if ranked else Verdict("nothing retrieved", 0.0)
    if verdict.reason:
        injection = verdict.reason.startswith("instructions")
        text = abstain_message(*coverage, injection=injection)
        return Answer(text=text, citations=[], abstained=True, query=query, retrieved=retrieved, question=question,
                      confidence=verdict.confidence, notes=[f"abstained: {verdict.reason}"])
    rows = choose_sentences(question, ranked, index)
    text, citations = cite(rows, index, chunk_ranking)
    return Answer(text=text, citations=citations, abstained=False, query=query, retrieved=retrieved, question=question,
                  short_answer=short_answer(question, index.sentences.texts[ranked[0].row]), confidence=verdict.confidence)


def _retrieved(index: SearchIndex, chunk_index: int, score: float) -> RetrievedChunk:
    chunk = index.chunks[chunk_index]
    return RetrievedChunk(id=chunk.id, article_id=chunk.article_id, title=chunk.title, text=chunk.text,
                          start=chunk.start, end=chunk.end, score=score, date=chunk.date)
