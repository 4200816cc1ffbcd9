"""`Bot`: the answer path wired as a LangChain Runnable — understand (spelling, analyze, rewrite) →
retrieve (hybrid, each reading of a follow-up probed) → read (extractive reader) → compose (a cited
answer, or a decline with its reason) — over one index.

The first question opens the index, syncing it with the knowledge folder when they differ (only
changed articles are re-embedded). Heavy libraries load then, not at import.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.analyze import has_pronoun, quotes
from bot.compose import cite, declined, overview_rows
from bot.inputs import clean_history, clean_question
from bot.messages import NO_ARTICLES, truncated_note
from bot.rank import MODELS, Candidate
from bot.read import Reading
from bot.retrieve import Focus, Retrieval, conversation_focus
from bot.stages import Intent, QuestionAnalysis, Rewrite, Role, Turn
from bot.types import AbstainReason, Answer, ArticleSummary, RetrievedChunk
from index.lexical import tokenize
from knowledge.settings import BUNDLED_MODEL, Settings, go_offline
from knowledge.types import Article

log = logging.getLogger(__name__)


class Bot:
    """Question answering over one folder of articles, with its own on-disk index.

    >>> Bot(knowledge_dir="knowledge/articles", index_dir="/tmp/idx").ask("Where is IDSEA based?").text  # doctest: +SKIP
    'The association is set to be located in Hefei (合肥市), … [1]'
    """

    def __init__(
        self,
        knowledge_dir: str | Path | None = None,
        index_dir: str | Path | None = None,
        settings: Settings | None = None,
        embedder=None,
    ):
        settings = settings or Settings.from_env()
        # Raw values: Settings validates and converts them (a "" folder is refused, not read as ".").
        overrides = {k: v for k, v in (("knowledge_dir", knowledge_dir), ("index_dir", index_dir)) if v is not None}
        self.settings = replace(settings, **overrides)
        self._embedder = self._injected = embedder  # tests inject one loaded model for every Bot
        self._query_encoder = None
        self._lock = threading.RLock()
        self._ready = False
        self._articles: list[Article] = []
        self.chain = None
        self.answerer = self._llm = None  # the optional LLM stages, when llm_base_url is set
        if self.settings.llm_base_url:
            from bot.llm import LLMAnswerer, LLMClient

            self._llm = LLMClient(self.settings)
            self.answerer = LLMAnswerer(self._llm)

    # --- building -----------------------------------------------------------------------------
    @property
    def embedder(self):
        """The indexing model: the bundled one is verified now and loaded only when text needs embedding."""
        with self._lock:
            if self._embedder is None:
                from index.embeddings import SentenceEmbedder, bundled_embedder

                if self.settings.model == BUNDLED_MODEL:
                    self._embedder = bundled_embedder(self.settings.model_sha256, self.settings.batch_size)
                else:
                    self._embedder = SentenceEmbedder(self.settings.model, batch_size=self.settings.batch_size)
            return self._embedder

    @property
    def query_encoder(self):
        """What embeds questions: an ONNX export of the bundled model when allowed (no torch at start-up)."""
        with self._lock:
            if self._query_encoder is None:
                encoder = None
                if self.settings.fast_queries and self.settings.model == BUNDLED_MODEL and self._injected is None:
                    from index.onnx_query import load_or_export

                    encoder = load_or_export(self.settings.cache_dir, self.embedder)
                self._query_encoder = encoder or self.embedder
            return self._query_encoder

    def _store(self):
        from index.store import ChromaStore

        signature = {
            "embedding_model": self.embedder.name,
            "dimension": self.embedder.dimension,
            "chunking": f"{self.settings.chunk_size}/{self.settings.chunk_overlap}",
        }
        return ChromaStore(self.settings.index_dir, signature)

    def index(self, rebuild: bool = False, progress: bool | None = None):
        """Build or sync the index with the knowledge folder; returns an `index.build.SyncReport`."""
        go_offline()
        from index.build import sync_index
        from knowledge.loaders import load_articles

        with self._lock:
            articles = load_articles(self.settings.knowledge_dir, max_file_mb=self.settings.max_file_mb)
            store = self._store()
            show = self.settings.progress if progress is None else progress
            report = sync_index(
                articles,
                store,
                self.embedder,
                self.settings.chunk_size,
                self.settings.chunk_overlap,
                rebuild=rebuild,
                progress=show,
            )
            self._open(articles, store)
            return report

    def _open(self, articles: list[Article], store) -> None:
        from langchain_core.runnables import RunnableLambda

        from bot.analyze import LanguageIdentifier, QuestionAnalyzer, load_models
        from bot.compose import AnswerComposer
        from bot.rank import SentenceRanker
        from bot.read import PassageReader
        from bot.retrieve import HybridRetriever, SearchIndex
        from bot.rewrite import ConversationRewriter
        from bot.spelling import SpellingRepair

        self._articles = articles
        languages = LanguageIdentifier()
        self._search = SearchIndex.load(
            store,
            {a.id: a.text for a in articles},
            {a.id: a.metadata.get("language") or languages.identify(a.text[:2000]) for a in articles},
        )
        self._search.page_starts = {a.id: a.page_starts for a in articles if a.page_starts}
        self.retriever = HybridRetriever(
            search_index=self._search,
            store=store,
            embedder=self.query_encoder,
            top_k=self.settings.top_k,
            candidates_k=self.settings.candidates_k,
            rrf_k=self.settings.rrf_k,
        )
        self._known_words = self.query_encoder.vocabulary()
        self._spelling = SpellingRepair(self._search.vocabulary, self._known_words)
        self._analyzer = QuestionAnalyzer(*load_models(), languages)
        self._rewriter = ConversationRewriter(languages.identify)
        if self._llm is not None:  # the LLM condenses follow-ups; the readings above are its fallback
            from bot.llm import LLMRewriter

            self._rewriter = LLMRewriter(self._llm, fallback=self._rewriter)
        self._ranker = SentenceRanker.bundled()
        self._reader = PassageReader(self._load_reader())
        self._composer = AnswerComposer.bundled(self.settings.abstain_below)
        self._titles = [f"“{a.title}”" + (f" ({a.date})" if a.date else "") for a in articles]
        self._switch_margin = json.loads((MODELS / "conversation.json").read_text(encoding="utf-8"))["switch_margin"]
        self.chain = (
            RunnableLambda(self._understand)
            | RunnableLambda(self._retrieve)
            | RunnableLambda(self._read)
            | RunnableLambda(self._compose)
        )
        self._ready = True

    def _load_reader(self):
        """The extractive reader (`bot/reader.py`), or None when its model is not available."""
        try:
            from bot.reader import OnnxReader
        except ImportError:
            return None
        return OnnxReader.load(self.settings.cache_dir)

    def _ensure_ready(self) -> None:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self.index(progress=False)

    # --- asking ---
    def ask(self, question: str, history: list[dict] | None = None) -> Answer:
        """Answer one question; `history` holds earlier {"role", "content"} turns (anything else is ignored).

        A question that is not a str raises TypeError, a blank one ValueError (see `bot/inputs.py`)."""
        *_, final = self.stream(question, history)
        return final

    def stream(self, question: str, history: list[dict] | None = None) -> Iterator[Answer]:
        """Successive answers to one question, the last one final. Without an LLM that is one answer;
        with one, the verified sentences grow while the LLM writes (see `bot.llm.LLMAnswerer`). Bad
        input raises here, before the first answer."""
        question = clean_question(question)
        turns = clean_history(history)
        self._ensure_ready()
        if not self._search.chunks:
            raise RuntimeError(NO_ARTICLES)
        deadline = self._llm.deadline() if self._llm else None  # one budget for the whole LLM part
        extractive = self.chain.invoke(Pending(question, turns, deadline=deadline))
        if self.answerer is None:
            return iter([extractive])
        asked = extractive.query if turns else extractive.question  # a follow-up goes as its standalone form
        return self.answerer.stream(asked, extractive.retrieved, extractive, deadline=deadline)

    def _understand(self, p: Pending) -> Pending:
        began = time.perf_counter()
        limit = self.settings.max_question_chars
        if len(p.question) > limit:
            p.question, p.notes = p.question[:limit], [truncated_note(limit)]
        text = self._spelling.repair(p.question)
        previous = [t.content for t in p.history if t.role is Role.USER]
        language = self._analyzer.languages.identify(previous[-1]) if previous else "en"
        p.analysis = self._analyzer.analyze(text, self.query_encoder.embed_query_vector, language)
        p.rewrite = self._rewriter.rewrite(p.analysis, p.history, deadline=p.deadline)
        p.focus = conversation_focus(p.history, self._search)
        if p.analysis.intent is Intent.INSTRUCTION:
            p.answer = declined(AbstainReason.INSTRUCTION, p.analysis, p.question, self._titles)
        elif p.rewrite.unresolved and p.analysis.intent is Intent.QUESTION:  # "it" in a new chat: ask which
            word = next(w for w in re.findall(r"\w+", text) if has_pronoun(w, p.analysis.language))
            p.answer = declined(AbstainReason.UNCLEAR, p.analysis, p.question, self._titles, word=word)
        p.timings["understand"] = _ms(began)
        return p

    def _retrieve(self, p: Pending) -> Pending:
        """Probe each reading of the question and keep the one retrieval is surest of. In a conversation,
        readings are searched within its article; the question alone is also searched everywhere, and
        wins (a topic switch) only when it is surer by the calibrated switch margin."""
        if p.answer is not None:
            return p
        began = time.perf_counter()
        topic = p.focus.article(self._search)
        readings = [p.rewrite, *p.rewrite.alternatives]
        if topic is None:
            probes = [(r, None) for r in readings]
        else:  # each reading within the conversation's article; one that may stand alone also everywhere
            probes = [(r, topic) for r in readings] + [(r, None) for r in readings if not r.uses_history]
        best: dict[bool, tuple] = {}
        language = p.analysis.language
        for reading, within in probes:
            # A joined reading searches with the question before it, but its sentences are judged against
            # the question as asked: the earlier question's words must not pull back the earlier answer.
            judge = reading.shown or (p.analysis.text if reading.uses_history else reading.query)
            vector = None if judge == reading.query else self.query_encoder.embed_query_vector(judge)
            retrieval = self.retriever.retrieve(
                reading.query, p.focus, within=within, language=language, judged_by=vector
            )
            candidates = self._ranker.rank(tokenize(judge, language), retrieval, self._search)
            confidence = candidates[0].score if candidates else 0.0
            key = within is not None
            if key not in best or confidence > best[key][0]:
                best[key] = (confidence, reading, retrieval, candidates)
        chosen = best.get(True)
        if chosen is None or (False in best and best[False][0] > chosen[0] + self._switch_margin):
            chosen = best[False]
        p.confidence, p.chosen, p.retrieval, p.candidates = chosen
        p.timings["retrieve"] = _ms(began)
        return p

    def _read(self, p: Pending) -> Pending:
        if p.answer is not None or p.analysis.intent is Intent.OVERVIEW:
            return p
        began = time.perf_counter()
        question = p.chosen.shown or p.chosen.query
        p.readings = self._reader.read(question, p.candidates, self._search, p.analysis.language)
        p.timings["read"] = _ms(began)
        return p

    def _compose(self, p: Pending) -> Answer:
        began = time.perf_counter()
        answer = p.answer or self._answer(p)
        timings = {**p.timings, "compose": _ms(began)}
        timings["total"] = round(sum(timings.values()), 3)
        return replace(answer, question=p.question, timings=timings, notes=p.notes + answer.notes)

    def _answer(self, p: Pending) -> Answer:
        shown = p.chosen.shown or (p.analysis.text if p.chosen.query == p.analysis.text else p.question)
        retrieved = [retrieved_chunk(self._search, i, score) for i, score in p.retrieval.ranking]
        if p.analysis.intent is Intent.OVERVIEW:  # the article it quotes, else the conversation's, else the best match
            best = [c.row for c in p.candidates[:1]]
            rows = best if quotes(p.analysis.text) else (p.focus.rows or best)
            if rows:
                article = self._search.sentences.article_ids[rows[-1]]
                text, citations = cite(overview_rows(article, self._search), self._search, retrieved)
                return Answer(text, citations, False, shown, retrieved, question=p.question, confidence=1.0)
        verdict = self._composer.decide(p.readings, p.chosen.query, self._search, self._known_words)
        if verdict.reason is not None:
            return declined(verdict.reason, p.analysis, shown, self._titles, verdict.confidence, retrieved)
        rows = self._reader.rows_of_span(verdict.reading, self._search)
        return self._composer.compose(p.analysis, shown, verdict, self._search, rows, retrieved)

    @property
    def abstain_threshold(self) -> float:
        """The confidence below which an (English, read) answer is declined: calibrated, or the setting."""
        self._ensure_ready()
        return self._composer.with_reader[1]

    # --- describing ---------------------------------------------------------------------------
    def articles(self) -> list[Article]:
        """The articles the index holds (syncs first if needed)."""
        self._ensure_ready()
        return list(self._articles)

    def summaries(self) -> list[ArticleSummary]:
        """Title, date, passages, format and pages per indexed document, for a "what I know" panel."""
        self._ensure_ready()
        counts = Counter(c.article_id for c in self._search.chunks)
        return [
            ArticleSummary(
                a.id,
                a.title,
                a.date,
                counts.get(a.id, 0),
                format=a.format,
                pages=a.pages,
            )
            for a in self._articles
        ]

    # --- changing the documents -----------------------------------------------------------------
    def add_documents(self, paths: Iterable[str | Path]) -> list[ArticleSummary]:
        """Copy files into the knowledge folder (safe names, never overwriting), sync the index, and
        return the summaries of the documents they became. A file the loaders cannot read is taken
        out again (with a warning) and has no summary. Raises `UploadError` before copying anything
        when a file is of a refused type or size."""
        from knowledge.uploads import check_upload, remove_document_file, save_upload

        folder, limit = self.settings.knowledge_dir, self.settings.max_upload_mb
        paths = [Path(p) for p in paths]
        for path in paths:
            check_upload(path, limit)
        with self._lock:
            saved = [save_upload(path, folder, limit) for path in paths]
            self.index(progress=False)
            by_path = {a.path.resolve(): a.id for a in self._articles if a.path}
            added = {by_path[p.resolve()] for p in saved if p.resolve() in by_path}
            for path in saved:
                if path.resolve() not in by_path:
                    log.warning("Removed %s again: it could not be read as a document", path.name)
                    remove_document_file(path, folder)
            return [s for s in self.summaries() if s.article_id in added]

    def remove_document(self, article_id: str) -> None:
        """Delete a document's file from the knowledge folder and sync the index (`UploadError` if unknown)."""
        from knowledge.uploads import UploadError, remove_document_file

        with self._lock:
            article = next((a for a in self.articles() if a.id == article_id), None)
            if article is None or article.path is None:
                raise UploadError(f"no document with id {article_id!r}")
            if len(self._articles) == 1:
                raise UploadError(f"{article.title}: the only document cannot be deleted; add another first")
            remove_document_file(article.path, self.settings.knowledge_dir)
            self.index(progress=False)


@dataclass
class Pending:
    """An answer in the making, handed from stage to stage of `Bot.chain`."""

    question: str
    history: list[Turn]
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    analysis: QuestionAnalysis | None = None
    rewrite: Rewrite | None = None
    focus: Focus = field(default_factory=Focus)
    chosen: Rewrite | None = None  # the reading retrieval was surest of
    retrieval: Retrieval | None = None
    candidates: list[Candidate] = field(default_factory=list)
    confidence: float = 0.0
    readings: list[Reading] = field(default_factory=list)
    answer: Answer | None = None  # set when a stage has already decided (an instruction, an unclear reference)
    deadline: object | None = None  # the LLM part's time budget (`bot.llm.client.Deadline`), when an LLM is used


def retrieved_chunk(index, chunk_index: int, score: float) -> RetrievedChunk:
    """The public view of one retrieved chunk."""
    chunk = index.chunks[chunk_index]
    return RetrievedChunk(
        chunk.id, chunk.article_id, chunk.title, chunk.text, chunk.start, chunk.end, score, chunk.date
    )


def _ms(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 3)
