"""An LLM answerer (`DSQA_LLM_*`) behind the OpenAI-compatible API works as in the page: its verified sentences
stream as they come, and the final chunk's `reference` holds the LLM answer's citations. The page and API are
served in this process on loopback; the LLM is the scripted OpenAI-protocol server."""

from __future__ import annotations

import re
import socket

import pytest
from fake_openai import QUESTION, Reply, copies_passage_one, first_sentence, json_answer, passages_of
from openai import OpenAI

from bot import Bot
from web.render import citation_records

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ask_through_the_api(bot: Bot) -> tuple[list, object]:
    """(stream chunks, whole completion) for QUESTION from the page's server, run in this process."""
    from web.page import build_app
    from web.server import launch

    demo = build_app(bot, examples=[QUESTION])
    url = launch(demo, "127.0.0.1", free_port(), bot=bot)
    messages = [{"role": "user", "content": QUESTION}]
    try:
        client = OpenAI(base_url=url.rstrip("/") + "/v1", api_key="none", timeout=60, max_retries=0)
        chunks = list(client.chat.completions.create(model="deepspace-qa", messages=messages, stream=True))
        return chunks, client.chat.completions.create(model="deepspace-qa", messages=messages)
    finally:
        demo.close()


def test_llm_answers_stream_through_the_api_with_their_citations(serve, llm_bot_settings, embedder):
    server = serve(copies_passage_one)
    bot = Bot(settings=llm_bot_settings(server.base_url), embedder=embedder)
    expected = bot.ask(QUESTION)
    assert str(expected.mode) == "llm"
    chunks, whole = ask_through_the_api(bot)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    reference = chunks[-1].choices[0].delta.reference
    assert text == expected.text and reference["mode"] == "llm"
    assert reference["citations"] == citation_records(expected)
    assert whole.choices[0].message.content == expected.text
    assert whole.choices[0].message.reference["mode"] == "llm"


def test_a_fallback_after_streamed_sentences_follows_them_whole(serve, llm_bot_settings, embedder, shipped_bot):
    """A stream cannot take back a verified sentence it sent: when the LLM then fails, the quoted answer
    follows it after a blank line, and `reference` is the quoted answer's (the page replaces the bubble)."""

    def cut_after_one_sentence(request):
        sentence = first_sentence(passages_of(request)[1]) + "."
        text = json_answer((sentence, [1]), ("And a second sentence the connection never finishes", [1]))
        pieces = re.findall(r"\S+\s*|\s+", text)
        second = next(i for i, piece in enumerate(pieces) if "second" in piece)
        return Reply(text, cut_after=second) if request.get("stream") else Reply(text)

    server = serve(cut_after_one_sentence)
    bot = Bot(settings=llm_bot_settings(server.base_url), embedder=embedder)
    quoted = shipped_bot.ask(QUESTION)
    chunks, _ = ask_through_the_api(bot)
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    reference = chunks[-1].choices[0].delta.reference
    assert len(pieces) == 2 and pieces[1] == "\n\n" + quoted.text  # the verified sentence, then the fallback
    assert pieces[0].endswith("[1]") and pieces[0] != quoted.text
    assert reference["mode"] == "extractive" and reference["citations"] == citation_records(quoted)
