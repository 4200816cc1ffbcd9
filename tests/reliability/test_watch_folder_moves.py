"""The watcher follows folders: a folder of articles moved in is answered from, one renamed is
re-identified, and one moved out or deleted is forgotten, each within 10 s (the watcher's bound)."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from bot import Bot
from knowledge.settings import Settings

LIMIT = 10.0


def _within(check, limit: float = LIMIT) -> float:
    """Seconds until `check()` holds; fails after `limit`."""
    began = time.monotonic()
    while not check():
        assert time.monotonic() - began < limit, f"not within {limit} s"
        time.sleep(0.2)
    return time.monotonic() - began


@pytest.fixture
def watching(tmp_path, embedder):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "base.md").write_text("# Base\n\nThe base station tracks the rover every night.\n", encoding="utf-8")
    bot = Bot(settings=Settings(knowledge_dir=folder, index_dir=tmp_path / "index", progress=False), embedder=embedder)
    yield bot.watch(), folder, tmp_path
    bot.close()


def _ids(bot) -> set[str]:
    return {s.article_id for s in bot.summaries()}


def test_folders_moved_in_renamed_moved_out_and_deleted_are_followed(watching):
    bot, folder, root = watching
    outside = root / "incoming"
    outside.mkdir()
    (outside / "kappa.md").write_text("# Kappa\n\nThe Kappa balloon carried a neutrino detector.\n", encoding="utf-8")
    (outside / "lambda.md").write_text("# Lambda\n\nThe Lambda lander drilled ice.\n", encoding="utf-8")

    time.sleep(2)  # the watch is set up in its own thread
    os.rename(outside, folder / "survey")  # moved in
    moved_in = _within(lambda: {"survey-kappa", "survey-lambda"} <= _ids(bot))
    answer = bot.ask("What did the Kappa balloon carry?")
    assert any(c.article_id == "survey-kappa" for c in answer.citations)

    os.rename(folder / "survey", folder / "archive")  # renamed inside
    renamed = _within(lambda: _ids(bot) == {"base", "archive-kappa", "archive-lambda"})

    os.rename(folder / "archive", root / "gone")  # moved out
    moved_out = _within(lambda: _ids(bot) == {"base"})
    answer = bot.ask("What did the Kappa balloon carry?")
    assert not any("kappa" in c.article_id for c in answer.citations)

    shutil.copytree(root / "gone", folder / "again")
    _within(lambda: {"again-kappa", "again-lambda"} <= _ids(bot))
    shutil.rmtree(folder / "again")  # deleted
    deleted = _within(lambda: _ids(bot) == {"base"})
    print(f"moved in {moved_in:.1f} s, renamed {renamed:.1f} s, moved out {moved_out:.1f} s, deleted {deleted:.1f} s")
