"""bot/rewrite.py: a follow-up gets readings (never glued into what is shown), retrieval picks one."""

from __future__ import annotations

import pytest

from bot.analyze import find_names
from bot.messages import AbstainReason, abstain_message
from bot.rewrite import ConversationRewriter, earlier_questions, substitute_pronoun, swap_name
from bot.stages import QuestionAnalysis, Role, Turn


def analysis(text, language="en", refers_back=False):
    return QuestionAnalysis(text=text, language=language, entities=tuple(find_names(text)), refers_back=refers_back)


def user(text):
    return Turn(Role.USER, text)


@pytest.mark.parametrize(
    "question",
    [
        "What federal district court has its main courthouse in Brooklyn?",
        "Her alter ego was born when according to Beyonce?",
    ],
)
def test_a_first_turn_pronoun_with_a_name_anywhere_in_the_question_is_not_unresolved(question):
    assert not ConversationRewriter().rewrite(analysis(question, refers_back=True), []).unresolved


def test_first_turn_pronoun_is_unresolved_and_a_question_with_a_subject_is_not():
    rewriter = ConversationRewriter()
    assert rewriter.rewrite(analysis("Where will it be based?", refers_back=True), []).unresolved
    plain = rewriter.rewrite(analysis("Where will IDSEA be based?"), [])
    assert not plain.unresolved and plain.query == "Where will IDSEA be based?" and not plain.alternatives


def test_pronoun_follow_up_offers_the_previous_names_and_a_joined_query_shown_as_the_resolved_question():
    rewrite = ConversationRewriter().rewrite(
        analysis("Who set it up?", refers_back=True), [user("When will IDSEA launch?")]
    )
    readings = [rewrite, *rewrite.alternatives]
    assert readings[0].shown == "Who set IDSEA up?" and readings[0].uses_history
    joined = [r for r in readings if r.query == "When will IDSEA launch? Who set it up?"]
    assert joined and joined[0].shown == "Who set IDSEA up?"  # searched with both, read and shown as resolved


def test_a_joined_query_without_a_resolved_pronoun_is_never_shown():
    rewrite = ConversationRewriter().rewrite(analysis("Why?", refers_back=True), [user("When will IDSEA launch?")])
    joined = [r for r in [rewrite, *rewrite.alternatives] if r.query == "When will IDSEA launch? Why?"]
    assert joined and joined[0].shown is None


def test_a_question_that_can_stand_alone_leads_and_history_readings_are_alternatives():
    rewrite = ConversationRewriter().rewrite(
        analysis("And Chang'e 8?"), [user("Which countries are involved in Chang'e 7?")]
    )
    assert rewrite.query == "And Chang'e 8?" and not rewrite.uses_history
    assert "Which countries are involved in Chang'e 8?" in [r.shown for r in rewrite.alternatives]


def test_earlier_questions_are_kept_and_other_languages_left_out():
    refusal = abstain_message(AbstainReason.NOT_STATED, ["“T”"])
    history = [user("Who is the mayor?"), Turn(Role.ASSISTANT, refusal), user("When will IDSEA launch?")]
    assert earlier_questions(history) == ["Who is the mayor?", "When will IDSEA launch?"]
    rewriter = ConversationRewriter(language_of=lambda text, default: "zh" if "设" in text else "en")
    rewrite = rewriter.rewrite(analysis("国际深空探测学会设在哪里？", language="zh"), [user("When will IDSEA launch?")])
    assert rewrite.query == "国际深空探测学会设在哪里？" and not rewrite.alternatives


@pytest.mark.parametrize(
    ("question", "name", "expected"),
    [
        ("Who set it up?", "IDSEA", "Who set IDSEA up?"),
        ("Where is its headquarters?", "IDSEA", "Where is IDSEA’s headquarters?"),
        ("What did he say?", "Wang Zhongmin", "What did Wang Zhongmin say?"),
        ("Where is Hefei?", "IDSEA", None),
    ],
)
def test_substitute_pronoun(question, name, expected):
    assert substitute_pronoun(question, "en", name) == expected


def test_swap_name_replaces_each_earlier_name_once():
    assert swap_name("What did Italy provide for Chang’e 6?", "Sweden") == [
        "What did Sweden provide for Chang’e 6?",
        "What did Italy provide for Sweden?",
    ]
