"""Load a folder of articles (`.md` with YAML front matter, `.txt`, `.html`) into `Article` objects.

A bad file (unreadable, binary, empty, not UTF-8) is skipped with a warning naming it; a missing or
empty folder is an `ArticleFolderError`. Markdown footnotes become notes at the end of the text that
name the term they explain, so a chunk holding a note says what it is about. No network, no OCR/PDF.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from knowledge.types import Article

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
_FOOTNOTE_DEF = re.compile(r"^\[\^([^\]\s]+)\]:[ \t]*(.+?)(?=\n\s*\n|\n\[\^|\Z)", re.M | re.S)
_FOOTNOTE_REF = re.compile(r"\[\^([^\]\s]+)\]")
# The capitalised phrase a footnote marker is attached to: "the International Lunar Research Station[^1]".
_TERM_BEFORE = re.compile(
    r"((?:[A-Z][\w’'.-]*|of|and|for|the|de|on)(?:[ \t]+(?:[A-Z][\w’'.-]*|of|and|for|the|de|on))*)\s*$"
)


class ArticleFolderError(ValueError):
    """The knowledge folder is missing or holds no readable article."""


def slugify(text: str) -> str:
    """A stable, file-system-safe id. `slugify("000 IDSEA.md") == "000-idsea-md"`."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "article"


def load_articles(folder: str | Path) -> list[Article]:
    """Every readable article under `folder`, sorted by id.

    >>> [a.id for a in load_articles("knowledge/articles")]  # doctest: +SKIP
    ['idsea-launch-2025-07-01']
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ArticleFolderError(
            f"Knowledge folder not found: {folder} (create it and add .md, .txt or .html articles)"
        )
    paths = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in SUPPORTED_SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    articles: dict[str, Article] = {}
    for path in paths:
        article_id = slugify(path.relative_to(folder).with_suffix("").as_posix())
        if article_id in articles:  # same stem, two formats: keep both, apart
            article_id = slugify(path.relative_to(folder).as_posix())
        article = load_article(path, article_id=article_id)
        if article is not None:
            articles[article_id] = article
    if not articles:
        raise ArticleFolderError(
            f"No readable articles in {folder}: add UTF-8 files ending in {', '.join(SUPPORTED_SUFFIXES)}"
        )
    return [articles[k] for k in sorted(articles)]


def load_article(path: str | Path, article_id: str | None = None) -> Article | None:
    """One article from a file, or None (with a warning naming the file) when it cannot be used."""
    path = Path(path)
    article_id = article_id or slugify(path.stem)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        log.warning("Skipping %s: cannot read it (%s)", path, exc.strerror or exc)
        return None
    if b"\0" in raw[:8192]:
        log.warning("Skipping %s: it looks binary, not text", path)
        return None
    try:
        source = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        log.warning("Skipping %s: not UTF-8 (byte %d); re-save it as UTF-8", path, exc.start)
        return None
    source = source.replace("\r\n", "\n").replace("\r", "\n")
    suffix = path.suffix.lower()
    try:
        if suffix in (".md", ".markdown"):
            title, text, metadata = _parse_markdown(source)
        elif suffix in (".html", ".htm"):
            title, text, metadata = _parse_html(source)
        else:
            title, text, metadata = _parse_text(source)
    except Exception as exc:  # a malformed file must not stop the others loading
        log.warning("Skipping %s: cannot parse it (%s)", path, exc)
        return None
    if not text.strip():
        log.warning("Skipping %s: it holds no text", path)
        return None
    metadata = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in metadata.items()}
    metadata.setdefault("file", path.name)
    return Article(id=article_id, title=title or path.stem, text=text, path=path, metadata=metadata)


def _parse_markdown(source: str) -> tuple[str, str, dict]:
    import frontmatter

    post = frontmatter.loads(source)
    metadata = dict(post.metadata)
    body = post.content.strip("\n")
    title = str(metadata.get("title") or "").strip()
    if not title:
        heading = re.match(r"#\s+(.+)\n?", body)
        if heading:
            title, body = heading.group(1).strip(), body[heading.end() :].lstrip("\n")
    body = re.sub(r"^#{1,6}\s+", "", body, flags=re.M)  # headings read as plain lines
    body = _render_footnotes(body)
    head = [part for part in (title, str(metadata.get("subtitle") or "").strip()) if part]
    text = "\n".join(head) + "\n\n" + body if head else body
    return title, text.strip() + "\n", metadata


def _render_footnotes(body: str) -> str:
    """Move `[^n]: …` definitions to a closing notes section: `Note n, on <term>: …`."""
    definitions = {m.group(1): " ".join(m.group(2).split()) for m in _FOOTNOTE_DEF.finditer(body)}
    if not definitions:
        return body
    body = _FOOTNOTE_DEF.sub("", body)
    terms: dict[str, str] = {}
    for ref in _FOOTNOTE_REF.finditer(body):
        term = _TERM_BEFORE.search(body[max(0, ref.start() - 120) : ref.start()])
        phrase = term.group(1).strip() if term else ""
        phrase = re.sub(r"^(?:(?:the|of|and|for|on|de)\s+)+", "", phrase).strip()
        if not phrase:  # no named term: the last few words before the marker
            phrase = " ".join(body[max(0, ref.start() - 60) : ref.start()].split()[-4:])
        terms.setdefault(ref.group(1), phrase)
    body = _FOOTNOTE_REF.sub("", body)
    body = re.sub(r"\n{3,}", "\n\n", body).rstrip()
    notes = []
    for key, note in definitions.items():
        about = f", on the {terms[key]}" if key in terms else ""
        notes.append(f"Note {key}{about}: {note}")
    return body + "\n\n" + "\n\n".join(notes)


def _parse_text(source: str) -> tuple[str, str, dict]:
    text = source.strip("\n")
    first = text.split("\n", 1)[0].strip()
    title = first if 0 < len(first) <= 150 else ""
    return title, text + "\n", {}


def _parse_html(source: str) -> tuple[str, str, dict]:
    import trafilatura

    document = trafilatura.bare_extraction(
        source, include_comments=False, include_tables=True, favor_recall=True, with_metadata=True
    )
    text, title, metadata = "", "", {}
    if document is not None:
        document = document if isinstance(document, dict) else document.as_dict()
        text = (document.get("text") or "").strip()
        title = (document.get("title") or "").strip()
        metadata = {k: document[k] for k in ("author", "date", "sitename") if document.get(k)}
    if not text:  # very short pages: trafilatura declines them, so read the visible text
        text, fallback_title = _visible_html_text(source)
        title = title or fallback_title
    if title and not text.startswith(title):
        text = f"{title}\n\n{text}"
    return title, text.strip() + "\n", metadata


def _visible_html_text(source: str) -> tuple[str, str]:
    import lxml.html

    root = lxml.html.fromstring(source)
    for bad in root.xpath("//script|//style|//noscript|//template|//nav|//header|//footer"):
        bad.drop_tree()
    title = " ".join((root.findtext(".//title") or "").split())
    for element in root.xpath("//title"):
        element.drop_tree()
    blocks = [
        " ".join(el.text_content().split())
        for el in root.xpath("//body//*[self::p or self::h1 or self::h2 or self::h3 or self::li]")
    ]
    text = "\n\n".join(b for b in blocks if b) or " ".join(root.text_content().split())
    return text, title
