"""The answer path as a LangChain Runnable: understand (spelling, analyze, rewrite) → retrieve (each
reading of a follow-up probed) → read (the extractive reader) → compose (a cited answer, or a decline
with its reason). `AnswerPath` holds the stages' models; the index it reads comes with each question
(`OpenedIndex`), so a question never sees two versions of the index.

Building the index and watching the folder are `bot/service.py`'s job.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace

from bot.analyze import LanguageIdentifier, QuestionAnalyzer, find_names, has_pronoun, load_models, quotes
from bot.compose import AnswerComposer, Verdict, cite, declined, overview_rows
from bot.llm_reader import LLMSpanReader, SpanReading, SpanStatus
from bot.messages import truncated_note
from bot.policy import Policy
from bot.rank import Candidate, SentenceRanker
from bot.read import PassageReader, Reading, window_text
from bot.retrieve import Focus, HybridRetriever, Retrieval, SearchIndex, conversation_focus
from bot.rewrite import ConversationRewriter
from bot.spelling import SpellingRepair
from bot.stages import Intent, QuestionAnalysis, Rewrite, Role, Turn
from bot.types import AbstainReason, Answer, RetrievedChunk
from index.lexical import tokenize

NEIGHBOUR_SHARE = 0.5  # a neighbour sentence at least half as likely as the quoted one is quoted too


@dataclass(frozen=True)
class OpenedIndex:
    """One opened version of the index and what answering derives from it."""

    search: SearchIndex
    retriever: HybridRetriever
    spelling: SpellingRepair
    titles: list[str]  # "“Title” (date)" of every article, for declines


@dataclass
class Pending:
    """An answer in the making, handed from stage to stage of the chain."""

    question: str
    history: list[Turn]
    index: OpenedIndex
    deadline: object | None = None  # the LLM part's time budget (`bot.llm.client.Deadline`), when an LLM is used
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    analysis: QuestionAnalysis | None = None
    rewrite: Rewrite | None = None
    focus: Focus = field(default_factory=Focus)
    chosen: Rewrite | None = None  # the reading retrieval was surest of
    retrieval: Retrieval | None = None
    candidates: list[Candidate] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)
    answer: Answer | None = None  # set when a stage has already decided (an instruction, an unclear reference)
    decided: Decided | None = None  # what an answer from a read window was composed from (for the reading model)


@dataclass(frozen=True)
class Decided:
    """What an answer quoting a read window was built from: enough to lead it with another span of
    that window (the local reading model's) without deciding again."""

    analysis: QuestionAnalysis
    shown: str  # the question as understood
    question: str  # what the window was read for
    verdict: Verdict  # an answer's, or a decline's that had a window to read
    rows: tuple[int, ...]  # the sentences quoted when answering
    retrieved: tuple[RetrievedChunk, ...]
    index: SearchIndex
    titles: list[str]  # what a decline says the articles cover
    stands_by: bool  # the extractive reader stands by its own span (it may lead when the model finds none)


def open_snapshot(search: SearchIndex, retriever: HybridRetriever, articles, known_words) -> OpenedIndex:
    """What answering needs of one opened index (`known_words`: real words spelling repair leaves alone)."""
    titles = [f"“{a.title}”" + (f" ({a.date})" if a.date else "") for a in articles]
    return OpenedIndex(search, retriever, SpellingRepair(search.vocabulary, known_words), titles)


class AnswerPath:
    """The stages and their models, built once per Bot. `path.answer(pending) -> Answer`."""

    def __init__(self, settings, query_encoder, reader=None, llm_client=None):
        from langchain_core.runnables import RunnableLambda

        self.settings, self.encoder = settings, query_encoder
        self.known_words = query_encoder.vocabulary()
        self.languages = LanguageIdentifier()
        self.analyzer = QuestionAnalyzer(*load_models(), self.languages)
        self.rewriter = ConversationRewriter(self.languages.identify)
        if llm_client is not None:  # the LLM condenses follow-ups; the readings above are its fallback
            from bot.llm import LLMRewriter

            self.rewriter = LLMRewriter(llm_client, fallback=self.rewriter)
        self.ranker = SentenceRanker.bundled()
        policy = Policy.bundled().overridden(settings.abstain_below)  # every threshold, from one file
        self.reader = PassageReader(reader, null_threshold=policy.reader_null_threshold)
        self.composer = AnswerComposer.bundled(policy)
        self.switch_margin = policy.switch_margin
        self.chain = (
            RunnableLambda(self._understand)
            | RunnableLambda(self._retrieve)
            | RunnableLambda(self._read)
            | RunnableLambda(self._compose)
        )

    def answer(self, pending: Pending) -> Answer:
        """Run the chain on one question."""
        return self.chain.invoke(pending)

    def answer_in_full(self, pending: Pending) -> tuple[Answer, Decided | None]:
        """The answer, and what it was composed from when it quotes a read window (else None)."""
        answer = self.chain.invoke(pending)
        return answer, pending.decided

    def read_closely(self, answer: Answer, decided: Decided, reader: LLMSpanReader) -> tuple[Answer, SpanReading]:
        """Ask the local reading model for the span of the decided window that answers, then decide again
        with what it said (`AnswerComposer.reconsider`): a span it finds verbatim leads the answer (in place
        of the extractive reader's), above the quote that holds it; "not stated" may turn an answer down, a
        span may take back a decline. No reply, or an unchanged decision without a span, returns `answer`."""
        text, _ = window_text(decided.verdict.reading.rows, decided.index)
        found = reader.read(decided.question, [text])
        verdict = self.composer.reconsider(decided.verdict, found.status.value)
        return self.settle(answer, decided, found, verdict), found

    def settle(self, answer: Answer, decided: Decided, found: SpanReading, verdict: Verdict) -> Answer:
        """The answer for `verdict`, given what the reading model `found` in the decided window; `answer`
        itself when nothing changes."""
        if verdict.reason is not None:
            if answer.abstained:
                return answer
            declines = declined(verdict.reason, decided.analysis, decided.shown, decided.titles, verdict.confidence)
            return replace(
                declines, retrieved=answer.retrieved, question=answer.question, timings=_with_read(answer, found)
            )
        if found.status is not SpanStatus.SPAN and not answer.abstained:  # the same answer, and no span to lead
            return answer
        lead, rows = None, list(decided.rows)
        if found.status is SpanStatus.SPAN:
            _, offset = window_text(verdict.reading.rows, decided.index)
            lead = (offset + found.start, offset + found.end)
            spans = decided.index.sentences.spans
            rows += [r for r in verdict.reading.rows if spans[r][0] < lead[1] and lead[0] < spans[r][1]]
        refined = self.composer.compose(
            decided.analysis,
            decided.shown,
            verdict,
            decided.index,
            sorted(set(rows)),
            list(decided.retrieved),
            decided.stands_by,
            lead=lead,
        )
        # An answer kept is led only by a short answer of its own (not too long, not the whole quote).
        if not answer.abstained and not refined.short_answer:
            return answer
        return replace(refined, question=answer.question, timings=_with_read(answer, found), notes=answer.notes)

    def _understand(self, p: Pending) -> Pending:
        began = time.perf_counter()
        limit = self.settings.max_question_chars
        if len(p.question) > limit:
            p.question, p.notes = p.question[:limit], [truncated_note(limit)]
        previous = [t.content for t in p.history if t.role is Role.USER]
        language = self.languages.identify(p.question, self.languages.identify(previous[-1]) if previous else "en")
        # Spelling is repaired against English words (the model's vocabulary): other languages as typed.
        text = p.index.spelling.repair(p.question) if language == "en" else p.question
        p.analysis = self.analyzer.analyze(text, self.encoder.embed_query_vector, language)
        p.rewrite = self.rewriter.rewrite(p.analysis, p.history, deadline=p.deadline)
        p.focus = conversation_focus(p.history, p.index.search)
        if p.analysis.intent is Intent.INSTRUCTION:
            p.answer = declined(AbstainReason.INSTRUCTION, p.analysis, p.question, p.index.titles)
        elif p.rewrite.unresolved and p.analysis.intent is Intent.QUESTION:  # "it" in a new chat: ask which
            word = next(w for w in re.findall(r"\w+", text) if has_pronoun(w, p.analysis.language))
            p.answer = declined(AbstainReason.UNCLEAR, p.analysis, p.question, p.index.titles, word=word)
        p.timings["understand"] = _ms(began)
        return p

    def _retrieve(self, p: Pending) -> Pending:
        """Probe each reading of the question and keep the one retrieval is surest of. In a conversation,
        readings are searched within its article; the question alone is also searched everywhere, and
        wins (a topic switch) only when it is surer by the calibrated switch margin."""
        if p.answer is not None:
            return p
        began = time.perf_counter()
        search, language = p.index.search, p.analysis.language
        topic = p.focus.article(search)
        readings = [p.rewrite, *p.rewrite.alternatives]
        if topic is None:
            probes = [(r, None) for r in readings]
        else:  # each reading within the conversation's article; one that may stand alone also everywhere
            probes = [(r, topic) for r in readings] + [(r, None) for r in readings if not r.uses_history]
        best: dict[bool, tuple] = {}
        for reading, within in probes:
            # A joined reading searches with the question before it, but its sentences are judged against
            # the question as asked: the earlier question's words must not pull back the earlier answer.
            judge = reading.shown or (p.analysis.text if reading.uses_history else reading.query)
            judge, query = (
                search.spelled_out(judge, self.known_words),
                search.spelled_out(reading.query, self.known_words),
            )
            vector = None if judge == query else self.encoder.embed_query_vector(judge)
            retrieval = p.index.retriever.retrieve(query, p.focus, within=within, language=language, judged_by=vector)
            candidates = self.ranker.rank(tokenize(judge, language), retrieval, search)
            confidence = candidates[0].score if candidates else 0.0
            key = within is not None
            if key not in best or confidence > best[key][0]:
                best[key] = (confidence, reading, retrieval, candidates)
        chosen = best.get(True)
        if chosen is None or (False in best and best[False][0] > chosen[0] + self.switch_margin):
            chosen = best[False]
        _, p.chosen, p.retrieval, p.candidates = chosen
        p.timings["retrieve"] = _ms(began)
        return p

    def _read(self, p: Pending) -> Pending:
        if p.answer is not None or p.analysis.intent is Intent.OVERVIEW:
            return p
        began = time.perf_counter()
        question = p.chosen.shown or p.chosen.query
        p.readings = self.reader.read(question, p.candidates, p.index.search, p.analysis.language)
        p.timings["read"] = _ms(began)
        return p

    def _compose(self, p: Pending) -> Answer:
        began = time.perf_counter()
        answer = p.answer or self._decide(p)
        timings = {**p.timings, "compose": _ms(began)}
        timings["total"] = round(sum(timings.values()), 3)
        return replace(answer, question=p.question, timings=timings, notes=p.notes + answer.notes)

    def _decide(self, p: Pending) -> Answer:
        search = p.index.search
        shown = p.chosen.shown or (p.analysis.text if p.chosen.query == p.analysis.text else p.question)
        retrieved = [retrieved_chunk(search, i, score) for i, score in p.retrieval.ranking]
        if p.analysis.intent is Intent.OVERVIEW:  # the article it quotes, else the conversation's, else the best match
            best = [c.row for c in p.candidates[:1]]
            rows = best if quotes(p.analysis.text) else (p.focus.rows or best)
            if rows:
                article = search.sentences.article_ids[rows[-1]]
                text, citations = cite(overview_rows(article, search), search, retrieved)
                return Answer(text, citations, False, shown, retrieved, question=p.question, confidence=1.0)
        names = find_names(p.chosen.shown or p.analysis.text)
        # A question that cannot stand alone ("What year?", "Who was he?") is judged as conversations'
        # questions are; one that stands alone is judged as a single question, wherever it is asked.
        leans = p.analysis.refers_back and any(t.role is Role.USER for t in p.history)
        verdict = self.composer.decide(p.readings, p.chosen.query, names, search, self.known_words, leans)
        if verdict.reading is not None:  # the reading model may read its window and decide again
            rows = with_close_neighbours(self.reader.rows_of_span(verdict.reading, search), p.candidates, search)
            # A short answer the reader itself would decline is never led with.
            stands_by = self.reader.trusts(verdict.reading)
            question = p.chosen.shown or p.chosen.query
            p.decided = Decided(
                p.analysis, shown, question, verdict, tuple(rows), tuple(retrieved), search, p.index.titles, stands_by
            )
        if verdict.reason is not None:
            return declined(verdict.reason, p.analysis, shown, p.index.titles, verdict.confidence, retrieved)
        return self.composer.compose(p.analysis, shown, verdict, search, p.decided.rows, retrieved, p.decided.stands_by)


def with_close_neighbours(rows: list[int], candidates: list[Candidate], index: SearchIndex) -> list[int]:
    """The quoted sentences plus a neighbour in the same paragraph that the ranker rates at least half as
    likely to hold the answer: the rest of a list line, the sentence a statement continues in."""
    score = {c.row: c.score for c in candidates}
    extra = [
        n
        for r in rows
        for n in (r - 1, r + 1)
        if n not in rows and index.same_line(r, n) and score.get(n, 0.0) >= NEIGHBOUR_SHARE * score.get(r, 0.0)
    ]
    return sorted(set(rows) | set(extra))


def retrieved_chunk(index: SearchIndex, chunk_index: int, score: float) -> RetrievedChunk:
    """The public view of one retrieved chunk."""
    chunk = index.chunks[chunk_index]
    return RetrievedChunk(
        chunk.id, chunk.article_id, chunk.title, chunk.text, chunk.start, chunk.end, score, chunk.date
    )


def _with_read(answer: Answer, found: SpanReading) -> dict[str, float]:
    return {**answer.timings, "read_llm": found.ms}


def _ms(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 3)
