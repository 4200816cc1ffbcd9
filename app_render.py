"""Pure HTML rendering for the web chat: answer bubbles, the sources panel, the "what I know" list.

Every piece of article or user text goes through `escape_text`, so a `<script>` or an `onerror=`
in an article or a question is shown as text. The chat bubbles are rendered by Gradio's Markdown,
so `escape_text` also turns Markdown punctuation into entities. No Gradio import: this module only
builds strings, which keeps it fast to test; `app.py` wires them into components.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from bot.types import Answer, ArticleSummary, Citation

MARKER = re.compile(r"\[(\d+)\]")
# HTML specials, plus the characters Markdown (or Gradio's LaTeX pass) would act on: as entities
# they stay literal text both inside a Markdown paragraph and inside a raw HTML block.
_ESCAPES = str.maketrans(
    {ch: f"&#{ord(ch)};" for ch in "\\`*_{}[]()#+-.!|~$:"}
    | {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "\n": "<br>"}
)
CONTEXT_CHARS = 220
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")  # one line break is enough inside a short context

EMPTY_SOURCES = (
    '<div class="dsqa-sources dsqa-empty">Sources for the latest answer appear here: '
    "each <b>[n]</b> in the answer, with its article and the quoted sentence.</div>"
)


def escape_text(text: str) -> str:
    """HTML-escape `text` and neutralise Markdown, keeping line breaks. `escape_text("<b>") == "&lt;b&gt;"`"""
    return text.replace("\r\n", "\n").translate(_ESCAPES)


def render_with_markers(text: str) -> str:
    """Escape answer text and style each `[n]` marker. `render_with_markers("Hefei [1].")`"""
    parts: list[str] = []
    last = 0
    for match in MARKER.finditer(text):
        parts.append(escape_text(text[last : match.start()]))
        n = match.group(1)
        parts.append(f'<sup class="dsqa-cite" title="source {n}">&#91;{n}&#93;</sup>')
        last = match.end()
    parts.append(escape_text(text[last:]))
    return "".join(parts)


def shows_rewrite(question: str, query: str) -> bool:
    """True when the bot searched for something other than what was typed (a follow-up rewrite)."""

    def norm(s: str) -> str:
        return " ".join(re.sub(r"[^\w\s]", " ", s.casefold()).split())

    return bool(query.strip()) and norm(question) != norm(query)


def render_query_note(question: str, query: str) -> str:
    """The small muted line telling how a follow-up was understood ('' when nothing was rewritten)."""
    if not shows_rewrite(question, query):
        return ""
    return f'<div class="dsqa-query">Understood as: “{escape_text(query.strip())}”</div>'


def render_answer(answer: Answer, text: str | None = None, follow_up: bool = False) -> str:
    """The assistant bubble for `answer`; `text` is a streamed prefix of `answer.text` (default: all).

    A follow-up shows, small and muted, the standalone query it was understood as. An abstention
    gets its own look: a labelled, muted box instead of a plain answer.
    """
    shown = answer.text if text is None else text
    note = render_query_note(answer.question, answer.query) if follow_up else ""
    if answer.abstained:
        return (
            '<div class="dsqa-abstain"><div class="dsqa-abstain-label">Not in the articles</div>'
            f"{escape_text(shown)}</div>{note}"
        )
    return f'<div class="dsqa-answer">{render_with_markers(shown)}</div>{note}'


def render_user(question: str) -> str:
    """The user bubble: the question, escaped."""
    return escape_text(question)


def streamed_prefixes(text: str, words_per_step: int = 3) -> Iterator[str]:
    """Growing prefixes of `text`, a few words more each time, ending with `text` itself.

    >>> list(streamed_prefixes("a b c d", 2))
    ['a b', 'a b c d']
    """
    tokens = re.findall(r"\S+\s*", text)
    for end in range(words_per_step, len(tokens), words_per_step):
        yield "".join(tokens[:end]).rstrip()
    yield text


def quote_in_context(citation: Citation, context_chars: int = CONTEXT_CHARS) -> str:
    """The citation's chunk, trimmed around the quote, with the quote in `<mark>`; all escaped.

    Uses the offsets (`start - chunk_start`); if they do not point at the quote, finds it in the
    chunk; if it is not there either, shows the quote alone, highlighted.
    """
    chunk, quote = citation.text or "", citation.quote or ""
    lo, hi = citation.start - citation.chunk_start, citation.end - citation.chunk_start
    if not (0 <= lo <= hi <= len(chunk) and chunk[lo:hi] == quote):
        lo = chunk.find(quote) if quote else -1
        if lo < 0:
            return f"<mark>{escape_text(quote)}</mark>"
        hi = lo + len(quote)
    left, right = max(0, lo - context_chars), min(len(chunk), hi + context_chars)
    if left > 0:  # start at a line, else a word, boundary: never mid-word
        line, space = chunk.find("\n", left, lo), chunk.find(" ", left, lo)
        left = line + 1 if line >= 0 else space + 1 if space >= 0 else left
    if right < len(chunk):
        line, space = chunk.rfind("\n", hi, right), chunk.rfind(" ", hi, right)
        right = line if line >= 0 else space if space >= 0 else right
    before = ("…" if left > 0 else "") + _PARAGRAPH_BREAK.sub("\n", chunk[left:lo])
    after = _PARAGRAPH_BREAK.sub("\n", chunk[hi:right]) + ("…" if right < len(chunk) else "")
    return f"{escape_text(before)}<mark>{escape_text(chunk[lo:hi])}</mark>{escape_text(after)}"


def render_sources(answer: Answer | None, turn: int = 1) -> str:
    """The sources panel for answer number `turn`: the query searched for, then one card per citation."""
    if answer is None:
        return EMPTY_SOURCES
    head = f'<div class="dsqa-query">Answer {turn}'
    if answer.query.strip():
        head += f" · searched for “{escape_text(answer.query.strip())}”"
    head += "</div>"
    opening = f'<div class="dsqa-sources" data-turn="{turn}">{head}'
    if answer.abstained or not answer.citations:
        return f'{opening}<div class="dsqa-empty">No sources: the articles do not answer this question.</div></div>'

    cards = []
    for c in answer.citations:
        date = f'<span class="dsqa-src-date">{escape_text(c.date)}</span>' if c.date else ""
        cards.append(
            f'<li class="dsqa-src" id="dsqa-src-{c.number}">'
            f'<div class="dsqa-src-head"><span class="dsqa-src-num">&#91;{c.number}&#93;</span> '
            f'<span class="dsqa-src-title">{escape_text(c.title)}</span> {date}</div>'
            f'<blockquote class="dsqa-src-context">{quote_in_context(c)}</blockquote></li>'
        )
    return f'{opening}<ol class="dsqa-src-list">{"".join(cards)}</ol></div>'


def render_knowledge(summaries: Iterable[ArticleSummary]) -> str:
    """The "what I know" panel: one row per indexed article (title, date, number of chunks)."""
    rows = [
        f"<tr><td>{escape_text(s.title)}</td><td>{escape_text(s.date or '—')}</td>"
        f'<td class="dsqa-num">{int(s.chunks)}</td></tr>'
        for s in summaries
    ]
    if not rows:
        return '<div class="dsqa-empty">No articles are indexed yet.</div>'
    return (
        '<table class="dsqa-knowledge"><thead><tr><th>Article</th><th>Date</th><th>Chunks</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def citation_records(answer: Answer) -> list[dict]:
    """Citations as plain dicts for the API and the feedback log (no chunk text: the quote and offsets)."""
    return [
        {
            "number": c.number,
            "article_id": c.article_id,
            "title": c.title,
            "date": c.date,
            "quote": c.quote,
            "start": c.start,
            "end": c.end,
        }
        for c in answer.citations
    ]


CSS = """
.dsqa-cite { color: var(--color-accent); font-weight: 600; font-size: 0.75em; }
.dsqa-query { color: var(--body-text-color-subdued); font-size: 0.8em; margin-top: 0.4em; font-style: italic; }
.dsqa-abstain { border-left: 3px solid var(--neutral-400); padding: 0.3em 0.7em;
  color: var(--body-text-color-subdued); background: var(--background-fill-secondary); border-radius: 4px; }
.dsqa-abstain-label { font-weight: 600; font-size: 0.8em; text-transform: uppercase; letter-spacing: 0.04em; }
.dsqa-sources { max-height: 620px; overflow-y: auto; padding-right: 0.3em; }
.dsqa-sources .dsqa-query { margin: 0 0 0.6em 0; }
.dsqa-src-list { list-style: none; padding: 0; margin: 0; }
.dsqa-src { margin: 0 0 0.9em 0; padding: 0.5em 0.7em; border: 1px solid var(--border-color-primary);
  border-radius: 6px; background: var(--background-fill-secondary); }
.dsqa-src-num { color: var(--color-accent); font-weight: 700; }
.dsqa-src-title { font-weight: 600; }
.dsqa-src-date { color: var(--body-text-color-subdued); font-size: 0.85em; margin-left: 0.3em; }
.dsqa-src-context { margin: 0.4em 0 0 0; padding: 0 0 0 0.6em; border-left: 2px solid var(--border-color-primary);
  font-size: 0.9em; line-height: 1.45; }
.dsqa-src-context mark { background: #fff1a8; color: #222; padding: 0 0.1em; border-radius: 2px; }
.dsqa-examples-label p { font-size: 0.85em; color: var(--body-text-color-subdued); margin: 0; }
.dsqa-empty { color: var(--body-text-color-subdued); font-size: 0.9em; }
.dsqa-knowledge { width: 100%; font-size: 0.9em; }
.dsqa-knowledge td.dsqa-num { text-align: right; }
"""
