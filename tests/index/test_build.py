"""index/build.py with a real index folder and the real model: incremental, exact syncs (the chunk
vectors in the snapshot; tests/index/test_server.py has them on a Chroma server)."""

from __future__ import annotations

import logging

import numpy as np
from sample_index import MORE, Index, file_digests, write_articles

from index.build import index_signature
from index.folder import IndexFolder
from index.records import derive_records
from knowledge import load_articles


def test_add_change_delete_and_noop(knowledge, index):
    first = index.sync(knowledge)
    assert sorted(first.added) == ["alpha", "beta", "gamma"] and first.embedded > 0 and first.version == 1

    again = index.sync(knowledge)
    assert again.embedded == 0 and sorted(again.unchanged) == ["alpha", "beta", "gamma"] and not again.added
    assert again.version == 1  # nothing changed: no new snapshot

    (knowledge / "alpha.txt").write_text("Alpha\n\nThe Alpha rover landed in 2022. It found salt.\n", encoding="utf-8")
    (knowledge / "beta.txt").unlink()
    (knowledge / "delta.txt").write_text("Delta\n\nThe Delta lander touched down on Titan.\n", encoding="utf-8")
    changed = index.sync(knowledge)
    assert changed.changed == ["alpha"] and changed.removed == ["beta"] and changed.added == ["delta"]
    articles = {a.id: a for a in load_articles(knowledge)}
    new_texts = sum(len(derive_records(articles[i], 700, 150).texts_to_embed()) for i in ("alpha", "delta"))
    assert changed.version == 2 and changed.embedded == new_texts  # gamma was not embedded again

    snapshot = index.folder.snapshot()
    chunks = snapshot.chunks()
    assert {c.article_id for c in chunks} == {"alpha", "delta", "gamma"}
    assert any("salt" in c.text for c in chunks) and not any("ice" in c.text for c in chunks)
    table = snapshot.sentence_table()
    assert set(table.article_ids) == {"alpha", "delta", "gamma"}
    assert table.vectors.shape == (len(table.ids), index.embedder.dimension)
    texts = snapshot.article_texts()
    assert all(texts[a][s:e] == t for a, (s, e), t in zip(table.article_ids, table.spans, table.texts, strict=True))
    assert snapshot.holds_chunk_vectors and snapshot.chunk_vectors.shape == (len(chunks), index.embedder.dimension)
    assert sorted(p.name for p in index.folder.path.iterdir() if p.is_dir()) == ["snapshots"]  # no second store


def test_incremental_sync_equals_a_clean_build(tmp_path, knowledge, embedder):
    # Kept runs on both sides of the changed article; the first one removed shifts every row after it.
    write_articles(knowledge, MORE)
    incremental = Index(tmp_path / "incremental", embedder)
    incremental.sync(knowledge)
    (knowledge / "beta.txt").write_text("Beta\n\nThe Beta orbiter mapped Mars and its moon Phobos.\n", encoding="utf-8")
    (knowledge / "alpha.txt").unlink()
    write_articles(knowledge, {"eta.txt": "Eta\n\nEta carried a Phobos camera. ETA’s team was in Hefei.\n"})
    incremental.sync(knowledge)
    clean = Index(tmp_path / "clean", embedder)
    clean.sync(knowledge)

    a, b = incremental.folder.snapshot(), clean.folder.snapshot()
    # File for file, but for the vectors (batches differ in float rounding) and what records the history.
    vectors = {"chunk_vectors.npy", "sentence_vectors.npy", "manifest.json", "spelling_counts.json"}
    da, db = file_digests(a.path), file_digests(b.path)
    assert da.keys() == db.keys()
    assert {name for name in da if da[name] != db[name]} <= vectors
    assert a.manifest["articles"] == b.manifest["articles"]
    counts = [s._json("spelling_counts") for s in (a, b)]
    assert [dict(zip(c["pairs"], c["counts"], strict=True)) for c in counts][0] == dict(
        zip(counts[1]["pairs"], counts[1]["counts"], strict=True)
    )  # the same counts; their order follows the history
    assert a.chunk_ids == b.chunk_ids and a.tokens == b.tokens
    assert a.spellings() == b.spellings() and a.idf() == b.idf()
    assert a.sentence_tokens() == b.sentence_tokens()
    assert [e.hash for e in a.entries] == [e.hash for e in b.entries]
    for name in ("chunk_span", "chunk_rows", "sentence_span", "chunk_tokens", "chunk_token_ptr", "sentence_df"):
        assert np.array_equal(a._array(name), b._array(name)), name
    assert np.allclose(a.chunk_vectors, b.chunk_vectors, atol=1e-5)
    assert np.allclose(a._array("sentence_vectors"), b._array("sentence_vectors"), atol=1e-5)
    query = ["mar", "phobo"]
    assert np.allclose(a.bm25().get_scores(query), b.bm25().get_scores(query))


def test_snapshot_answers_exact_dense_search(knowledge, index):
    index.sync(knowledge)
    snapshot = index.folder.snapshot()
    vector = index.embedder.embed_query_vector("Which probe flew past Venus?")
    hits = snapshot.search(vector, 2)
    assert hits[0][0].startswith("gamma:") and hits[0][1] >= hits[1][1]
    exact = np.asarray(snapshot.chunk_vectors) @ vector
    assert hits[0][1] == float(exact.max())


def test_index_built_with_another_model_is_rebuilt_not_misread(tmp_path, knowledge, index, caplog):
    index.sync(knowledge)

    class Other:  # the same vectors under another model name and dimension label
        name, dimension = "some-other-model", index.embedder.dimension

        def encode(self, texts, progress=False):
            return index.embedder.encode(texts)

    other = Index(tmp_path / "index", Other())
    with caplog.at_level(logging.WARNING):
        report = other.sync(knowledge)
    assert report.rebuilt and sorted(report.added) == ["alpha", "beta", "gamma"]
    assert "another model" in caplog.text
    assert other.folder.snapshot().signature["embedding_model"] == "some-other-model"


def test_an_earlier_versions_embedded_chroma_is_deleted_by_the_next_sync(knowledge, index):
    """Earlier versions kept a write-only copy of the chunk vectors in <index>/chroma: it goes."""
    index.sync(knowledge)
    leftover = index.folder.path / "chroma"
    leftover.mkdir()
    (leftover / "chroma.sqlite3").write_bytes(b"an old store")
    report = index.sync(knowledge)
    assert report.embedded == 0 and report.version == 1 and not leftover.exists()


def test_signature_names_model_chunking_and_tokenizer(embedder):
    signature = index_signature(embedder, 700, 150)
    assert signature["embedding_model"] == embedder.name and signature["chunking"].startswith("700/150/")
    assert signature["lexical"] and signature != index_signature(embedder, 500, 100)
    assert signature["chunk_store"] == "snapshot" != index_signature(embedder, 700, 150, server=True)["chunk_store"]


def test_empty_folder_gives_an_empty_snapshot(tmp_path, index):
    from index.build import sync_index

    report = sync_index([], IndexFolder(tmp_path / "index"), index.embedder)
    snapshot = index.folder.snapshot()
    assert report.version == 1 and snapshot.chunks() == [] and snapshot.search(np.ones(384), 3) == []


def test_progress_names_articles_counts_texts_and_ends_done(knowledge, index):
    from index.types import SyncPhase

    events = []
    report = index.sync(knowledge, progress=events.append)
    phases = [e.phase for e in events]
    assert phases[0] is SyncPhase.SCANNING and phases[-1] is SyncPhase.DONE and SyncPhase.WRITING in phases
    embedding = [e for e in events if e.phase is SyncPhase.EMBEDDING]
    assert embedding[0].article in {"Alpha", "Beta", "Gamma"} and embedding[0].articles_total == 3
    assert embedding[-1].texts_done == embedding[-1].texts_total == report.embedded
    assert "embedding 3/3 articles" in embedding[-1].describe()
