"""Unit tests of evals/metrics.py on hand-made answers (real `bot.types` dataclasses, no bot)."""

from __future__ import annotations

import math

import pytest

from bot.types import Answer, Citation, RetrievedChunk
from evals.metrics import (
    Rate,
    citation_problems,
    first_hit_rank,
    hit_at,
    missing_groups,
    normalize_answer,
    percentile,
    reciprocal_rank,
    score_case,
    squad_exact,
    squad_f1,
    squad_scores,
    wilson_interval,
)
from evals.runner import Case

ARTICLE = "IDSEA launches on July 7th. It will be located in Hefei, Anhui province."


def _citation(number: int, quote: str, article_id: str = "a", chunk: str = ARTICLE) -> Citation:
    start = ARTICLE.find(quote)
    return Citation(number, article_id, "T", quote, start, start + len(quote), chunk)


def _answer(text: str, citations=(), abstained: bool = False, chunks=(ARTICLE,)) -> Answer:
    retrieved = [RetrievedChunk(f"a#{i}", "a", "T", t, 0, len(t), 1.0) for i, t in enumerate(chunks)]
    return Answer(text=text, citations=list(citations), abstained=abstained, query=text, retrieved=retrieved)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0), (81, 100, 0.7222, 0.8749)],
)
def test_wilson_interval_matches_published_values(successes, n, low, high):
    got = wilson_interval(successes, n)
    assert got == pytest.approx((low, high), abs=1e-4)


def test_rate_of_nothing_is_nan_and_skips_inapplicable_flags():
    assert math.isnan(Rate.of(0, 0).value)
    rate = Rate.of_flags([True, None, False, True])
    assert (rate.successes, rate.n) == (2, 3)


def test_percentile_interpolates_like_numpy():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10.0], 95) == 10.0
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)


def test_squad_normalisation_follows_the_official_script():
    assert normalize_answer("The  Normans!") == "normans"
    assert normalize_answer("an apple, a pear") == "apple pear"
    assert normalize_answer("theory") == "theory"  # "the" only as a whole word


def test_squad_exact_and_f1():
    assert squad_exact("10th and 11th centuries", "the 10th and 11th centuries.") == 1
    assert squad_f1("10th and 11th centuries", "in the 10th and 11th centuries") == pytest.approx(2 * 0.8 * 1 / 1.8)
    assert squad_f1("France", "Paris") == 0.0
    assert squad_f1("", "") == 1.0 and squad_f1("", "France") == 0.0


def test_squad_scores_take_the_best_gold_and_treat_no_gold_as_empty():
    assert squad_scores(["France", "the French kingdom"], "France") == (1, 1.0)
    assert squad_scores([], "") == (1, 1.0)
    assert squad_scores([], "Rollo") == (0, 0.0)


def test_first_hit_rank_hit_at_and_mrr():
    chunks = ["nothing here", "It will be located in  Hefei,\nAnhui", "Hefei again"]
    rank = first_hit_rank(chunks, ["located in Hefei, Anhui"])
    assert rank == 2
    assert (hit_at(rank, 1), hit_at(rank, 5), reciprocal_rank(rank)) == (False, True, 0.5)
    assert first_hit_rank(chunks, ["Beijing"]) is None and reciprocal_rank(None) == 0.0


def test_missing_groups_is_case_insensitive_and_ignores_markers():
    must = [["Hefei"], ["Anhui", "Anhwei"], ["July 7"]]
    assert missing_groups("In hefei [1], ANHUI province [2].", must) == [["July 7"]]


def test_citation_problems_catch_missing_numbers_and_made_up_quotes():
    good = _answer("Hefei [1].", [_citation(1, "located in Hefei")])
    assert citation_problems(good, {"a": ARTICLE}) == []
    no_citation = _answer("Hefei [1] [2].", [_citation(1, "located in Hefei")])
    assert citation_problems(no_citation, {"a": ARTICLE}) == ["[2] has no citation"]
    invented = _answer("Beijing [1].", [Citation(1, "a", "T", "located in Beijing", 0, 18, ARTICLE)])
    assert "not verbatim" in citation_problems(invented, {"a": ARTICLE})[0]
    unknown = _answer("Hefei [1].", [_citation(1, "located in Hefei", article_id="zzz")])
    assert "unknown article" in citation_problems(unknown, {"a": ARTICLE})[0]


def test_score_case_passes_a_correct_cited_answer():
    case = Case("where", "Where?", True, must=[["Hefei"]], evidence="located in Hefei, Anhui province")
    answer = _answer("It will be in Hefei [1].", [_citation(1, "It will be located in Hefei, Anhui province.")])
    score = score_case(case, answer, {"a": ARTICLE})
    assert score.passed and score.correct and score.evidence_cited and score.evidence_rank == 1


def test_score_case_reasons_for_wrong_refused_and_unanswerable():
    case = Case("where", "Where?", True, must=[["Hefei"]], evidence="located in Hefei")
    launch = _citation(1, "IDSEA launches on July 7th.", chunk="IDSEA launches on July 7th.")
    wrong = score_case(case, _answer("Beijing [1].", [launch]), {"a": ARTICLE})
    assert not wrong.passed and wrong.reasons[0] == "missing Hefei" and "evidence not cited" in wrong.reasons
    refused = score_case(case, _answer("The articles do not say.", abstained=True), {"a": ARTICLE})
    assert refused.reasons == ["abstained (false refusal)"] and refused.correct is False
    absent = Case("capital", "Capital of Peru?", False)
    assert score_case(absent, _answer("No.", abstained=True), {"a": ARTICLE}).passed
    answered = score_case(absent, _answer("Hefei [1].", [_citation(1, "located in Hefei")]), {"a": ARTICLE})
    assert answered.reasons == ["answered an unanswerable question"]
