"""knowledge/folder.py: the folder is a boundary, editor files are ignored, and every article gets its own id."""

from __future__ import annotations

import logging
import os
import random

import pytest

from knowledge import load_articles, load_folder
from knowledge.folder import assign_ids, is_ignored


def _article(path, body="A sentence about the Moon.\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{path.stem}\n\n{body}", encoding="utf-8")
    return path


def test_links_out_loops_and_dangling_links_are_skipped_by_name(tmp_path, caplog):
    folder, outside = tmp_path / "articles", tmp_path / "outside"
    _article(folder / "good.md")
    secret = _article(outside / "secret.txt", "SECRET-OUTSIDE root:x:0:0\n")
    _article(outside / "sub" / "more.md", "SECRET-OUTSIDE too\n")
    (folder / "passwd.txt").symlink_to(secret)
    (folder / "up.md").symlink_to("../outside/secret.txt")
    (folder / "loop-a.md").symlink_to("loop-b.md")
    (folder / "loop-b.md").symlink_to("loop-a.md")
    (folder / "self.md").symlink_to("self.md")
    (folder / "gone.md").symlink_to(tmp_path / "deleted.md")
    (folder / "linked-dir").symlink_to(outside / "sub")
    (folder / "alias.md").symlink_to("good.md")  # inside, but the same file again
    os.mkfifo(folder / "pipe.md")  # reading a FIFO would block forever
    with caplog.at_level(logging.WARNING):
        loaded = load_folder(folder)
    assert [a.id for a in loaded.articles] == ["good"]
    assert all("SECRET-OUTSIDE" not in a.text for a in loaded.articles)
    reasons = {s.path.name: s.reason for s in loaded.skipped}
    assert reasons == {
        "passwd.txt": "it is a link to a file outside the knowledge folder",
        "up.md": "it is a link to a file outside the knowledge folder",
        "loop-a.md": "it is a link in a loop (-> loop-b.md)",
        "loop-b.md": "it is a link in a loop (-> loop-a.md)",
        "self.md": "it is a link in a loop (-> self.md)",
        "gone.md": f"it is a dangling link (-> {tmp_path / 'deleted.md'})",
        "linked-dir": "it is a link to a folder outside the knowledge folder",
        "alias.md": "it is a link to good.md, which is loaded already",
        "pipe.md": "it is not a regular file",
    }
    for name in reasons:
        assert f"Skipping {folder / name}: " in caplog.text


def test_links_inside_the_folder_are_read(tmp_path):
    _article(tmp_path / "archive" / "2025" / "launch.md")
    (tmp_path / "latest.md").symlink_to("archive/2025/launch.md")
    (tmp_path / "current").symlink_to("archive")  # a folder link inside: its files come through the real folder
    assert [a.id for a in load_articles(tmp_path)] == ["archive-2025-launch"]


@pytest.mark.parametrize(
    "name", [".hidden.md", ".#draft.md", "draft.md~", "#draft.md#", "~$report.docx", ".report.md.swp", ".~lock.a.docx#"]
)
def test_hidden_and_editor_files_are_ignored_silently(tmp_path, caplog, name):
    _article(tmp_path / "real.md")
    (tmp_path / name).write_text("Leftover\n\nEditor junk that must not be indexed.\n", encoding="utf-8")
    _article(tmp_path / ".git" / "notes.md")  # hidden folders are not entered
    assert is_ignored(name)
    with caplog.at_level(logging.WARNING):
        loaded = load_folder(tmp_path)
    assert [a.id for a in loaded.articles] == ["real"] and not loaded.skipped and not caplog.records


def test_colliding_names_each_get_an_id_with_a_warning(tmp_path, caplog):
    names = ["a.md", "a.txt", "a-txt.md", "Report 1.md", "report-1.md", "report_1.md"]
    for name in names:
        _article(tmp_path / name, f"The file {name} talks about the rover.\n")
    with caplog.at_level(logging.WARNING):
        articles = load_articles(tmp_path)
    by_file = {a.metadata["file"]: a.id for a in articles}
    assert len(articles) == len(set(by_file.values())) == 6
    assert by_file["a.md"] == "a" and by_file["a-txt.md"] == "a-txt" and by_file["report-1.md"] == "report-1"
    for article in articles:  # each id holds its own file's text
        assert f"The file {article.metadata['file']} talks" in article.text
    collisions = [r.getMessage() for r in caplog.records if "collision" in r.getMessage()]
    assert len(collisions) == 3 and any("a.txt would have the id 'a'" in m for m in collisions)


def test_cjk_names_keep_readable_ids(tmp_path):
    for name in ["中文.md", "日本語.md", "한국어.md", "Ünïcödé Ärticle.md"]:
        _article(tmp_path / name)
    assert [a.id for a in load_articles(tmp_path)] == sorted(["中文", "日本語", "한국어", "ünïcödé-ärticle"])


def test_ids_depend_only_on_the_set_of_files():
    names = ["a.md", "a.txt", "a-txt.md", "Report 1.md", "report-1.md", "report_1.md", "中文.md", "x/a.md", "x-a.md"]
    first, _ = assign_ids(names)
    for seed in range(5):
        shuffled = names[:]
        random.Random(seed).shuffle(shuffled)
        assert assign_ids(shuffled)[0] == first
    assert len(set(first.values())) == len(names)


def test_long_names_give_short_distinct_ids():
    ids, _ = assign_ids(["x" * 200 + "1.md", "x" * 200 + "2.md"])
    assert len(set(ids.values())) == 2 and all(len(i) <= 80 for i in ids.values())
