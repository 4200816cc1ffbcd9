"""The LLM stages wired into `Bot`: ask, stream, follow-ups condensed by the LLM (or by rules when it
fails), one deadline for the whole LLM part, and no LLM at all when none is configured."""

from __future__ import annotations

import time

from fake_openai import QUESTION, Reply, copies_passage_one, question_of

from bot import Bot
from bot.llm.rewriter import standalone_question
from bot.types import AnswerMode

FIRST = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "On Monday, July 7th 2025. [1]"}]


def condensing(standalone: str, answer=copies_passage_one, delay: float = 0.0):
    """A server that condenses follow-ups (plain request) into `standalone` and answers (streamed) with `answer`."""

    def script(request):
        return answer(request) if request.get("stream") else Reply(standalone, delay=delay)

    return script


def test_without_an_llm_the_bot_answers_as_before(shipped_bot):
    assert shipped_bot.answerer is None
    answers = list(shipped_bot.stream(QUESTION))
    assert len(answers) == 1 and answers[0].mode == AnswerMode.EXTRACTIVE and answers[0].llm is None


def test_ask_and_stream_use_the_llm_when_configured(serve, llm_bot_settings, embedder, shipped_bot):
    server = serve(copies_passage_one)
    bot = Bot(settings=llm_bot_settings(server.base_url), embedder=embedder)
    answer = bot.ask(QUESTION)
    assert answer.mode == AnswerMode.LLM and answer.citations and answer.llm.kept == 1
    assert answer.retrieved == shipped_bot.ask(QUESTION).retrieved  # the same passages, given to the LLM
    streamed = list(bot.stream(QUESTION))
    assert len(streamed) > 2 and streamed[-1].text == answer.text


def test_a_follow_up_is_condensed_by_the_llm(serve, llm_bot_settings, embedder):
    server = serve(condensing("Where will the International Deep Space Exploration Association be located?"))
    bot = Bot(settings=llm_bot_settings(server.base_url), embedder=embedder)
    answer = bot.ask("Where will it be?", history=FIRST)
    assert answer.query.startswith("Where will the International Deep Space Exploration Association")
    assert answer.mode == AnswerMode.LLM and "Hefei" in answer.citations[0].text
    plain, streamed = server.requests
    assert not plain["stream"] and "Last question: Where will it be?" in plain["messages"][-1]["content"]
    assert question_of(streamed) == answer.query  # the answer prompt gets the standalone question


def test_an_unusable_condensation_falls_back_to_the_rules(serve, llm_bot_settings, embedder, shipped_bot):
    server = serve(condensing("Sure! Here is the question:\nWhere?"))
    bot = Bot(settings=llm_bot_settings(server.base_url), embedder=embedder)
    answer = bot.ask("Where will it be based?", history=FIRST)
    assert answer.query == shipped_bot.ask("Where will it be based?", history=FIRST).query


def test_one_deadline_bounds_condensing_and_answering(serve, llm_bot_settings, embedder):
    timeout = 2.0
    server = serve(condensing("Where is IDSEA based?", answer=lambda request: Reply("late", delay=10), delay=10))
    bot = Bot(settings=llm_bot_settings(server.base_url, llm_timeout_s=timeout), embedder=embedder)
    began = time.monotonic()
    answer = bot.ask("Where will it be based?", history=FIRST)
    assert time.monotonic() - began < timeout + 2
    assert answer.mode == AnswerMode.EXTRACTIVE and "timed out" in answer.notes[-1] and "Hefei" in answer.text


def test_standalone_question_cleans_or_refuses_the_reply():
    assert standalone_question("Question: “Who set it up?”", "Who?") == "Who set it up?"
    assert standalone_question("", "Who?") is None
    assert standalone_question("a\nb", "Who?") is None
    assert standalone_question("x" * 300, "Who?") is None
