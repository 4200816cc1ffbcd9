"""knowledge/uploads.py: safe names, never outside the folder, never overwriting, type and size limits."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from knowledge.uploads import UploadError, remove_document_file, safe_name, save_upload


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.md", "passwd.md"),
        ("..\\..\\windows\\evil.TXT", "evil.txt"),
        ("/abs/path/report.md", "report.md"),
        (".bashrc.md", "bashrc.md"),
        ("a\x00b\nc.md", "a b c.md"),
        ("$(rm -rf ~).md", "rm -rf.md"),
        ("evil\u202egnp.md", "evil gnp.md"),
        ("中文 报告.md", "中文 报告.md"),
        ("...", "document"),
        ("x" * 300 + ".md", "x" * 117 + ".md"),
    ],
)
def test_safe_names(name, safe):
    assert safe_name(name) == safe


def test_an_upload_lands_inside_the_folder_and_never_overwrites(tmp_path):
    folder, source = tmp_path / "articles", tmp_path / "in.md"
    folder.mkdir()
    (folder / "report.md").write_text("existing", encoding="utf-8")
    source.write_text("new", encoding="utf-8")
    first = save_upload(source, folder, 1, name="../report.md")
    second = save_upload(source, folder, 1, name="report.md")
    assert (first.name, second.name) == ("report-2.md", "report-3.md")
    assert (folder / "report.md").read_text(encoding="utf-8") == "existing"
    assert all(p.parent == folder.resolve() for p in (first, second))


def test_many_uploads_of_one_name_at_once_all_keep_their_own_file(tmp_path):
    source = tmp_path / "same.md"
    source.write_text("x", encoding="utf-8")
    with ThreadPoolExecutor(8) as pool:
        saved = list(pool.map(lambda _: save_upload(source, tmp_path, 1), range(16)))
    assert len({p.name for p in saved}) == 16


def test_refused_types_and_sizes_say_which_file_and_why(tmp_path):
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    with pytest.raises(UploadError, match="tool.exe: this kind of file is not supported"):
        save_upload(exe, tmp_path, 1)
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 2_100_000)
    with pytest.raises(UploadError, match=r"big.txt: 2.1 MB is over the 2 MB limit"):
        save_upload(big, tmp_path / "dest", 2)
    with pytest.raises(UploadError, match="cannot read it"):
        save_upload(tmp_path / "missing.md", tmp_path, 1)


def test_removing_refuses_anything_outside_the_folder_and_unlinks_symlinks_only(tmp_path):
    folder, outside = tmp_path / "articles", tmp_path / "secret.md"
    folder.mkdir()
    outside.write_text("secret", encoding="utf-8")
    with pytest.raises(UploadError, match="not inside the knowledge folder"):
        remove_document_file(outside, folder)
    link = folder / "link.md"
    os.symlink(outside, link)
    remove_document_file(link, folder)
    assert not link.exists() and outside.read_text(encoding="utf-8") == "secret"
    with pytest.raises(UploadError, match="no such file"):
        remove_document_file(folder / "gone.md", folder)
