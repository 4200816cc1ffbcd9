"""The SQuAD 2.0 benchmark: file loading, even spreading, scoring with the official definitions, a real
run on a tiny SQuAD file made here, and a smoke run of `dsqa eval squad --limit 60` on the shared sample.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.types import Answer
from evals.cli import eval_app
from evals.runner import EvalInputError
from evals.squad import (
    SquadQuestion,
    article_part,
    contains_gold,
    load_squad,
    run_squad,
    score_question,
    spread,
)
from knowledge.settings import PROJECT_ROOT, go_offline

go_offline()

SHARED_SAMPLE = Path(
    os.environ.get("DSQA_SQUAD_FILE", PROJECT_ROOT.parent / "shared" / "data" / "squad-v2-dev-sample.json")
)
TINY = {
    "version": "v2.0",
    "data": [
        {
            "title": "Lunar_base",
            "paragraphs": [
                {
                    "context": "The Artemis base camp will be built near the lunar south pole. Construction is planned to begin in 2030.",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "Where will the Artemis base camp be built?",
                            "answers": [{"text": "near the lunar south pole", "answer_start": 37}],
                            "is_impossible": False,
                        },
                        {
                            "id": "q2",
                            "question": "When is construction planned to begin?",
                            "answers": [{"text": "2030", "answer_start": 100}],
                            "is_impossible": False,
                        },
                        {
                            "id": "q3",
                            "question": "Who will pay for the Martian base camp?",
                            "answers": [],
                            "is_impossible": True,
                        },
                    ],
                }
            ],
        },
        {
            "title": "Comet_tails",
            "paragraphs": [
                {
                    "context": "A comet's tail always points away from the Sun. It is pushed by the solar wind and by radiation pressure.",
                    "qas": [
                        {
                            "id": "q4",
                            "question": "What pushes a comet's tail?",
                            "answers": [{"text": "the solar wind", "answer_start": 62}],
                            "is_impossible": False,
                        }
                    ],
                }
            ],
        },
    ],
}


@pytest.fixture
def tiny_file(tmp_path) -> Path:
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps(TINY), encoding="utf-8")
    return path


def test_load_squad_joins_paragraphs_and_reads_questions(tiny_file):
    articles, questions = load_squad(tiny_file)
    assert list(articles) == ["Lunar base", "Comet tails"]
    assert [q.id for q in questions] == ["q1", "q2", "q3", "q4"]
    assert questions[2].impossible and questions[2].answers == []


def test_bad_squad_files_raise_clear_errors(tmp_path):
    with pytest.raises(EvalInputError, match="not found"):
        load_squad(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(EvalInputError, match="not valid JSON"):
        load_squad(tmp_path / "bad.json")
    (tmp_path / "wrong.json").write_text('{"data": [{"paragraphs": []}]}')
    with pytest.raises(EvalInputError, match="not a SQuAD 2.0 file"):
        load_squad(tmp_path / "wrong.json")


def test_spread_takes_questions_evenly_over_the_file():
    questions = [SquadQuestion(str(i), "?", ["a"], False, "t") for i in range(10)]
    assert [q.id for q in spread(questions, 5)] == ["0", "2", "4", "6", "8"]
    assert len(spread(questions, None)) == 10 and len(spread(questions, 50)) == 10


def test_score_question_uses_the_short_answer_and_counts_abstention_as_empty():
    question = SquadQuestion("q", "When?", ["2030", "in 2030"], False, "t")
    long = Answer(
        text="Construction is planned to begin in 2030. [1]",
        citations=[],
        abstained=False,
        query="q",
        short_answer="2030",
    )
    row = score_question(question, long)
    assert (row["exact"], row["f1"], row["contains_gold"], row["passed"]) == (1, 1.0, True, True)
    refused = score_question(question, Answer(text="I cannot find that.", citations=[], abstained=True, query="q"))
    assert (refused["exact"], refused["f1"], refused["reasons"][0][:9]) == (0, 0.0, "abstained")
    impossible = SquadQuestion("i", "Who?", [], True, "t")
    declined = score_question(impossible, Answer(text="Not in the articles.", citations=[], abstained=True, query="q"))
    assert (declined["exact"], declined["f1"], declined["passed"]) == (1, 1.0, True)


@pytest.mark.slow
def test_run_squad_on_a_tiny_file_with_the_real_bot_and_baseline(tiny_file):
    summary, rows, baseline_rows = run_squad(tiny_file, baseline=True)
    assert summary["overall"]["cases"] == 4 and len(rows) == len(baseline_rows) == 4
    assert summary["overall"]["hit_at_5"]["value"] == 1.0  # two short articles: the gold is always retrieved
    assert summary["baseline"]["overall"]["no_answer_accuracy"]["value"] == 0.0  # the recipe never abstains
    assert {"Lunar base", "Comet tails", "answerable", "impossible"} <= set(summary["by_tag"])


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_SAMPLE.exists(), reason=f"{SHARED_SAMPLE} is not here")
def test_dsqa_eval_squad_limit_60_smoke(tmp_path):
    result = CliRunner().invoke(
        eval_app, ["squad", str(SHARED_SAMPLE), "--limit", "60", "--out", str(tmp_path)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["overall"]["cases"] == 60
    assert summary["overall"]["hit_at_5"]["value"] > 0.8  # a broken retriever shows here, not tuned figures
    assert {"results.jsonl", "report.md", "report.html"} <= {p.name for p in tmp_path.iterdir()}


def test_dsqa_eval_squad_bad_file_exits_2(tmp_path):
    result = CliRunner().invoke(eval_app, ["squad", str(tmp_path / "nope.json")])
    assert result.exit_code == 2 and "SQuAD file not found" in result.output and "Traceback" not in result.output


def test_character_scores_for_chinese():
    question = SquadQuestion("z", "协会设在哪里？", ["合肥市"], False, "t")
    answer = Answer(text="协会设在合肥市。[1]", citations=[], abstained=False, query="q", short_answer="合肥")
    row = score_question(question, answer, chars=True)
    assert row["contains_gold"] and round(row["f1"], 3) == 0.8  # 合肥 against 合肥市: 2 of 2 and 2 of 3
    assert score_question(question, answer)["f1"] == 0.0  # as words, 合肥 is not 合肥市
    assert not contains_gold(["合肥市"], "协会设在北京。", chars=True)


def test_parts_split_a_file_by_article(tiny_file):
    articles, questions = load_squad(tiny_file)
    calibration = article_part(articles, questions, "calibration")
    report = article_part(articles, questions, "report")
    assert list(calibration[0]) == ["Lunar base"] and list(report[0]) == ["Comet tails"]
    assert {q.title for q in calibration[1]} == {"Lunar base"} and {q.title for q in report[1]} == {"Comet tails"}
    with pytest.raises(EvalInputError, match="calibration or report"):
        article_part(articles, questions, "dev")


@pytest.mark.slow
def test_dsqa_eval_squad_prints_one_row_per_file(tiny_file, tmp_path):
    other = tmp_path / "other-squad.json"
    other.write_text(json.dumps({"data": TINY["data"][1:]}), encoding="utf-8")
    result = CliRunner().invoke(
        eval_app,
        ["squad", str(tiny_file), str(other), "--reader", "extractive", "--out", str(tmp_path / "out")],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("| ") and "squad.json" in line]
    assert [r.split(" | ")[0:3] for r in rows] == [
        ["| tiny-squad.json", "extractive", "4"],
        ["| other-squad.json", "extractive", "1"],
    ]
    assert len(rows[0].split(" | ")) == 3 + 9  # contained, F1, EM, declined, false refusals, hit@1/5, p50, p95
    assert (tmp_path / "out" / "tiny-squad" / "summary.json").exists()


def test_articles_whose_titles_hold_markup_get_plain_file_names(tmp_path):
    from evals.squad import write_knowledge

    title = '<i><span class="lang-la" lang="la">Pomerium</span></i>'  # as PIAF writes one title
    write_knowledge({title: "Le pomerium est une limite.", "Paris": "Paris est une ville."}, tmp_path / "k")
    files = sorted(p.name for p in (tmp_path / "k").iterdir())
    assert files == ["000-i-span-class-lang-la-lang-la-Pomerium-span-i.txt", "001-Paris.txt"]
    assert (tmp_path / "k" / files[0]).read_text(encoding="utf-8").startswith(title)
