"""The reading model's logic: a reply becomes a span only when its words are verbatim in a window; the
bounded queue never keeps a question waiting for other chats' reads past its wait, nor a read past its own
budget, even with many chats at once.

The queue and the reader run for real; the engine behind them is scripted here only where timing must be
exact (a reply 10 s late, a full queue). The real model's end-to-end test is tests/bot/test_reading_model.py.
"""

from __future__ import annotations

import json
import re
import threading
import time

from scripted_model import ScriptedEngine, scripted

from bot.llama import LocalModel
from bot.llm_reader import LLMSpanReader, SpanStatus, locate_span, parse_span

WINDOW = "Xinhua reported on July 1st that China will launch the association on Monday, July 7th 2025."


def test_a_span_is_kept_only_when_verbatim_in_a_window():
    assert locate_span("Monday, July 7th 2025", [WINDOW]) == (0, WINDOW.index("Monday"), len(WINDOW) - 1)
    assert locate_span("July 7th 2025.", ["x", WINDOW]) == (1, WINDOW.index("July 7th"), len(WINDOW) - 1)
    assert locate_span("Monday 7 July 2025", [WINDOW]) is None  # rephrased: discarded
    assert locate_span("Monday July 7th 2025", [WINDOW]) is None  # a comma dropped: not the article's words
    assert locate_span("  ", [WINDOW]) is None and locate_span(".", [WINDOW]) is None
    # Letter case and spacing may differ: what is shown is the window's own text at those offsets.
    window, at = locate_span("monday,  july 7th", [WINDOW]), WINDOW.index("Monday")
    assert window == (0, at, at + len("Monday, July 7th")) and WINDOW[at : window[2]] == "Monday, July 7th"
    assert locate_span("a.b", ["axb A.B"]) == (0, 4, 7)  # "." in a span is a full stop, not any character


def test_replies_are_read_as_a_span_not_stated_or_unreadable():
    assert parse_span('{"span": "Hefei"}') == "Hefei"
    assert parse_span('{"span": ""}') == ""
    assert parse_span("Hefei") is None and parse_span('{"answer": "Hefei"}') is None and parse_span("[1]") is None


def test_the_reader_reports_what_came_of_each_reply():
    replies = ['{"span": "July 7th 2025"}', '{"span": ""}', '{"span": "7 July"}', "It launches on July 7th."]
    reader = LLMSpanReader(scripted(ScriptedEngine(["{}"] + replies)), wait_s=5, read_s=5)  # "{}": the start-up prefill
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

    LLMSpanReader(scripted(Recording([])), wait_s=5, read_s=5).read("When will it launch?", [WINDOW])
    body = seen[-1]
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["span"]
    assert body["temperature"] == 0 and body["t_max_predict_ms"] <= 5000
    assert WINDOW in body["messages"][1]["content"] and "When will it launch?" in body["messages"][1]["content"]
    json.dumps(body)  # what llama.cpp is sent is plain JSON


def test_the_reader_grades_not_stated_by_the_probability_the_model_gave_an_empty_span():
    opening = {"token": '{"span": "', "logprob": -0.1}
    alternatives = [opening, {"token": '{"span": ""', "logprob": -2.5}, {"token": '{"answer', "logprob": -4.0}]

    class WithLogprobs(ScriptedEngine):  # llama.cpp's chunks with `logprobs` asked for
        def handle_chat_completions(self, body, callback):
            assert body["logprobs"] is True and body["top_logprobs"] >= 2
            tokens = [
                {**opening, "top_logprobs": alternatives},
                {"token": 'July"}', "logprob": -0.3, "top_logprobs": []},
            ]
            for token in tokens:
                callback(
                    {"choices": [{"index": 0, "delta": {"content": token["token"]}, "logprobs": {"content": [token]}}]}
                )

    found = LLMSpanReader(scripted(WithLogprobs([])), wait_s=5, read_s=5).read("When?", [WINDOW])
    assert found.status is SpanStatus.SPAN and WINDOW[found.start : found.end] == "July"
    assert found.not_stated == 0.082  # exp(-2.5): only the alternative that closes the span at once counts
    assert LLMSpanReader(scripted(ScriptedEngine([])), wait_s=5, read_s=5).read("When?", [WINDOW]).not_stated is None


def test_a_read_past_its_budget_is_not_waited_for():
    model = scripted(ScriptedEngine(['{"span": "July"}'], delay=10))
    began = time.monotonic()
    assert model.chat({"messages": []}, wait_s=0.5, read_s=0.5) is None
    assert time.monotonic() - began < 1.2


def test_a_read_may_outlast_the_wait_once_begun():
    # The wait is for other chats' reads; a read that has begun has its own budget.
    model = scripted(ScriptedEngine(['{"span": "July"}'], delay=0.8))
    assert model.chat({"messages": []}, wait_s=0.3, read_s=3) == {
        "choices": [{"message": {"role": "assistant", "content": '{"span": "July"}'}}]
    }


def test_a_question_asked_while_the_model_starts_waits_for_the_start_up_not_its_wait():
    # Loading and the instructions' prefill are no other chat's read: the first question of a process is read.
    engine = ScriptedEngine(["{}", '{"span": "July"}'])

    def slow_load(path, threads):
        time.sleep(0.8)
        return engine

    model = LocalModel("scripted.gguf", load=slow_load)
    model.prefill({"messages": []})  # asked before the model is ready: part of the start-up
    reply = model.chat({"messages": []}, wait_s=0.3, read_s=3)
    assert reply["choices"][0]["message"]["content"] == '{"span": "July"}' and engine.served == 2
    model.close()


def test_a_request_nobody_waits_for_stops_generating():
    engine = ScriptedEngine(['{"span": "' + "x" * 40 + '"}'], per_token=0.05)
    model = scripted(engine)
    assert model.chat({"messages": []}, wait_s=0.5, read_s=0.5) is None
    time.sleep(0.5)
    assert engine.chunks < 15  # of 52: the model is free for the next question


def test_a_full_queue_answers_at_once_and_requests_not_begun_in_time_are_dropped():
    engine = ScriptedEngine([], delay=0.4)
    model = scripted(engine, queue_size=2)
    results, times = [], []

    def ask():
        began = time.monotonic()
        results.append(model.chat({"messages": []}, wait_s=0.6, read_s=1.0))
        times.append((time.monotonic() - began, results[-1]))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # A question waits at most 0.6 s for the reads ahead of it; the 0.4 s read then follows.
    assert max(took for took, reply in times if reply is None) < 0.6 + 0.3
    assert max(took for took, reply in times if reply is not None) < 0.6 + 0.4 + 0.3
    assert sum(r is not None for r in results) >= 1 and sum(r is None for r in results) >= 5
    time.sleep(1.0)
    assert engine.served <= 3  # requests nobody waits for any more are dropped, not run


def test_an_engine_that_fails_to_load_leaves_answers_alone(caplog):
    def broken(path, threads):
        raise OSError("not a GGUF file")

    model = LocalModel("broken.gguf", load=broken)
    assert not model.wait_loaded(5) and "not a GGUF file" in model.failure
    assert model.chat({"messages": []}, wait_s=1, read_s=1) is None
    assert sum("could not be loaded" in r.message for r in caplog.records) == 1


def test_only_a_verbatim_span_leads_the_answer_above_the_quote_that_holds_it(shipped_bot, monkeypatch):
    from bot.pipeline import Asked

    monkeypatch.setattr(shipped_bot.path.composer, "after_reading", {})  # what the model says decides nothing here

    question = "Where will the association be located?"
    shipped_bot.ask(question)  # opens the index
    answer, decided = shipped_bot.path.answer_in_full(Asked(question, [], shipped_bot._live.index))
    assert decided is not None and not answer.abstained
    assert len(decided.windows) == 1  # an English question: the ranker's window alone
    replies = ["{}", '{"span": "in the city of Hefei"}', '{"span": ""}', '{"span": "Anhui province"}']
    reader = LLMSpanReader(scripted(ScriptedEngine(replies)), wait_s=5, read_s=5)
    for _ in range(2):  # rephrased, then "not stated": the answer is left exactly as it was
        kept, _ = shipped_bot.path.read_closely(answer, decided, reader)
        assert kept is answer
    refined, found = shipped_bot.path.read_closely(answer, decided, reader)
    assert found.status is SpanStatus.SPAN and refined.short_answer == "Anhui province"
    lead, _, quote = refined.text.partition("\n\n")
    assert lead == "Anhui province [1]" and "Anhui province" in refined.citations[0].quote
    assert quote == answer.text.partition("\n\n")[2] or quote == answer.text  # the same verbatim quote below
    assert refined.citations == answer.citations and refined.confidence == answer.confidence


def test_what_the_model_read_decides_again_on_its_calibrated_thresholds(shipped_bot, monkeypatch):
    """A span may take back a decline and "not stated" may turn an answer down, each against the threshold
    for that outcome; no reply keeps the instant decision."""
    from bot.compose import Scale
    from bot.pipeline import Asked

    declined_q, answered_q = "What is IDSEA's budget?", "Where will the association be located?"
    shipped_bot.ask(answered_q)
    index = shipped_bot._live.index
    no, decided_no = shipped_bot.path.answer_in_full(Asked(declined_q, [], index))
    yes, decided_yes = shipped_bot.path.answer_in_full(Asked(answered_q, [], index))
    assert no.abstained and decided_no is not None and not yes.abstained
    monkeypatch.setattr(shipped_bot.path.composer, "after_reading", {Scale.READER: {"span": 0.0, "not-stated": 1.01}})
    # The first reply goes to the reader's start-up prefill, then a span, "not stated", an unreadable reply.
    row = decided_no.verdict.reading.candidate.row  # three words of the sentence the decline was about
    start, end = decided_no.index.sentences.spans[row]
    span = " ".join(decided_no.index.article_texts[decided_no.index.sentences.article_ids[row]][start:end].split()[:3])
    reader = LLMSpanReader(
        scripted(ScriptedEngine(["{}", json.dumps({"span": span}), '{"span": ""}', "{}"])), wait_s=5, read_s=5
    )
    taken_back, found = shipped_bot.path.read_closely(no, decided_no, reader)
    assert found.status is SpanStatus.SPAN and not taken_back.abstained and taken_back.citations
    assert span in taken_back.citations[0].quote or span in taken_back.text
    turned_down, found = shipped_bot.path.read_closely(yes, decided_yes, reader)
    assert found.status is SpanStatus.NOT_STATED and turned_down.abstained and not turned_down.citations
    assert turned_down.abstain_reason.value == "not-stated" and turned_down.question == yes.question
    kept, found = shipped_bot.path.read_closely(yes, decided_yes, reader)
    assert found.status is SpanStatus.NO_REPLY and kept is yes


def test_a_question_in_its_articles_other_language_is_read_in_two_windows_and_answered_from_the_one_holding_the_span(
    tmp_path, embedder
):
    """Other languages' rankers are less sure of the first window: the model reads the second too, and a
    span it finds there leads the answer above that window's own sentence (the first window's is not quoted)."""
    from bot import Bot
    from bot.pipeline import Asked
    from bot.read import window_text
    from knowledge.settings import Settings

    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "observatoire.txt").write_text(
        "L'observatoire du pic\n\n"
        "L'observatoire a été construit sur le pic en 1932 par une équipe de vingt ingénieurs. "
        "Le bâtiment principal abrite un télescope de deux mètres.\n\n"
        "La route qui mène au pic est fermée en hiver à cause de la neige. "
        "Les visiteurs montent alors par un téléphérique ouvert depuis 1975.\n",
        encoding="utf-8",
    )
    settings = Settings(reader="extractive", knowledge_dir=articles, index_dir=tmp_path / "index", progress=False)
    bot = Bot(settings=settings, embedder=embedder)
    bot.index()
    question = "Depuis quand le téléphérique du pic est-il ouvert ?"
    bot.ask(question)  # opens the index
    answer, decided = bot.path.answer_in_full(Asked(question, [], bot._live.index))
    assert decided is not None and len(decided.windows) == 2
    first_text, second_text = (window_text(rows, decided.index)[0] for _, rows in decided.windows)
    # A word of the second window that the first lacks.
    span = next(w for w in re.findall(r"\w{5,}", second_text) if w not in first_text)
    reader = LLMSpanReader(scripted(ScriptedEngine(["{}", json.dumps({"span": span})])), wait_s=5, read_s=5)
    refined, found = bot.path.read_closely(answer, decided, reader)
    assert found.status is SpanStatus.SPAN and found.window == 1 and refined.short_answer == span
    assert refined.text.startswith(f"{span} [1]") and len(refined.citations) == 1
    assert span in refined.citations[0].quote and refined.citations[0].quote in second_text
