"""Real PDF and DOCX files made by the tests (fpdf2, python-docx), so no binary fixture is committed."""

from __future__ import annotations

from pathlib import Path


def make_pdf(path: Path, pages: list[str], title: str = "", user_password: str | None = None) -> Path:
    """A text PDF, one string per page (wrapped into lines by fpdf2, paragraphs apart by blank lines)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    if title:
        pdf.set_title(title)
    if user_password is not None:
        pdf.set_encryption(owner_password="owner-" + user_password, user_password=user_password)
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        for paragraph in text.split("\n\n"):
            pdf.multi_cell(0, 6, paragraph)
            pdf.ln(6)
    pdf.output(str(path))
    return path


def make_scanned_pdf(path: Path, pages: int = 2) -> Path:
    """A PDF whose pages are images only: what a scanner makes (no text layer)."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    pdf = FPDF(format="A4")
    for n in range(pages):
        image = Image.new("L", (400, 560), 255)
        ImageDraw.Draw(image).rectangle((40, 40 + 20 * n, 360, 80 + 20 * n), fill=0)
        pdf.add_page()
        pdf.image(image, x=10, y=10, w=190)
    pdf.output(str(path))
    return path


def make_docx(path: Path, title: str, paragraphs: list[str], table: list[list[str]] | None = None) -> Path:
    """A Word document: a title, body paragraphs, and a table after them."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(grid.rows, table, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    document.save(str(path))
    return path


def twenty_page_report() -> list[str]:
    """Twenty pages of prose, each with one fact found on that page only."""
    pages = []
    for n in range(1, 21):
        filler = " ".join(
            f"Section {n}.{k} of the mission report reviews the schedule, the budget and the instruments "
            f"that the partner agencies delivered for the lunar lander in the year before launch."
            for k in range(1, 7)
        )
        fact = f"The page {n} fact: the relay antenna number {n * 7} was tested in hall {chr(64 + n)}."
        pages.append(f"{filler}\n\n{fact}\n\n{filler}")
    return pages
