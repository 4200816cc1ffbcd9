"""An LLM answerer (`DSQA_LLM_*`) behind the OpenAI-compatible API works as in the page: its verified sentences
stream as they come, and the final chunk's `reference` holds the LLM answer's citations. The page and API are
served in this process on loopback; the LLM is the scripted OpenAI-protocol server."""

from __future__ import annotations

import socket

import pytest
from fake_openai import QUESTION, copies_passage_one
from openai import OpenAI

from bot import Bot
from web.render import citation_records

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_llm_answers_stream_through_the_api_with_their_citations(serve, llm_bot_settings, embedder):
    from web.page import build_app
    from web.server import launch

    server = serve(copies_passage_one)
    bot = Bot(settings=llm_bot_settings(server.base_url), embedder=embedder)
    expected = bot.ask(QUESTION)
    assert str(expected.mode) == "llm"
    demo = build_app(bot, examples=[QUESTION])
    url = launch(demo, "127.0.0.1", free_port(), bot=bot)
    try:
        client = OpenAI(base_url=url.rstrip("/") + "/v1", api_key="none", timeout=60, max_retries=0)
        chunks = list(
            client.chat.completions.create(
                model="deepspace-qa", messages=[{"role": "user", "content": QUESTION}], stream=True
            )
        )
        whole = client.chat.completions.create(model="deepspace-qa", messages=[{"role": "user", "content": QUESTION}])
    finally:
        demo.close()
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    reference = chunks[-1].choices[0].delta.reference
    assert text == expected.text and reference["mode"] == "llm"
    assert reference["citations"] == citation_records(expected)
    assert whole.choices[0].message.content == expected.text
    assert whole.choices[0].message.reference["mode"] == "llm"
