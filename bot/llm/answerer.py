"""`LLMAnswerer`: the `bot.stages.Answerer` that asks an LLM for a fluent, cited answer from the
retrieved passages and shows only the sentences verification keeps (`bot/llm/verify.py`).

It streams: each sentence is verified as soon as the next one begins, so the growing answer holds
verified sentences only, with the sentence being written in `Answer.draft`. Whenever it cannot give
a verified answer (server down, timeout, HTTP error, broken stream, empty reply, declined, nothing
verified) it returns the extractive `fallback` with a note. It is not asked when the extractive
path abstained: the abstention checks (names the articles never mention, a false premise) guard
against exactly what small models do worst.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

from bot.llm import prompts
from bot.llm.client import Deadline, LLMClient, LLMFailure
from bot.llm.reply import GeneratedSentence, parse_reply
from bot.llm.verify import SentenceCheck, cite_verified, verify_sentence
from bot.types import Answer, AnswerMode, RetrievedChunk, SentenceCounts


class LLMAnswerer:
    """Grounded LLM answers over the passages, verified sentence by sentence, with a safe fallback.

    >>> LLMAnswerer(client).answer("When will IDSEA launch?", fallback.retrieved, fallback).mode  # doctest: +SKIP
    <AnswerMode.LLM: 'llm'>
    """

    def __init__(self, client: LLMClient):
        self.client = client

    def answer(
        self, question: str, passages: Sequence[RetrievedChunk], fallback: Answer, deadline: Deadline | None = None
    ) -> Answer:
        """The final answer: verified LLM sentences, or `fallback` with a note."""
        *_, final = self.stream(question, passages, fallback, deadline)
        return final

    def stream(
        self, question: str, passages: Sequence[RetrievedChunk], fallback: Answer, deadline: Deadline | None = None
    ) -> Iterator[Answer]:
        """Successive answers while the reply streams in; the last one is final (`draft == ""`)."""
        if fallback.abstained:
            yield replace(fallback, notes=fallback.notes + [prompts.NOTE_ABSTAINED])
            return
        passages = list(passages)
        if not passages:
            yield fallback
            return
        began = time.perf_counter()
        deadline = deadline or self.client.deadline()
        structured = self.client.structured
        messages = prompts.answer_messages(question, passages, structured)
        response_format = prompts.RESPONSE_FORMAT if structured else None
        checked: dict[GeneratedSentence, SentenceCheck] = {}  # each sentence is verified once

        def judge(sentences) -> list[SentenceCheck]:
            for sentence in sentences:
                if sentence not in checked:
                    checked[sentence] = verify_sentence(sentence, passages)
            return [checked[s] for s in sentences]

        written = ""
        try:
            for piece in self.client.stream_text(messages, deadline, response_format=response_format):
                written += piece
                partial = parse_reply(written, structured, final=False)
                yield self._growing(fallback, judge(partial.sentences), passages, partial.draft, began)
        except LLMFailure as failure:
            yield self._fall_back(
                fallback, failure.note, judge(parse_reply(written, structured, False).sentences), began
            )
            return
        reply = parse_reply(written, structured, final=True)
        verdicts = judge(reply.sentences)
        if not written.strip():
            yield self._fall_back(fallback, prompts.NOTE_EMPTY, verdicts, began)
        elif reply.declined:
            yield self._fall_back(fallback, prompts.NOTE_DECLINED, verdicts, began)
        elif not reply.followed_format:
            yield self._fall_back(fallback, prompts.NOTE_FORMAT, verdicts, began)
        elif not any(v.supported for v in verdicts):
            yield self._fall_back(fallback, prompts.NOTE_UNVERIFIED, verdicts, began)
        else:
            yield self._verified(fallback, verdicts, passages, began)

    def _growing(
        self, fallback: Answer, verdicts: list[SentenceCheck], passages: list[RetrievedChunk], draft: str, began: float
    ) -> Answer:
        text, citations = cite_verified(verdicts, passages)
        return replace(
            fallback,
            text=text,
            citations=citations,
            mode=AnswerMode.LLM,
            short_answer="",
            llm=count(verdicts),
            draft=draft,
            timings=_with_llm_time(fallback.timings, began),
        )

    def _verified(self, fallback: Answer, verdicts: list[SentenceCheck], passages: list[RetrievedChunk], began: float):
        answer = self._growing(fallback, verdicts, passages, "", began)
        dropped = answer.llm.dropped
        notes = fallback.notes + ([prompts.NOTE_DROPPED.format(count=dropped)] if dropped else [])
        # The extractive short answer stays only when the verified text states it too.
        short = fallback.short_answer if fallback.short_answer and fallback.short_answer in answer.text else ""
        return replace(answer, notes=notes, short_answer=short)

    def _fall_back(self, fallback: Answer, note: str, verdicts: list[SentenceCheck], began: float) -> Answer:
        return replace(
            fallback,
            notes=fallback.notes + [note],
            mode=AnswerMode.EXTRACTIVE,
            llm=count(verdicts),
            timings=_with_llm_time(fallback.timings, began),
        )


def count(verdicts: Sequence[SentenceCheck]) -> SentenceCounts:
    """Sentences generated/kept/dropped and markers written/kept, over some verdicts."""
    kept = [v for v in verdicts if v.supported]
    return SentenceCounts(
        generated=len(verdicts),
        kept=len(kept),
        dropped=len(verdicts) - len(kept),
        markers=sum(len(v.sentence.markers) for v in verdicts),
        markers_kept=sum(len(v.kept_markers) for v in kept),
    )


def _with_llm_time(timings: dict[str, float], began: float) -> dict[str, float]:
    llm_ms = round((time.perf_counter() - began) * 1000, 3)
    before = {k: v for k, v in timings.items() if k != "total"}
    return {**before, "llm": llm_ms, "total": round(sum(before.values()) + llm_ms, 3)}
