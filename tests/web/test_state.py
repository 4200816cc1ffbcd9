"""The chats a browser keeps: round trips, junk from a client, and the size bounds."""

from __future__ import annotations

import json

from bot.types import AbstainReason, Answer, AnswerMode, Citation
from web import state as app_state
from web.state import (
    answer_from_stored,
    chat_choices,
    chat_turns,
    current_chat,
    empty_store,
    normalize_store,
    opened,
    with_turn,
    without_chat,
)

CITATION = Citation(1, "idsea", "China to Launch IDSEA", "Hefei.", 9, 15, "Based in Hefei.", 0, "2025-07-01", page=3)


def answer(text: str = "Based in Hefei [1].", **extra) -> Answer:
    return Answer(text, [CITATION], False, "Where is IDSEA based?", question="Where?", short_answer="Hefei", **extra)


def through_the_browser(store: dict) -> dict:
    """What comes back after the store went to localStorage as JSON."""
    return normalize_store(json.loads(json.dumps(store)))


def test_a_chat_survives_the_round_trip_through_the_browser():
    store = with_turn(empty_store(), "Where is IDSEA based?", answer())
    store = with_turn(store, "And when?", answer("On July 7th [1].", mode=AnswerMode.LLM))
    back = through_the_browser(store)
    assert back["current"] == store["current"] and len(back["chats"]) == 1
    turns = chat_turns(current_chat(back))
    assert [q for q, _ in turns] == ["Where is IDSEA based?", "And when?"]
    assert turns[0][1] == answer() and turns[1][1].mode is AnswerMode.LLM
    assert turns[0][1].citations[0].page == 3
    refusal = Answer("No.", [], True, "q", abstain_reason=AbstainReason.OFF_TOPIC)
    assert (
        answer_from_stored(json.loads(json.dumps(app_state.stored_answer(refusal)))).abstain_reason
        is AbstainReason.OFF_TOPIC
    )


def test_junk_from_a_client_becomes_an_empty_or_smaller_store():
    for junk in (None, "x", 3, [], {"chats": "x"}, {"chats": [None, 1, {"id": {}}, {"id": "a", "turns": "x"}]}):
        assert normalize_store(junk) == empty_store()
    good = with_turn(empty_store(), "Q?", answer())
    chat = good["chats"][0]
    bad_turns = [{"question": 1}, {"question": "q", "answer": {"text": 5}}, "turn", chat["turns"][0]]
    store = normalize_store({"current": chat["id"], "chats": [{**chat, "turns": bad_turns}, {**chat}]})
    assert len(store["chats"]) == 1 and len(store["chats"][0]["turns"]) == 1  # duplicates and bad turns dropped
    assert normalize_store({"current": "nope", "chats": [chat]})["current"] == ""


def test_new_chats_come_first_and_a_chat_can_be_opened_and_deleted():
    store = with_turn(empty_store(), "First question?", answer())
    first = store["current"]
    store = with_turn(opened(store, ""), "Second question?", answer())
    assert [title for title, _ in chat_choices(store)] == ["Second question?", "First question?"]
    store = opened(store, first)
    assert chat_turns(current_chat(store))[0][0] == "First question?"
    store = without_chat(store, first)
    assert store["current"] == "" and [t for t, _ in chat_choices(store)] == ["Second question?"]


def test_the_store_is_bounded_in_chats_turns_and_size(monkeypatch):
    store = empty_store()
    for n in range(app_state.MAX_CHATS + 5):
        store = with_turn(opened(store, ""), f"Question {n}?", answer())
    assert (
        len(store["chats"]) == app_state.MAX_CHATS
        and store["chats"][0]["title"] == f"Question {app_state.MAX_CHATS + 4}?"
    )
    for _ in range(app_state.MAX_TURNS_PER_CHAT + 3):
        store = with_turn(store, "Again?", answer())
    assert len(current_chat(store)["turns"]) == app_state.MAX_TURNS_PER_CHAT
    monkeypatch.setattr(app_state, "MAX_STORE_CHARS", 20_000)
    small = through_the_browser(store)
    assert len(json.dumps(small)) <= 20_000 and len(small["chats"]) >= 1
    huge = with_turn(empty_store(), "Q?", answer("x" * (app_state.MAX_TURN_CHARS + 10)))
    assert normalize_store(huge) == empty_store()  # a turn too large to keep is dropped
