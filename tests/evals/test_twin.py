"""The counterfactual twin in `evals/cases/twin/` is what `python -m evals.twin` makes from the shipped
article, the suite's cases and the replacement table: regenerating reproduces the committed files, no
replaced name survives, and every twin `evidence` is verbatim in the twin article. (The twin's score
against the original's is checked by the eval gate, tests/evals/test_runner.py.)
"""

from __future__ import annotations

import json

import pytest

from evals.runner import DEFAULT_CASES, load_cases
from evals.twin import ARTICLES, TABLE, TWIN_DIR, build_twin, load_table, name_pattern, replacer, source_cases
from knowledge import load_articles

GENERATED = ("*.jsonl", "articles/*")


def committed_files() -> dict[str, bytes]:
    return {p.relative_to(TWIN_DIR).as_posix(): p.read_bytes() for pattern in GENERATED for p in TWIN_DIR.glob(pattern)}


def test_regenerating_the_twin_reproduces_the_committed_files(tmp_path):
    build_twin(out_dir=tmp_path)
    regenerated = {
        p.relative_to(tmp_path).as_posix(): p.read_bytes() for pattern in GENERATED for p in tmp_path.glob(pattern)
    }
    assert regenerated.keys() == committed_files().keys(), "run `python -m evals.twin` and commit the result"
    stale = [name for name, data in regenerated.items() if committed_files()[name] != data]
    assert not stale, f"out of date: {stale}; run `python -m evals.twin` and commit the result"


def test_every_twin_evidence_is_verbatim_once_in_the_twin_article():
    (article,) = load_articles(TWIN_DIR / "articles")
    cases = load_cases(TWIN_DIR)
    assert len(cases) == sum(len(c) for c in source_cases().values())
    for case in cases:
        if case.answerable:
            assert article.text.count(case.evidence) == 1, (case.id, case.evidence)
            for group in case.must:
                assert any(option.lower() in article.text.lower() for option in group), (case.id, group)


def test_the_twin_holds_the_original_answerable_and_conversation_cases_by_id():
    original = {c.id: c for c in load_cases(DEFAULT_CASES)}
    twins = load_cases(TWIN_DIR)
    assert {c.id for c in twins} == {i for i, c in original.items() if c.answerable or c.history}
    for twin in twins:
        source = original[twin.id]
        assert (twin.answerable, twin.tags, len(twin.history), len(twin.must)) == (
            source.answerable,
            source.tags,
            len(source.history),
            len(source.must),
        )


def test_no_replaced_name_survives_and_every_name_is_used():
    table = load_table()
    pattern = name_pattern(table)
    # Ids stay the original's on purpose (they pair each twin with its case): every other text is checked.
    twin_text = "\n".join(p.read_text(encoding="utf-8") for p in (TWIN_DIR / "articles").iterdir())
    twin_text += "\n".join(
        "\n".join([*c.history, c.question, c.evidence, *(o for group in c.must for o in group)])
        for c in load_cases(TWIN_DIR)
    )
    survivors = sorted({m.group(0) for m in pattern.finditer(twin_text)})
    assert not survivors, f"names left in the twin: {survivors}"
    original_text = "\n".join(p.read_text(encoding="utf-8") for p in ARTICLES.glob("*.md")) + "\n".join(
        json.dumps(c, ensure_ascii=False) for cases in source_cases().values() for c in cases
    )
    unused = [name for name in table if not name_pattern([name]).search(original_text)]
    assert not unused, f"table entries that match nothing: {unused}"


def test_no_new_name_was_already_in_the_original():
    """A replacement that already occurs in the original would merge two things into one."""
    original_text = "\n".join(p.read_text(encoding="utf-8") for p in ARTICLES.glob("*.md"))
    original_text += "\n".join(p.read_text(encoding="utf-8") for p in DEFAULT_CASES.glob("*.jsonl"))
    clashes = sorted({new for new in load_table().values() if name_pattern([new]).search(original_text)})
    assert not clashes, f"new names already in the original: {clashes}"


def test_replacer_whole_words_one_pass_and_lower_case():
    replace = replacer({"IDSEA": "ICEA", "Wang": "Liu", "Liu": "Zhao", "合肥": "南昌", "Chang’e": "Qing’e"})
    assert replace("Wang met Liu; Wangs and Wangfujing stay.") == "Liu met Zhao; Wangs and Wangfujing stay."
    assert replace("when does idsea launch? 合肥市 and Chang’e 4") == "when does icea launch? 南昌市 and Qing’e 4"
    with pytest.raises(ValueError, match="add this spelling"):
        replace("Idsea")


def test_the_table_rejects_empty_and_repeated_names(tmp_path):
    bad = tmp_path / "t.toml"
    bad.write_text('[names]\n"A" = ""\n', encoding="utf-8")
    with pytest.raises(ValueError, match="non-empty replacement"):
        load_table(bad)
    bad.write_text('[names]\n"A" = "B"\n[typos]\n"A" = "C"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="listed twice"):
        load_table(bad)
    assert load_table(TABLE)["IDSEA"] == "ICEA"
