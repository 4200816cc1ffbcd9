"""A follow-up's standalone form from the reading model is used only when it passes the checks; the
model is scripted here (the queue and the rewriter run for real), the real model's test is
tests/bot/test_reading_model.py."""

from __future__ import annotations

import json

from scripted_model import ScriptedEngine, scripted

from bot.condense import StandaloneRewriter, checked, usable_history
from bot.llm import prompts
from bot.messages import abstain_message
from bot.stages import Role, Turn
from bot.types import AbstainReason

EARLIER = [
    Turn(Role.USER, "Which countries contribute instruments to Chang'e 6?"),
    Turn(Role.ASSISTANT, "Chang’e 6: SUPARCO provided the ICUBE-Q CubeSat [1]"),
]


def same_language(text: str, default: str) -> str:
    return default


def test_a_rewrite_keeps_the_follow_ups_words_and_brings_no_new_name():
    good = "Which countries contribute instruments to Chang'e 7?"
    assert checked(good, "And to Chang'e 7?", EARLIER, "en") == good
    assert checked("And to Chang'e 7?", "And to Chang'e 7?", EARLIER, "en") is None  # the follow-up itself
    assert checked(EARLIER[0].content, "And to Chang'e 7?", EARLIER, "en") is None  # the earlier question: 7 lost
    assert (
        checked(
            "Which countries contribute instruments to Chang'e 7 and Apollo 11?", "And to Chang'e 7?", EARLIER, "en"
        )
        is None
    )
    assert checked(f"{EARLIER[0].content} And to Chang'e 7?", "And to Chang'e 7?", EARLIER, "en") is None  # glued
    assert checked("Which countries gave Chang'e 6 the ICUBE-Q CubeSat?", "Who gave it the cubesat?", EARLIER, "en")


def test_the_model_sees_no_refusal_no_other_language_and_no_markers():
    refusal = Turn(Role.ASSISTANT, abstain_message(AbstainReason.NOT_STATED, ["“Another article”"]))
    other = Turn(Role.USER, "国际深空探测学会设在哪里？")
    kept = usable_history([*EARLIER, refusal, other], "en", lambda text, default: "zh" if "学" in text else "en")
    assert kept == [EARLIER[0], Turn(Role.ASSISTANT, "Chang’e 6: SUPARCO provided the ICUBE-Q CubeSat")]
    messages = prompts.standalone_messages("And to Chang'e 7?", kept)
    assert messages[-1]["content"].endswith("Last question: And to Chang'e 7?")
    assert len(messages) == 2 + 2 * len(prompts.STANDALONE_EXAMPLES)  # system, worked examples, the question


def test_only_a_checked_reply_in_time_is_used():
    replies = [
        json.dumps({"question": "Which countries contribute instruments to Chang'e 7?"}),
        json.dumps({"question": "And to Chang'e 7?"}),  # echoed: failed the check
        "not json",
    ]
    rewriter = StandaloneRewriter(scripted(ScriptedEngine(replies)), same_language, wait_s=5, read_s=5)
    assert (
        rewriter.rewrite("And to Chang'e 7?", EARLIER, "en") == "Which countries contribute instruments to Chang'e 7?"
    )
    assert rewriter.rewrite("And to Chang'e 7?", EARLIER, "en") is None
    assert rewriter.rewrite("And to Chang'e 7?", EARLIER, "en") is None
    assert rewriter.rewrite("And to Chang'e 7?", [], "en") is None  # nothing to draw on: the model is not asked
    slow = StandaloneRewriter(scripted(ScriptedEngine(replies[:1], delay=1.0)), same_language, wait_s=0.3, read_s=0.3)
    assert slow.rewrite("And to Chang'e 7?", EARLIER, "en") is None
