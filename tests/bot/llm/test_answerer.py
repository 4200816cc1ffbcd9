"""bot/llm/answerer.py against a real OpenAI-protocol server on loopback (streamed and plain), with
the real ChatOpenAI client: verified answers, and every failure falling back in time with a note."""

from __future__ import annotations

import socket
import time

import pytest
from fake_openai import QUESTION, Reply, copies_passage_one, first_sentence, json_answer, passages_of

from bot.llm import prompts
from bot.types import AnswerMode
from evals.metrics import citation_problems

TIMEOUT = 2.0  # seconds: a short LLM budget, so the failure cases run quickly
SLACK = 2.0  # the bound: a fallback within the timeout plus two seconds


def check_citations(answer, article_text):
    assert not citation_problems(answer, {answer.citations[0].article_id: article_text} if answer.citations else {})
    for c in answer.citations:
        assert article_text[c.start : c.end] == c.quote


def test_a_correct_answer_streams_in_verified_and_cited(serve, answerer_for, extractive, article_text):
    server = serve(copies_passage_one)
    answers = list(answerer_for(server.base_url).stream(QUESTION, extractive.retrieved, extractive))
    final = answers[-1]
    assert final.mode == AnswerMode.LLM and final.draft == "" and final.text.endswith("[1]")
    assert final.llm.generated == final.llm.kept == 1 and final.llm.dropped == 0
    check_citations(final, article_text)
    assert len(answers) > 3  # it streamed: growing answers before the final one
    assert any(a.draft for a in answers[:-1])  # the sentence being written is a draft, never the text
    assert all(a.text == "" for a in answers[:-1] if a.draft)
    request = server.requests[0]
    assert request["stream"] is True and request["response_format"]["type"] == "json_schema"
    assert request["max_tokens"] > 0 and "max_completion_tokens" not in request


def test_a_paraphrase_is_kept_and_quotes_the_supporting_sentence(serve, answerer_for, extractive, article_text):
    said = "IDSEA will be launched on Monday, July 7th 2025."
    server = serve(
        lambda request: Reply(json_answer((said, [n for n, t in passages_of(request).items() if "July 7th" in t][:1])))
    )
    final = answerer_for(server.base_url).answer(QUESTION, extractive.retrieved, extractive)
    assert final.mode == AnswerMode.LLM and final.text == said + " [1]"
    assert "Monday, July 7th 2025" in final.citations[0].quote
    check_citations(final, article_text)


def test_plain_text_with_markers_when_structured_output_is_off(serve, answerer_for, extractive, article_text):
    server = serve(copies_passage_one)
    final = answerer_for(server.base_url, llm_structured=False).answer(QUESTION, extractive.retrieved, extractive)
    assert final.mode == AnswerMode.LLM and final.citations
    assert "response_format" not in server.requests[0]
    check_citations(final, article_text)


def test_a_fabricated_sentence_is_dropped(serve, answerer_for, extractive, article_text):
    fabricated = "The association will also open a research base on Mars in 2031."

    def script(request):
        return Reply(json_answer((first_sentence(passages_of(request)[1]) + ".", [1]), (fabricated, [1])))

    final = answerer_for(serve(script).base_url).answer(QUESTION, extractive.retrieved, extractive)
    assert final.mode == AnswerMode.LLM and "Mars" not in final.text and "2031" not in final.text
    assert (final.llm.generated, final.llm.kept, final.llm.dropped) == (2, 1, 1)
    assert prompts.NOTE_DROPPED.format(count=1) in final.notes
    check_citations(final, article_text)


def test_a_citation_to_a_passage_not_given_is_never_shown(serve, answerer_for, extractive, article_text):
    def script(request):
        passages = passages_of(request)
        return Reply(json_answer((first_sentence(passages[1]) + ".", [1, 9]), (first_sentence(passages[2]) + ".", [9])))

    final = answerer_for(serve(script).base_url).answer(QUESTION, extractive.retrieved, extractive)
    assert final.mode == AnswerMode.LLM and "[9]" not in final.text and "[2]" not in final.text
    assert [c.number for c in final.citations] == [1]
    assert final.llm.markers == 3 and final.llm.markers_kept == 1 and final.llm.dropped == 1
    check_citations(final, article_text)


def test_a_negated_copy_of_the_passage_is_not_supported(serve, answerer_for, extractive):
    server = serve(lambda request: Reply(json_answer(("China will not launch IDSEA on Monday, July 7th 2025.", [1]))))
    final = answerer_for(server.base_url).answer(QUESTION, extractive.retrieved, extractive)
    assert final.mode == AnswerMode.EXTRACTIVE and final.text == extractive.text


@pytest.mark.parametrize(
    ("reply", "note"),
    [
        (Reply(status=500), prompts.NOTE_HTTP.format(status=500)),
        (Reply(status=404), prompts.NOTE_HTTP.format(status=404)),
        (Reply(""), prompts.NOTE_EMPTY),
        (Reply(json_answer()), prompts.NOTE_DECLINED),
        (Reply("NOT FOUND"), prompts.NOTE_DECLINED),
        (Reply("IDSEA launches in July, as everyone knows."), prompts.NOTE_FORMAT),  # ignores the JSON asked for
        (Reply('{"answer": "July 7th 2025"}'), prompts.NOTE_FORMAT),  # JSON, but not the schema
        (Reply(json_answer(("IDSEA launches on Monday, July 7th 2025.", [7]))), prompts.NOTE_UNVERIFIED),
    ],
    ids=[
        "http-500",
        "http-404",
        "empty",
        "declined-json",
        "declined-text",
        "ignored-format",
        "wrong-json",
        "bad-marker",
    ],
)
def test_failures_fall_back_to_the_quoted_answer_with_a_note(serve, answerer_for, extractive, reply, note):
    server = serve(lambda request: reply)
    began = time.monotonic()
    final = answerer_for(server.base_url, timeout=TIMEOUT).answer(QUESTION, extractive.retrieved, extractive)
    assert time.monotonic() - began < TIMEOUT + SLACK
    assert final.mode == AnswerMode.EXTRACTIVE and final.text == extractive.text
    assert final.citations == extractive.citations and final.notes[-1] == note


def test_a_reply_ten_seconds_late_falls_back_after_the_timeout(serve, answerer_for, extractive):
    server = serve(lambda request: Reply(json_answer(("IDSEA launches on Monday, July 7th 2025.", [1])), delay=10))
    began = time.monotonic()
    final = answerer_for(server.base_url, timeout=TIMEOUT).answer(QUESTION, extractive.retrieved, extractive)
    elapsed = time.monotonic() - began
    assert TIMEOUT - 0.1 <= elapsed < TIMEOUT + SLACK
    assert final.mode == AnswerMode.EXTRACTIVE and final.notes[-1] == prompts.NOTE_TIMEOUT.format(seconds=TIMEOUT)


def test_a_trickling_stream_is_cut_off_at_the_deadline(serve, answerer_for, extractive):
    slow = Reply(
        json_answer(("IDSEA launches on Monday, July 7th 2025 and many more words follow here.", [1])), piece_delay=0.5
    )
    began = time.monotonic()
    final = answerer_for(serve(lambda request: slow).base_url, timeout=TIMEOUT).answer(
        QUESTION, extractive.retrieved, extractive
    )
    assert time.monotonic() - began < TIMEOUT + SLACK
    assert final.mode == AnswerMode.EXTRACTIVE and "timed out" in final.notes[-1]


def test_a_stream_cut_in_the_middle_falls_back(serve, answerer_for, extractive):
    def script(request):
        return Reply(copies_passage_one(request).text, cut_after=6)

    began = time.monotonic()
    answers = list(
        answerer_for(serve(script).base_url, timeout=TIMEOUT).stream(QUESTION, extractive.retrieved, extractive)
    )
    assert time.monotonic() - began < TIMEOUT + SLACK
    assert answers[-1].mode == AnswerMode.EXTRACTIVE and answers[-1].text == extractive.text
    assert answers[-1].notes[-1].startswith("LLM reply was malformed or cut off")


def test_connection_refused_falls_back_at_once(answerer_for, extractive):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    began = time.monotonic()
    final = answerer_for(f"http://127.0.0.1:{port}/v1", timeout=TIMEOUT).answer(
        QUESTION, extractive.retrieved, extractive
    )
    assert time.monotonic() - began < TIMEOUT + SLACK
    assert final.mode == AnswerMode.EXTRACTIVE and final.notes[-1].startswith("LLM server unreachable")


def test_a_dns_failure_falls_back(monkeypatch, answerer_for, extractive):
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if host == "llm.invalid":  # what a resolver says for a name that does not exist
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    began = time.monotonic()
    final = answerer_for("http://llm.invalid:8080/v1", timeout=TIMEOUT).answer(
        QUESTION, extractive.retrieved, extractive
    )
    assert time.monotonic() - began < TIMEOUT + SLACK
    assert final.mode == AnswerMode.EXTRACTIVE and final.notes[-1].startswith("LLM server unreachable")


def test_a_silent_server_falls_back_after_the_timeout(answerer_for, extractive):
    with socket.socket() as silent:  # accepts the connection (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        began = time.monotonic()
        final = answerer_for(f"http://127.0.0.1:{silent.getsockname()[1]}/v1", timeout=TIMEOUT).answer(
            QUESTION, extractive.retrieved, extractive
        )
    assert time.monotonic() - began < TIMEOUT + SLACK
    assert final.mode == AnswerMode.EXTRACTIVE and final.notes[-1] == prompts.NOTE_TIMEOUT.format(seconds=TIMEOUT)


def test_a_client_that_cannot_be_built_is_named_as_such(serve, answerer_for, extractive, monkeypatch):
    """The project's own client error is not blamed on the server's reply (a proxy variable the HTTP
    client cannot use makes ChatOpenAI refuse to build)."""
    server = serve(copies_passage_one)
    monkeypatch.setenv("HTTP_PROXY", "socks9://proxy.invalid:1")
    final = answerer_for(server.base_url, timeout=TIMEOUT).answer(QUESTION, extractive.retrieved, extractive)
    assert final.mode == AnswerMode.EXTRACTIVE and final.text == extractive.text
    assert final.notes[-1].startswith("LLM client could not be set up (") and "socks9" in final.notes[-1]
    assert server.requests == []


def test_an_abstention_is_not_sent_to_the_llm(serve, answerer_for, shipped_bot):
    server = serve(copies_passage_one)
    refused = shipped_bot.ask("What is the capital of France?")
    final = answerer_for(server.base_url).answer(refused.question, refused.retrieved, refused)
    assert final.abstained and final.text == refused.text and final.notes[-1] == prompts.NOTE_ABSTAINED
    assert server.requests == []


def test_the_api_key_is_read_from_the_named_variable_and_never_shown(serve, answerer_for, extractive, monkeypatch):
    monkeypatch.setenv("MY_LLM_KEY", "sk-test-secret")
    server = serve(lambda request: Reply(status=401))
    answerer = answerer_for(server.base_url, llm_api_key_env="MY_LLM_KEY")
    final = answerer.answer(QUESTION, extractive.retrieved, extractive)
    assert server.requests[0]["_authorization"] == "Bearer sk-test-secret"
    assert "sk-test-secret" not in repr(answerer.client) + " ".join(final.notes) + str(final.to_dict())
    assert final.notes[-1] == prompts.NOTE_HTTP.format(status=401)


def test_no_token_counting_and_no_network_beyond_loopback(serve, answerer_for, extractive, monkeypatch):
    """tiktoken downloads its encodings on first use: the LLM path must never ask it for one, and
    must open no connection beyond loopback (the guard records any attempt, then refuses it)."""
    import tiktoken
    from netguard import block_non_loopback

    asked, reached = [], []

    def refuse(address):
        reached.append(address)
        raise AssertionError(f"network: {address!r}")

    block_non_loopback(monkeypatch, refuse)
    for name in ("get_encoding", "encoding_for_model"):
        monkeypatch.setattr(tiktoken, name, lambda *args, **kwargs: asked.append(args) or pytest.fail("tiktoken"))
    final = answerer_for(serve(copies_passage_one).base_url).answer(QUESTION, extractive.retrieved, extractive)
    assert final.mode == AnswerMode.LLM and asked == [] and reached == []
