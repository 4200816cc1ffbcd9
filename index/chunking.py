"""Split an article into sentences and sentence-aware chunks, keeping exact character offsets.

Sentences come from sentencex (Wikimedia's rule-based segmenter: abbreviations, quotes, `。！？`, many
languages) run line by line; chunks from LangChain's `RecursiveCharacterTextSplitter` (paragraph,
line, then sentence boundaries). Both are linear in the article's length. Every offset indexes
`Article.text`. No language models here; tokenisation for search is elsewhere.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right

from index.types import Chunk
from knowledge.types import Article

# The embedding model reads about 256 word pieces (~1,000 characters of English): a longer "sentence"
# is a segmenter that met an unclosed quote, so it is split again without quotes, then cut at spaces.
MAX_SENTENCE_CHARS = 1000
# sentencex pairs quotes and brackets across a whole line, which costs more the longer the line: a
# long line is given to it a window at a time, each window starting at the last sentence begun.
_WINDOW_CHARS = 20_000
_LINE = re.compile(r"[^\n]+")
_QUOTES = str.maketrans(dict.fromkeys("\"'`«»‘’‚‛“”„‟‹›《》「」『』", " "))
# A bracketed aside on its own, "(Source)" or "[Note]", qualifies the sentence before it.
_ASIDE = re.compile(r"[(\[（][^()\[\]（）]*[)\]）][.!?。]?")
_SEPARATORS = ["\n\n", "\n", "。", "！", "？", ". ", "? ", "! ", "；", "; ", "，", ", ", " ", ""]


def split_into_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans `(start, end)` of `text[start:end]`, whitespace trimmed, absolute offsets.

    A line break always ends a sentence; a trailing "(Source)" stays with its sentence.

    >>> split_into_sentences("It rains. Dr. Li came.\\nNew line")
    [(0, 9), (10, 22), (23, 31)]
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text, start, end):
        spans.extend(_line_sentences(text, line.start(), line.end()))
    return spans


def _line_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        stop = min(pos + _WINDOW_CHARS, end)
        pieces = _segment(text, pos, stop)
        if stop < end and len(pieces) > 1:
            pos = pieces.pop()[0]  # the last sentence may run on past the window: start the next one there
        else:
            pos = stop
        for s, e in pieces:
            if spans and _ASIDE.fullmatch(text, s, e):
                spans[-1] = (spans[-1][0], e)
            else:
                spans.append((s, e))
    return [piece for s, e in spans for piece in _bounded(text, s, e)]


def _segment(text: str, start: int, end: int, source: str | None = None) -> list[tuple[int, int]]:
    """sentencex's sentences of `text[start:end]` (read from `source` if given), trimmed, absolute."""
    import sentencex

    window = text[start:end] if source is None else source
    spans = []
    for found in sentencex.get_sentence_boundaries("en", window):
        if found["is_paragraph_break"]:
            continue
        s, e = start + found["start_index"], start + found["end_index"]
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
    return spans


def _bounded(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The sentence itself, or, when it is too long to be one, its pieces of at most `MAX_SENTENCE_CHARS`."""
    if end - start <= MAX_SENTENCE_CHARS:
        return [(start, end)]
    pieces = []
    for s, e in _segment(text, start, end, source=text[start:end].translate(_QUOTES)):
        while e - s > MAX_SENTENCE_CHARS:
            cut = text.rfind(" ", s + 1, s + MAX_SENTENCE_CHARS)
            cut = cut if cut > s else s + MAX_SENTENCE_CHARS
            pieces.append((s, cut))
            s = cut
            while s < e and text[s].isspace():
                s += 1
        if e > s:
            pieces.append((s, e))
    return pieces


def split_into_chunks(article: Article, chunk_size: int = 700, chunk_overlap: int = 150) -> list[Chunk]:
    """Sentence-aware chunks of one article; `article.text[c.start:c.end] == c.text` for each.

    >>> [c.text for c in split_into_chunks(Article(id="a", title="T", text="One. Two."))]
    ['One. Two.']
    """
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        separators=_SEPARATORS,
        keep_separator="end",
        add_start_index=True,
    )
    sentences = split_into_sentences(article.text)
    sentence_ends = [e for _, e in sentences]
    article_hash = article.content_hash  # hashes the whole text: once, not once per chunk
    chunks: list[Chunk] = []
    for number, document in enumerate(splitter.create_documents([article.text])):
        start = document.metadata["start_index"]
        end = start + len(document.page_content)
        if start < 0 or article.text[start:end] != document.page_content:
            raise ValueError(f"chunk offsets of {article.id} do not round-trip")  # a splitter change
        inside = []
        i = bisect_right(sentence_ends, start)  # the first sentence ending inside the chunk
        while i < len(sentences) and sentences[i][0] < end:
            inside.append((max(sentences[i][0], start), min(sentences[i][1], end)))
            i += 1
        chunk_id = f"{article.id}:{number}:{hashlib.sha1(document.page_content.encode()).hexdigest()[:8]}"
        chunks.append(
            Chunk(
                id=chunk_id,
                article_id=article.id,
                title=article.title,
                text=document.page_content,
                start=start,
                end=end,
                sentences=tuple(inside),
                article_hash=article_hash,
                date=article.date,
            )
        )
    return chunks
