"""bot/conversation.py: follow-ups become standalone queries, with no LLM."""

from __future__ import annotations

import pytest

from bot.conversation import find_entities, standalone_query


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text, "metadata": {"title": None}}  # Gradio adds keys


@pytest.mark.parametrize(
    ("history", "question", "expected"),
    [
        (
            [user("What is the Deep Space Exploration Laboratory?")],
            "Who set it up?",
            "Who set up Deep Space Exploration Laboratory?",
        ),
        (
            [user("Which countries contributed to Chang’e 6?")],
            "And the next mission?",
            "Which countries contributed to Chang’e 7?",
        ),
        (
            [user("Which countries contributed to Chang’e 7?")],
            "And the previous one?",
            "Which countries contributed to Chang’e 6?",
        ),
        (
            [user("Which countries contributed to Chang’e 6?")],
            "And Chang'e 8?",
            "Which countries contributed to Chang'e 8?",
        ),
        (
            [user("What did France provide for Chang’e 6?")],
            "What about Sweden?",
            "What did Sweden provide for Chang’e 6?",
        ),
        (
            [user("What did Wang Zhongmin say about developing countries?")],
            "Why did he say that?",
            "Why did Wang Zhongmin say that?",
        ),
        ([user("Where will the association be located?")], "When will it launch?", "When will the association launch?"),
        ([user("When will IDSEA launch?")], "Where is its headquarters?", "Where is IDSEA’s headquarters?"),
        ([user("When will IDSEA launch?")], "Who is Fu Cong?", "Who is Fu Cong?"),  # names its own subject: a switch
        ([], "Who set it up?", "Who set it up?"),  # nothing to resolve against
    ],
)
def test_standalone_query(history, question, expected):
    assert standalone_query(question, history) == expected


def test_pronoun_resolves_through_earlier_turns_and_answers():
    history = [
        user("What is the Deep Space Exploration Laboratory?"),
        assistant("China’s Deep Space Exploration Laboratory was declared operational … [1]"),
        user("Who set it up?"),
        assistant("… established by the China National Space Administration … [1]"),
    ]
    assert (
        standalone_query("When was it declared operational?", history)
        == "When was Deep Space Exploration Laboratory declared operational?"
    )
    people = [
        user("Who directs the International Cooperation Center?"),
        assistant("In line with this policy, Wang Zhongmin (王中民), Director … [1]"),
    ]
    assert standalone_query("What did he say?", people) == "What did Wang Zhongmin say?"


def test_entities_keep_names_whole_and_apart():
    texts = [
        e.text
        for e in find_entities(
            "Egypt and Bahrain sent an imager; the University of Science and Technology of China helped Chang’e 7."
        )
    ]
    assert texts == ["Egypt", "Bahrain", "University of Science and Technology of China", "Chang’e 7"]


def test_follow_ups_answered_in_context(shipped_bot):
    history = []
    for question, must in [
        ("What is the Deep Space Exploration Laboratory?", "Deep Space Exploration Laboratory"),
        ("Who set it up?", "China National Space Administration"),
        ("When was it declared operational?", "2022"),
    ]:
        answer = shipped_bot.ask(question, history=history)
        assert not answer.abstained and must in answer.text, (question, answer.query, answer.text)
        history += [user(question), assistant(answer.text)]
    switch = shipped_bot.ask("Where will IDSEA be located?", history=history)
    assert "Hefei" in switch.text and switch.query.startswith("Where will IDSEA")
    nxt = shipped_bot.ask("And the next mission?", history=[user("Which countries contributed to Chang'e 6?")])
    assert "Chang’e 7:" in nxt.text and "7" in nxt.query
