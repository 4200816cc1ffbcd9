"""PDF (pypdfium2) and DOCX (python-docx) files to an article's title, text and metadata.

A PDF keeps its pages: the text of page n starts at `page_starts[n - 1]`. Lines a PDF wrapped inside a
paragraph are joined again, and a word it hyphenated at a line end is made whole, so sentences read
as written. A PDF that needs a password, or has no text layer (a scan: no OCR here), is refused with
a reason. Both readers take bytes, never a path: the loader alone opens files.
"""

from __future__ import annotations

import io
import re
import statistics
import zipfile

from knowledge.formats import Extracted

_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_SOFT_HYPHEN = "\x02"  # PDFium marks a hyphen it found at a line end (a word broken across lines) with U+0002
_END_OF_PARAGRAPH = re.compile(r"[.!?:。！？：\"”’)]$")
# A line this much shorter than the page's usual full line ends its paragraph (or is a heading).
_SHORT_LINE = 0.8
_MAX_DOCX_EXPANSION = 10  # a DOCX whose parts unzip to more than 10× the size limit is a zip bomb


class DocumentError(ValueError):
    """The document cannot be read; the message says why."""


def parse_pdf(data: bytes) -> Extracted:
    """Text of every page, pages apart by a blank line, with each page's start offset."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise DocumentError("it is an encrypted PDF that needs a password") from exc
        raise DocumentError(f"it is not a PDF that can be read ({exc})") from exc
    try:
        pages = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
        metadata = {k.lower(): v.strip() for k, v in document.get_metadata_dict(skip_empty=True).items()}
    finally:
        document.close()
    texts = [_reflow(p) for p in pages]
    if not any(t.strip() for t in texts):
        raise DocumentError(f"this {len(pages)}-page PDF has no text layer (a scan?); OCR is not supported")
    starts, parts, offset = [], [], 0
    for text in texts:
        starts.append(offset)
        parts.append(text)
        offset += len(text) + 2
    body = "\n\n".join(parts)
    title = metadata.pop("title", "") or _first_line(body)
    kept = {k: metadata[k] for k in ("author", "subject") if metadata.get(k)}
    date = _pdf_date(metadata.get("creationdate", ""))
    if date:
        kept["date"] = date
    return Extracted(title, body, kept, tuple(starts))


def _reflow(page: str) -> str:
    """A page's lines with the wraps inside paragraphs undone; paragraphs apart by a blank line."""
    page = page.replace("\r\n", "\n").replace("\r", "\n")
    page = re.sub(_SOFT_HYPHEN + r"\n", "", page).replace(_SOFT_HYPHEN, "-")
    lines = [" ".join(line.split()) for line in page.split("\n")]
    lengths = [len(line) for line in lines if line]
    if not lengths:
        return ""
    full = statistics.quantiles(lengths, n=10)[-1] if len(lengths) >= 2 else lengths[0]  # the usual full line
    paragraphs: list[str] = []
    current = ""
    for line in lines:
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
            continue
        if current:
            glue = "" if _CJK.match(line) and _CJK.search(current[-1]) else " "
            current += glue + line
        else:
            current = line
        if len(line) < _SHORT_LINE * full and (_END_OF_PARAGRAPH.search(line) or len(line) < full / 2):
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return "\n\n".join(paragraphs)


def _pdf_date(raw: str) -> str:
    found = re.match(r"(?:D:)?(\d{4})(\d{2})(\d{2})", raw)
    return f"{found.group(1)}-{found.group(2)}-{found.group(3)}" if found else ""


def parse_docx(data: bytes, max_bytes: int) -> Extracted:
    """Paragraphs and tables in document order (a table row is one line, cells apart by ` | `)."""
    import docx
    from docx.table import Table

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise DocumentError("it is not a DOCX file (not a zip archive)") from exc
    if expanded > _MAX_DOCX_EXPANSION * max_bytes:
        raise DocumentError(f"it unpacks to {expanded / 1e6:.0f} MB (a zip bomb?)")
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several kinds for a broken package
        raise DocumentError(f"it is not a DOCX file that can be read ({exc})") from exc
    blocks, title = [], ""
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                cells = [" ".join(c.text.split()) for c in row.cells]
                line = " | ".join(dict.fromkeys(c for c in cells if c))  # merged cells repeat their text
                if line:
                    blocks.append(line)
            continue
        text = " ".join(item.text.split())
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        if not title and style.lower() in ("title", "heading 1"):
            title = text
        blocks.append(text)
    body = "\n\n".join(blocks)
    props = document.core_properties
    title = (props.title or "").strip() or title or _first_line(body)
    metadata = {"author": props.author.strip()} if props.author and props.author.strip() else {}
    if props.created:
        metadata["date"] = props.created.date().isoformat()
    return Extracted(title, body + "\n", metadata)


def _first_line(text: str) -> str:
    first = text.strip().split("\n", 1)[0].strip() if text.strip() else ""
    return first if len(first) <= 150 else ""
