"""`Bot`: the answer path wired as a LangChain Runnable — prepare (validate, repair typos, resolve
follow-ups) → retrieve (hybrid) → compose (cited answer or abstention) — over one index.

The first question opens the index, syncing it with the knowledge folder when they differ (only
changed articles are re-embedded). Heavy libraries load then, not at import.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from bot.messages import EMPTY_QUESTION, NO_ARTICLES, truncated_note
from bot.stages import QuestionAnalysis, Rewrite, Role, Turn
from bot.types import Answer, ArticleSummary
from knowledge.settings import BUNDLED_MODEL, Settings, go_offline
from knowledge.types import Article


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
        self._ready = False
        self._articles: list[Article] = []
        self.chain = None
        self.answerer = self.llm_rewriter = None  # the optional LLM stages, when llm_base_url is set
        if self.settings.llm_base_url:
            from bot.llm import LLMAnswerer, LLMClient, LLMRewriter

            client = LLMClient(self.settings)
            self.answerer, self.llm_rewriter = LLMAnswerer(client), LLMRewriter(client, fallback=_RuleRewriter())

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
            articles = load_articles(self.settings.knowledge_dir)
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

        from bot.retrieve import HybridRetriever, SearchIndex

        self._articles = articles
        self._search = SearchIndex.load(store, {a.id: a.text for a in articles})
        self.retriever = HybridRetriever(
            search_index=self._search,
            store=store,
            embedder=self.query_encoder,
            top_k=self.settings.top_k,
            candidates_k=self.settings.candidates_k,
            rrf_k=self.settings.rrf_k,
        )
        self._known_words = self._vocabulary_of_model()
        # Article words as the articles spell them, plus acronyms of their long names ("esa" → "ESA").
        self._spellings = {
            **{a: a.upper() for a, name in self._search.acronyms.items() if name and len(a) >= 3},
            **self._search.vocabulary,
        }
        self._coverage = self._describe_coverage()
        self.chain = RunnableLambda(self._prepare) | RunnableLambda(self._retrieve) | RunnableLambda(self._compose)
        self._ready = True

    def _ensure_ready(self) -> None:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self.index(progress=False)

    # --- asking -------------------------------------------------------------------------------
    def ask(self, question: str, history: list[dict] | None = None) -> Answer:
        """Answer one question; `history` holds earlier {"role", "content"} turns (extra keys ignored)."""
        *_, final = self.stream(question, history)
        return final

    def stream(self, question: str, history: list[dict] | None = None) -> Iterator[Answer]:
        """Successive answers to one question, the last one final. Without an LLM that is one answer;
        with one, the verified sentences grow while the LLM writes (see `bot.llm.LLMAnswerer`). Bad
        input raises here, before the first answer."""
        if not isinstance(question, str) or not question.strip():
            raise ValueError(EMPTY_QUESTION)
        self._ensure_ready()
        if not self._search.chunks:
            raise RuntimeError(NO_ARTICLES)
        history = list(history or [])
        deadline = self.answerer.client.deadline() if self.answerer else None  # one budget for the LLM part
        extractive = self.chain.invoke({"question": question, "history": history, "deadline": deadline})
        if self.answerer is None:
            return iter([extractive])
        asked = extractive.query if history else extractive.question  # a follow-up goes as its standalone form
        return self.answerer.stream(asked, extractive.retrieved, extractive, deadline=deadline)

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
        if self.llm_rewriter is not None and history:
            turns = [Turn(Role(m["role"]), m["content"]) for m in history if m["role"] in ("user", "assistant")]
            analysis = QuestionAnalysis(text=repair(question), language="und")
            standalone = self.llm_rewriter.rewrite(analysis, turns, deadline=state.get("deadline")).query
        else:
            standalone = standalone_query(repair(question), history)
        query = self._search.expand_acronyms(standalone)
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
        """Title, date and chunk count per indexed article, for a "what I know" panel."""
        self._ensure_ready()
        counts = Counter(c.article_id for c in self._search.chunks)
        return [ArticleSummary(a.id, a.title, a.date, counts.get(a.id, 0)) for a in self._articles]

    def _describe_coverage(self) -> tuple[list[str], list[str]]:
        from bot.conversation import find_entities

        titles = [f"“{a.title}”" + (f" ({a.date})" if a.date else "") for a in self._articles]
        names = Counter(
            e.text
            for a in self._articles
            for e in find_entities(a.text)
            if len(e.text) > 3 and (" " in e.text or e.text.isupper())
        )
        return titles, [name for name, count in names.most_common(4) if count > 1]

    def _vocabulary_of_model(self) -> frozenset[str]:
        return self.query_encoder.vocabulary()


class _RuleRewriter:
    """The rule-based follow-up resolution (`bot.conversation`) as a `Rewriter`: the LLM rewriter's fallback."""

    def rewrite(self, analysis: QuestionAnalysis, history: Sequence[Turn]) -> Rewrite:
        from bot.conversation import standalone_query

        query = standalone_query(analysis.text, [{"role": t.role.value, "content": t.content} for t in history])
        changed = query != analysis.text
        return Rewrite(query=query, shown=query if changed else None, uses_history=changed)


def _ms(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 3)
