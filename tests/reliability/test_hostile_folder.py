"""A hostile knowledge folder: the good files load and index, every bad one is named, nothing outside is read.

The folder holds a YAML alias bomb, a 50 MB article, binary and NUL-laden files, text in five
encodings, links out of the folder, in loops and dangling, a FIFO, 20,000-deep HTML, a scanned and an
encrypted PDF, colliding and CJK file names, and editor leftovers. An audit hook records every file
the loader opens, so "nothing outside the folder is read" is checked, not assumed.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import pytest
from documents import make_docx, make_pdf, make_scanned_pdf

from knowledge import load_folder

SECRET = "OUTSIDE-SECRET root:x:0:0:root:/root:/bin/bash"
_opened: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _opened.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)  # hooks cannot be removed: it records only while a test sets `_opened`

GOOD = {  # file name → the article id it must load as
    "plain.md": "plain",
    "notes.txt": "notes",
    "page.html": "page",
    "deep.html": "deep",
    "report.pdf": "report",
    "minutes.docx": "minutes",
    "utf16-bom.txt": "utf16-bom",
    "utf16le.txt": "utf16le",
    "latin1.txt": "latin1",
    "gb18030.txt": "gb18030",
    "nul-bytes.md": "nul-bytes",
    "中文.md": "中文",
    "日本語.md": "日本語",
    "한국어.md": "한국어",
    "a.md": "a",
    "a.txt": "a-txt-2",
    "a-txt.md": "a-txt",
    "Report 1.md": "report-1-md",
    "report-1.md": "report-1",
    "report_1.md": "report-1-md-2",
}
BAD = {  # file name → words its warning must hold
    "bomb.md": "YAML anchors or aliases",
    "tagged.md": "YAML tag",
    "huge.md": "over the 20.0 MB limit per file",
    "binary.md": "binary",
    "zeros.txt": "binary",
    "empty.md": "holds no text",
    "passwd.txt": "outside the knowledge folder",
    "escape.md": "outside the knowledge folder",
    "outside-dir": "outside the knowledge folder",
    "loop-a.md": "loop",
    "loop-b.md": "loop",
    "dangling.md": "dangling link",
    "fifo.md": "not a regular file",
    "scan.pdf": "no text layer",
    "locked.pdf": "needs a password",
}
IGNORED = [".hidden.md", ".#plain.md", "plain.md~", "#plain.md#", "~$minutes.docx", ".plain.md.swp"]


def _make_hostile_folder(root: Path) -> Path:
    folder, outside = root / "articles", root / "outside"
    folder.mkdir()
    outside.mkdir()
    (outside / "passwd").write_text(SECRET + "\n", encoding="utf-8")
    (outside / "dir").mkdir()
    (outside / "dir" / "leak.md").write_text(f"Leak\n\n{SECRET}\n", encoding="utf-8")

    def write(name: str, text: str, encoding: str = "utf-8") -> None:
        (folder / name).write_bytes(text.encode(encoding))

    write("plain.md", "---\ntitle: Plain article\nreported: 2025-07-01\n---\n\nThe plain rover landed in May.\n")
    write("notes.txt", "Field notes\n\nThe team tested the drill twice.\n")
    write("page.html", "<html><head><title>Page</title></head><body><p>The orbiter mapped ice.</p></body></html>")
    write(
        "deep.html",
        "<html><head><title>Deep</title></head><body>"
        + "<div>" * 20_000
        + "<p>The deep probe measured radiation.</p>"
        + "</div>" * 20_000
        + "</body></html>",
    )
    make_pdf(folder / "report.pdf", [f"Page {n} says the antenna number {n} works." for n in (1, 2, 3)])
    make_docx(folder / "minutes.docx", "Minutes", ["The board approved the lander budget."])
    write("utf16-bom.txt", "UTF-16 with a mark\n\nThe relay satellite is in orbit.\n", "utf-16")
    write("utf16le.txt", "UTF-16 without a mark\n\nThe sample return is planned.\n", "utf-16-le")
    write("latin1.txt", "Café notes\n\nThe team met in München for the review.\n", "latin-1")
    write("gb18030.txt", "合肥\n\n国际深空探测学会设在合肥。\n", "gb18030")
    (folder / "nul-bytes.md").write_bytes(b"# NUL bytes\n\nThe lander\x00 carries a\x00 seismometer.\n")
    write("中文.md", "# 中文文章\n\n嫦娥七号将于2026年发射。\n")
    write("日本語.md", "# 日本語の記事\n\n探査機は月の南極に着陸する。\n")
    write("한국어.md", "# 한국어 기사\n\n탐사선은 달 남극에 착륙한다.\n")
    for name in ("a.md", "a.txt", "a-txt.md", "Report 1.md", "report-1.md", "report_1.md"):
        write(name, f"{name} title\n\nThe file named {name} is its own article.\n")

    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    write("bomb.md", "---\n" + "\n".join(lines) + "\n---\n\nBody.\n")
    write("tagged.md", "---\ntitle: !!python/object/apply:os.system ['echo pwned']\n---\n\nBody.\n")
    with open(folder / "huge.md", "w", encoding="utf-8") as handle:
        line = "A 50 MB article is larger than any article should be, so it is skipped.\n"
        handle.write(line * (50_000_000 // len(line) + 1))
    (folder / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 64)
    (folder / "zeros.txt").write_bytes(b"\x00" * 10_000)
    write("empty.md", "---\ntitle: Only a title in front matter\n---\n")
    (folder / "passwd.txt").symlink_to(outside / "passwd")
    (folder / "escape.md").symlink_to("../outside/dir/leak.md")
    (folder / "outside-dir").symlink_to(outside / "dir")
    (folder / "loop-a.md").symlink_to("loop-b.md")
    (folder / "loop-b.md").symlink_to("loop-a.md")
    (folder / "dangling.md").symlink_to(root / "deleted.md")
    os.mkfifo(folder / "fifo.md")
    make_scanned_pdf(folder / "scan.pdf")
    make_pdf(folder / "locked.pdf", ["Locked minutes."], user_password="s3cret")
    for name in IGNORED:
        write(name, "Editor leftover\n\nThis must never be indexed.\n")
    return folder


@pytest.fixture
def hostile(tmp_path):
    return _make_hostile_folder(tmp_path)


def test_the_good_files_load_and_every_bad_one_is_named(hostile, tmp_path, caplog):
    global _opened
    _opened = []
    began = time.perf_counter()
    try:
        with caplog.at_level(logging.WARNING):
            loaded = load_folder(hostile)
    finally:
        opened, _opened = _opened, None
    seconds = time.perf_counter() - began
    print(f"hostile folder: {len(loaded.articles)} articles, {len(loaded.skipped)} skipped, {seconds:.2f} s")

    by_file = {a.path.name: a for a in loaded.articles}
    assert {name: a.id for name, a in by_file.items()} == GOOD
    assert {s.path.name for s in loaded.skipped} == set(BAD)
    for skipped in loaded.skipped:
        assert BAD[skipped.path.name] in skipped.reason
        assert f"Skipping {skipped.path}: {skipped.reason}" in caplog.text
    for name in IGNORED:
        assert name not in caplog.text and name not in by_file
    assert all("OUTSIDE-SECRET" not in a.text and "never be indexed" not in a.text for a in loaded.articles)

    outside = (tmp_path / "outside").resolve()
    read_outside = [p for p in opened if outside in Path(p).resolve().parents]
    assert read_outside == []
    assert any(Path(p).name == "plain.md" for p in opened)  # the hook does see the loader's reads

    assert "The deep probe measured radiation." in by_file["deep.html"].text
    assert "The lander carries a seismometer." in by_file["nul-bytes.md"].text
    assert "The relay satellite is in orbit." in by_file["utf16-bom.txt"].text
    assert "The sample return is planned." in by_file["utf16le.txt"].text
    assert "国际深空探测学会设在合肥。" in by_file["gb18030.txt"].text
    assert "München" in by_file["latin1.txt"].text
    report = by_file["report.pdf"]
    assert report.pages == 3 and report.page_of(report.text.index("antenna number 3")) == 3
    assert seconds < 30  # the bound; measured about 2 s on the 2-core CI machine


def test_indexing_a_hostile_folder_succeeds(hostile, tmp_path, embedder):
    from bot import Bot

    bot = Bot(knowledge_dir=hostile, index_dir=tmp_path / "index", embedder=embedder)
    report = bot.index(progress=False)
    assert sorted(report.added) == sorted(GOOD.values())
    assert {a.id for a in bot.articles()} == set(GOOD.values())
    texts = {a.id: a.text for a in bot.articles()}
    for chunk in bot._search.chunks:
        assert texts[chunk.article_id][chunk.start : chunk.end] == chunk.text
