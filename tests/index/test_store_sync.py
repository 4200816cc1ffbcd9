"""index/build.py + index/store.py with real Chroma in tmp_path and the real model: incremental sync."""

from __future__ import annotations

import logging

from index.build import sync_index
from index.store import ChromaStore
from knowledge import load_articles


def _store(path, embedder, chunking="700/150"):
    return ChromaStore(path, {"embedding_model": embedder.name, "dimension": embedder.dimension, "chunking": chunking})


def _write(folder, name, text):
    (folder / name).write_text(text, encoding="utf-8")


def test_add_change_delete_and_noop(tmp_path, embedder):
    knowledge = tmp_path / "articles"
    knowledge.mkdir()
    _write(knowledge, "a.txt", "Alpha\n\nThe Alpha rover landed in 2021. It found ice.\n")
    _write(knowledge, "b.txt", "Beta\n\nThe Beta orbiter mapped the poles.\n")
    store = _store(tmp_path / "index", embedder)

    first = sync_index(load_articles(knowledge), store, embedder, progress=False)
    assert sorted(first.added) == ["a", "b"] and first.embedded > 0
    assert set(store.indexed_articles()) == {"a", "b"}

    again = sync_index(load_articles(knowledge), store, embedder, progress=False)
    assert again.embedded == 0 and sorted(again.unchanged) == ["a", "b"] and not again.added

    _write(knowledge, "a.txt", "Alpha\n\nThe Alpha rover landed in 2022. It found salt.\n")
    (knowledge / "b.txt").unlink()
    _write(knowledge, "c.txt", "Gamma\n\nThe Gamma probe flew past Venus.\n")
    changed = sync_index(load_articles(knowledge), store, embedder, progress=False)
    assert changed.changed == ["a"] and changed.removed == ["b"] and changed.added == ["c"]
    chunks = store.load_chunks()
    assert {c.article_id for c in chunks} == {"a", "c"}
    assert any("salt" in c.text for c in chunks) and not any("ice" in c.text for c in chunks)
    table = store.load_sentences()
    assert set(table.article_ids) == {"a", "c"} and table.vectors.shape == (len(table.ids), embedder.dimension)


def test_reopening_from_disk_keeps_the_index(tmp_path, embedder, shipped_article):
    store = _store(tmp_path / "index", embedder)
    sync_index([shipped_article], store, embedder, progress=False)
    reopened = _store(tmp_path / "index", embedder)
    assert reopened.signature_matches()
    assert reopened.indexed_articles() == {shipped_article.id: shipped_article.content_hash}
    hits = reopened.search(embedder.embed_query_vector("Where will the association be located?"), 3)
    assert len(hits) == 3 and all(-1.0 <= score <= 1.0 for _, score in hits)


def test_index_built_with_another_model_is_rebuilt_not_misread(tmp_path, embedder, shipped_article, caplog):
    sync_index([shipped_article], _store(tmp_path / "index", embedder), embedder, progress=False)
    other = ChromaStore(
        tmp_path / "index", {"embedding_model": "some-other-model", "dimension": 768, "chunking": "700/150"}
    )
    assert not other.signature_matches()
    with caplog.at_level(logging.WARNING):
        report = sync_index([shipped_article], other, embedder, progress=False)
    assert report.rebuilt and report.added == [shipped_article.id]
    assert "another model" in caplog.text
    assert other.signature_matches()


def test_chroma_never_gets_a_default_embedding_function(tmp_path, embedder):
    store = _store(tmp_path / "index", embedder)
    for collection in (store._chunks, store._sentences):
        assert collection.configuration.get("embedding_function") is None
        assert collection.configuration["hnsw"]["space"] == "cosine"
