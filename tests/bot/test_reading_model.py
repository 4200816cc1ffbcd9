"""End to end with the real local reading model (Qwen2.5-Coder-0.5B-Instruct from the per-user cache,
which `make test` fetches): the extractive answer streams first, then the same answer led by the span the
model found, verbatim in the quote it cites; parallel chats never wait on each other past the budget.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from bot import Bot
from bot.gguf import cached
from knowledge.settings import PROJECT_ROOT, Settings

CACHE = Settings().reader_cache_dir
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        cached("0.5b", CACHE) is None,
        reason=f"the 0.5B reading model is not in {CACHE}: `make test` fetches it (python -m bot.gguf --model 0.5b)",
    ),
]
WAIT_S, READ_S = 3.0, 3.0  # the budget of the parallel-chats test


@pytest.fixture(scope="module")
def reading_bot(tmp_path_factory, embedder):
    """A Bot over the shipped article with the real 0.5B reading model, loaded and warmed up."""
    settings = Settings(
        knowledge_dir=PROJECT_ROOT / "knowledge" / "articles",
        index_dir=tmp_path_factory.mktemp("reading-index"),
        progress=False,
        reader="llm",
        reader_model="0.5b",
        reader_wait_s=60,  # the answers' content is tested here, not the machine's load
        reader_read_s=60,
    )
    bot = Bot(settings=settings, embedder=embedder)
    bot.index()
    assert bot.span_reader is not None and bot.span_reader.model.wait_loaded(120)
    assert bot.path.composer.not_stated_from == {}  # calibrated on the 1.5B model's replies, not this one's
    bot.ask("When will IDSEA launch?")  # the prompt's instructions are now in llama.cpp's cache
    return bot


def test_the_extractive_answer_comes_first_then_the_read_span_leads(reading_bot, shipped_bot):
    question = "Where will the association be located?"
    answers = list(reading_bot.stream(question))
    assert answers[0].text == shipped_bot.ask(question).text  # the instant answer is today's, unchanged
    final = answers[-1]
    assert not final.abstained and final.citations
    if len(answers) == 1:
        pytest.fail(f"the reading model kept no span for {question!r}")
    short = final.short_answer
    lead, _, rest = final.text.partition("\n\n")
    number = int(lead.rsplit("[", 1)[1].rstrip("]"))
    assert lead == f"{short} [{number}]" and short in final.citations[number - 1].quote
    assert "Hefei" in short and rest  # the quote still follows, verbatim, with its marker
    citation = final.citations[number - 1]
    article = reading_bot.articles()[0].text
    assert article[citation.start : citation.end] == citation.quote and "read_llm" in final.timings


def test_a_declined_question_is_not_read(reading_bot):
    answers = list(reading_bot.stream("What is the capital of France?"))
    assert len(answers) == 1 and answers[0].abstained


def test_parallel_chats_never_wait_past_the_budget(reading_bot, embedder):
    bot = Bot(
        settings=replace(reading_bot.settings, reader_wait_s=WAIT_S, reader_read_s=READ_S), embedder=embedder
    )  # the same model
    questions = ["When will IDSEA launch?", "Where will the association be located?", "What does IDSEA stand for?"]
    waits: list[float] = []

    def chat(question: str) -> None:
        stream = bot.stream(question)
        next(stream)
        after_first = time.monotonic()
        for _ in stream:
            pass
        waits.append(time.monotonic() - after_first)

    threads = [threading.Thread(target=chat, args=(questions[i % 3],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(waits) == 8 and max(waits) <= WAIT_S + READ_S + 0.5, waits
