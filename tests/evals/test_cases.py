"""The versioned eval cases in `evals/cases/*.jsonl` are well-formed ground truth for the shipped article.

Checks the schema, unique ids, that every `evidence` and every `must` string is really in the article
text the loader produces, and that the suite has enough cases of each kind. It does not run the bot:
scoring answers is the eval runner's job.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge import load_articles

REPO_ROOT = Path(__file__).resolve().parents[2]
CASES_DIR = REPO_ROOT / "evals" / "cases"
ARTICLES_DIR = REPO_ROOT / "knowledge" / "articles"
SHIPPED_ARTICLE_ID = "idsea-launch-2025-07-01"

SCHEMA = {"id": str, "history": list, "question": str, "answerable": bool, "must": list, "evidence": str, "tags": list}
UNANSWERABLE_KINDS = {"off-topic", "absent", "false-premise", "injection", "gibberish"}
MIN_CASES, MIN_CONVERSATIONS, MIN_UNANSWERABLE = 120, 15, 25


def read_cases() -> list[tuple[str, dict]]:
    """Every case as (`file:line`, case). `read_cases()[0][1]["id"]`"""
    rows = []
    for path in sorted(CASES_DIR.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                rows.append((f"{path.name}:{number}", json.loads(line)))
    return rows


CASES = read_cases()
ANSWERABLE = [(where, case) for where, case in CASES if case.get("answerable") is True]
UNANSWERABLE = [(where, case) for where, case in CASES if case.get("answerable") is False]


def case_id(row: tuple[str, dict]) -> str:
    return row[1].get("id", row[0])


@pytest.fixture(scope="module")
def article_text() -> str:
    """Article.text of the shipped article, from the real loader."""
    articles = {a.id: a for a in load_articles(ARTICLES_DIR)}
    return articles[SHIPPED_ARTICLE_ID].text


def paragraph_window(text: str, evidence: str) -> str:
    """The paragraph holding `evidence` plus the one before it, lower-cased.

    A quote's speaker is named in the line that introduces the quote, so an answer that attributes a
    quote draws on both paragraphs.
    """
    paragraphs = text.split("\n\n")
    for i, paragraph in enumerate(paragraphs):
        if evidence in paragraph:
            return "\n\n".join(paragraphs[max(0, i - 1) : i + 1]).lower()
    return text.lower()  # evidence spanning paragraphs: the whole window is the text itself


def test_every_file_parses_and_is_not_empty():
    files = sorted(CASES_DIR.glob("*.jsonl"))
    assert files, f"no case files in {CASES_DIR}"
    for path in files:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        assert lines, f"{path.name} is empty"
        for number, line in enumerate(lines, start=1):
            assert isinstance(json.loads(line), dict), f"{path.name}:{number} is not a JSON object"


@pytest.mark.parametrize("row", CASES, ids=case_id)
def test_case_has_exactly_the_schema(row):
    where, case = row
    assert set(case) == set(SCHEMA), f"{where}: keys {sorted(case)} != {sorted(SCHEMA)}"
    for key, kind in SCHEMA.items():
        assert isinstance(case[key], kind), f"{where}: {key!r} should be {kind.__name__}"
    assert case["id"].strip() and case["question"].strip(), f"{where}: empty id or question"
    assert all(isinstance(turn, str) and turn.strip() for turn in case["history"]), f"{where}: bad history turn"
    assert case["tags"] and all(isinstance(t, str) and t == t.strip().lower() and t for t in case["tags"]), (
        f"{where}: tags must be non-empty lower-case strings"
    )
    for group in case["must"]:
        assert isinstance(group, list) and group, f"{where}: every must group is a non-empty list"
        assert all(isinstance(s, str) and s.strip() for s in group), f"{where}: must strings are non-empty strings"


def test_ids_are_unique_across_files():
    seen: dict[str, str] = {}
    for where, case in CASES:
        assert case["id"] not in seen, f"{where}: id {case['id']!r} already used at {seen[case['id']]}"
        seen[case["id"]] = where


def test_no_two_cases_ask_the_same_thing():
    asked = [(tuple(case["history"]), case["question"].strip().lower()) for _, case in CASES]
    duplicates = {q for q in asked if asked.count(q) > 1}
    assert not duplicates, f"duplicate history+question: {sorted(duplicates)}"


@pytest.mark.parametrize("row", ANSWERABLE, ids=case_id)
def test_answerable_case_is_grounded_in_the_article(row, article_text):
    where, case = row
    evidence = case["evidence"]
    assert evidence, f"{where}: an answerable case needs evidence"
    assert evidence in article_text, f"{where}: evidence is not a verbatim substring of Article.text: {evidence!r}"
    assert article_text.count(evidence) == 1, f"{where}: evidence occurs more than once; lengthen it: {evidence!r}"
    assert case["must"], f"{where}: an answerable case needs at least one must group"
    lowered = article_text.lower()
    window = paragraph_window(article_text, evidence)
    for group in case["must"]:
        for alternative in group:
            assert alternative.lower() in lowered, f"{where}: must string {alternative!r} is not in the article"
        assert any(alternative.lower() in window for alternative in group), (
            f"{where}: no alternative of {group} is in the evidence's paragraph (or the one introducing it)"
        )


@pytest.mark.parametrize("row", UNANSWERABLE, ids=case_id)
def test_unanswerable_case_has_no_answer_key(row):
    where, case = row
    assert case["must"] == [] and case["evidence"] == "", f"{where}: unanswerable cases have empty must and evidence"
    kinds = UNANSWERABLE_KINDS.intersection(case["tags"])
    assert len(kinds) == 1, f"{where}: tag it with exactly one of {sorted(UNANSWERABLE_KINDS)}"


def test_answerable_flag_is_a_real_bool():
    assert len(ANSWERABLE) + len(UNANSWERABLE) == len(CASES), "answerable must be true or false"


def test_multi_turn_cases_are_tagged_as_conversations():
    for where, case in CASES:
        assert bool(case["history"]) == ("conversation" in case["tags"]), (
            f"{where}: a case has history exactly when it is tagged 'conversation'"
        )


def test_the_suite_is_big_enough():
    conversations = [case for _, case in CASES if case["history"]]
    assert len(CASES) >= MIN_CASES, f"{len(CASES)} cases, want at least {MIN_CASES}"
    assert len(conversations) >= MIN_CONVERSATIONS, f"{len(conversations)} conversations, want {MIN_CONVERSATIONS}"
    assert len(UNANSWERABLE) >= MIN_UNANSWERABLE, f"{len(UNANSWERABLE)} unanswerable, want {MIN_UNANSWERABLE}"
    assert all(len(case["history"]) <= 2 for case in conversations), "conversations are 2-3 turns"
    assert any(len(case["history"]) == 2 for case in conversations), "some conversations have three turns"
