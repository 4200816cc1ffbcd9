"""The reading model's part of an answer (`bot/close_reading.py`), with a scripted model behind the real
queue: a follow-up's checked standalone form is answered afresh, then its window is read."""

from __future__ import annotations

import json

from scripted_model import ScriptedEngine, scripted

from bot.close_reading import ReadingModel, refine
from bot.condense import StandaloneRewriter
from bot.inputs import clean_history
from bot.llm_reader import LLMSpanReader
from bot.pipeline import Asked

FIRST = "Which countries contribute instruments to Chang'e 6?"
FOLLOW_UP = "And to Chang'e 7?"
STANDALONE = "Which countries contribute instruments to Chang'e 7?"


def reading_model(replies: list[str], identify) -> ReadingModel:
    model = scripted(ScriptedEngine(["{}", *replies]))  # the first reply goes to the reader's start-up prefill
    return ReadingModel(
        LLMSpanReader(model, wait_s=5, read_s=5), StandaloneRewriter(model, identify, wait_s=5, read_s=5)
    )


def follow_up(bot, monkeypatch):
    """The follow-up's turns, the opened index, and its instant answer with what it was decided from."""
    monkeypatch.setattr(bot.path.composer, "after_reading", {})  # what the model reads decides nothing here
    first = bot.ask(FIRST)
    turns = clean_history([{"role": "user", "content": FIRST}, {"role": "assistant", "content": first.text}])
    index = bot._live.index
    return turns, index, *bot.path.answer_in_full(Asked(FOLLOW_UP, turns, index))


def test_a_follow_up_is_answered_again_as_its_standalone_form(shipped_bot, monkeypatch):
    turns, index, extractive, decided = follow_up(shipped_bot, monkeypatch)
    _, standing = shipped_bot.path.answer_in_full(Asked(STANDALONE, [], index))
    row = standing.verdict.reading.candidate.row  # the model "finds" three words of the sentence it is shown
    start, end = index.search.sentences.spans[row]
    span = " ".join(index.search.article_texts[index.search.sentences.article_ids[row]][start:end].split()[:3])
    reading = reading_model(
        [json.dumps({"question": STANDALONE}), json.dumps({"span": span})], shipped_bot.path.languages.identify
    )
    answers = list(refine(shipped_bot.path, reading, extractive, decided, turns, index))
    assert answers[0] is extractive and len(answers) == 2
    final = answers[-1]
    assert final.query == STANDALONE and final.question == FOLLOW_UP and not final.abstained
    assert final.short_answer == span and span in final.citations[0].quote


def test_a_rewrite_that_fails_its_check_leaves_the_follow_up_as_the_fast_path_read_it(shipped_bot, monkeypatch):
    turns, index, extractive, decided = follow_up(shipped_bot, monkeypatch)
    reading = reading_model(
        [json.dumps({"question": "Which countries contribute instruments to Apollo 11?"}), "{}"],
        shipped_bot.path.languages.identify,
    )
    answers = list(refine(shipped_bot.path, reading, extractive, decided, turns, index))
    assert answers == [extractive]  # a name from nowhere: not used; then no readable span: nothing changes
