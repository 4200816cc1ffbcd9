"""knowledge/documents.py through the loader: real PDFs (fpdf2) and DOCX files (python-docx) made here."""

from __future__ import annotations

import logging

from documents import make_docx, make_pdf, make_scanned_pdf, twenty_page_report

from index.chunking import split_into_chunks, split_into_sentences
from knowledge import load_articles, load_folder
from knowledge.documents import _reflow


def test_a_twenty_page_pdf_keeps_its_pages_and_offsets(tmp_path):
    pages = twenty_page_report()
    make_pdf(tmp_path / "report.pdf", pages, title="Lunar lander mission report")
    [article] = load_articles(tmp_path)
    assert (article.id, article.format, article.pages, article.title) == (
        "report",
        "pdf",
        20,
        "Lunar lander mission report",
    )
    for n in range(1, 21):
        fact = f"The page {n} fact: the relay antenna number {n * 7} was tested in hall {chr(64 + n)}."
        at = article.text.index(fact)  # wrapped lines are joined again: the sentence reads as written
        assert article.page_of(at) == n and article.page_of(at + len(fact) - 1) == n
        start = article.page_starts[n - 1]
        assert article.text.startswith(f"Section {n}.1 of the mission report", start)
    assert article.page_of(0) == 1 and article.page_of(len(article.text) - 1) == 20
    chunks = split_into_chunks(article, 700, 150)
    for chunk in chunks:  # quotes still round-trip: a chunk and its sentences are verbatim in the text
        assert article.text[chunk.start : chunk.end] == chunk.text
    sentences = [article.text[s:e] for s, e in split_into_sentences(article.text)]
    assert "The page 17 fact: the relay antenna number 119 was tested in hall Q." in sentences


def test_scanned_and_encrypted_pdfs_are_skipped_by_name(tmp_path, caplog):
    make_scanned_pdf(tmp_path / "scan.pdf")
    make_pdf(tmp_path / "locked.pdf", ["Secret minutes of the board."], user_password="s3cret")
    make_pdf(
        tmp_path / "open.pdf", ["An owner password only restricts printing; anyone can read this."], user_password=""
    )
    with caplog.at_level(logging.WARNING):
        loaded = load_folder(tmp_path)
    assert [a.id for a in loaded.articles] == ["open"]
    reasons = {s.path.name: s.reason for s in loaded.skipped}
    assert reasons == {
        "locked.pdf": "it is an encrypted PDF that needs a password",
        "scan.pdf": "this 2-page PDF has no text layer (a scan?); OCR is not supported",
    }
    assert "locked.pdf: it is an encrypted PDF" in caplog.text and "scan.pdf: this 2-page PDF" in caplog.text


def test_wrapped_pdf_lines_are_joined_into_paragraphs(tmp_path):
    long_words = " ".join(["internationalization and telecommunications infrastructure."] * 40)
    make_pdf(tmp_path / "words.pdf", [long_words + "\n\nA short closing line."])
    [article] = load_articles(tmp_path)
    assert article.text.startswith(long_words)  # 40 wrapped lines read as the one paragraph they are
    assert article.text.endswith("A short closing line.")


def test_pdfium_soft_hyphens_at_line_ends_are_mended():
    # PDFium reports a hyphen it found at a line end as U+0002 before the line break (seen in TeX PDFs).
    page = "Distinguished Encoding Rules (DER) manip\x02\r\nulation of the\r\nstructures.\r\nShort.\r\n"
    page = "A full line of text that sets the usual width of this page here.\r\n" * 3 + page
    assert "manipulation of the structures." in _reflow(page)
    assert "\x02" not in _reflow(page) and "-" not in _reflow(page)


def test_docx_paragraphs_and_tables_in_order(tmp_path):
    make_docx(
        tmp_path / "lander notes.docx",
        "Lander notes",
        ["The lander carries a seismometer from France.", "It should land near the south pole in 2027."],
        table=[["Instrument", "Country"], ["Seismometer", "France"], ["Camera", "Italy"]],
    )
    [article] = load_articles(tmp_path)
    assert (article.id, article.format, article.title, article.pages) == ("lander-notes", "docx", "Lander notes", None)
    assert article.text == (
        "Lander notes\n\nThe lander carries a seismometer from France.\n\n"
        "It should land near the south pole in 2027.\n\n"
        "Instrument | Country\n\nSeismometer | France\n\nCamera | Italy\n"
    )


def test_a_docx_zip_bomb_is_refused_before_it_is_parsed(tmp_path, caplog):
    import zipfile

    with zipfile.ZipFile(tmp_path / "bomb.docx", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b" " * 30_000_000)  # 30 MB of spaces deflate to ~30 KB
    with caplog.at_level(logging.WARNING):
        loaded = load_folder(tmp_path, max_file_mb=1)
    assert not loaded.articles and "unpacks to 30 MB (a zip bomb?)" in loaded.skipped[0].reason
