"""The CoQA conversation benchmark: loading (a tiny CoQA file made here, and the shared sample), the
metric functions, scoring one turn, how each mode feeds the bot (checked with a scripted bot), and a
real run of the bot and of `dsqa eval coqa` on the tiny file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.types import Answer, Citation, RetrievedChunk
from evals.cli import eval_app
from evals.coqa import (
    CoqaStory,
    CoqaTurn,
    HistoryMode,
    aggregate_coqa,
    contains_gold,
    evidence_quoted,
    load_coqa,
    opener,
    play,
    rationale_spans,
    run_coqa,
    score_turn,
    span_golds,
    spread_runs,
    story_rank,
    write_stories,
)
from evals.runner import EvalInputError
from knowledge import load_articles
from knowledge.settings import PROJECT_ROOT, go_offline

go_offline()

SHARED_SAMPLE = Path(os.environ.get("DSQA_COQA_FILE", PROJECT_ROOT.parent / "shared" / "data" / "coqa-dev-sample.json"))
OBSERVATORY = (
    "The Kestrel Ridge Observatory opened in 1998 on a hill above the town of Marlow. "
    "Its main telescope has a mirror 2.4 metres wide.\n\n"
    "The observatory was founded by the astronomer Ines Calloway, who directed it for twenty years. "
    "She retired in 2018 and now writes books about comets."
)
BAKERY = (
    "Tom Perrin runs a small bakery on Quay Street. He gets up at four every morning to bake bread. "
    "His best seller is a rye loaf with caraway seeds.\n\n"
    "On Sundays the bakery is closed, and Tom goes fishing with his daughter Ada."
)
TINY = {
    "version": "test",
    "stories": [
        {
            "id": "obs",
            "source": "wikipedia",
            "title": "The Kestrel Ridge Observatory",
            "story": OBSERVATORY,
            "runs": [
                [
                    {
                        "turn_id": 3,
                        "question": "Who founded it?",
                        "answer": "Ines Calloway",
                        "rationale": "founded by the astronomer Ines Calloway",
                    },
                    {
                        "turn_id": 4,
                        "question": "When did she retire?",
                        "answer": "in 2018",
                        "rationale": "She retired in 2018",
                    },
                    {"turn_id": 5, "question": "Did she like it?", "answer": "unknown", "rationale": ""},
                ]
            ],
        },
        {
            "id": "bakery",
            "source": "mctest",
            "title": "Tom Perrin runs a small bakery",
            "story": BAKERY,
            "runs": [
                [
                    {
                        "turn_id": 2,
                        "question": "What is his best seller?",
                        "answer": "a rye loaf",
                        "rationale": "His best seller is a rye loaf with caraway seeds.",
                        "additional_answers": ["rye bread with caraway"],
                    },
                    {"turn_id": 3, "question": "Is it open on Sundays?", "answer": "no", "rationale": "On Sundays"},
                ]
            ],
        },
    ],
}


@pytest.fixture
def tiny_file(tmp_path) -> Path:
    path = tmp_path / "tiny-coqa.json"
    path.write_text(json.dumps(TINY), encoding="utf-8")
    return path


@pytest.fixture
def tiny_articles(tmp_path) -> tuple[list[CoqaStory], dict]:
    """The tiny stories written and read back by the real loader: (stories, story id → Article)."""
    stories = load_coqa_from(TINY, tmp_path)
    write_stories(stories, tmp_path / "knowledge")
    by_file = {a.metadata["file"]: a for a in load_articles(tmp_path / "knowledge")}
    return stories, {s.id: by_file[s.file_name] for s in stories}


def load_coqa_from(data: dict, folder: Path) -> list[CoqaStory]:
    path = folder / "data.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return load_coqa(path)


def answer(text: str, *, short: str = "", citations=(), retrieved=(), abstained: bool = False) -> Answer:
    return Answer(
        text=text,
        citations=list(citations),
        abstained=abstained,
        query=text,
        retrieved=list(retrieved),
        short_answer=short,
    )


def chunk(article_id: str) -> RetrievedChunk:
    return RetrievedChunk(f"{article_id}-0", article_id, "t", "text", 0, 10, 1.0)


def citing(article, quote: str) -> Citation:
    start = article.text.index(quote)
    return Citation(1, article.id, article.title, quote, start, start + len(quote), article.text)


# --- loading -----------------------------------------------------------------------------------


def test_load_coqa_reads_stories_runs_and_extra_answers(tiny_file):
    stories = load_coqa(tiny_file)
    assert [s.id for s in stories] == ["obs", "bakery"]
    assert [len(run) for run in stories[0].runs] == [3]
    best_seller = stories[1].runs[0][0]
    assert best_seller.golds == ["a rye loaf", "rye bread with caraway"]
    assert stories[0].runs[0][2].unanswerable and not best_seller.unanswerable


def test_bad_coqa_files_raise_clear_errors(tmp_path):
    with pytest.raises(EvalInputError, match="not found"):
        load_coqa(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(EvalInputError, match="not valid JSON"):
        load_coqa(tmp_path / "bad.json")
    (tmp_path / "squad.json").write_text('{"data": []}')
    with pytest.raises(EvalInputError, match="not a CoQA sample file"):
        load_coqa(tmp_path / "squad.json")
    (tmp_path / "empty.json").write_text('{"stories": []}')
    with pytest.raises(EvalInputError, match="holds no turns"):
        load_coqa(tmp_path / "empty.json")


def test_spread_runs_takes_runs_evenly():
    turn = CoqaTurn(1, "q", "a", "r")
    stories = [CoqaStory(str(i), "cnn", "t", "s", ((turn,), (turn,))) for i in range(5)]
    assert [(s.id, i) for s, i in spread_runs(stories, 5)] == [("0", 0), ("1", 0), ("2", 0), ("3", 0), ("4", 0)]
    assert len(spread_runs(stories, None)) == 10 and len(spread_runs(stories, 99)) == 10


def test_written_stories_read_back_with_their_title_first(tiny_articles):
    stories, articles = tiny_articles
    for story in stories:
        assert articles[story.id].title == story.title
        assert articles[story.id].text == f"{story.title}\n\n{story.story}\n"
    assert opener("Munich") == "Tell me about “Munich”"


# --- metric functions --------------------------------------------------------------------------


def test_span_golds_are_verbatim_in_the_story_and_never_yes_or_no():
    story = "Yes, the mayor said. The bridge opened in May 1999 after No Man's Land was cleared."
    assert span_golds(["May 1999.", "in may  1999"], story) == ["May 1999.", "in may  1999"]
    assert span_golds(["yes", "No", "unknown"], story) == []
    assert span_golds(["a new bridge"], story) == []  # free-form: not in the story


def test_contains_gold_matches_whole_words_after_normalising():
    assert contains_gold("The bridge opened in May 1999. [1]", ["may 1999"])
    assert contains_gold("It was the Normans [1]", ["The Normans!"])
    assert not contains_gold("It opened in November. [1]", ["no"])  # not inside a word
    assert not contains_gold("It opened in 19990.", ["1999"])
    assert not contains_gold("anything", [])


def test_rationale_spans_ignore_spacing_and_the_title_line():
    text = "Title about the bridge\n\nThe bridge opened\nin May 1999. The bridge opened again."
    spans = rationale_spans(text, "The bridge  opened in May", after=len("Title about the bridge"))
    assert [text[a:b] for a, b in spans] == ["The bridge opened\nin May"]
    assert rationale_spans(text, "Title about", after=5) == [] and rationale_spans(text, "  ") == []


def test_evidence_quoted_needs_an_overlapping_citation_of_the_same_article():
    def cite(article_id: str, start: int, end: int) -> Citation:
        return Citation(1, article_id, "t", "x" * (end - start), start, end, "")

    spans = [(100, 150)]
    assert evidence_quoted([cite("a", 90, 101)], "a", spans)
    assert evidence_quoted([cite("a", 120, 130)], "a", spans)
    assert not evidence_quoted([cite("a", 150, 200)], "a", spans)  # touching, not overlapping
    assert not evidence_quoted([cite("b", 100, 150)], "a", spans)
    assert not evidence_quoted([], "a", spans)


def test_story_rank_is_the_first_chunk_of_the_story():
    assert story_rank([chunk("x"), chunk("a"), chunk("a")], "a") == 2
    assert story_rank([chunk("x")], "a") is None


# --- one turn, and the three modes -------------------------------------------------------------


def test_score_turn_on_a_right_cited_answer(tiny_articles):
    stories, articles = tiny_articles
    story, article = stories[0], articles["obs"]
    turn = story.runs[0][0]
    reply = answer(
        "The observatory was founded by the astronomer Ines Calloway, who directed it for twenty years. [1]",
        short="Ines Calloway",
        citations=[citing(article, "The observatory was founded by the astronomer Ines Calloway")],
        retrieved=[chunk("bakery"), chunk("obs")],
    )
    row = score_turn(story, article, turn, 0, reply, turn.question, [])
    assert (row["contains_gold"], row["f1"], row["evidence_quoted"], row["story_rank"]) == (True, 1.0, True, 2)
    assert row["passed"] and row["tags"] == ["first-turn", "wikipedia", "span"]


def test_score_turn_counts_a_refusal_as_empty_and_quoting_the_title_as_no_evidence(tiny_articles):
    stories, articles = tiny_articles
    story, article = stories[0], articles["obs"]
    retire, unknown = story.runs[0][1], story.runs[0][2]
    refused = score_turn(story, article, retire, 1, answer("Not in the articles.", abstained=True), "q", [])
    assert (refused["f1"], refused["contains_gold"], refused["evidence_quoted"]) == (0.0, False, False)
    assert refused["reasons"] == ["abstained (false refusal); story not retrieved"]
    declined = score_turn(story, article, unknown, 2, answer("Not in the articles.", abstained=True), "q", [])
    assert declined["passed"] and declined["f1"] == 1.0 and declined["evidence_quoted"] is None
    title = score_turn(
        story,
        article,
        retire,
        1,
        answer("The Kestrel Ridge Observatory [1]", citations=[citing(article, "The Kestrel Ridge Observatory")]),
        "q",
        [],
    )
    assert title["evidence_quoted"] is False and title["contains_gold"] is False


class ScriptedBot:
    """Answers from a script (asked text → (answer text, short answer)) and records every call."""

    def __init__(self, articles: dict, script: dict[str, tuple[str, str]]):
        self.articles, self.script, self.calls = articles, script, []

    def ask(self, question: str, history: list[dict] | None = None) -> Answer:
        self.calls.append((question, [m["content"] for m in history or []]))
        text, short = self.script.get(question, ("I cannot find that.", ""))
        if not short:
            return answer(text, abstained=True)
        article = next(a for a in self.articles.values() if text in a.text)
        return answer(f"{text} [1]", short=short, citations=[citing(article, text)], retrieved=[chunk(article.id)])


def test_the_three_modes_feed_the_bot_as_described(tiny_articles):
    stories, articles = tiny_articles
    chosen = spread_runs(stories, None)
    founded = "The observatory was founded by the astronomer Ines Calloway"
    script = {
        "Tell me about “The Kestrel Ridge Observatory”": ("The Kestrel Ridge Observatory opened in 1998", "1998"),
        "Who founded it?": (founded, "Ines Calloway"),
        "When did she retire?": ("She retired in 2018", "2018"),
        "What is his best seller?": ("His best seller is a rye loaf with caraway seeds.", "a rye loaf"),
    }
    bot = ScriptedBot(articles, script)
    rows = play(bot, chosen, articles, HistoryMode.CONVERSATION)
    assert bot.calls[:3] == [
        ("Tell me about “The Kestrel Ridge Observatory”", []),
        (
            "Who founded it?",
            ["Tell me about “The Kestrel Ridge Observatory”", "The Kestrel Ridge Observatory opened in 1998 [1]"],
        ),
        (
            "When did she retire?",
            [
                "Tell me about “The Kestrel Ridge Observatory”",
                "The Kestrel Ridge Observatory opened in 1998 [1]",
                "Who founded it?",
                f"{founded} [1]",
            ],
        ),
    ]
    assert len(bot.calls) == 3 + 1 + 1 + 2  # each run starts a fresh chat with its opener
    assert [r["tags"][0] for r in rows] == ["first-turn", "follow-up", "follow-up", "first-turn", "follow-up"]
    overall = aggregate_coqa(rows)
    # Span turns: founded (hit), retire (hit), best seller (hit); "no" and "unknown" are not spans.
    assert overall["contains_gold"]["successes"] == 3 and overall["contains_gold"]["n"] == 3
    # F1: 1, 2/3 ("2018" against "in 2018"), 1 (declined "unknown"), 1 ("a rye loaf"), 0 (refused "no")
    assert overall["f1"]["value"] == pytest.approx((1 + 2 / 3 + 1 + 1 + 0) / 5)
    # Refusals: only "Is it open on Sundays?" among the four answerable turns.
    assert (overall["false_refusal_rate"]["successes"], overall["false_refusal_rate"]["n"]) == (1, 4)
    assert overall["story_hit_at_1"]["successes"] == 3  # the refusals retrieved nothing

    bot = ScriptedBot(articles, script)
    play(bot, chosen, articles, HistoryMode.NONE)
    assert bot.calls[0] == ("Who founded it?", []) and len(bot.calls) == 5

    bot = ScriptedBot(articles, script)
    glued = play(bot, chosen, articles, HistoryMode.PREVIOUS_QUESTION)
    assert [c[0] for c in bot.calls[:3]] == [
        "Tell me about “The Kestrel Ridge Observatory” Who founded it?",
        "Who founded it? When did she retire?",
        "When did she retire? Did she like it?",
    ]
    assert all(not history for _, history in bot.calls)
    assert glued[0]["question"] == "Who founded it?" and glued[0]["asked"].startswith("Tell me about")


# --- real runs ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_run_coqa_on_a_tiny_file_with_the_real_bot(tiny_file):
    summary, rows, baseline_rows = run_coqa(tiny_file)
    assert summary["overall"]["cases"] == 5 and len(rows) == 5 and len(baseline_rows) == 10
    assert [b["name"] for b in summary["baselines"]] == ["no history", "previous question + question"]
    # Two short stories: whatever is asked, both are among the retrieved chunks, so the mapping from
    # retrieved chunks to stories is what this checks.
    assert summary["overall"]["story_hit_at_5"]["value"] == 1.0
    assert {"first-turn", "follow-up", "wikipedia", "mctest", "span", "yes/no", "unknown"} <= set(summary["by_tag"])
    assert rows[0]["history"] == ["Tell me about “The Kestrel Ridge Observatory”"]


def test_dsqa_eval_coqa_bad_file_exits_2(tmp_path):
    result = CliRunner().invoke(eval_app, ["coqa", str(tmp_path / "nope.json")])
    assert result.exit_code == 2 and "CoQA file not found" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_dsqa_eval_coqa_writes_the_report_files(tiny_file, tmp_path):
    result = CliRunner().invoke(
        eval_app, ["coqa", str(tiny_file), "--out", str(tmp_path / "out")], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "follow-up: 3 questions" in result.output and "previous question + question:" in result.output
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"results.jsonl", "baseline_results.jsonl", "summary.json", "report.md", "report.html"} <= written
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "| Metric | deepspace-qa | no history | previous question + question | Threshold |" in report
    assert "**follow-up** (3 questions)" in report


@pytest.mark.skipif(not SHARED_SAMPLE.exists(), reason=f"{SHARED_SAMPLE} is not here")
def test_the_shared_sample_loads_as_its_readme_describes():
    """60 stories, 87 runs, 275 turns of which 188 follow-ups (../shared/data/README.md); playing it
    takes about a minute, most of it indexing, so `dsqa eval coqa` is run by hand, not here."""
    stories = load_coqa(SHARED_SAMPLE)
    runs = spread_runs(stories, None)
    turns = [turn for story, index in runs for turn in story.runs[index]]
    assert (len(stories), len(runs), len(turns), len(turns) - len(runs)) == (60, 87, 275, 188)
    assert all(story.title and story.story for story in stories)
