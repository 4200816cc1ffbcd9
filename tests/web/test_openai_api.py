"""The OpenAI-compatible routes of a real `dsqa serve` on loopback, through real clients: the official `openai`
SDK and LangChain's `ChatOpenAI`, whole and streamed; follow-ups through `messages`; citations and declines
in `reference`; a 400 with OpenAI's error shape for every bad request; 20 conversations at once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI
from openai import OpenAI

from web.openai_api import MODEL_ID
from web.render import citation_records

pytestmark = pytest.mark.slow
QUESTION = "When will IDSEA launch?"


def api(served_chat) -> str:
    return served_chat.url.rstrip("/") + "/v1"


@pytest.fixture(scope="module")
def client(served_chat) -> OpenAI:
    return OpenAI(base_url=api(served_chat), api_key="unused-on-loopback", timeout=120, max_retries=0)


@pytest.fixture(scope="module")
def same_bot(served_chat):
    """A Bot in this process over the served folder and index: what `bot.answer` gives for the same question."""
    from bot import Bot

    return Bot(settings=served_chat.settings)


def streamed(client: OpenAI, messages: list[dict]) -> tuple[str, dict, list]:
    """(content, reference, chunks) of a streamed completion."""
    chunks = list(client.chat.completions.create(model=MODEL_ID, messages=messages, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    references = [c.choices[0].delta.reference for c in chunks if getattr(c.choices[0].delta, "reference", None)]
    assert len(references) == 1, "reference travels once, on the final chunk"
    return text, references[0], chunks


def test_models_lists_the_one_model(client):
    assert [m.id for m in client.models.list()] == [MODEL_ID]


def test_answer_carries_its_citations_in_reference(client, same_bot):
    completion = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": QUESTION}])
    message = completion.choices[0].message
    expected = same_bot.ask(QUESTION)
    assert message.role == "assistant" and completion.choices[0].finish_reason == "stop"
    assert message.content == expected.text and "[1]" in message.content
    assert message.reference["citations"] == citation_records(expected)
    assert message.reference["declined"] is False and message.reference["decline_reason"] is None
    first = message.reference["citations"][0]
    assert set(first) == {"number", "title", "date", "page", "quote", "article_id", "start", "end"}


def test_streamed_answer_is_the_same_answer_with_the_citations_on_the_final_chunk(client, same_bot):
    text, reference, chunks = streamed(client, [{"role": "user", "content": QUESTION}])
    expected = same_bot.ask(QUESTION)
    assert text == expected.text
    assert reference["citations"] == citation_records(expected)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop" and getattr(chunks[-1].choices[0].delta, "reference", None)
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])


def test_a_follow_up_goes_through_messages(client):
    first = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": QUESTION}])
    history = [
        {"role": "system", "content": "You are a helpful assistant."},  # as chat apps send it; read and ignored
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": [{"type": "text", "text": "Where will it be based?"}]},  # content as parts
    ]
    text, reference, _ = streamed(client, history)
    assert "IDSEA" in reference["understood_as"] and "Hefei" in text
    assert any("Hefei" in c["quote"] for c in reference["citations"])


def test_a_decline_is_an_ordinary_message_with_its_reason(client):
    completion = client.chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": "What is the capital of France?"}]
    )
    message = completion.choices[0].message
    assert message.content.strip() and message.reference["declined"] is True
    assert message.reference["decline_reason"] in {"off-topic", "not-stated", "false-premise"}
    assert message.reference["citations"] == []


class CitingChatOpenAI(ChatOpenAI):
    """ChatOpenAI keeps only OpenAI's own fields; this keeps `reference` too (README, "Use it from other tools")."""

    def _create_chat_result(self, response, generation_info=None):
        result = super()._create_chat_result(response, generation_info)
        raw = response if isinstance(response, dict) else response.model_dump()
        result.generations[0].message.additional_kwargs["reference"] = raw["choices"][0]["message"].get("reference")
        return result

    def _convert_chunk_to_generation_chunk(self, chunk, default_chunk_class, base_generation_info):
        generation = super()._convert_chunk_to_generation_chunk(chunk, default_chunk_class, base_generation_info)
        reference = (chunk.get("choices") or [{}])[0].get("delta", {}).get("reference")
        if generation is not None and reference:
            generation.message.additional_kwargs["reference"] = reference
        return generation


def test_langchain_chat_openai_whole_streamed_and_follow_up(served_chat, same_bot):
    llm = CitingChatOpenAI(base_url=api(served_chat), api_key="unused", model=MODEL_ID, timeout=120, max_retries=0)
    answer = llm.invoke([HumanMessage(QUESTION)])
    expected = same_bot.ask(QUESTION)
    assert answer.content == expected.text
    assert answer.additional_kwargs["reference"]["citations"] == citation_records(expected)

    pieces = list(llm.stream([HumanMessage(QUESTION)]))
    whole = pieces[0]
    for piece in pieces[1:]:
        whole += piece
    assert whole.content == expected.text
    assert whole.additional_kwargs["reference"]["citations"] == citation_records(expected)

    follow_up = llm.invoke([HumanMessage(QUESTION), AIMessage(answer.content), HumanMessage("Where will it be based?")])
    assert "Hefei" in follow_up.content and "IDSEA" in follow_up.additional_kwargs["reference"]["understood_as"]
    plain = ChatOpenAI(base_url=api(served_chat), api_key="unused", model=MODEL_ID, timeout=120, max_retries=0)
    assert plain.invoke(QUESTION).content == expected.text  # the stock class works too, without `reference`


USER = {"role": "user", "content": QUESTION}
BAD_REQUESTS = {
    "unknown model": ({"model": "gpt-4o", "messages": [USER]}, "model"),
    "no model": ({"messages": [USER]}, "model"),
    "no messages": ({"model": MODEL_ID}, "messages"),
    "empty messages": ({"model": MODEL_ID, "messages": []}, "messages"),
    "messages not a list": ({"model": MODEL_ID, "messages": "hi"}, "messages"),
    "tool role": ({"model": MODEL_ID, "messages": [{"role": "tool", "content": "x"}, USER]}, "messages.0.role"),
    "made-up role": ({"model": MODEL_ID, "messages": [{"role": "wizard", "content": QUESTION}]}, "messages.0.role"),
    "last is the assistant's": (
        {"model": MODEL_ID, "messages": [USER, {"role": "assistant", "content": "x"}]},
        "messages",
    ),
    "blank question": ({"model": MODEL_ID, "messages": [{"role": "user", "content": "  "}]}, "messages"),
    "too long": ({"model": MODEL_ID, "messages": [{"role": "user", "content": "why " * 600}]}, "messages"),
    "a role-less message": ({"model": MODEL_ID, "messages": [{"content": QUESTION}]}, "messages.0.role"),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_every_bad_request_gets_a_400_in_openai_shape(served_chat, case):
    body, param = BAD_REQUESTS[case]
    response = httpx.post(api(served_chat) + "/chat/completions", json=body, timeout=60)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"] and error["param"] == param


def test_the_sdk_raises_bad_request_with_the_message(client):
    import openai

    with pytest.raises(openai.BadRequestError, match="the limit is 2,000"):
        client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "why " * 600}])
    with pytest.raises(openai.BadRequestError, match="unknown model"):
        client.chat.completions.create(model="gpt-4o", messages=[USER], stream=True)


def test_a_body_that_is_not_json_is_a_400(served_chat):
    response = httpx.post(api(served_chat) + "/chat/completions", content=b"{not json", timeout=30)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"


TOPICS = [
    "When will IDSEA launch?",
    "What is the Global South?",
    "Who is Wang Zhongmin?",
    "What did Fu Cong say about outer space?",
    "What did Wu Weiren say about the Moon?",
    "What did Chang'e 5 share with other countries?",
    "What did SUPARCO provide for Chang'e 6?",
    "When was the Deep Space Exploration Laboratory declared operational?",
    "What did the Zephyr rover drill into?",
    "Which countries have received satellite assistance from China in Africa?",
]
FOLLOW_UPS = ["Where will it be based?", "Who said so?"]


def test_twenty_conversations_at_once_never_cross(served_chat, same_bot):
    """Each follow-up is answered from its own history: exactly what the bot says to it asked alone."""
    conversations = [(topic, follow_up) for topic in TOPICS for follow_up in FOLLOW_UPS]
    expected = {}
    for topic, follow_up in conversations:
        first = same_bot.ask(topic)
        history = [{"role": "user", "content": topic}, {"role": "assistant", "content": first.text}]
        expected[topic, follow_up] = (first.text, same_bot.ask(follow_up, history=history))
    readings = {answer.query for _, answer in expected.values()}
    assert len(readings) >= 8, "the follow-ups must read differently per conversation, or crossing could not show"

    def converse(conversation):
        topic, follow_up = conversation
        client = OpenAI(base_url=api(served_chat), api_key="unused", timeout=120, max_retries=0)
        first = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": topic}])
        messages = [
            {"role": "user", "content": topic},
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": follow_up},
        ]
        text, reference, _ = streamed(client, messages)
        return first.choices[0].message.content, text, reference

    with ThreadPoolExecutor(max_workers=len(conversations)) as pool:
        results = dict(zip(conversations, pool.map(converse, conversations, timeout=600), strict=True))
    for conversation, (first_text, text, reference) in results.items():
        want_first, want = expected[conversation]
        assert first_text == want_first, conversation
        assert (text, reference["understood_as"]) == (want.text, want.query), conversation
        assert reference["citations"] == citation_records(want), conversation
