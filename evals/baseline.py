"""The reference system every eval number is read against: the canonical LangChain RAG recipe.

RecursiveCharacterTextSplitter (1000 characters, 200 overlap), Chroma similarity search top-4 via
langchain-chroma with the same bundled embedding model, and as the answer the retrieved sentence most
similar to the question, cited. It never abstains and ignores the conversation (the recipe has no
memory). Same loader and sentence splitter as the bot, so only the method differs.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import numpy as np

from bot.types import Answer, Citation, RetrievedChunk
from index.chunking import split_into_sentences
from knowledge.loaders import load_articles
from knowledge.settings import BUNDLED_MODEL, BUNDLED_MODEL_SHA256
from knowledge.types import Article

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
TOP_K = 4
NAME = "LangChain recipe"
BASELINE_NOTE = (
    "LangChain recipe: RecursiveCharacterTextSplitter 1000/200, Chroma top-4 with the same embedding model, the retrieved "
    "sentence most similar to the question as the answer; no memory, never abstains. It retrieves 4 chunks, so its hit@5 is hit@4."
)


class BaselineBot:
    """`ask()` like `Bot.ask`, over an in-memory Chroma collection built from `knowledge_dir`.

    >>> BaselineBot("knowledge/articles").ask("Where is IDSEA based?").citations[0].quote  # doctest: +SKIP
    """

    def __init__(self, knowledge_dir: str | Path, embedder=None):
        self._articles = load_articles(knowledge_dir)
        self._embedder = embedder
        self._store = None
        self._sentences: dict[str, tuple[list[tuple[int, int]], np.ndarray]] = {}  # chunk id → spans, vectors

    def articles(self) -> list[Article]:
        """The articles it indexed."""
        return self._articles

    def index(self) -> None:
        """Split and embed every article into a fresh in-memory Chroma collection (idempotent)."""
        if self._store is not None:
            return
        import chromadb
        from langchain_chroma import Chroma
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        if self._embedder is None:
            from index.embeddings import SentenceEmbedder

            self._embedder = SentenceEmbedder(BUNDLED_MODEL, expected_sha256=BUNDLED_MODEL_SHA256)
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True
        )
        documents = splitter.split_documents(
            [
                Document(page_content=a.text, metadata={"article_id": a.id, "title": a.title, "date": a.date})
                for a in self._articles
            ]
        )
        for number, document in enumerate(documents):
            document.metadata["chunk_id"] = f"{document.metadata['article_id']}#lc{number}"
        client = chromadb.EphemeralClient(settings=chromadb.config.Settings(anonymized_telemetry=False))
        # Sentence vectors once per chunk, not per question: same answers, a fraction of the time.
        spans = [split_into_sentences(d.page_content) for d in documents]
        vectors = self._embedder.encode(
            [d.page_content[s:e] for d, chunk_spans in zip(documents, spans, strict=True) for s, e in chunk_spans]
        )
        cursor = 0
        for document, chunk_spans in zip(documents, spans, strict=True):
            self._sentences[document.metadata["chunk_id"]] = (chunk_spans, vectors[cursor : cursor + len(chunk_spans)])
            cursor += len(chunk_spans)
        self._store = Chroma.from_documents(
            documents,
            embedding=self._embedder,
            collection_name=f"baseline-{uuid.uuid4().hex[:12]}",
            client=client,
            ids=[d.metadata["chunk_id"] for d in documents],
        )

    def ask(self, question: str, history: list[dict] | None = None) -> Answer:
        """Retrieve the top 4 chunks for the question alone; answer with their best-matching sentence."""
        self.index()
        started = time.perf_counter()
        hits = self._store.similarity_search_with_score(question, k=TOP_K)
        retrieved_at = time.perf_counter()
        retrieved = [
            RetrievedChunk(
                id=d.metadata["chunk_id"],
                article_id=d.metadata["article_id"],
                title=d.metadata["title"],
                text=d.page_content,
                start=d.metadata["start_index"],
                end=d.metadata["start_index"] + len(d.page_content),
                score=-float(distance),
                date=d.metadata.get("date", ""),
            )
            for d, distance in hits
        ]
        citation = self._best_sentence(question, retrieved)
        finished = time.perf_counter()
        text = f"{citation.quote} [1]" if citation else ""
        return Answer(
            text=text,
            citations=[citation] if citation else [],
            abstained=False,
            query=question,
            retrieved=retrieved,
            timings={
                "retrieve": (retrieved_at - started) * 1000,
                "compose": (finished - retrieved_at) * 1000,
                "total": (finished - started) * 1000,
            },
            question=question,
        )

    def _best_sentence(self, question: str, retrieved: list[RetrievedChunk]) -> Citation | None:
        candidates = []  # (chunk, sentence start, sentence end, text) with offsets into the article
        vectors = []
        for chunk in retrieved:
            spans, chunk_vectors = self._sentences[chunk.id]
            for (s, e), vector in zip(spans, chunk_vectors, strict=True):
                candidates.append((chunk, chunk.start + s, chunk.start + e, chunk.text[s:e]))
                vectors.append(vector)
        if not candidates:
            return None
        vectors = np.stack(vectors)
        query = np.asarray(self._embedder.embed_query(question), dtype=np.float32)
        chunk, start, end, sentence = candidates[int(np.argmax(vectors @ query))]
        return Citation.quoting(1, chunk, start, end, sentence)
