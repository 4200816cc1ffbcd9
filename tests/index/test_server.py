"""With `DSQA_CHROMA_URL`, the chunk vectors live on a real `chroma run` server (bound to 127.0.0.1
only) and nowhere else; the snapshot in the index folder keeps the rest. The same answers as the
snapshot-only index, from any number of processes; a search never returns rows of another snapshot;
a server restarted empty is refilled by embedding the chunks again (their only store was lost)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import numpy as np
import pytest
from sample_index import ARTICLES, Index, write_articles

from bot import Bot
from bot.live import dense_search
from evals.chroma_server import free_port, start_chroma_server
from index.build import index_signature
from index.snapshot import SnapshotError
from index.store import ChromaServer, WithinSnapshot
from index.types import Chunk
from knowledge.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.slow

QUESTIONS = ["Which probe flew past Venus?", "Where was the camera of the Beta orbiter built?", "What did Alpha find?"]


@pytest.fixture
def server(tmp_path):
    process, url = start_chroma_server(tmp_path / "server")
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_answers_match_the_snapshot_index_and_every_process_agrees(server, tmp_path, embedder):
    knowledge = write_articles(tmp_path / "articles", ARTICLES)
    embedded = Bot(
        settings=Settings(
            reader="extractive", knowledge_dir=knowledge, index_dir=tmp_path / "embedded", progress=False
        ),
        embedder=embedder,
    )
    served_settings = Settings(
        reader="extractive", knowledge_dir=knowledge, index_dir=tmp_path / "served", chroma_url=server, progress=False
    )
    served = Bot(settings=served_settings, embedder=embedder)
    report = served.index()
    assert sorted(report.added) == ["alpha", "beta", "gamma"]
    snapshot = served._folder().snapshot()
    assert not snapshot.holds_chunk_vectors and not (snapshot.path / "chunk_vectors.npy").exists()  # one store
    with pytest.raises(SnapshotError):
        snapshot.search(np.ones(embedder.dimension, dtype=np.float32), 1)
    assert isinstance(served.retriever.store, WithinSnapshot)  # dense search asks the server
    assert [served.ask(q).text for q in QUESTIONS] == [embedded.ask(q).text for q in QUESTIONS]

    env = {"DSQA_CHROMA_URL": server, "DSQA_KNOWLEDGE_DIR": str(knowledge), "DSQA_INDEX_DIR": str(tmp_path / "served")}
    runs = [
        subprocess.run(
            [sys.executable, str(PROJECT_ROOT / "cli.py"), "ask", QUESTIONS[0]],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        for _ in range(2)
    ]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    assert runs[0].stdout == runs[1].stdout and "Gamma" in runs[0].stdout


def test_the_collection_holds_exactly_the_snapshots_chunks_across_syncs(server, tmp_path, embedder):
    knowledge = write_articles(tmp_path / "articles", ARTICLES)
    index = Index(tmp_path / "index", embedder, ChromaServer(server, "t1"))
    index.sync(knowledge)
    (knowledge / "alpha.txt").write_text("Alpha\n\nThe Alpha rover landed in 2022. It found salt.\n", encoding="utf-8")
    (knowledge / "beta.txt").unlink()
    report = index.sync(knowledge)
    assert report.changed == ["alpha"] and report.removed == ["beta"]
    store = index.store()
    try:
        held = {i for ids in store.ids_by_article().values() for i in ids}
        assert held == set(index.folder.snapshot().chunk_ids) and store.marker() == report.version
        assert store._chunks.configuration.get("embedding_function") is None  # never Chroma's default model
        assert store._chunks.configuration["hnsw"]["space"] == "cosine"
    finally:
        store.close()


def test_a_search_never_returns_rows_of_another_snapshot(server, tmp_path, embedder):
    """Rows a sync has written but not committed (or not yet deleted) sit nearest the question:
    the search within the snapshot skips them and still returns k of its own."""
    knowledge = write_articles(tmp_path / "articles", ARTICLES)
    index = Index(tmp_path / "index", embedder, ChromaServer(server, "t2"))
    index.sync(knowledge)
    snapshot = index.folder.snapshot()
    vector = embedder.embed_query_vector("Which probe flew past Venus?")
    store = index.store()
    try:
        foreign = [Chunk(f"gamma:{n}:uncommitted", "gamma", "Gamma", "x", 0, 1, ()) for n in range(40)]
        store.upsert(foreign, np.tile(vector, (len(foreign), 1)))
        assert store.search(vector, 3)[0][0].endswith(":uncommitted")  # the raw collection has them first
        hits = WithinSnapshot(store, snapshot.chunk_position).search(vector, 3)
        assert len(hits) == 3 and all(i in snapshot.chunk_position for i, _ in hits)
        assert hits[0][0].startswith("gamma:") and hits == snapshot_search(snapshot, index, vector, 3)
    finally:
        store.close()


def snapshot_search(snapshot, index, vector, k):
    """The exact ranking of the snapshot's own chunks, from their texts embedded again."""
    chunks = snapshot.chunks()
    scores = index.embedder.encode([c.text for c in chunks]) @ vector
    order = np.argsort(-scores)[:k]
    found = [(chunks[i].id, float(scores[i])) for i in order]
    return [(i, pytest.approx(s, abs=1e-4)) for i, s in found]


def test_a_server_restarted_empty_is_refilled_by_embedding_the_chunks_again(tmp_path, embedder):
    knowledge = write_articles(tmp_path / "articles", ARTICLES)
    process, url = start_chroma_server(tmp_path / "server-1")
    settings = Settings(
        reader="extractive", knowledge_dir=knowledge, index_dir=tmp_path / "index", chroma_url=url, progress=False
    )
    try:
        Bot(settings=settings, embedder=embedder).index()
    finally:
        process.terminate()
        process.wait(timeout=30)
    process, url = start_chroma_server(tmp_path / "server-2")  # a new, empty server
    try:
        bot = Bot(settings=Settings(**{**settings.__dict__, "chroma_url": url}), embedder=embedder)
        report = bot.index()
        chunks = bot._folder().snapshot().manifest["chunks"]
        assert sorted(report.repaired) == ["alpha", "beta", "gamma"] and report.embedded == chunks  # not sentences
        assert "Venus" in bot.ask(QUESTIONS[0]).text
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_moving_the_vectors_to_a_server_rebuilds_the_index_once(server, tmp_path, embedder):
    knowledge = write_articles(tmp_path / "articles", ARTICLES)
    index_dir = tmp_path / "index"
    Bot(settings=Settings(knowledge_dir=knowledge, index_dir=index_dir, progress=False), embedder=embedder).index()
    settings = Settings(knowledge_dir=knowledge, index_dir=index_dir, chroma_url=server, progress=False)
    moved = Bot(settings=settings, embedder=embedder).index()
    assert moved.rebuilt and any("vector store" in w for w in moved.warnings)
    again = Bot(settings=settings, embedder=embedder).index()
    assert not again.rebuilt and again.embedded == 0
    assert index_signature(embedder, 700, 150, server=True) == Index(index_dir, embedder).folder.snapshot().signature


def test_questions_are_answered_when_the_server_goes_away(tmp_path, embedder, caplog):
    knowledge = write_articles(tmp_path / "articles", ARTICLES)
    process, url = start_chroma_server(tmp_path / "server")
    settings = Settings(knowledge_dir=knowledge, index_dir=tmp_path / "index", chroma_url=url, progress=False)
    bot = Bot(settings=settings, embedder=embedder)
    bot.index()
    assert bot.retriever.store.search(embedder.embed_query_vector(QUESTIONS[0]), 2)  # the server answers
    process.terminate()
    process.wait(timeout=30)
    with caplog.at_level(logging.WARNING):
        answer = bot.ask(QUESTIONS[0])
    assert "Venus" in answer.text and "without dense chunk search" in caplog.text  # BM25 and sentences ranked it
    folder = Index(tmp_path / "index", embedder).folder
    reopened = dense_search(folder.snapshot(), ChromaServer(url, folder.identity()))
    assert reopened.search(embedder.embed_query_vector(QUESTIONS[0]), 2) == []


def test_an_unreachable_server_is_a_clear_error(tmp_path, embedder):
    knowledge = write_articles(tmp_path / "articles", ARTICLES)
    url = f"http://127.0.0.1:{free_port()}"
    settings = Settings(
        reader="extractive", knowledge_dir=knowledge, index_dir=tmp_path / "index", chroma_url=url, progress=False
    )
    with pytest.raises(Exception, match="(?i)connect"):
        Bot(settings=settings, embedder=embedder).index()
