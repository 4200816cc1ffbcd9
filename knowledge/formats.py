"""Text formats to an article's title, text and metadata: Markdown, plain text and HTML.

Markdown footnotes become notes at the end of the text that name the term they explain, so a chunk
holding a note says what it is about. HTML goes through trafilatura (main text, boilerplate dropped);
a page nested deeper than libxml2 parses, or one trafilatura declines, is read by a streaming parser
that keeps all visible text. Paged documents (PDF, DOCX) are in `knowledge/documents.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from knowledge.text import split_front_matter

_FOOTNOTE_DEF = re.compile(r"^\[\^([^\]\s]+)\]:[ \t]*(.+?)(?=\n\s*\n|\n\[\^|\Z)", re.M | re.S)
_FOOTNOTE_REF = re.compile(r"\[\^([^\]\s]+)\]")
# The capitalised phrase a footnote marker is attached to: "the International Lunar Research Station[^1]".
_TERM_BEFORE = re.compile(
    r"((?:[A-Z][\w’'.-]*|of|and|for|the|de|on)(?:[ \t]+(?:[A-Z][\w’'.-]*|of|and|for|the|de|on))*)\s*$"
)
_LIBXML2_MAX_DEPTH = 255  # libxml2 stops building the tree below this depth (without XML_PARSE_HUGE)


@dataclass(frozen=True)
class Extracted:
    """What a format reader found in one file. `page_starts` are offsets into `text` (paged formats)."""

    title: str
    text: str
    metadata: dict = field(default_factory=dict)
    page_starts: tuple[int, ...] = ()


def parse_markdown(source: str) -> Extracted:
    """Front matter, then the body; a leading `# heading` is the title when front matter has none."""
    metadata, body = split_front_matter(source)
    body = body.strip("\n")
    title = str(metadata.get("title") or "").strip()
    if not title:
        heading = re.match(r"#\s+(.+)\n?", body)
        if heading:
            title, body = heading.group(1).strip(), body[heading.end() :].lstrip("\n")
    if not body.strip():  # a title alone is no article
        return Extracted(title, "", metadata)
    body = re.sub(r"^#{1,6}\s+", "", body, flags=re.M)  # headings read as plain lines
    body = _render_footnotes(body)
    head = [part for part in (title, str(metadata.get("subtitle") or "").strip()) if part]
    text = "\n".join(head) + "\n\n" + body if head else body
    return Extracted(title, text.strip() + "\n", metadata)


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


def parse_text(source: str) -> Extracted:
    """Plain text: the first line is the title when it is short enough to be one."""
    text = source.strip("\n")
    first = text.split("\n", 1)[0].strip()
    title = first if 0 < len(first) <= 150 else ""
    return Extracted(title, text + "\n")


def parse_html(source: str) -> Extracted:
    """The page's main text (trafilatura), or all its visible text when trafilatura cannot read it."""
    visible = _VisibleText.read(source)
    text, title, metadata = "", "", {}
    if visible.max_depth <= _LIBXML2_MAX_DEPTH:  # deeper, lxml would silently drop what lies below
        import trafilatura

        document = trafilatura.bare_extraction(
            source, include_comments=False, include_tables=True, favor_recall=True, with_metadata=True
        )
        if document is not None:
            document = document if isinstance(document, dict) else document.as_dict()
            text = (document.get("text") or "").strip()
            title = (document.get("title") or "").strip()
            metadata = {k: document[k] for k in ("author", "date", "sitename") if document.get(k)}
    if not text:  # very short pages (trafilatura declines them) and very deep ones
        text = visible.text
    title = title or visible.title
    if title and not text.startswith(title):
        text = f"{title}\n\n{text}"
    return Extracted(title, text.strip() + "\n", metadata)


class _VisibleText(HTMLParser):
    """A streaming pass over HTML: visible text by block, the title and the nesting depth.

    It builds no tree, so a page nested 20,000 deep costs what a flat one does.
    """

    _HIDDEN = {"script", "style", "noscript", "template", "nav", "header", "footer", "svg", "head"}
    _VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
    # Elements whose end tag HTML lets authors leave out: parsers close them implicitly, so they add no depth.
    _SELF_CLOSING = {"p", "li", "dt", "dd", "tr", "td", "th", "option", "thead", "tbody", "tfoot", "html", "body"}
    _BLOCK = {
        "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "blockquote",
        "pre", "table", "ul", "ol", "dl", "dt", "dd", "figcaption", "main", "aside", "hr", "td", "th",
    }  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[list[str]] = [[]]
        self.title_parts: list[str] = []
        self.hidden = 0
        self.in_title = False
        self.depth = self.max_depth = 0

    @classmethod
    def read(cls, source: str) -> _VisibleText:
        parser = cls()
        parser.feed(source)
        parser.close()
        return parser

    @property
    def text(self) -> str:
        return "\n\n".join(b for b in (" ".join(" ".join(block).split()) for block in self.blocks) if b)

    @property
    def title(self) -> str:
        return " ".join(" ".join(self.title_parts).split())

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag not in self._VOID and tag not in self._SELF_CLOSING:
            self.depth += 1
            self.max_depth = max(self.max_depth, self.depth)
        if tag == "title":
            self.in_title = True
        elif tag in self._HIDDEN and tag not in self._VOID:
            self.hidden += 1
        if tag in self._BLOCK and self.blocks[-1]:
            self.blocks.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag not in self._VOID and tag not in self._SELF_CLOSING:
            self.depth = max(0, self.depth - 1)
        if tag == "title":
            self.in_title = False
        elif tag in self._HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        if tag in self._BLOCK and self.blocks[-1]:
            self.blocks.append([])

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title_parts.append(data)
        elif not self.hidden:
            self.blocks[-1].append(data)
