"""Smoke test against a real OpenAI-compatible server: runs when DSQA_LLM_BASE_URL is set (e.g. by
`make llm-server`), skipped otherwise. Whatever the model writes, what is shown is verified."""

from __future__ import annotations

import os
import time

import pytest
from fake_openai import QUESTION

from bot import Bot
from bot.llm.reply import split_generated
from bot.llm.verify import verify_sentence
from bot.types import AnswerMode, RetrievedChunk
from evals.metrics import citation_problems

BASE_URL = os.environ.get("DSQA_LLM_BASE_URL", "")
pytestmark = pytest.mark.skipif(not BASE_URL, reason="no real LLM server: set DSQA_LLM_BASE_URL")


def test_a_real_server_gives_a_verified_answer_or_a_noted_fallback(llm_bot_settings, embedder, shipped_article):
    timeout = float(os.environ.get("DSQA_LLM_TIMEOUT_S", "120"))
    settings = llm_bot_settings(BASE_URL, llm_model=os.environ.get("DSQA_LLM_MODEL", "default"), llm_timeout_s=timeout)
    bot = Bot(settings=settings, embedder=embedder)
    began = time.monotonic()
    answer = bot.ask(QUESTION)
    assert time.monotonic() - began < timeout + 10  # + the extractive path, cold
    assert not citation_problems(answer, {shipped_article.id: shipped_article.text})
    assert answer.llm is not None
    if answer.mode == AnswerMode.EXTRACTIVE:
        assert answer.notes and answer.text == bot_without_llm(bot).ask(QUESTION).text
        return
    cited = {
        c.number: RetrievedChunk("", c.article_id, c.title, c.text, c.chunk_start, c.chunk_start, 0)
        for c in answer.citations
    }
    passages = [cited[n] for n in sorted(cited)]
    assert all(verify_sentence(s, passages).supported for s in split_generated(answer.text))


def bot_without_llm(bot: Bot) -> Bot:
    from dataclasses import replace

    return Bot(settings=replace(bot.settings, llm_base_url=""), embedder=bot.embedder)
