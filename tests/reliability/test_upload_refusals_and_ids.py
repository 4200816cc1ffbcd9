"""Uploads never disturb existing documents' ids, and every refused file says why.

Ids: `harbour.txt` is uploaded, then `harbour.md`; the first keeps `harbour`, the second gets an id of
its own, and deleting each returned id deletes that file and only it. Refusals: a too-large file, an
encrypted PDF, a DOCX that is not a zip, binary bytes, an empty file and an unsupported kind each
raise `UploadError` naming the file and the reason, and leave the folder as it was.
"""

from __future__ import annotations

import pytest
from documents import make_pdf

from bot import Bot
from knowledge.uploads import UploadError


@pytest.fixture
def bot(tmp_path, embedder):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "base.md").write_text("# Base\n\nThe base station tracks the rover every night.\n", encoding="utf-8")
    return Bot(knowledge_dir=folder, index_dir=tmp_path / "index", embedder=embedder)


def _upload(tmp_path, name: str, text: str):
    path = tmp_path / "uploads" / f"{len(list(tmp_path.glob('uploads/*')))}" / name
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_an_upload_never_takes_or_changes_an_existing_id(bot, tmp_path):
    (txt,) = bot.add_documents(
        [_upload(tmp_path, "harbour.txt", "Harbour log\n\nThe harbour crane lifted the probe.\n")]
    )
    assert txt.article_id == "harbour"
    (md,) = bot.add_documents([_upload(tmp_path, "harbour.md", "# Harbour plan\n\nThe harbour will get a new pier.\n")])
    assert md.article_id != "harbour"
    ids = {s.title: s.article_id for s in bot.summaries()}
    assert ids["Harbour log"] == "harbour" and ids["Harbour plan"] == md.article_id

    bot.remove_document(md.article_id)  # the id returned for the .md deletes the .md
    assert {s.title for s in bot.summaries()} == {"Base", "Harbour log"}
    assert (bot.settings.knowledge_dir / "harbour.txt").exists()
    bot.remove_document(txt.article_id)
    assert {s.title for s in bot.summaries()} == {"Base"}


def test_a_folder_restart_keeps_the_ids_an_upload_returned(bot, tmp_path, embedder):
    (first,) = bot.add_documents([_upload(tmp_path, "Harbour.txt", "Harbour log\n\nThe harbour crane lifted.\n")])
    (second,) = bot.add_documents([_upload(tmp_path, "harbour.md", "# Harbour plan\n\nA new pier is planned.\n")])
    again = Bot(settings=bot.settings, embedder=embedder)
    assert {s.article_id for s in again.summaries()} == {"base", first.article_id, second.article_id}


def test_every_refused_file_says_why_and_nothing_is_copied(bot, tmp_path):
    bot.index(progress=False)
    before = sorted(p.name for p in bot.settings.knowledge_dir.iterdir())
    folder = tmp_path / "refused"
    folder.mkdir()
    make_pdf(folder / "locked.pdf", ["Locked minutes."], user_password="s3cret")
    (folder / "broken.docx").write_bytes(b"this is not a zip archive")
    (folder / "blob.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 8)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "tool.exe").write_bytes(b"MZ\x90\x00")
    big = folder / "big.txt"
    big.write_text("Big\n\n" + "x" * int(bot.settings.max_upload_mb * 1_000_000 + 10), encoding="utf-8")
    reasons = {
        "locked.pdf": "locked.pdf: it is an encrypted PDF that needs a password",
        "broken.docx": "broken.docx: it is not a DOCX file (not a zip archive)",
        "blob.md": "blob.md: it looks binary",
        "empty.txt": "empty.txt: it holds no text",
        "tool.exe": "tool.exe: this kind of file is not supported",
        "big.txt": "big.txt: 20.0 MB is over the 20 MB limit",
    }
    for name, reason in reasons.items():
        with pytest.raises(UploadError) as refused:
            bot.add_documents([folder / name])
        assert reason in str(refused.value), str(refused.value)
    with pytest.raises(UploadError) as both:  # several at once: each refused file named, none copied
        bot.add_documents([folder / "locked.pdf", folder / "blob.md"])
    assert "locked.pdf: it is an encrypted PDF" in str(both.value) and "blob.md: it looks binary" in str(both.value)
    assert sorted(p.name for p in bot.settings.knowledge_dir.iterdir()) == before


def test_the_page_names_each_refused_file_and_why(bot, tmp_path):
    import html
    import re

    from markdown_it import MarkdownIt

    from web.service import ChatService

    bot.index(progress=False)
    locked = make_pdf(tmp_path / "locked.pdf", ["Locked minutes."], user_password="s3cret")
    blob = tmp_path / "blob.md"
    blob.write_bytes(b"\x00\x01binary")
    *_, last = ChatService(bot, examples=[]).upload_files([str(locked), str(blob)])
    shown = html.unescape(re.sub(r"<[^>]+>", "", MarkdownIt("commonmark", {"html": True}).render(last[0])))
    assert "locked.pdf: it is an encrypted PDF that needs a password" in shown, shown
    assert "blob.md: it looks binary" in shown, shown
