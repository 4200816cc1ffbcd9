"""An index of more than 33,000 chunks (past SQLite's variable limit, where whole-collection reads
failed) on a real Chroma server opens, syncs and answers: every read of the collection is paged.

The vectors come from a deterministic hashing embedder: this test is about sizes and paging, and
embedding 68,000 texts with the real model would take many minutes on two cores."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from bot import Bot
from evals.chroma_server import start_chroma_server
from index.build import index_signature, sync_index
from index.folder import IndexFolder
from index.store import PAGE, ChromaServer
from knowledge import load_articles
from knowledge.settings import Settings

pytestmark = pytest.mark.slow

ARTICLES, SENTENCES = 170, 200  # one chunk per sentence at chunk_size 90: 34,000 chunks + 34,000 sentences


class HashingEmbedder:
    """Unit vectors from hashed words: similar texts share dimensions. Implements `Embedder`."""

    name, dimension = "hashing-test-embedder", 64

    def encode(self, texts, progress=False):
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.strip(".?").encode()).hexdigest(), 16) % self.dimension] += 1
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        return out

    def embed_query_vector(self, text):
        return self.encode([text])[0]

    def vocabulary(self):
        return frozenset()


def _write(folder, n, extra=""):
    folder.mkdir(exist_ok=True)
    for a in range(n):
        sentences = [f"Station {a} logged reading number {s} of the survey." for s in range(SENTENCES)]
        (folder / f"station-{a:03d}.txt").write_text(f"Station {a}\n" + " ".join(sentences) + extra, encoding="utf-8")


def test_a_collection_past_the_sqlite_variable_limit_opens_syncs_and_answers(tmp_path):
    knowledge, index_dir = tmp_path / "articles", tmp_path / "index"
    _write(knowledge, ARTICLES)
    (knowledge / "station-042.txt").write_text(
        "Station 42\n" + "The Kestrel probe carried a magnetometer built in Quito. " * 3, encoding="utf-8"
    )
    embedder = HashingEmbedder()
    folder = IndexFolder(index_dir)
    process, url = start_chroma_server(tmp_path / "chroma")
    try:
        server = ChromaServer(url, folder.identity())
        options = {"chunk_size": 90, "chunk_overlap": 0, "server": server}
        report = sync_index(load_articles(knowledge), folder, embedder, **options)
        snapshot = folder.snapshot()
        assert snapshot.manifest["chunks"] > 33_000 and report.version == 1

        store = server.open(index_signature(embedder, 90, 0, server=True))
        held = store.ids_by_article()  # a paged read of every id
        assert store.count() == snapshot.manifest["chunks"] > 6 * PAGE
        assert {i for ids in held.values() for i in ids} == set(snapshot.chunk_ids)
        store.close()

        (knowledge / "station-007.txt").unlink()  # a sync that deletes, and checks the server (verify)
        again = sync_index(load_articles(knowledge), folder, embedder, **options)
        assert again.removed == ["station-007"] and again.embedded == 0 and again.version == 2

        settings = Settings(
            reader="extractive",
            knowledge_dir=knowledge,
            index_dir=index_dir,
            chunk_size=90,
            chunk_overlap=0,
            chroma_url=url,
            progress=False,
        )
        answer = Bot(settings=settings, embedder=embedder).ask("Where was the magnetometer of the Kestrel probe built?")
        assert not answer.abstained and "Quito" in answer.text
        assert answer.citations[0].article_id == "station-042"
    finally:
        process.terminate()
        process.wait(timeout=30)
