"""The issue's target, across the whole eval suite: a server that adds a fabricated sentence and a
marker [9] to every answer gets 0 fabricated sentences and 0 invalid markers into `Answer.text`."""

from __future__ import annotations

import re

import pytest
from fake_openai import Reply, first_sentence, json_answer, passages_of

from bot import Bot
from bot.types import AnswerMode
from evals.metrics import citation_problems
from evals.runner import DEFAULT_CASES, load_cases, run_cases


def fabricate(sentence: str, turn: int) -> str:
    """A false sentence of one of three kinds: foreign names and numbers, a denial, a changed number."""
    if turn % 3 == 0:
        return "It will also open a research base on Mars in 2031."
    if turn % 3 == 1:
        denied, count = re.subn(r"\b(will|is|was|are|were|has|have|can)\b", r"\1 not", sentence, count=1)
        return denied if count else "No one has ever reported that " + sentence[0].lower() + sentence[1:]
    changed, count = re.subn(r"\d+", lambda m: str(int(m.group()) + 1), sentence, count=1)
    return changed if count else sentence.rstrip(".") + " in 1897."


class FabricatingServer:
    """Answers every question with passage [1]'s first sentence cited [1][9], a fabricated sentence
    cited [1], and passage [2]'s first sentence cited only [9]; condensing gets no usable reply."""

    def __init__(self):
        self.fabricated: list[str] = []

    def __call__(self, request: dict) -> Reply:
        if not request.get("stream"):
            return Reply("")  # the rule-based rewriter takes over
        passages = passages_of(request)
        true = first_sentence(passages[1]) + "."
        false = fabricate(true, len(self.fabricated))
        self.fabricated.append(false)
        other = first_sentence(passages.get(2, passages[1])) + "."
        return Reply(json_answer((true, [1, 9]), (false, [1]), (other, [9])))


class Recording:
    """A Bot whose every answer (earlier turns of conversations too) is kept for inspection."""

    def __init__(self, bot: Bot):
        self.bot, self.answers = bot, []

    def ask(self, question, history=None):
        self.answers.append(self.bot.ask(question, history=history))
        return self.answers[-1]

    def articles(self):
        return self.bot.articles()


@pytest.mark.slow
def test_no_fabricated_sentence_or_invalid_marker_reaches_the_answer(serve, llm_bot_settings, embedder):
    script = FabricatingServer()
    server = serve(script)
    bot = Recording(Bot(settings=llm_bot_settings(server.base_url), embedder=embedder))
    run_cases(bot, load_cases(DEFAULT_CASES))
    texts = {a.id: a.text for a in bot.articles()}
    llm_answers = [a for a in bot.answers if a.mode == AnswerMode.LLM]
    assert len(script.fabricated) > 100 and len(llm_answers) > 100  # the LLM path really ran
    shown = [a.text for a in bot.answers]
    assert not [f for f in set(script.fabricated) if any(f[:-1] in text for text in shown)]
    assert not [(a.question, p) for a in bot.answers for p in citation_problems(a, texts)]
    assert all(max(map(int, re.findall(r"\[(\d+)\]", a.text)), default=0) <= len(a.citations) for a in bot.answers)
    assert all(a.llm.dropped >= 2 and a.llm.markers_kept < a.llm.markers for a in llm_answers)
