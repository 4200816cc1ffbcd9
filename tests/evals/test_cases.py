"""The versioned eval cases are well-formed ground truth: `evals/cases/*.jsonl` for the shipped article,
and each case folder (`evals/cases/<folder>/`) for its own `articles/`, or the shipped article when it
has none.

Checks the schema, unique ids, that every `evidence` and every `must` string is really in the article
text the loader produces, that the main suite has enough cases of each kind, and that each language
folder has the cases issue 10 asks for. It does not run the bot: scoring answers is the runner's job.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge import load_articles

REPO_ROOT = Path(__file__).resolve().parents[2]
CASES_DIR = REPO_ROOT / "evals" / "cases"
ARTICLES_DIR = REPO_ROOT / "knowledge" / "articles"
FOLDERS = sorted(p for p in CASES_DIR.iterdir() if p.is_dir() and any(p.glob("*.jsonl")))
LANGUAGE_FOLDERS = {"fr": "fr", "zh": "zh", "zh-en": "zh"}  # folder → language its questions are written in

SCHEMA = {"id": str, "history": list, "question": str, "answerable": bool, "must": list, "evidence": str, "tags": list}
UNANSWERABLE_KINDS = {"off-topic", "absent", "false-premise", "injection", "gibberish"}
MIN_CASES, MIN_CONVERSATIONS, MIN_UNANSWERABLE = 120, 15, 25


def read_cases(folder: Path = CASES_DIR) -> list[tuple[str, dict]]:
    """Every case of a folder as (`file:line`, case). `read_cases()[0][1]["id"]`"""
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                rows.append((f"{path.relative_to(CASES_DIR).as_posix()}:{number}", json.loads(line)))
    return rows


def articles_of(folder: Path) -> Path:
    """What a case folder is asked over: its own articles/, else the shipped articles."""
    return folder / "articles" if (folder / "articles").is_dir() else ARTICLES_DIR


CASES = read_cases()
EVERY_CASE = CASES + [row for folder in FOLDERS for row in read_cases(folder)]
ANSWERABLE = [(where, case) for where, case in EVERY_CASE if case.get("answerable") is True]
UNANSWERABLE = [(where, case) for where, case in EVERY_CASE if case.get("answerable") is False]


def case_id(row: tuple[str, dict]) -> str:
    """The case id, prefixed with its folder for a folder's cases (`zh/zh-didian`)."""
    folder = row[0].rpartition("/")[0]
    return f"{folder}/{row[1].get('id')}" if folder else row[1].get("id", row[0])


_TEXTS: dict[Path, str] = {}


def article_text_for(where: str) -> str:
    """Article.text of what the case's folder is asked over (one article each), from the real loader."""
    folder = where.rpartition("/")[0]
    articles = articles_of(CASES_DIR / folder) if folder else ARTICLES_DIR
    if articles not in _TEXTS:
        _TEXTS[articles] = "\n\n".join(a.text for a in load_articles(articles))
    return _TEXTS[articles]


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
    files = sorted(CASES_DIR.glob("*.jsonl")) + sorted(CASES_DIR.glob("*/*.jsonl"))
    assert files, f"no case files in {CASES_DIR}"
    for path in files:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        assert lines, f"{path.name} is empty"
        for number, line in enumerate(lines, start=1):
            assert isinstance(json.loads(line), dict), f"{path.name}:{number} is not a JSON object"


@pytest.mark.parametrize("row", EVERY_CASE, ids=case_id)
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


@pytest.mark.parametrize("folder", [CASES_DIR, *FOLDERS], ids=lambda f: f.name)
def test_ids_are_unique_across_files(folder):
    seen: dict[str, str] = {}
    for where, case in read_cases(folder):
        assert case["id"] not in seen, f"{where}: id {case['id']!r} already used at {seen[case['id']]}"
        seen[case["id"]] = where


@pytest.mark.parametrize("folder", [CASES_DIR, *FOLDERS], ids=lambda f: f.name)
def test_no_two_cases_ask_the_same_thing(folder):
    asked = [(tuple(case["history"]), case["question"].strip().lower()) for _, case in read_cases(folder)]
    duplicates = {q for q in asked if asked.count(q) > 1}
    assert not duplicates, f"duplicate history+question: {sorted(duplicates)}"


@pytest.mark.parametrize("row", ANSWERABLE, ids=case_id)
def test_answerable_case_is_grounded_in_the_article(row):
    where, case = row
    article_text = article_text_for(where)
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
    assert len(ANSWERABLE) + len(UNANSWERABLE) == len(EVERY_CASE), "answerable must be true or false"


def test_multi_turn_cases_are_tagged_as_conversations():
    for where, case in EVERY_CASE:
        assert bool(case["history"]) == ("conversation" in case["tags"]), (
            f"{where}: a case has history exactly when it is tagged 'conversation'"
        )


def test_the_suite_is_big_enough():
    conversations = [case for _, case in CASES if case["history"]]
    assert len(CASES) >= MIN_CASES, f"{len(CASES)} cases, want at least {MIN_CASES}"
    assert len(conversations) >= MIN_CONVERSATIONS, f"{len(conversations)} conversations, want {MIN_CONVERSATIONS}"
    unanswerable = [case for _, case in CASES if not case["answerable"]]
    assert len(unanswerable) >= MIN_UNANSWERABLE, f"{len(unanswerable)} unanswerable, want {MIN_UNANSWERABLE}"
    assert all(len(case["history"]) <= 2 for case in conversations), "conversations are 2-3 turns"
    assert any(len(case["history"]) == 2 for case in conversations), "some conversations have three turns"


@pytest.mark.parametrize(("folder", "language"), LANGUAGE_FOLDERS.items())
def test_language_folders_hold_what_issue_10_asks_for(folder, language):
    """At least 10 answerable questions (5 for Chinese over the English article) and a few unanswerable
    ones, each written in the folder's language and tagged with it."""
    rows = read_cases(CASES_DIR / folder)
    answerable = [case for _, case in rows if case["answerable"]]
    assert len(answerable) >= (5 if folder == "zh-en" else 10) and len(rows) - len(answerable) >= 2
    for where, case in rows:
        assert language in case["tags"], f"{where}: tag it {language!r}"
        written = case["question"]
        if language == "zh":
            assert sum("\u4e00" <= ch <= "\u9fff" for ch in written) >= len(written) // 2, f"{where}: not Chinese"
        else:
            assert not any("\u4e00" <= ch <= "\u9fff" for ch in written), f"{where}: not French"


def test_every_case_folder_carries_its_thresholds():
    for folder in FOLDERS:
        assert (folder / "thresholds.toml").is_file(), f"{folder.name}/ needs a thresholds.toml for the gate"
