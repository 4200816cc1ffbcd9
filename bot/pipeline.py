"""The answer path as a LangChain Runnable: understand (spelling, analyze, rewrite) → retrieve (each
reading of a follow-up probed) → read (the extractive reader) → compose (a cited answer, or a decline
with its reason). Each stage hands the next a frozen result (`Asked` → `Understood` → `Retrieved` →
`Read` → `Composed`); every answer-or-decline gate is the composer's (`bot/compose.py`), and a
question it declines on understanding alone skips the search. `AnswerPath` holds the stages'
models; the index it reads comes with each question (`OpenedIndex`), so a question never sees two
versions of the index.

Building the index and watching the folder are `bot/service.py`'s job.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace

from bot.analyze import LanguageIdentifier, QuestionAnalyzer, find_names, has_pronoun, load_models, quotes
from bot.compose import AnswerComposer, Verdict, declined, overview_rows
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
# Windows the reading model reads for a question in another language than English asked of articles in
# it (`windows_to_read`). Their rankers put the window holding the answer first less often than the
# English one does: on the calibration parts, the second window read held it where the first did not for
# 12% (PIAF), 14% (CMRC) and 11% (Spanish MT) of answerable questions, against 4% for SQuAD.
OTHER_WINDOWS = 2


@dataclass(frozen=True)
class OpenedIndex:
    """One opened version of the index and what answering derives from it."""

    search: SearchIndex
    retriever: HybridRetriever
    spelling: SpellingRepair
    titles: list[str]  # "“Title” (date)" of every article, for declines


@dataclass(frozen=True)
class Asked:
    """A question as it reaches the answer path: the conversation before it and the index it reads."""

    question: str
    history: list[Turn]
    index: OpenedIndex
    deadline: object | None = None  # the LLM part's time budget (`bot.llm.client.Deadline`), when an LLM is used


@dataclass(frozen=True)
class Understood:
    """The understand stage's result: the question as answered (cut to the length limit), what it is,
    its readings in the conversation, and the composer's decline when understanding alone decides."""

    asked: Asked
    question: str
    notes: tuple[str, ...]
    analysis: QuestionAnalysis
    rewrite: Rewrite
    focus: Focus
    early: Verdict | None  # `AnswerComposer.before_search`: an instruction, or a pronoun with nothing to point at
    timings: dict[str, float]


@dataclass(frozen=True)
class Retrieved:
    """The retrieve stage's result: the reading retrieval was surest of, its chunks and ranked sentences."""

    understood: Understood
    chosen: Rewrite
    retrieval: Retrieval
    candidates: list[Candidate]
    timings: dict[str, float]


@dataclass(frozen=True)
class Read:
    """The read stage's result: the reader's span (or none) in each candidate's window."""

    retrieved: Retrieved
    readings: list[Reading]
    timings: dict[str, float]


@dataclass(frozen=True)
class Composed:
    """The compose stage's result: the answer, and what it was decided from when a window was read."""

    answer: Answer
    decided: Decided | None = None


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
    # What the reading model reads: each window's reading and its sentences (`windows_to_read`).
    windows: tuple[tuple[Reading, tuple[int, ...]], ...]


def open_snapshot(search: SearchIndex, retriever: HybridRetriever, articles, known_words) -> OpenedIndex:
    """What answering needs of one opened index (`known_words`: real words spelling repair leaves alone)."""
    titles = [f"“{a.title}”" + (f" ({a.date})" if a.date else "") for a in articles]
    return OpenedIndex(search, retriever, SpellingRepair(search.vocabulary, known_words), titles)


class AnswerPath:
    """The stages and their models, built once per Bot. `path.answer(Asked(question, history, index)) -> Answer`."""

    def __init__(self, settings, query_encoder, reader=None, llm_client=None):
        from langchain_core.runnables import RunnableBranch, RunnableLambda

        self.settings, self.encoder = settings, query_encoder
        self.known_words = query_encoder.vocabulary()
        self.languages = LanguageIdentifier()
        self.analyzer = QuestionAnalyzer(*load_models(), self.languages)
        self.rewriter = ConversationRewriter(self.languages.identify)
        if llm_client is not None:  # the LLM condenses follow-ups; the readings above are its fallback
            from bot.llm import LLMRewriter

            self.rewriter = LLMRewriter(llm_client, fallback=self.rewriter)
        self._rankers: dict[str, SentenceRanker] = {}  # language → its ranker, loaded when first asked in it
        # Every threshold, from one file; what the reading model says counts only for the model it was calibrated on.
        policy = Policy.bundled().overridden(settings.abstain_below).read_by(settings.reader_model)
        self.reader = PassageReader(reader, null_threshold=policy.reader_null_threshold)
        self.composer = AnswerComposer.bundled(policy)
        self.switch_margin = policy.switch_margin
        searched = RunnableLambda(self._retrieve) | RunnableLambda(self._read) | RunnableLambda(self._compose)
        self.chain = RunnableLambda(self._understand) | RunnableBranch(
            (lambda understood: understood.early is not None, RunnableLambda(self._decline_early)), searched
        )

    def ranker(self, language: str) -> SentenceRanker:
        """The sentence ranker for questions in `language` (`SentenceRanker.bundled`), loaded once."""
        if language not in self._rankers:
            self._rankers[language] = SentenceRanker.bundled(language)
        return self._rankers[language]

    def answer(self, asked: Asked) -> Answer:
        """Run the chain on one question."""
        return self.chain.invoke(asked).answer

    def answer_in_full(self, asked: Asked) -> tuple[Answer, Decided | None]:
        """The answer, and what it was composed from when it quotes a read window (else None)."""
        composed = self.chain.invoke(asked)
        return composed.answer, composed.decided

    def read_closely(self, answer: Answer, decided: Decided, reader: LLMSpanReader) -> tuple[Answer, SpanReading]:
        """Ask the local reading model for the span of the decided window that answers, then decide again
        with what it said (`AnswerComposer.reconsider`): a span it finds verbatim leads the answer (in place
        of the extractive reader's), above the quote that holds it; "not stated" may turn an answer down, a
        span may take back a decline. No reply, or an unchanged decision without a span, returns `answer`."""
        found = self.read_window(decided, reader)
        verdict = self.composer.reconsider(decided.verdict, found.status.value, found.not_stated)
        return self.settle(answer, decided, found, verdict), found

    @staticmethod
    def read_window(decided: Decided, reader: LLMSpanReader) -> SpanReading:
        """What the local reading model says of the decided windows (`Decided.windows`)."""
        return reader.read(decided.question, [window_text(rows, decided.index)[0] for _, rows in decided.windows])

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
            reading, window = decided.windows[found.window]
            if reading is not verdict.reading:  # found in another reading's window: the answer quotes it alone
                verdict, rows = replace(verdict, reading=reading), []
            _, offset = window_text(window, decided.index)
            lead = (offset + found.start, offset + found.end)
            spans = decided.index.sentences.spans
            rows += [r for r in window if spans[r][0] < lead[1] and lead[0] < spans[r][1]]
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

    def _understand(self, asked: Asked) -> Understood:
        began = time.perf_counter()
        question, notes, limit = asked.question, (), self.settings.max_question_chars
        if len(question) > limit:
            question, notes = question[:limit], (truncated_note(limit),)
        previous = [t.content for t in asked.history if t.role is Role.USER]
        language = self.languages.identify(question, self.languages.identify(previous[-1]) if previous else "en")
        # Spelling is repaired against English words (the model's vocabulary): other languages as typed.
        text = asked.index.spelling.repair(question) if language == "en" else question
        analysis = self.analyzer.analyze(text, self.encoder.embed_query_vector, language)
        rewrite = self.rewriter.rewrite(analysis, asked.history, deadline=asked.deadline)
        focus = conversation_focus(asked.history, asked.index.search)
        early = self.composer.before_search(analysis, rewrite)
        return Understood(asked, question, notes, analysis, rewrite, focus, early, {"understand": _ms(began)})

    def _decline_early(self, u: Understood) -> Composed:
        """The composer's decline before any search: for an unclear question, naming the word that points
        at nothing ("it")."""
        began = time.perf_counter()
        word = ""
        if u.early.reason is AbstainReason.UNCLEAR:
            word = next(w for w in re.findall(r"\w+", u.analysis.text) if has_pronoun(w, u.analysis.language))
        answer = declined(u.early.reason, u.analysis, u.question, u.asked.index.titles, word=word)
        return Composed(_finished(answer, u.question, u.notes, u.timings, began))

    def _retrieve(self, u: Understood) -> Retrieved:
        """Probe each reading of the question and keep the one retrieval is surest of. In a conversation,
        readings are searched within its article; the question alone is also searched everywhere, and
        wins (a topic switch) only when it is surer by the calibrated switch margin."""
        began = time.perf_counter()
        index, language = u.asked.index, u.analysis.language
        search = index.search
        topic = u.focus.article(search)
        readings = [u.rewrite, *u.rewrite.alternatives]
        if topic is None:
            probes = [(r, None) for r in readings]
        else:  # each reading within the conversation's article; one that may stand alone also everywhere
            probes = [(r, topic) for r in readings] + [(r, None) for r in readings if not r.uses_history]
        best: dict[bool, tuple] = {}
        for reading, within in probes:
            # A joined reading searches with the question before it, but its sentences are judged against
            # the question as asked: the earlier question's words must not pull back the earlier answer.
            judge = reading.shown or (u.analysis.text if reading.uses_history else reading.query)
            judge, query = (
                search.spelled_out(judge, self.known_words),
                search.spelled_out(reading.query, self.known_words),
            )
            vector = None if judge == query else self.encoder.embed_query_vector(judge)
            retrieval = index.retriever.retrieve(query, u.focus, within=within, language=language, judged_by=vector)
            # The ranker learned on a language serves questions asked of articles in it; across languages,
            # the English one (its few shared words need the meaning's features).
            ranker = self.ranker(language if search.in_own_language(language) else "en")
            candidates = ranker.rank(tokenize(judge, language), retrieval, search)
            confidence = candidates[0].score if candidates else 0.0
            key = within is not None
            if key not in best or confidence > best[key][0]:
                best[key] = (confidence, reading, retrieval, candidates)
        chosen = best.get(True)
        if chosen is None or (False in best and best[False][0] > chosen[0] + self.switch_margin):
            chosen = best[False]
        _, reading, retrieval, candidates = chosen
        return Retrieved(u, reading, retrieval, candidates, {**u.timings, "retrieve": _ms(began)})

    def _read(self, r: Retrieved) -> Read:
        if r.understood.analysis.intent is Intent.OVERVIEW:
            return Read(r, [], r.timings)
        began = time.perf_counter()
        question = r.chosen.shown or r.chosen.query
        readings = self.reader.read(
            question, r.candidates, r.understood.asked.index.search, r.understood.analysis.language
        )
        return Read(r, readings, {**r.timings, "read": _ms(began)})

    def _compose(self, read: Read) -> Composed:
        began = time.perf_counter()
        answer, decided = self._decide(read)
        u = read.retrieved.understood
        return Composed(_finished(answer, u.question, u.notes, read.timings, began), decided)

    def _decide(self, read: Read) -> tuple[Answer, Decided | None]:
        r = read.retrieved
        u, index = r.understood, r.understood.asked.index
        search, analysis = index.search, u.analysis
        shown = r.chosen.shown or (analysis.text if r.chosen.query == analysis.text else u.question)
        retrieved = [retrieved_chunk(search, i, score) for i, score in r.retrieval.ranking]
        if analysis.intent is Intent.OVERVIEW:  # the article it quotes, else the conversation's, else the best match
            best = [c.row for c in r.candidates[:1]]
            rows = best if quotes(analysis.text) else (u.focus.rows or best)
            if rows:
                article = search.sentences.article_ids[rows[-1]]
                return self.composer.overview(
                    overview_rows(article, search), search, retrieved, shown, u.question
                ), None
        names = find_names(r.chosen.shown or analysis.text)
        # A question that cannot stand alone ("What year?", "Who was he?") is judged as conversations'
        # questions are; one that stands alone is judged as a single question, wherever it is asked.
        leans = analysis.refers_back and any(t.role is Role.USER for t in u.asked.history)
        verdict = self.composer.decide(read.readings, r.chosen.query, names, search, self.known_words, leans)
        decided = None
        if verdict.reading is not None:  # the reading model may read its window and decide again
            rows = with_close_neighbours(self.reader.rows_of_span(verdict.reading, search), r.candidates, search)
            # A short answer the reader itself would decline is never led with.
            stands_by = self.reader.trusts(verdict.reading)
            question = r.chosen.shown or r.chosen.query
            decided = Decided(
                analysis,
                shown,
                question,
                verdict,
                tuple(rows),
                tuple(retrieved),
                search,
                index.titles,
                stands_by,
                windows_to_read(verdict.reading, read.readings, search.in_own_language(analysis.language)),
            )
        if verdict.reason is not None:
            return declined(verdict.reason, analysis, shown, index.titles, verdict.confidence, retrieved), decided
        answer = self.composer.compose(
            analysis, shown, verdict, search, list(decided.rows), retrieved, decided.stands_by
        )
        return answer, decided


def windows_to_read(
    decided: Reading, readings: list[Reading], own_language: bool
) -> tuple[tuple[Reading, tuple[int, ...]], ...]:
    """What the local reading model reads: the decided reading's window (its sentence and the one before);
    for a question in another language than English asked of articles in it, whose rankers put the
    answer's sentence first less often, the candidate sentences of the decided reading and of the next
    one the extractive reader read instead, about as much to read as one window. (On the calibration
    parts, reading both whole windows found a little more but took 1.5 times as long; on the report parts,
    once the read had its own budget, it found no more.)"""
    if not own_language:
        return ((decided, decided.rows),)
    others = [r for r in readings if r.candidate.row != decided.candidate.row][: OTHER_WINDOWS - 1]
    return tuple((r, (r.candidate.row,)) for r in [decided, *others])


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


def _finished(answer: Answer, question: str, notes: tuple[str, ...], timings: dict[str, float], began: float) -> Answer:
    """`answer` for `question` as asked, with the earlier stages' notes and timings and the total."""
    timings = {**timings, "compose": _ms(began)}
    timings["total"] = round(sum(timings.values()), 3)
    return replace(answer, question=question, timings=timings, notes=[*notes, *answer.notes])


def _with_read(answer: Answer, found: SpanReading) -> dict[str, float]:
    return {**answer.timings, "read_llm": found.ms}


def _ms(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 3)
