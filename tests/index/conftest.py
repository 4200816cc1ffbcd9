"""Fixtures for the index tests: a folder of small articles and an index folder (`sample_index.py`)."""

from __future__ import annotations

import pytest
from sample_index import Index, write_articles


@pytest.fixture
def knowledge(tmp_path):
    return write_articles(tmp_path / "articles")


@pytest.fixture
def index(tmp_path, embedder):
    return Index(tmp_path / "index", embedder)
