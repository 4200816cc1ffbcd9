"""knowledge/loaders.py on good and hostile files."""

from __future__ import annotations

import logging
import time

import pytest
from documents import make_pdf, twenty_page_report

from knowledge import ArticleFolderError, load_article, load_articles, load_folder
from knowledge.settings import PROJECT_ROOT


def test_shipped_article_has_front_matter_and_keeps_its_text(shipped_article):
    assert shipped_article.id == "idsea-launch-2025-07-01"
    assert shipped_article.title == "China to Launch International Space Exploration Association"
    assert shipped_article.metadata["reported"] == "2025-07-01"
    assert shipped_article.metadata["language"] == "en"
    assert shipped_article.text.startswith(
        shipped_article.title + "\nCollaborative projects could begin to increase next week."
    )
    seed = PROJECT_ROOT.parent / "shared" / "seeds" / "000_77ae8feb35aa6cfe.txt"
    if seed.exists():  # every line of the seed body is in the loaded text, as written (CI has shared/ beside the clone)
        body = seed.read_text(encoding="utf-8").split("\n")[3:]
        for line in body:
            if line and not line.startswith(("Led by China", "The Global South is a synonym")):
                assert line.replace("Station1:", "Station:").replace("South2.", "South.") in shipped_article.text


def test_notes_say_what_they_are_about(shipped_article):
    text = shipped_article.text
    assert (
        "Note 1, on the International Lunar Research Station: Led by China, with members including Azerbaijan" in text
    )
    assert "Note 2, on the Global South: The Global South is a synonym" in text
    assert "[^" not in text and "Station1" not in text


def test_markdown_txt_and_html(tmp_path):
    (tmp_path / "a.md").write_text("---\ntitle: Alpha\nreported: 2024-01-02\n---\n\nAlpha body.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Beta headline\n\nBeta body sentence.\n", encoding="utf-8")
    (tmp_path / "c.html").write_text(
        "<html><head><title>Gamma page</title><script>var tracker = 1;</script><style>p{}</style></head>"
        "<body><nav>Home | About</nav><p>Gamma main text about the lunar rover.</p></body></html>",
        encoding="utf-8",
    )
    articles = {a.id: a for a in load_articles(tmp_path)}
    assert set(articles) == {"a", "b", "c"}
    assert articles["a"].title == "Alpha" and articles["a"].date == "2024-01-02" and "Alpha body." in articles["a"].text
    assert articles["b"].title == "Beta headline" and "Beta body sentence." in articles["b"].text
    gamma = articles["c"].text
    assert "Gamma main text about the lunar rover." in gamma
    assert "tracker" not in gamma and "<p>" not in gamma and "p{}" not in gamma


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00" + bytes(range(256)) * 4, "binary"),
        ("zeros.txt", b"\x00" * 4096, "binary"),
        ("empty.txt", b"   \n\n", "no text"),
        ("broken.pdf", b"%PDF-1.4 this is not really a PDF", "not a PDF"),
        ("broken.docx", b"PK\x03\x04 not a zip", "not a DOCX"),
        ("bad-yaml.md", b"---\ntitle: [unclosed\n---\nBody.\n", "cannot parse"),
    ],
)
def test_bad_files_are_skipped_with_a_warning_naming_them(tmp_path, caplog, name, content, why):
    (tmp_path / "good.txt").write_text("Good title\n\nA good sentence.\n", encoding="utf-8")
    (tmp_path / name).write_bytes(content)
    with caplog.at_level(logging.WARNING):
        articles = load_articles(tmp_path)
    assert [a.id for a in articles] == ["good"]
    assert any(name in r.getMessage() and why in r.getMessage() for r in caplog.records)


def test_unreadable_file_is_skipped(tmp_path, caplog):
    (tmp_path / "folder.md").mkdir()
    (tmp_path / "missing.md").symlink_to(tmp_path / "nowhere.md")
    with caplog.at_level(logging.WARNING):
        assert load_article(tmp_path / "folder.md") is None
        assert load_article(tmp_path / "gone.md") is None
        assert load_article(tmp_path / "missing.md") is None
    assert "folder.md: it is not a regular file" in caplog.text
    assert "gone.md: cannot read it" in caplog.text
    assert "missing.md: it is a link" in caplog.text


def test_missing_or_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ArticleFolderError, match="not found"):
        load_articles(tmp_path / "nope")
    with pytest.raises(ArticleFolderError, match="No readable articles"):
        load_articles(tmp_path)
    (tmp_path / "only-bad.txt").write_bytes(bytes(range(32)) * 64)
    with pytest.raises(ArticleFolderError, match="No readable articles"):
        load_articles(tmp_path)


def test_content_hash_changes_with_text(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("T\n\nOne.\n", encoding="utf-8")
    first = load_article(path).content_hash
    assert load_article(path).content_hash == first
    path.write_text("T\n\nTwo.\n", encoding="utf-8")
    assert load_article(path).content_hash != first


def test_every_article_records_its_format(tmp_path):
    (tmp_path / "a.md").write_text("# Alpha\n\nAlpha body.\n", encoding="utf-8")
    (tmp_path / "b.markdown").write_text("Beta body.\n", encoding="utf-8")
    (tmp_path / "c.htm").write_text("<p>Gamma body about the rover.</p>", encoding="utf-8")
    formats = {a.id: (a.format, a.pages) for a in load_articles(tmp_path)}
    assert formats == {"a": ("md", None), "b": ("markdown", None), "c": ("htm", None)}


def test_legacy_encodings_and_utf16_are_decoded(tmp_path):
    text = "Café in München: the probe’s data arrived.\n"
    (tmp_path / "latin1.txt").write_bytes(
        "Caf\xe9 in M\xfcnchen, the lander team met at the caf\xe9.\n".encode("latin-1")
    )
    (tmp_path / "u16.txt").write_bytes(text.encode("utf-16"))  # with a BOM
    (tmp_path / "u16le.txt").write_bytes(text.encode("utf-16-le"))  # without one
    (tmp_path / "u16be.md").write_bytes(("---\ntitle: Big end\n---\n\n" + text).encode("utf-16-be"))
    (tmp_path / "gb.txt").write_bytes("国际深空探测学会设在合肥。这是一个关于月球探测的测试句子。\n".encode("gb18030"))
    (tmp_path / "sjis.txt").write_bytes(
        "日本語のテキストです。これは月面探査についての文章です。\n".encode("shift_jis")
    )
    articles = {a.id: a for a in load_articles(tmp_path)}
    assert set(articles) == {"latin1", "u16", "u16le", "u16be", "gb", "sjis"}
    assert articles["latin1"].text.startswith("Café in München")
    assert articles["u16"].text == articles["u16le"].text == text
    assert articles["u16be"].title == "Big end" and text.strip() in articles["u16be"].text
    assert "设在合肥。" in articles["gb"].text and "月面探査" in articles["sjis"].text


def test_nul_and_control_characters_are_dropped_not_fatal(tmp_path):
    (tmp_path / "nul.txt").write_bytes(b"Nul title\n\nThe rover\x00 landed\x07 near the crater rim.\r\nIt drilled.\n")
    article = load_articles(tmp_path)[0]
    assert article.text == "Nul title\n\nThe rover landed near the crater rim.\nIt drilled.\n"


def test_oversized_file_is_skipped_by_name_and_the_rest_load(tmp_path, caplog):
    (tmp_path / "small.txt").write_text("Small\n\nA small article.\n", encoding="utf-8")
    (tmp_path / "big.txt").write_text("Big\n\n" + "A sentence about the lander. " * 40_000, encoding="utf-8")  # 1.2 MB
    with caplog.at_level(logging.WARNING):
        articles = load_articles(tmp_path, max_file_mb=1)
    assert [a.id for a in articles] == ["small"]
    assert "big.txt: it is 1.2 MB, over the 1.0 MB limit per file" in caplog.text
    assert [a.id for a in load_articles(tmp_path, max_file_mb=2)] == ["big", "small"]


def test_load_folder_reports_what_it_skipped(tmp_path):
    (tmp_path / "good.txt").write_text("Good\n\nFine.\n", encoding="utf-8")
    (tmp_path / "empty.md").write_text("\n", encoding="utf-8")
    (tmp_path / "notes.swp").write_text("vim swap", encoding="utf-8")  # not an article suffix: not even listed
    loaded = load_folder(tmp_path)
    assert [a.id for a in loaded.articles] == ["good"]
    assert [(s.path.name, s.reason) for s in loaded.skipped] == [("empty.md", "it holds no text")]


def test_deeply_nested_html_keeps_its_text(tmp_path):
    for depth in (300, 20_000):
        inner = "<p>The deep sentence: the rover found ice at the south pole.</p>"
        (tmp_path / f"deep{depth}.html").write_text(
            "<html><head><title>Deep page</title></head><body>"
            + "<div>" * depth
            + inner
            + "</div>" * depth
            + "<p>After the nest comes the closing line.</p></body></html>",
            encoding="utf-8",
        )
    for article in load_articles(tmp_path):
        assert article.title == "Deep page"
        assert "The deep sentence: the rover found ice at the south pole." in article.text
        assert "After the nest comes the closing line." in article.text


def test_front_matter_alias_bomb_is_skipped_fast(tmp_path, caplog):
    lines = ['lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    (tmp_path / "bomb.md").write_text("---\n" + "\n".join(lines) + "\ntitle: Bomb\n---\n\nBody.\n", encoding="utf-8")
    (tmp_path / "good.md").write_text("---\ntitle: Good\n---\n\nThe good article.\n", encoding="utf-8")
    began = time.perf_counter()
    with caplog.at_level(logging.WARNING):
        articles = load_articles(tmp_path)
    assert time.perf_counter() - began < 2
    assert [a.id for a in articles] == ["good"]
    assert "bomb.md: cannot parse it (its front matter uses YAML anchors or aliases)" in caplog.text


def test_a_parser_that_runs_over_its_time_is_stopped_and_the_rest_load(tmp_path, caplog):
    make_pdf(tmp_path / "slow.pdf", twenty_page_report())
    (tmp_path / "quick.txt").write_text("Quick\n\nLoaded in process.\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        articles = load_articles(tmp_path, time_limit_s=0.01)  # less than the worker needs to start
    assert [a.id for a in articles] == ["quick"]
    assert "slow.pdf: reading it took longer than 0.01 s" in caplog.text
