"""`Bot`: one folder of articles, its index, and the answer path over it (`bot/pipeline.py`).

The first question opens the index, syncing it with the knowledge folder when they differ (only
changed articles are re-embedded). `watch()` keeps a long-lived Bot in sync in the background; each
question reads one committed snapshot from start to end. Heavy libraries load then, not at import.
An optional LLM (`Settings.llm_base_url`) writes answers that are verified sentence by sentence.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from bot.answer_traffic import AnswersFirst, AnswerTraffic
from bot.inputs import clean_history, clean_question
from bot.live import Live, open_live
from bot.messages import NO_ARTICLES
from bot.types import Answer, ArticleSummary, RetrievedChunk
from knowledge.errors import Unavailable
from knowledge.settings import BUNDLED_MODEL, Settings, go_offline
from knowledge.types import Article

log = logging.getLogger(__name__)
_UNSET = object()


class NoArticles(Unavailable):
    """The index holds no article (every one was deleted from the folder)."""


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
        # Locks, always taken in this order: `_documents_lock` (one upload or delete at a time), `_lock`
        # (opening the index and building the answer path, once), `_sync_lock` (one sync at a time in this
        # process; the file lock orders processes), `_models_lock` (loading the models). A question takes
        # none of them once the index is open: it reads `_live`, which a sync replaces whole.
        self._documents_lock = threading.Lock()
        self._traffic = AnswerTraffic()  # questions being answered now: a sync's embedding pauses for them
        self._lock = threading.RLock()
        self._sync_lock = threading.Lock()
        self._models_lock = threading.RLock()
        self._live: Live | None = None  # the snapshot answers use; replaced whole, never edited
        self._path = None  # the answer path (bot/pipeline.py), built on first use
        self._watcher = None
        self._dirty = False
        self.answerer = self._llm = None  # the optional LLM stages, when llm_base_url is set
        self._reading_model = _UNSET  # the local reading model, looked for on first use
        if self.settings.llm_base_url:
            from bot.llm import LLMAnswerer, LLMClient

            self._llm = LLMClient(self.settings)
            self.answerer = LLMAnswerer(self._llm)

    # --- building -----------------------------------------------------------------------------
    @property
    def embedder(self):
        """The indexing model: the bundled one is verified now and loaded only when text needs embedding."""
        with self._models_lock:  # not `_lock`: a sync in the background asks for it while `_lock` is held
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
        with self._models_lock:
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

    def _server(self, folder):
        """The Chroma server holding the chunk vectors (`index.store.ChromaServer`), or None."""
        from index.store import ChromaServer

        url = self.settings.chroma_url
        return ChromaServer(url, folder.identity(), self.settings.store_timeout_s) if url else None

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
            articles = load_articles(self.settings.knowledge_dir, max_file_mb=self.settings.max_file_mb)
        except ArticleFolderError:
            if not (allow_empty and Path(self.settings.knowledge_dir).is_dir()):
                raise
            articles = []  # every article was deleted: the index must forget them too
        show = self.settings.progress if progress is None else progress
        folder = self._folder()
        return sync_index(
            articles,
            folder,
            AnswersFirst(self.embedder, self._traffic),
            self.settings.chunk_size,
            self.settings.chunk_overlap,
            server=self._server(folder),
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
            raise NoArticles(NO_ARTICLES)
        if self._live is None or snapshot.version != self._live.version:
            self._live = open_live(snapshot, self.settings, self.query_encoder, self._server(self._folder()))

    @property
    def path(self):
        """The answer path (`bot.pipeline.AnswerPath`): its models load once, on first use."""
        if self._path is not None:  # built: no lock, so a question never queues behind an upload
            return self._path
        with self._lock:
            if self._path is None:
                from bot.pipeline import AnswerPath

                self._path = AnswerPath(self.settings, self.query_encoder, self._load_reader(), self._llm)
            return self._path

    def _load_reader(self):
        """The extractive reader (`bot/reader.py`), or None when its model is not available."""
        try:
            from bot.reader_export import load_reader
        except ImportError:
            return None
        return load_reader(self.settings.cache_dir)

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
    @property
    def _search(self):
        return self._live.index.search

    @property
    def retriever(self):
        return self._live.index.retriever

    @property
    def _articles(self) -> list[Article]:
        return self._live.articles

    # --- asking -------------------------------------------------------------------------------
    def ask(self, question: str, history: list[dict] | None = None) -> Answer:
        """Answer one question; `history` holds earlier {"role", "content"} turns (anything else is ignored).

        A question that is not a str raises TypeError, a blank one ValueError (see `bot/inputs.py`)."""
        *_, final = self.stream(question, history)
        return final

    def stream(self, question: str, history: list[dict] | None = None) -> Iterator[Answer]:
        """Successive answers to one question, the last one final. The extractive answer comes first (in
        about 20 ms); with the local reading model (`Settings.reader`), the answer it leads to may follow
        (`bot/close_reading.py`: a follow-up made standalone, a span found verbatim, the decision taken again
        with what it read), each step within `reader_wait_s` for the model and `reader_read_s` for its read. With
        an LLM server, the verified sentences grow while the LLM writes (see `bot.llm.LLMAnswerer`). Bad input raises here, before the first answer."""
        from bot.pipeline import Asked

        question = clean_question(question)
        turns = clean_history(history)
        # The reading model loads in the background while the index opens and the instant answer is found.
        reading = self._reading_in_use
        self._ensure_ready()
        live = self._live  # every stage of this question reads this snapshot
        if not live.index.search.chunks:
            raise NoArticles(NO_ARTICLES)
        deadline = self._llm.deadline() if self._llm else None  # one budget for the whole LLM part
        with self._traffic.answering():
            extractive, decided = self.path.answer_in_full(Asked(question, turns, live.index, deadline=deadline))
        if self.answerer is not None:
            asked = extractive.query if turns else extractive.question  # a follow-up goes as its standalone form
            return self.answerer.stream(asked, extractive.retrieved, extractive, deadline=deadline)
        if reading is None or (decided is None and not turns):
            return iter([extractive])
        from bot.close_reading import refine

        return refine(self.path, reading, extractive, decided, turns, live.index)

    @property
    def reading_model(self):
        """The local reading model (`bot/close_reading.py`), or None: `reader=extractive`, the model not in
        the cache, or xllamacpp missing (then one log line says so, and answers are the extractive path's)."""
        if self._reading_model is _UNSET:
            identify = self.path.languages.identify  # before `_models_lock`: building the path takes `_lock` first
            with self._models_lock:
                if self._reading_model is _UNSET:
                    from bot.close_reading import load_reading_model

                    self._reading_model = load_reading_model(self.settings, identify)
        return self._reading_model

    def warm_up(self) -> None:
        """Open the index and start loading the reading model (in the background), so that the first
        question waits for neither: what `dsqa serve`, `dsqa chat` and `dsqa mcp` do before the first one."""
        self._ensure_ready()
        _ = self._reading_in_use

    @property
    def _reading_in_use(self):
        """The reading model when answers use it: not with an LLM server, which writes them instead."""
        return self.reading_model if self.answerer is None else None

    @property
    def span_reader(self):
        """The reading model's span reader (`bot/llm_reader.py`), or None without the model."""
        return self.reading_model.reader if self.reading_model is not None else None

    def search(self, query: str, k: int = 5) -> list[RetrievedChunk]:
        """The `k` passages the hybrid retriever ranks first for `query` (no reading, no answer), best first.

        >>> [c.title for c in bot.search("Where is IDSEA based?", k=2)]  # doctest: +SKIP
        ['China to Launch International Space Exploration Association', ...]
        """
        query = clean_question(query)
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k must be a whole number above 0, not {k!r}")
        self._ensure_ready()
        live = self._live
        from bot.pipeline import retrieved_chunk

        retriever = live.index.retriever.model_copy(update={"top_k": k})
        return [retrieved_chunk(live.index.search, i, float(score)) for i, score in retriever.retrieve(query).ranking]

    @property
    def abstain_threshold(self) -> float:
        """The confidence below which an (English, read) answer is declined: calibrated, or the setting."""
        return self.path.composer.with_reader[1]

    # --- describing ---------------------------------------------------------------------------
    def articles(self) -> list[Article]:
        """The articles the index holds (syncs first if needed)."""
        self._ensure_ready()
        return list(self._articles)

    def summaries(self) -> list[ArticleSummary]:
        """Title, date, passages, format and pages per indexed document, for a "what I know" panel."""
        self._ensure_ready()
        return list(self._live.summaries)

    # --- changing the documents -----------------------------------------------------------------
    def add_documents(self, paths: Iterable[str | Path]) -> list[ArticleSummary]:
        """Copy files into the knowledge folder and sync the index; return the summaries of the documents
        they became, whose `article_id` is the id that deletes them.

        Every file is checked first (type, size, and read as the loaders will read it): if any is
        refused, `UploadError` names each refused file and why ("locked.pdf: it is an encrypted PDF
        that needs a password") and nothing is copied. A new file never takes an existing document's
        id: it is saved under a name whose id is free (`harbour-2.md` beside `harbour.txt`)."""
        from knowledge.folder import assign_ids, base_id, list_candidates
        from knowledge.loaders import ArticleRefused, read_article
        from knowledge.uploads import UploadError, check_upload, remove_document_file, save_upload

        folder, limit = self.settings.knowledge_dir, self.settings.max_upload_mb
        paths = [Path(p) for p in paths]
        refused = []
        for path in paths:
            check_upload(path, limit)
            try:
                read_article(path, max_file_mb=min(limit, self.settings.max_file_mb))
            except ArticleRefused as why:
                refused.append(str(why))
        if refused:
            raise UploadError("; ".join(refused))
        self._ensure_ready()
        with self._documents_lock:  # not `_lock`: questions go on answering from the current snapshot
            taken = set(assign_ids([c.relative for c in list_candidates(Path(folder))[0]])[0].values())
            saved = []
            for path in paths:
                saved.append(save_upload(path, folder, limit, taken_ids=frozenset(taken)))
                taken.add(base_id(saved[-1].name))
            self.index(progress=False)
            by_path = {a.path.resolve(): a.id for a in self._articles if a.path}
            added = {by_path[p.resolve()] for p in saved if p.resolve() in by_path}
            for path in saved:
                if path.resolve() not in by_path:  # read when checked, not now: changed or removed meanwhile
                    log.warning("Removed %s again: it could not be read as a document", path.name)
                    remove_document_file(path, folder)
            return [s for s in self.summaries() if s.article_id in added]

    def remove_document(self, article_id: str) -> None:
        """Delete a document's file from the knowledge folder and sync the index (`UploadError` if unknown)."""
        from knowledge.uploads import UploadError, remove_document_file

        self._ensure_ready()
        with self._documents_lock:
            article = next((a for a in self.articles() if a.id == article_id), None)
            if article is None or article.path is None:
                raise UploadError(f"no document with id {article_id!r}")
            if len(self._articles) == 1:
                raise UploadError(f"{article.title}: the only document cannot be deleted; add another first")
            remove_document_file(article.path, self.settings.knowledge_dir)
            self.index(progress=False)
