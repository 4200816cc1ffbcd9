"""`Bot`: the answer path wired as a LangChain Runnable — prepare (validate, repair typos, resolve
follow-ups) → retrieve (hybrid) → compose (cited answer or abstention) — over one index.

The first question opens the index, syncing it with the knowledge folder when they differ (only
changed articles are re-embedded). `watch()` keeps a long-lived Bot in sync in the background; each
question reads one committed snapshot from start to end. Heavy libraries load then, not at import.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path

from bot.messages import EMPTY_QUESTION, NO_ARTICLES, truncated_note
from bot.types import Answer, ArticleSummary
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
        overrides = {
            k: Path(v) for k, v in (("knowledge_dir", knowledge_dir), ("index_dir", index_dir)) if v is not None
        }
        self.settings = replace(settings, **overrides)
        self._embedder = self._injected = embedder  # tests inject one loaded model for every Bot
        self._query_encoder = None
        self._lock = threading.RLock()
        self._sync_lock = threading.Lock()  # one sync at a time in this process (the file lock: across processes)
        self._live: _Live | None = None  # the snapshot answers use; replaced whole, never edited
        self._active: ContextVar[_Live | None] = ContextVar(f"dsqa-bot-{id(self)}", default=None)
        self._known_words: frozenset[str] | None = None
        self._watcher = None
        self._dirty = False
        self.chain = None

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

    def _folder(self):
        from index.folder import IndexFolder

        return IndexFolder(self.settings.index_path)

    def _location(self, folder):
        from index.store import StoreLocation

        url = self.settings.chroma_url
        return StoreLocation(folder.chroma_path, url, folder.identity() if url else "")

    def index(self, rebuild: bool = False, progress=None, wait: float | None = None, on_wait=None):
        """Build or sync the index with the knowledge folder, then answer from it; returns an
        `index.build.SyncReport`. `progress`: True for a bar, or a callback taking `SyncProgress`
        events. `wait`: seconds to wait for another process writing the index (None: as long as
        it takes; 0: raise `IndexBusyError` at once)."""
        with self._sync_lock:
            report = self._sync(rebuild=rebuild, progress=progress, wait=wait, on_wait=on_wait, verify=True)
            self._reopen()
            return report

    def _sync(self, rebuild=False, progress=None, wait=None, on_wait=None, verify=True, allow_empty=False):
        go_offline()
        from index.build import progress_bar, sync_index
        from knowledge.loaders import ArticleFolderError, load_articles

        try:
            articles = load_articles(self.settings.knowledge_dir)
        except ArticleFolderError:
            if not (allow_empty and Path(self.settings.knowledge_dir).is_dir()):
                raise
            articles = []  # every article was deleted: the index must forget them too
        show = self.settings.progress if progress is None else progress
        folder = self._folder()
        return sync_index(
            articles,
            folder,
            self._location(folder),
            self.embedder,
            self.settings.chunk_size,
            self.settings.chunk_overlap,
            rebuild=rebuild,
            progress=show if callable(show) else (progress_bar() if show else None),
            wait=wait,
            on_wait=on_wait,
            verify=verify,
        )

    def _reopen(self) -> None:
        """Answer from the committed snapshot, if it is not the one in use already (one swap)."""
        snapshot = self._folder().snapshot()
        if snapshot is None:
            raise RuntimeError(NO_ARTICLES)
        if self._live is None or snapshot.version != self._live.version:
            self._live = self._open(snapshot)

    def _open(self, snapshot) -> _Live:
        from langchain_core.runnables import RunnableLambda

        from bot.retrieve import HybridRetriever, SearchIndex

        search = SearchIndex.load(snapshot)
        retriever = HybridRetriever(
            search_index=search,
            store=self._dense_search(snapshot),
            embedder=self.query_encoder,
            top_k=self.settings.top_k,
            candidates_k=self.settings.candidates_k,
            rrf_k=self.settings.rrf_k,
        )
        if self._known_words is None:
            self._known_words = self._vocabulary_of_model()
        if self.chain is None:
            self.chain = RunnableLambda(self._prepare) | RunnableLambda(self._retrieve) | RunnableLambda(self._compose)
        articles = snapshot.articles()
        summaries = [ArticleSummary(e.id, e.title, e.date, e.chunk_count, e.format, e.pages) for e in snapshot.entries]
        return _Live(
            version=snapshot.version,
            search=search,
            retriever=retriever,
            articles=articles,
            summaries=summaries,
            # Article words as the articles spell them, plus acronyms of their long names ("esa" → "ESA").
            spellings={
                **{a: a.upper() for a, name in search.acronyms.items() if name and len(a) >= 3},
                **search.vocabulary,
            },
            coverage=self._describe_coverage(articles),
        )

    def _dense_search(self, snapshot):
        """Exact search over the snapshot's vectors, or the Chroma server's (checked against it)."""
        if not self.settings.chroma_url:
            return snapshot
        from index.store import ChromaStore, chroma_client

        location = self._location(self._folder())
        try:
            store = ChromaStore(chroma_client(url=location.url), location.collection, {}, create=False)
            marker = store.marker()
        except Exception as exc:  # unreachable, or no collection for this index
            log.warning("Chroma server %s unusable (%s): searching the index's own vectors", location.url, exc)
            return snapshot
        if marker != snapshot.version:
            log.warning(
                "Chroma server holds snapshot %s, the index folder %s: hits outside the folder's are skipped",
                marker,
                snapshot.version,
            )
        return store

    def _ensure_ready(self) -> None:
        """Open the index on first use: a quick sync first (unless another process is writing the
        index: then the last complete one answers), and start watching the folder if asked to."""
        if self._live is not None:
            return
        from index.folder import IndexBusyError

        with self._lock:
            if self._live is not None:
                return
            folder = self._folder()
            try:
                with self._sync_lock:
                    self._sync(progress=False, wait=0 if folder.exists() else None, verify=False)
            except IndexBusyError as exc:
                log.warning("%s; answering from the last complete index", exc)
            self._reopen()

    # --- watching -----------------------------------------------------------------------------
    def watch(self) -> Bot:
        """Keep the index in sync with the knowledge folder while this Bot lives: changes are synced
        in the background and answers switch to the new snapshot when it is complete (they never
        wait for a sync). Also picks up snapshots committed by other processes. `close()` stops it."""
        from index.watch import FolderWatcher
        from knowledge.loaders import SUPPORTED_SUFFIXES

        self._ensure_ready()
        if self._watcher is None or not self._watcher.running:
            self._watcher = FolderWatcher(self.settings.knowledge_dir, self._on_tick, tuple(SUPPORTED_SUFFIXES))
            self._watcher.start()
        return self

    def close(self) -> None:
        """Stop watching the folder (if watching)."""
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None

    def _on_tick(self, changed: bool) -> None:
        from index.folder import IndexBusyError

        self._dirty = self._dirty or changed
        if self._dirty:
            try:
                with self._sync_lock:
                    report = self._sync(progress=False, wait=0, verify=False, allow_empty=True)
                self._dirty = False
                if report.added or report.changed or report.removed:
                    log.info("Knowledge folder changed: %s", report.summary())
            except IndexBusyError:
                pass  # another process is writing: retry on the next tick, and pick up its snapshot
        if self._folder().current_version() != (self._live.version if self._live else None):
            self._reopen()

    # --- the snapshot answers use (one per question, even while a new one is swapped in) -------
    def _view(self) -> _Live:
        return self._active.get() or self._live

    @property
    def _search(self):
        return self._view().search

    @property
    def retriever(self):
        return self._view().retriever

    @property
    def _articles(self) -> list[Article]:
        return self._view().articles

    @property
    def _spellings(self) -> dict[str, str]:
        return self._view().spellings

    @property
    def _coverage(self):
        return self._view().coverage

    # --- asking -------------------------------------------------------------------------------
    def ask(self, question: str, history: list[dict] | None = None) -> Answer:
        """Answer one question; `history` holds earlier {"role", "content"} turns (extra keys ignored)."""
        if not isinstance(question, str) or not question.strip():
            raise ValueError(EMPTY_QUESTION)
        self._ensure_ready()
        live = self._live
        if not live.search.chunks:
            raise RuntimeError(NO_ARTICLES)
        token = self._active.set(live)  # every stage of this question reads the same snapshot
        try:
            return self.chain.invoke({"question": question, "history": list(history or [])})
        finally:
            self._active.reset(token)

    def _prepare(self, state: dict) -> dict:
        from bot.conversation import standalone_query
        from bot.tokenize import repair_typos

        began = time.perf_counter()
        question, notes = state["question"].strip(), []
        limit = self.settings.max_question_chars
        if len(question) > limit:
            question, notes = question[:limit], [truncated_note(limit)]

        def repair(text: str) -> str:
            return repair_typos(text, self._spellings, self._known_words)

        history = [
            {"role": m.get("role"), "content": repair(m["content"]) if m.get("role") == "user" else m["content"]}
            for m in state["history"]
            if isinstance(m, dict) and isinstance(m.get("content"), str)
        ]
        query = self._search.expand_acronyms(standalone_query(repair(question), history))
        timings = {"prepare": _ms(began)}
        return {"question": question, "query": query, "notes": notes, "timings": timings}

    def _retrieve(self, state: dict) -> dict:
        began = time.perf_counter()
        vector = self.query_encoder.embed_query_vector(state["query"])
        state["timings"]["embed"] = _ms(began)
        began = time.perf_counter()
        documents = self.retriever.invoke(state["query"])
        state["ranking"] = [(d.metadata["chunk_index"], d.metadata["score"]) for d in documents]
        state["vector"] = vector
        state["timings"]["retrieve"] = _ms(began)
        return state

    def _compose(self, state: dict) -> Answer:
        from bot.compose import compose_answer
        from bot.rank import rank_sentences

        began = time.perf_counter()
        ranked = rank_sentences(state["question"], state["query"], state["vector"], state["ranking"], self._search)
        answer = compose_answer(
            state["question"],
            state["query"],
            ranked,
            state["ranking"],
            self._search,
            self._known_words,
            self.settings.abstain_below,
            self._coverage,
        )
        timings = {**state["timings"], "compose": _ms(began)}
        timings["total"] = round(sum(timings.values()), 3)
        return replace(answer, timings=timings, notes=state["notes"] + answer.notes)

    # --- describing ---------------------------------------------------------------------------
    def articles(self) -> list[Article]:
        """The articles the index holds (syncs first if needed)."""
        self._ensure_ready()
        return list(self._articles)

    def summaries(self) -> list[ArticleSummary]:
        """Title, date, chunk count, format and pages per indexed article, for a "what I know" panel."""
        self._ensure_ready()
        return list(self._live.summaries)

    def _describe_coverage(self, articles: list[Article]) -> tuple[list[str], list[str]]:
        from bot.conversation import find_entities

        titles = [f"“{a.title}”" + (f" ({a.date})" if a.date else "") for a in articles]
        names = Counter(
            e.text
            for a in articles
            for e in find_entities(a.text)
            if len(e.text) > 3 and (" " in e.text or e.text.isupper())
        )
        return titles, [name for name, count in names.most_common(4) if count > 1]

    def _vocabulary_of_model(self) -> frozenset[str]:
        return self.query_encoder.vocabulary()


@dataclass(frozen=True)
class _Live:
    """One opened snapshot and everything answering derives from it."""

    version: int
    search: object  # bot.retrieve.SearchIndex
    retriever: object  # bot.retrieve.HybridRetriever
    articles: list[Article]
    summaries: list[ArticleSummary]
    spellings: dict[str, str]
    coverage: tuple[list[str], list[str]]


def _ms(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 3)
