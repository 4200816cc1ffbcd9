"""The reading model's logic: a reply becomes a span only when its words are verbatim in a window; the
bounded queue never keeps a question waiting past its budget, even with many chats at once.

The queue and the reader run for real; the engine behind them is scripted here only where timing must be
exact (a reply 10 s late, a full queue). The real model's end-to-end test is tests/bot/test_reading_model.py.
"""

from __future__ import annotations

import json
import threading
import time

from bot.llama import LocalModel
from bot.llm_reader import LLMSpanReader, SpanStatus, locate_span, parse_span

WINDOW = "Xinhua reported on July 1st that China will launch the association on Monday, July 7th 2025."


class ScriptedEngine:
    """Streams the next scripted content, one character every `per_token` seconds after `delay` seconds, as
    llama.cpp's server does (a chunk per token to the callback, which returns True to stop); counts the
    requests it served and the chunks it sent."""

    def __init__(self, contents: list[str], delay: float = 0.0, per_token: float = 0.0):
        self.contents, self.delay, self.per_token = list(contents), delay, per_token
        self.served = self.chunks = 0

    def handle_chat_completions(self, body: dict, callback) -> None:
        assert body["stream"] is True
        time.sleep(self.delay)
        self.served += 1
        content = self.contents.pop(0) if self.contents else '{"span": ""}'
        for piece in content:
            time.sleep(self.per_token)
            self.chunks += 1
            if callback({"choices": [{"index": 0, "delta": {"content": piece}}]}):
                return


def scripted(engine: ScriptedEngine, queue_size: int = 4) -> LocalModel:
    model = LocalModel("scripted.gguf", queue_size=queue_size, load=lambda path, threads: engine)
    assert model.wait_loaded(5)
    return model


def test_a_span_is_kept_only_when_verbatim_in_a_window():
    assert locate_span("Monday, July 7th 2025", [WINDOW]) == (0, WINDOW.index("Monday"), len(WINDOW) - 1)
    assert locate_span("July 7th 2025.", ["x", WINDOW]) == (1, WINDOW.index("July 7th"), len(WINDOW) - 1)
    assert locate_span("Monday 7 July 2025", [WINDOW]) is None  # rephrased: discarded
    assert locate_span("monday, july 7th 2025", [WINDOW]) is None  # not the article's own words either
    assert locate_span("  ", [WINDOW]) is None


def test_replies_are_read_as_a_span_not_stated_or_unreadable():
    assert parse_span('{"span": "Hefei"}') == "Hefei"
    assert parse_span('{"span": ""}') == ""
    assert parse_span("Hefei") is None and parse_span('{"answer": "Hefei"}') is None and parse_span("[1]") is None


def test_the_reader_reports_what_came_of_each_reply():
    replies = ['{"span": "July 7th 2025"}', '{"span": ""}', '{"span": "7 July"}', "It launches on July 7th."]
    reader = LLMSpanReader(scripted(ScriptedEngine(["{}"] + replies)), wait_s=5)  # "{}": the start-up prefill
    time.sleep(0.2)
    found = reader.read("When?", [WINDOW])
    assert found.status is SpanStatus.SPAN and WINDOW[found.start : found.end] == "July 7th 2025"
    assert [reader.read("When?", [WINDOW]).status for _ in range(3)] == [
        SpanStatus.NOT_STATED,
        SpanStatus.NOT_VERBATIM,
        SpanStatus.NO_REPLY,
    ]


def test_the_request_asks_for_json_by_schema_and_greedy_decoding():
    seen = []

    class Recording(ScriptedEngine):
        def handle_chat_completions(self, body, callback):
            seen.append(body)
            return super().handle_chat_completions(body, callback)

    LLMSpanReader(scripted(Recording([])), wait_s=5).read("When will it launch?", [WINDOW])
    body = seen[-1]
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["span"]
    assert body["temperature"] == 0 and body["t_max_predict_ms"] <= 5000
    assert WINDOW in body["messages"][1]["content"] and "When will it launch?" in body["messages"][1]["content"]
    json.dumps(body)  # what llama.cpp is sent is plain JSON


def test_a_late_reply_is_not_waited_for():
    model = scripted(ScriptedEngine(['{"span": "July"}'], delay=10))
    began = time.monotonic()
    assert model.chat({"messages": []}, wait_s=0.5) is None
    assert time.monotonic() - began < 1.0


def test_a_request_nobody_waits_for_stops_generating():
    engine = ScriptedEngine(['{"span": "' + "x" * 40 + '"}'], per_token=0.05)
    model = scripted(engine)
    assert model.chat({"messages": []}, wait_s=0.5) is None
    time.sleep(0.5)
    assert engine.chunks < 15  # of 52: the model is free for the next question


def test_a_full_queue_answers_at_once_and_expired_requests_are_dropped():
    engine = ScriptedEngine([], delay=0.4)
    model = scripted(engine, queue_size=2)
    results, times = [], []

    def ask():
        began = time.monotonic()
        results.append(model.chat({"messages": []}, wait_s=0.6))
        times.append(time.monotonic() - began)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(times) < 0.6 + 0.3  # nobody waits past the budget
    assert sum(r is not None for r in results) >= 1 and sum(r is None for r in results) >= 5
    time.sleep(1.0)
    assert engine.served <= 3  # requests nobody waits for any more are dropped, not run


def test_an_engine_that_fails_to_load_leaves_answers_alone(caplog):
    def broken(path, threads):
        raise OSError("not a GGUF file")

    model = LocalModel("broken.gguf", load=broken)
    assert not model.wait_loaded(5) and "not a GGUF file" in model.failure
    assert model.chat({"messages": []}, wait_s=1) is None
    assert sum("could not be loaded" in r.message for r in caplog.records) == 1


def test_only_a_verbatim_span_leads_the_answer_above_the_quote_that_holds_it(shipped_bot):
    from bot.pipeline import Pending

    question = "Where will the association be located?"
    shipped_bot.ask(question)  # opens the index
    answer, decided = shipped_bot.path.answer_in_full(Pending(question, [], shipped_bot._live.index))
    assert decided is not None and not answer.abstained
    replies = ["{}", '{"span": "in the city of Hefei"}', '{"span": ""}', '{"span": "Anhui province"}']
    reader = LLMSpanReader(scripted(ScriptedEngine(replies)), wait_s=5)
    for _ in range(2):  # rephrased, then "not stated": the answer is left exactly as it was
        kept, _ = shipped_bot.path.read_closely(answer, decided, reader)
        assert kept is answer
    refined, found = shipped_bot.path.read_closely(answer, decided, reader)
    assert found.status is SpanStatus.SPAN and refined.short_answer == "Anhui province"
    lead, _, quote = refined.text.partition("\n\n")
    assert lead == "Anhui province [1]" and "Anhui province" in refined.citations[0].quote
    assert quote == answer.text.partition("\n\n")[2] or quote == answer.text  # the same verbatim quote below
    assert refined.citations == answer.citations and refined.confidence == answer.confidence
