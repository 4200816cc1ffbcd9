"""Split an article into sentences and sentence-aware chunks, keeping exact character offsets.

Chunks come from LangChain's `RecursiveCharacterTextSplitter` (paragraph, line, then sentence
boundaries); sentences from a small rule-based splitter that knows common abbreviations. Every
offset indexes `Article.text`. No language models here; tokenisation for search is in `bot/`.
"""

from __future__ import annotations

import hashlib
import re

from index.types import Chunk
from knowledge.types import Article

_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "sr",
    "jr",
    "st",
    "mt",
    "no",
    "vs",
    "etc",
    "inc",
    "ltd",
    "co",
    "corp",
    "gen",
    "gov",
    "sen",
    "rep",
    "col",
    "lt",
    "sgt",
    "capt",
    "fig",
    "approx",
    "dept",
    "est",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "e.g",
    "i.e",
    "u.s",
    "u.k",
}
# A candidate end: . ! ? or a CJK full stop, closing quotes/brackets, then space and a likely sentence start.
# A trailing "(Source)" or "(Future mission)" stays with the sentence it qualifies.
_BOUNDARY = re.compile(r"([.!?。！？][\"'”’)\]]*)(\s+)(?=[\"“‘']?[A-Z0-9\u4e00-\u9fff])")


def split_into_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans `(start, end)` of `text[start:end]`, whitespace trimmed, absolute offsets.

    >>> split_into_sentences("It rains. Dr. Li came.\\nNew line")
    [(0, 9), (10, 22), (23, 31)]
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text[start:end]):
        line_start = start + line.start()
        cursor = line_start
        segment = line.group()
        for match in _BOUNDARY.finditer(segment):
            word = re.search(r"([\w.]+)$", segment[: match.start(1)])
            previous = word.group(1).lower().rstrip(".") if word else ""
            if previous in _ABBREVIATIONS or re.fullmatch(r"[a-z]", previous):
                continue  # "Dr. Li", "J. Smith": not a sentence end
            stop = line_start + match.end(1)
            spans.append((cursor, stop))
            cursor = line_start + match.end(2)
        spans.append((cursor, line_start + len(segment)))
    trimmed = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            trimmed.append((s, e))
    return trimmed


def split_into_chunks(article: Article, chunk_size: int = 700, chunk_overlap: int = 150) -> list[Chunk]:
    """Sentence-aware chunks of one article; `article.text[c.start:c.end] == c.text` for each.

    >>> [c.text for c in split_into_chunks(Article(id="a", title="T", text="One. Two."))]
    ['One. Two.']
    """
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
        keep_separator="end",
        add_start_index=True,
    )
    sentences = split_into_sentences(article.text)
    chunks: list[Chunk] = []
    for number, document in enumerate(splitter.create_documents([article.text])):
        start = document.metadata["start_index"]
        end = start + len(document.page_content)
        if start < 0 or article.text[start:end] != document.page_content:
            raise ValueError(f"chunk offsets of {article.id} do not round-trip")  # a splitter change
        inside = tuple((max(s, start), min(e, end)) for s, e in sentences if s < end and e > start)
        chunk_id = f"{article.id}:{number}:{hashlib.sha1(document.page_content.encode()).hexdigest()[:8]}"
        chunks.append(
            Chunk(
                id=chunk_id,
                article_id=article.id,
                title=article.title,
                text=document.page_content,
                start=start,
                end=end,
                sentences=inside,
                article_hash=article.content_hash,
                date=article.date,
            )
        )
    return chunks
