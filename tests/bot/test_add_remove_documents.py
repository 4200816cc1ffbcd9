"""Bot.add_documents / Bot.remove_document / Bot.stream over a real folder and index."""

from __future__ import annotations

import pytest

from bot import Bot
from knowledge.uploads import UploadError

ROVER = "Rover news\n\nThe Zephyr rover landed in Jezero crater on 3 May 2025. Its drill found banded clay.\n"
COMET = "Comet news\n\nThe Tern probe reached comet Halvorsen in March 2026 and mapped its icy crust.\n"


@pytest.fixture
def bot(tmp_path, embedder):
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "rover.txt").write_text(ROVER, encoding="utf-8")
    return Bot(knowledge_dir=articles, index_dir=tmp_path / "index", embedder=embedder)


def test_an_added_document_is_saved_safely_indexed_and_answered(bot, tmp_path):
    upload = tmp_path / "uploads" / "rover.txt"  # same name as a file already there
    upload.parent.mkdir()
    upload.write_text(COMET, encoding="utf-8")
    (added,) = bot.add_documents([upload])
    assert added.title == "Comet news" and added.format == "txt" and added.chunks >= 1
    assert (bot.settings.knowledge_dir / "rover.txt").read_text(encoding="utf-8") == ROVER  # not overwritten
    assert (bot.settings.knowledge_dir / "rover-2.txt").exists()
    answer = bot.ask("Which comet did the Tern probe reach?")
    assert "Halvorsen" in answer.text and answer.citations[0].article_id == added.article_id


def test_a_removed_document_is_never_cited_again(bot, tmp_path):
    upload = tmp_path / "comet.txt"
    upload.write_text(COMET, encoding="utf-8")
    (added,) = bot.add_documents([upload])
    bot.remove_document(added.article_id)
    assert [s.title for s in bot.summaries()] == ["Rover news"]
    assert not (bot.settings.knowledge_dir / "comet.txt").exists()
    answer = bot.ask("Which comet did the Tern probe reach?")
    assert all(c.article_id != added.article_id for c in answer.citations)


def test_refused_or_unreadable_files_leave_the_folder_as_it_was(bot, tmp_path):
    before = sorted(p.name for p in bot.settings.knowledge_dir.iterdir())
    exe = tmp_path / "x.exe"
    exe.write_bytes(b"MZ")
    with pytest.raises(UploadError, match="not supported"):
        bot.add_documents([exe])
    binary = tmp_path / "blob.md"
    binary.write_bytes(b"\x00\x01binary")
    with pytest.raises(UploadError, match="blob.md: it looks binary"):  # refused before it is copied, with why
        bot.add_documents([binary])
    assert sorted(p.name for p in bot.settings.knowledge_dir.iterdir()) == before
    with pytest.raises(UploadError, match="no document with id"):
        bot.remove_document("no-such-id")
    with pytest.raises(UploadError, match="only document"):
        bot.remove_document(bot.summaries()[0].article_id)


def test_stream_yields_the_answer_ask_gives(bot):
    answers = list(bot.stream("Where did the Zephyr rover land?"))
    assert answers[-1].text == bot.ask("Where did the Zephyr rover land?").text


def test_the_watchers_sync_never_waits_for_a_document_change_in_progress(bot):
    """A removal holds the Bot's lock while it syncs; the watcher's sync, running meanwhile, needs the
    embedder. Loading it must not wait for that lock (it did: the page's "Delete" hung for good)."""
    import threading

    held, release, loaded = threading.Event(), threading.Event(), []

    def change_in_progress():
        with bot._lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=change_in_progress)
    holder.start()
    held.wait(5)
    loader = threading.Thread(target=lambda: loaded.append((bot.embedder, bot.query_encoder)))
    loader.start()
    loader.join(5)
    waited = loader.is_alive()
    release.set()
    holder.join()
    loader.join()
    assert not waited and loaded, "loading the models waited for the lock a document change holds"
