"""index/snapshot_write.py and index/carry_over.py on real syncs: kept articles are carried over
unchanged and old versions stay as they were (that a sync equals a clean build, file for file, is
tests/index/test_build.py's)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from sample_index import MORE, Index, file_digests, write_articles

from index import carry_over
from index.snapshot import Snapshot


@pytest.fixture
def folder(knowledge):
    return write_articles(knowledge, MORE)


def _rows(snapshot: Snapshot, article_id: str) -> dict:
    entry = snapshot.by_id[article_id]
    (ca, cb), (sa, sb) = entry.chunk_rows, entry.sentence_rows
    sentence_tokens = snapshot.sentence_tokens()
    return {
        "text": snapshot.text_of(article_id),
        "chunk_ids": snapshot.chunk_ids[ca:cb],
        "chunk_vectors": np.asarray(snapshot.chunk_vectors[ca:cb]).tobytes(),
        "sentence_vectors": np.asarray(snapshot._array("sentence_vectors")[sa:sb]).tobytes(),
        "chunk_span": snapshot._array("chunk_span")[ca:cb].tolist(),
        "sentence_span": snapshot._array("sentence_span")[sa:sb].tolist(),
        "sentence_page": snapshot._array("sentence_page")[sa:sb].tolist(),
        "chunk_rows": (snapshot._array("chunk_rows")[ca:cb] - sa).tolist(),
        "sentence_tokens": sentence_tokens[sa:sb],
        "hash": entry.hash,
    }


def test_a_changed_article_leaves_the_others_rows_and_vectors_as_they_were(tmp_path, folder, embedder):
    index = Index(tmp_path / "index", embedder)
    index.sync(folder)
    before = index.folder.snapshot()
    kept = ["alpha", "beta", "epsilon", "zeta"]
    expected = {i: _rows(before, i) for i in kept}
    (folder / "delta.txt").write_text(MORE["delta.txt"] + "\nA sentence added to Delta.\n", encoding="utf-8")
    (folder / "gamma.md").unlink()
    report = index.sync(folder)
    assert report.changed == ["delta"] and report.removed == ["gamma"]
    after = index.folder.snapshot()
    assert after.version > before.version
    for article_id in kept:
        assert _rows(after, article_id) == expected[article_id], article_id
    assert "added to Delta" in after.text_of("delta")


def test_an_old_version_stays_readable_and_unchanged_after_a_new_sync(tmp_path, folder, embedder):
    index = Index(tmp_path / "index", embedder)
    index.sync(folder)
    old = index.folder.snapshot()
    chunks, table = old.chunks(), old.sentence_table()
    vector = embedder.embed_query_vector("Which lander touched down on Titan?")
    found, lexical = old.search(vector, 3), old.bm25().get_scores(["titan"])
    (folder / "beta.txt").write_text("Beta\n\nThe Beta orbiter mapped Mars and its moon Phobos.\n", encoding="utf-8")
    write_articles(folder, {"eta.txt": "Eta\n\nEta carried a radio telescope to the far side of the Moon.\n"})
    index.sync(folder)
    assert not old.path.exists()  # the new version's switch removed the old folder...
    assert old.chunks() == chunks and old.search(vector, 3) == found  # ...yet its reader answers as before
    assert np.array_equal(old.sentence_table().vectors, table.vectors)
    assert np.array_equal(old.bm25().get_scores(["titan"]), lexical)
    assert "eta" not in old.by_id and "eta" in index.folder.snapshot().by_id

    # Writing the next version never touches the previous one's files.
    current = index.folder.snapshot()
    digests = file_digests(current.path)
    from index.snapshot_write import write_snapshot

    write_snapshot(index.folder.snapshots, 99, current.signature, embedder.dimension, current, ["beta", "delta"], [])
    assert file_digests(current.path) == digests


@pytest.mark.parametrize("damage", ["missing", "shifted", "no copy_file_range"])
def test_texts_and_rows_are_right_without_the_fast_copy(tmp_path, folder, embedder, damage, monkeypatch):
    index = Index(tmp_path / "index", embedder)
    index.sync(folder)
    offsets = index.folder.snapshot().path / "texts_offsets.npy"
    if damage == "missing":  # a snapshot from before the offsets were written
        offsets.unlink()
    elif damage == "shifted":
        os.chmod(offsets, 0o644)
        np.save(offsets, np.load(offsets) + 1)
    else:
        monkeypatch.delattr(carry_over.os, "copy_file_range")
    (folder / "delta.txt").write_text(MORE["delta.txt"] + "\nA sentence added to Delta.\n", encoding="utf-8")
    index.sync(folder)
    synced = index.folder.snapshot()
    clean = Index(tmp_path / "clean", embedder)
    clean.sync(folder)
    expected = clean.folder.snapshot()
    assert synced.texts == expected.texts
    assert (synced.path / "texts.json").read_bytes() == (expected.path / "texts.json").read_bytes()
    assert np.array_equal(np.load(synced.path / "texts_offsets.npy"), np.load(expected.path / "texts_offsets.npy"))
    for name in ("chunk_span", "sentence_span", "sentence_page", "chunk_rows"):
        assert np.array_equal(synced._array(name), expected._array(name)), name


def test_rows_come_through_the_mapping_when_the_previous_file_is_gone(tmp_path):
    previous_path = tmp_path / "previous.npy"
    rows = np.arange(40, dtype=np.float32).reshape(10, 4)
    np.save(previous_path, rows)
    previous = np.load(previous_path, mmap_mode="r")
    previous_path.unlink()
    new = np.full((2, 4), -1, dtype=np.float32)
    carry_over.write_rows(tmp_path / "next.npy", np.float32, (4,), [(0, 3), new, (7, 10)], previous)
    assert np.array_equal(np.load(tmp_path / "next.npy"), np.concatenate([rows[:3], new, rows[7:]]))


def test_each_article_keeps_its_language_the_front_matter_first(tmp_path, embedder):
    from bot.retrieve import SearchIndex

    knowledge = write_articles(
        tmp_path / "articles",
        {
            "english.txt": "English\n\nThe association will be located in Hefei, a hub for future industries.\n",
            "french.txt": "Français\n\nL'association sera située à Hefei, déjà un pôle pour les industries du futur.\n",
            "declared.md": "---\ntitle: Declared\nlanguage: es\n---\nThe Gamma probe flew past Venus in 2019.\n",
        },
    )
    index = Index(tmp_path / "index", embedder)
    index.sync(knowledge)
    snapshot = index.folder.snapshot()
    assert {e.id: e.language for e in snapshot.entries} == {"english": "en", "french": "fr", "declared": "es"}
    search = SearchIndex.load(snapshot)
    assert search.in_own_language("es") and search.in_own_language("fr")
    assert search.written_in("en") and not search.in_own_language("en") and not search.written_in("zh")
    # A snapshot written before the language was kept: each article's is found again as Article.language does.
    manifest = snapshot.path / "manifest.json"
    kept = json.loads(manifest.read_text(encoding="utf-8"))
    for entry in kept["articles"]:
        del entry["language"]
    manifest.write_text(json.dumps(kept), encoding="utf-8")
    assert Snapshot.open(snapshot.path).languages() == frozenset({"en", "fr", "es"})
