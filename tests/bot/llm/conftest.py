"""Fixtures for the LLM stages: a scripted OpenAI-compatible server on loopback, clients pointed at
it, and real extractive answers (from the shipped article) to fall back on."""

from __future__ import annotations

import contextlib
from dataclasses import replace

import pytest
from fake_openai import QUESTION, FakeOpenAI

from bot.llm import LLMAnswerer, LLMClient
from knowledge.settings import Settings


@pytest.fixture
def serve():
    """`with serve(script) as server:` a scripted server, shut down after the test."""
    with contextlib.ExitStack() as stack:
        yield lambda script: stack.enter_context(FakeOpenAI(script))


@pytest.fixture(scope="session")
def extractive(shipped_bot):
    """The real extractive answer to QUESTION (the fallback the LLM path starts from)."""
    return shipped_bot.ask(QUESTION)


@pytest.fixture(scope="session")
def article_text(shipped_article):
    return shipped_article.text


@pytest.fixture
def answerer_for():
    """`answerer_for(server.base_url, timeout=2)`: a real LLMAnswerer (ChatOpenAI underneath)."""
    return lambda base_url, timeout=10.0, **more: LLMAnswerer(
        LLMClient(Settings(llm_base_url=base_url, llm_timeout_s=timeout, **more))
    )


@pytest.fixture(scope="session")
def llm_bot_settings(shipped_bot):
    """The shipped bot's settings, to which a test adds an LLM server."""
    return lambda base_url, **more: replace(shipped_bot.settings, llm_base_url=base_url, **more)
