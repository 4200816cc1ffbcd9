"""Pure scoring functions of the eval suite: rates with Wilson intervals, SQuAD EM/F1, hit@k, MRR,
citation checks and per-case scoring.

Nothing here loads a model or the bot: every function takes plain values (an `Answer` is read by
attribute only), so the metrics are unit-tested on synthetic data. No LLM judge.
"""

from __future__ import annotations

import collections
import math
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

_MARKER = re.compile(r"\[(\d+)\]")
_PUNCTUATION = frozenset(string.punctuation)


@dataclass(frozen=True)
class Rate:
    """A proportion with its Wilson 95% interval. `Rate.of(9, 10).low` ≈ 0.596."""

    successes: int
    n: int
    value: float
    low: float
    high: float

    @classmethod
    def of(cls, successes: int, n: int) -> Rate:
        """`successes` out of `n` (n may be 0: value and bounds are then NaN)."""
        low, high = wilson_interval(successes, n)
        return cls(successes, n, successes / n if n else math.nan, low, high)

    @classmethod
    def of_flags(cls, flags: Iterable[bool | None]) -> Rate:
        """A rate over the flags that apply (None = not applicable). `Rate.of_flags([True, None, False]).n == 2`"""
        kept = [bool(f) for f in flags if f is not None]
        return cls.of(sum(kept), len(kept))

    def to_dict(self) -> dict:
        return {"value": self.value, "successes": self.successes, "n": self.n, "low": self.low, "high": self.high}


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion. `wilson_interval(0, 10)` → (0.0, 0.278)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean, NaN when empty."""
    values = list(values)
    return sum(values) / len(values) if values else math.nan


def mean_interval(values: Sequence[float]) -> dict:
    """A mean with a normal-approximation 95% interval (clipped to [0, 1]), as a metric dict.

    `mean_interval([1.0, 0.0])["value"] == 0.5`; empty → value NaN, n 0.
    """
    if not values:
        return {"value": math.nan, "n": 0}
    m = mean(values)
    sd = (sum((v - m) ** 2 for v in values) / max(1, len(values) - 1)) ** 0.5
    half = 1.96 * sd / len(values) ** 0.5
    return {"value": m, "n": len(values), "low": max(0.0, m - half), "high": min(1.0, m + half)}


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default). `percentile([1, 2, 3, 4], 50) == 2.5`"""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q / 100
    below, above = math.floor(position), math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


# --- SQuAD v2, exactly as the official evaluate-v2.0.py ---------------------------------------


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation, articles and extra whitespace. `normalize_answer("The  Cat!") == "cat"`"""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text, flags=re.UNICODE)
    return " ".join(text.split())


def _tokens(text: str, chars: bool = False) -> list[str]:
    """Words, or with `chars` every character but spaces (for Chinese, which is not written in words)."""
    if not text:
        return []
    normalized = normalize_answer(text)
    return [ch for ch in normalized if not ch.isspace()] if chars else normalized.split()


def squad_exact(gold: str, prediction: str) -> int:
    """1 when the normalised strings are equal. `squad_exact("the Normans", "Normans") == 1`"""
    return int(normalize_answer(gold) == normalize_answer(prediction))


def squad_f1(gold: str, prediction: str, chars: bool = False) -> float:
    """Token-overlap F1 (`chars`: character overlap); when either side is empty (no answer), 1 only when both are.

    >>> round(squad_f1("合肥市", "在合肥", chars=True), 3)
    0.667
    """
    gold_tokens, predicted_tokens = _tokens(gold, chars), _tokens(prediction, chars)
    if not gold_tokens or not predicted_tokens:
        return float(gold_tokens == predicted_tokens)
    same = sum((collections.Counter(gold_tokens) & collections.Counter(predicted_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_scores(golds: Sequence[str], prediction: str, chars: bool = False) -> tuple[int, float]:
    """(exact match, F1), each the max over the gold answers; no gold answer means the gold is ''.
    `chars`: F1 over characters, as CMRC 2018 and DRCD score Chinese."""
    golds = [g for g in golds if normalize_answer(g)] or [""]
    return max(squad_exact(g, prediction) for g in golds), max(squad_f1(g, prediction, chars) for g in golds)


# --- retrieval and citations ------------------------------------------------------------------


def squash(text: str) -> str:
    """Case-folded, whitespace-collapsed text: how evidence is matched against chunks and quotes."""
    return " ".join(text.split()).casefold()


def first_hit_rank(chunk_texts: Sequence[str], needles: Sequence[str]) -> int | None:
    """1-based rank of the first chunk holding any needle, None when none does."""
    wanted = [squash(n) for n in needles if n.strip()]
    for rank, text in enumerate(chunk_texts, start=1):
        haystack = squash(text)
        if any(n in haystack for n in wanted):
            return rank
    return None


def hit_at(rank: int | None, k: int) -> bool:
    """Whether a first-hit rank is within the top k."""
    return rank is not None and rank <= k


def reciprocal_rank(rank: int | None) -> float:
    """1/rank, 0 for a miss."""
    return 1.0 / rank if rank else 0.0


def strip_markers(text: str) -> str:
    """The answer text without its `[n]` markers. `strip_markers("Hefei [1].") == "Hefei."`"""
    return re.sub(r"\s*\[\d+\]", "", text).strip()


def missing_groups(text: str, must: Sequence[Sequence[str]]) -> list[list[str]]:
    """The `must` groups none of whose strings appears in `text` (case-insensitive)."""
    haystack = squash(strip_markers(text))
    return [list(group) for group in must if not any(squash(option) in haystack for option in group)]


def citation_problems(answer, article_texts: Mapping[str, str]) -> list[str]:
    """Why an answer's citations are not valid: each `[n]` needs citation n, whose quote is verbatim in its article."""
    problems: list[str] = []
    by_number = {c.number: c for c in answer.citations}
    for number in sorted({int(n) for n in _MARKER.findall(answer.text)}):
        if number not in by_number:
            problems.append(f"[{number}] has no citation")
    for citation in answer.citations:
        article = article_texts.get(citation.article_id)
        if article is None:
            problems.append(f"[{citation.number}] cites unknown article {citation.article_id!r}")
        elif not citation.quote.strip() or citation.quote not in article:
            problems.append(f"[{citation.number}] quote is not verbatim in {citation.article_id}")
        elif article[citation.start : citation.end] != citation.quote:
            problems.append(f"[{citation.number}] offsets {citation.start}:{citation.end} do not match its quote")
    return problems


def evidence_in_citations(answer, evidence: str) -> bool:
    """Whether a cited quote or cited chunk contains the evidence."""
    needle = squash(evidence)
    return any(needle in squash(c.quote) or needle in squash(c.text) for c in answer.citations)


# --- one case ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseScore:
    """The checks of one case. Flags are None where they do not apply (e.g. accuracy on an unanswerable case)."""

    passed: bool
    reasons: list[str]
    correct: bool | None
    evidence_cited: bool | None
    evidence_rank: int | None
    citations_valid: bool
    abstained: bool
    answerable: bool


def score_case(case, answer, article_texts: Mapping[str, str]) -> CaseScore:
    """Score one answer against its case (`answerable`, `must`, `evidence`).

    A case passes when an answerable one is answered correctly with valid citations that include the
    evidence, or an unanswerable one is declined; retrieval rank is measured but never fails a case.
    """
    reasons: list[str] = []
    problems = citation_problems(answer, article_texts)
    reasons += problems
    rank = first_hit_rank([c.text for c in answer.retrieved], [case.evidence]) if case.evidence else None
    if not case.answerable:
        if not answer.abstained:
            reasons.insert(0, "answered an unanswerable question")
        return CaseScore(not reasons, reasons, None, None, rank, not problems, answer.abstained, False)
    if answer.abstained:
        reasons.insert(0, "abstained (false refusal)")
    missing = missing_groups(answer.text, case.must)
    if missing and not answer.abstained:
        reasons.insert(0, "missing " + "; ".join(" | ".join(group) for group in missing))
    correct = not answer.abstained and not missing
    cited = evidence_in_citations(answer, case.evidence) if case.evidence else None
    if cited is False and not answer.abstained:
        reasons.append("evidence not cited" + ("" if rank else " (not retrieved either)"))
    return CaseScore(not reasons, reasons, correct, cited, rank, not problems, answer.abstained, True)
