"""Shared fixtures: offline environment, a network block on every test, each test's env pointed at its
own tmp_path, and (once per session) the real bundled model and a real Bot over the shipped article.
"""

from __future__ import annotations

import pytest
from netguard import block_non_loopback

from knowledge.settings import PROJECT_ROOT, Settings, go_offline

go_offline()  # before sentence-transformers, chromadb or gradio are imported by any test

SHIPPED_ARTICLES = PROJECT_ROOT / "knowledge" / "articles"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any non-loopback connection fails the test that makes it."""

    def fail(address):
        raise AssertionError(f"test tried to reach the network: {address!r}")

    block_non_loopback(monkeypatch, fail)


@pytest.fixture(autouse=True)
def own_folders(tmp_path, monkeypatch):
    """Every test gets its own index and data folders through the environment, and the extractive reader:
    tests that assert exact answers assert the extractive reader's (the reading model's own tests choose it)."""
    monkeypatch.setenv("DSQA_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("DSQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DSQA_READER", "extractive")


@pytest.fixture(scope="session")
def embedder():
    """The real bundled all-MiniLM-L6-v2 (loaded once: it takes seconds)."""
    from index.embeddings import SentenceEmbedder

    return SentenceEmbedder(Settings().model, Settings().model_sha256)


@pytest.fixture(scope="session")
def shipped_bot(tmp_path_factory, embedder):
    """A real Bot over the shipped article, with a real index in a temp folder."""
    from bot import Bot

    settings = Settings(
        reader="extractive",
        knowledge_dir=SHIPPED_ARTICLES,
        index_dir=tmp_path_factory.mktemp("shipped-index"),
        progress=False,
    )
    bot = Bot(settings=settings, embedder=embedder)
    bot.index()
    return bot


@pytest.fixture(scope="session")
def shipped_article():
    """The shipped article as the loader reads it."""
    from knowledge import load_articles

    return load_articles(SHIPPED_ARTICLES)[0]
