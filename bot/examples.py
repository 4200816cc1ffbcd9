"""Example questions a bot answers well, found by asking it: a check run after the index is built.

Candidates come from the indexed articles themselves: the names they mention more than once
(capitalised phrases and acronyms), each asked about with one template. The bot answers each; a
candidate is kept only when it answers (never an abstention), from a body sentence rather than the
title, and not with the same sentence as a better one; those answered with high confidence come
first, then the others. Nothing here knows any particular article.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator

from bot.types import Answer

TEMPLATE = "Tell me about {name}."  # fits a person, a place, an organisation or a thing alike
MAX_NAMES_PER_ARTICLE = 8
MAX_NAME_WORDS = 6
TIME_BUDGET_S = 20.0  # stop asking after this long (an LLM answerer may be slow)

# A run of capitalised words ("China’s Deep Space Exploration Laboratory", "Chang’e 7") or an acronym.
_NAME = re.compile(r"\b[A-Z][\w’'-]*(?:\s+(?:of|for|and|de)?\s*[A-Z\d][\w’'-]*)+|\b[A-Z]{2,}[a-z]?\b")
_ARTICLES = {"The", "A", "An"}
_POSSESSIVE = re.compile(r"[’']s\b")
_ROMAN = re.compile(r"^[IVXLCDM]+$")  # "II" in "Charles II" is a numeral, not an acronym


def confident_enough(answer: Answer, abstain_below: float) -> bool:
    """High confidence: at least halfway from the refusal threshold to certainty."""
    return not answer.abstained and answer.confidence >= (abstain_below + 1) / 2


def names_in(text: str) -> list[str]:
    """Names an article mentions at least twice (longest form that is repeated), most frequent first.

    >>> names_in("China’s Deep Space Lab opened. The Deep Space Lab and IDSEA met. IDSEA said so.")
    ['Deep Space Lab', 'IDSEA']
    """
    counts: Counter[str] = Counter()
    for match in _NAME.finditer(text):
        for run in _POSSESSIVE.split(match.group(0)):  # "NASA’s Moon Office": "NASA", "Moon Office"
            words = run.split()
            if words and words[0] in _ARTICLES:
                words = words[1:]
            # Every part that starts and ends with a capital: "Big Deep Space Lab" counts "Deep Space Lab".
            capital = [i for i, word in enumerate(words) if word[:1].isupper() or word[:1].isdigit()]
            parts = [" ".join(words[i : j + 1]) for i in capital for j in capital if 0 <= j - i < MAX_NAME_WORDS]
            counts.update(p for p in parts if " " in p or (p.isupper() and not _ROMAN.match(p)))
    repeated = {name: n for name, n in counts.items() if n >= 2}
    kept = [
        name
        for name, n in repeated.items()
        if not any(name != other and name in other and m >= n for other, m in repeated.items())
    ]
    return sorted(kept, key=lambda name: -repeated[name])


def as_written(name: str, text: str) -> str:
    """The name with "the" when the article mostly writes it so ("the Global South")."""
    total = len(re.findall(re.escape(name), text))
    with_the = len(re.findall(r"\b[Tt]he\s+" + re.escape(name), text))
    return f"the {name}" if with_the * 2 > total else name


def candidates(articles) -> Iterator[tuple[str, str]]:
    """(article id, question), taking one name of each article in turn so that every article is tried."""
    per_article = [(a, names_in(a.text)[:MAX_NAMES_PER_ARTICLE]) for a in articles]
    for rank in range(MAX_NAMES_PER_ARTICLE):
        for article, names in per_article:
            if rank < len(names):
                yield article.id, TEMPLATE.format(name=as_written(names[rank], article.text))


def suggest_questions(bot, limit: int = 4, budget_s: float = TIME_BUDGET_S) -> list[str]:
    """Up to `limit` questions the bot answers (never declines), those with high confidence first, best
    first, spread over articles."""
    articles = {a.id: a for a in bot.articles()}
    threshold = bot.abstain_threshold
    began = time.perf_counter()
    found: list[tuple[bool, float, str, str]] = []  # (confident enough, confidence, question, article id)
    seen_quotes: set[tuple[str, int]] = set()
    for article_id, question in candidates(articles.values()):
        if time.perf_counter() - began > budget_s:
            break
        answer = next(bot.stream(question))  # the decision is the instant answer's: the reading model is not waited for
        if answer.abstained or not answer.citations:
            continue
        first = answer.citations[0]
        title_end = len(articles[first.article_id].title) if first.article_id in articles else 0
        key = (first.article_id, first.start)
        if first.start < title_end or key in seen_quotes:
            continue
        seen_quotes.add(key)
        found.append((confident_enough(answer, threshold), answer.confidence, question, article_id))
    return _spread(sorted(found, reverse=True), limit)


def _spread(ranked: list[tuple[bool, float, str, str]], limit: int) -> list[str]:
    """The best questions, at most one per article until every article has had its turn."""
    chosen: list[str] = []
    used: set[str] = set()
    for _, _, question, article_id in ranked:
        if article_id not in used and len(chosen) < limit:
            chosen.append(question)
            used.add(article_id)
    for _, _, question, _ in ranked:
        if question not in chosen and len(chosen) < limit:
            chosen.append(question)
    return chosen
