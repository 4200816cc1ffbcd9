"""bot/examples.py: example questions are found by asking the bot, and only confident answers count."""

from __future__ import annotations

from bot.examples import confident_enough, names_in, suggest_questions
from bot.types import Answer


def test_names_are_the_repeated_capitalised_phrases_and_acronyms():
    text = (
        "China’s Deep Space Lab opened in 2022. The Deep Space Lab works with IDSEA. IDSEA was founded by "
        "Charles II and Charles II only. The Lab is new."
    )
    assert names_in(text) == ["Deep Space Lab", "IDSEA", "Charles II"]


def test_confidence_must_be_halfway_from_the_refusal_threshold_to_certainty():
    answer = Answer("x [1].", [], False, "q", confidence=0.70)
    assert confident_enough(answer, abstain_below=0.35)  # needs 0.675
    assert not confident_enough(Answer("x", [], False, "q", confidence=0.6), abstain_below=0.35)
    assert not confident_enough(Answer("x", [], True, "q", confidence=0.99), abstain_below=0.35)


def test_suggested_questions_are_answered_from_the_body_confident_ones_first_and_never_abstain(shipped_bot):
    questions = suggest_questions(shipped_bot, limit=4)
    assert 1 <= len(questions) <= 4 and len(set(questions)) == len(questions)
    article = shipped_bot.articles()[0]
    quoted, confident = set(), []
    for question in questions:
        answer = shipped_bot.ask(question)
        assert not answer.abstained, (question, answer.text)
        confident.append(confident_enough(answer, shipped_bot.abstain_threshold))
        assert answer.citations[0].start >= len(article.title)  # not answered with the title
        quoted.add(answer.citations[0].start)
    assert len(quoted) == len(questions)  # each example shows a different sentence
    assert confident == sorted(confident, reverse=True)  # the confident ones come first


def test_a_folder_with_nothing_worth_asking_gets_no_examples(tmp_path, embedder):
    from bot import Bot

    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "note.txt").write_text("A note\n\nnothing capitalised here at all.\n", encoding="utf-8")
    bot = Bot(knowledge_dir=tmp_path / "articles", index_dir=tmp_path / "index", embedder=embedder)
    assert suggest_questions(bot) == []
