"""With `DSQA_CHROMA_URL`, vectors live on a real `chroma run` server (bound to 127.0.0.1 only) and
the lexical snapshot in the index folder: the same answers as the embedded store, from any number
of processes, and a server restarted empty is refilled from the snapshot without re-embedding."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sample_index import ARTICLES, write_articles

from bot import Bot
from evals.chroma_server import free_port, start_chroma_server
from knowledge.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.slow

QUESTIONS = ["Which probe flew past Venus?", "Where was the camera of the Beta orbiter built?", "What did Alpha find?"]


@pytest.fixture
def server(tmp_path):
    process, url = start_chroma_server(tmp_path / "server")
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_answers_match_the_embedded_store_and_every_process_agrees(server, tmp_path, embedder):
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
    assert not (tmp_path / "served" / "chroma").exists()  # the vectors went to the server
    assert type(served.retriever.store).__name__ == "ChromaStore"  # dense search asks the server
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


def test_a_server_restarted_empty_is_refilled_from_the_snapshot(tmp_path, embedder):
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
        report = Bot(settings=Settings(**{**settings.__dict__, "chroma_url": url}), embedder=embedder).index()
        assert sorted(report.repaired) == ["alpha", "beta", "gamma"] and report.embedded == 0
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_an_unreachable_server_is_a_clear_error(tmp_path, embedder):
    knowledge = write_articles(tmp_path / "articles", ARTICLES)
    url = f"http://127.0.0.1:{free_port()}"
    settings = Settings(
        reader="extractive", knowledge_dir=knowledge, index_dir=tmp_path / "index", chroma_url=url, progress=False
    )
    with pytest.raises(Exception, match="(?i)connect"):
        Bot(settings=settings, embedder=embedder).index()
