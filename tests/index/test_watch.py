"""The live index: a watching Bot answers from a file added to its folder within 10 s of it being
written, never cites a deleted file's content 10 s after, and never blocks a question on a sync."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sample_index import ARTICLES, write_articles

from bot import Bot
from index.folder import IndexFolder
from index.watch import FolderWatcher, is_article_path
from knowledge.settings import Settings

pytestmark = pytest.mark.slow

LIMIT = 10.0


def _poll(check, limit=LIMIT, step=0.2) -> float:
    """Seconds until `check()` is true; fails after `limit`."""
    began = time.monotonic()
    while not check():
        assert time.monotonic() - began < limit, f"not within {limit} s"
        time.sleep(step)
    return time.monotonic() - began


@pytest.fixture
def watching(tmp_path, embedder):
    knowledge = write_articles(tmp_path / "articles", ARTICLES)
    settings = Settings(reader="extractive", knowledge_dir=knowledge, index_dir=tmp_path / "index", progress=False)
    bot = Bot(settings=settings, embedder=embedder).watch()
    yield bot, knowledge
    bot.close()


def _cites(bot, question, article_id) -> bool:
    answer = bot.ask(question)
    return not answer.abstained and any(c.article_id == article_id for c in answer.citations)


def test_an_added_file_is_answered_within_10_s_of_being_written(watching):
    bot, knowledge = watching
    question = "Which instrument did the Kappa balloon carry?"
    assert not _cites(bot, question, "kappa")
    path = knowledge / "kappa.txt"
    with open(path, "w", encoding="utf-8") as handle:  # written in two parts, 1 s apart
        handle.write("Kappa balloon\n\nThe Kappa balloon flew over Antarctica in 2020. ")
        handle.flush()
        time.sleep(1.0)
        handle.write("It carried a neutrino detector.\n")
    written = time.monotonic()
    _poll(lambda: _cites(bot, question, "kappa"))
    print(f"added file answered {time.monotonic() - written:.1f} s after it was written")
    snapshot = IndexFolder(bot.settings.index_path).snapshot()
    assert "neutrino detector" in snapshot.text_of("kappa")  # indexed complete, not half-written


def test_a_deleted_file_is_never_cited_10_s_after(watching):
    bot, knowledge = watching
    question = "Which probe flew past Venus?"
    assert _cites(bot, question, "gamma")
    (knowledge / "gamma.md").unlink()
    deleted = time.monotonic()
    _poll(lambda: not _cites(bot, question, "gamma"))
    print(f"deleted file gone {time.monotonic() - deleted:.1f} s after")
    time.sleep(0.5)
    assert not _cites(bot, question, "gamma") and "gamma" not in {s.article_id for s in bot.summaries()}


def test_questions_do_not_wait_for_a_sync(watching):
    bot, knowledge = watching
    write_articles(
        knowledge, {f"bulk-{n}.txt": f"Bulk {n}\n\nBulk report {n} mentions the Lambda rover.\n" for n in range(30)}
    )
    began = time.monotonic()
    answer = bot.ask("Where did the Alpha rover land?")  # while the watcher embeds 30 new files
    assert time.monotonic() - began < 5 and not answer.abstained
    _poll(lambda: len(bot.summaries()) == 33, limit=60)


def test_a_snapshot_committed_by_another_process_is_picked_up(watching, tmp_path, embedder):
    bot, knowledge = watching
    other = Bot(settings=bot.settings, embedder=embedder)  # stands for `dsqa index` in another terminal
    bot.close()  # not watching the folder: only the snapshot pointer changes
    watcher = FolderWatcher(tmp_path / "elsewhere", bot._on_tick, (".txt",), interval=0.2)
    (tmp_path / "elsewhere").mkdir()
    watcher.start()
    try:
        write_articles(knowledge, {"omega.txt": "Omega\n\nThe Omega mission mapped Ceres.\n"})
        other.index()
        _poll(lambda: "omega" in {s.article_id for s in bot.summaries()})
    finally:
        watcher.stop()


def test_editor_temporaries_and_hidden_files_are_not_articles():
    suffixes = (".md", ".txt")
    assert is_article_path(Path("notes.md"), suffixes)
    for name in (".notes.md", ".#notes.md", "notes.md~", "notes.txt.swp", "notes.pdf.part", "~notes.md"):
        assert not is_article_path(Path(name), suffixes), name
