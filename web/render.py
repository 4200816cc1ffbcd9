"""Pure HTML rendering for the web chat: answer bubbles, the sources panel, the documents list.

Every piece of article or user text goes through `escape_text`, so a `<script>` or an `onerror=`
in an article or a question is shown as text. The chat bubbles are rendered by Gradio's Markdown
(which strips `data-*` and `aria-*` attributes), so `escape_text` also turns Markdown punctuation into
entities and links carry what the page script needs in their `href`. No Gradio import: this module
only builds strings, which keeps it fast to test; `web/page.py` wires them into components.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from bot.answer_text import answer_as_text
from bot.types import AbstainReason, Answer, AnswerMode, ArticleSummary
from web.sources import SourceCard, merge_citations

MARKER = re.compile(r"\[(\d+)\]")
# HTML specials, plus the characters Markdown (or Gradio's LaTeX pass) would act on: as entities
# they stay literal text both inside a Markdown paragraph and inside a raw HTML block.
_ESCAPES = str.maketrans(
    {ch: f"&#{ord(ch)};" for ch in "\\`*_{}[]()#+-.!|~$:"}
    | {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "\n": "<br>"}
)
# For text read back by the page script (copy): a newline must stay a newline, not a <br>, and a blank
# line would end Markdown's HTML block, so it becomes an entity.
_PLAIN_ESCAPES = str.maketrans({**{k: v for k, v in _ESCAPES.items() if k != ord("\n")}, "\n": "&#10;"})

EMPTY_SOURCES = (
    '<div class="dsqa-sources dsqa-empty">Sources appear here: each <b>[n]</b> in an answer, with its '
    "article and the quoted sentence highlighted.</div>"
)
MODE_LABELS = {AnswerMode.EXTRACTIVE: "quoted", AnswerMode.LLM: "LLM, verified"}
ABSTAIN_LABELS = {
    AbstainReason.OFF_TOPIC: "Not in the articles",
    AbstainReason.NOT_STATED: "The articles don't say",
    AbstainReason.FALSE_PREMISE: "The articles don't say that",
    AbstainReason.INSTRUCTION: "Questions about the articles only",
    AbstainReason.UNCLEAR: "Could you rephrase that?",
}
DEFAULT_ABSTAIN_LABEL = "Not in the articles"


def escape_text(text: str) -> str:
    """HTML-escape `text` and neutralise Markdown, keeping line breaks. `escape_text("<b>") == "&lt;b&gt;"`"""
    return text.replace("\r\n", "\n").translate(_ESCAPES)


def card_anchor(turn: int, card: int) -> str:
    """The id of source card `card` of answer `turn` (what a `[n]` link points at)."""
    return f"dsqa-src-{turn}-{card}"


def render_with_markers(text: str, links: dict[int, str] | None = None) -> str:
    """Escape answer text; each `[n]` with a source becomes a link to its card (`links`: n → anchor).

    A bracketed number with no source (an article's own "[3]") stays plain text.

    >>> render_with_markers("Hefei [1].", {1: "dsqa-src-1-0"})
    'Hefei <a class="dsqa-cite" href="#dsqa-src-1-0" title="Show source 1">&#91;1&#93;</a>&#46;'
    """
    links = links or {}
    parts: list[str] = []
    last = 0
    for match in MARKER.finditer(text):
        n = int(match.group(1))
        if n not in links:
            continue
        parts.append(escape_text(text[last : match.start()]))
        parts.append(f'<a class="dsqa-cite" href="#{links[n]}" title="Show source {n}">&#91;{n}&#93;</a>')
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


def from_line(answer: Answer) -> str:
    """'From “Title” · quoted': the articles an answer comes from and who wrote its text."""
    titles = list(dict.fromkeys(c.title for c in answer.citations))
    named = " and ".join(f"“{escape_text(t)}”" for t in titles[:3]) + (" and others" if len(titles) > 3 else "")
    mode = MODE_LABELS.get(answer.mode, str(answer.mode))
    return f'<div class="dsqa-from">From {named} · {escape_text(mode)}</div>' if titles else ""


def render_answer(answer: Answer, text: str | None = None, turn: int = 1, follow_up: bool = False) -> str:
    """The assistant bubble for answer number `turn`; `text` is a partial text while it streams in.

    A direct answer (`short_answer`) comes first, in bold; then the quoted text with clickable `[n]`;
    then "From <article>", how a follow-up was understood, and a copy button. A refusal gets its own
    labelled box that says why.
    """
    shown = answer.text if text is None else text
    note = render_query_note(answer.question, answer.query) if follow_up else ""
    if answer.abstained:
        label = ABSTAIN_LABELS.get(answer.abstain_reason, DEFAULT_ABSTAIN_LABEL)
        return (
            f'<div class="dsqa-abstain"><div class="dsqa-abstain-label">{escape_text(label)}</div>'
            f'<div class="dsqa-abstain-text">{escape_text(shown)}</div></div>{note}'
        )
    links = {n: card_anchor(turn, i) for i, card in enumerate(merge_citations(answer.citations)) for n in card.numbers}
    short = answer.short_answer.strip()
    head = f'<div class="dsqa-short"><strong>{escape_text(short)}</strong></div>' if short and text is None else ""
    done = text is None
    copy = (
        f'<span hidden class="dsqa-copy-text">{answer_as_text(answer).translate(_PLAIN_ESCAPES)}</span>'
        '<button type="button" class="dsqa-copy" title="Copy the answer and its sources">Copy</button>'
    )
    return (
        f'<div class="dsqa-answer">{head}<div class="dsqa-answer-text">{render_with_markers(shown, links)}</div>'
        f"{from_line(answer) if done else ''}{note}{copy if done else ''}</div>"
    )


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


def render_card(card: SourceCard, turn: int, index: int) -> str:
    """One source card: its numbers, article title, date and page, and the passage with quotes marked."""
    numbers = " ".join(f"&#91;{n}&#93;" for n in card.numbers)
    where = [card.date] if card.date else []
    where += [f"p. {'–'.join(str(p) for p in card.pages)}"] if card.pages else []
    meta = f'<span class="dsqa-src-date">{escape_text(", ".join(where))}</span>' if where else ""
    passage = "".join(f"<mark>{escape_text(s)}</mark>" if marked else escape_text(s) for s, marked in card.segments)
    return (
        f'<li class="dsqa-src" id="{card_anchor(turn, index)}" tabindex="-1">'
        f'<div class="dsqa-src-head"><span class="dsqa-src-num">{numbers}</span> '
        f'<span class="dsqa-src-title">{escape_text(card.title)}</span> {meta}</div>'
        f'<blockquote class="dsqa-src-context">{passage}</blockquote></li>'
    )


def render_turn_sources(answer: Answer, turn: int, shown: bool) -> str:
    """The sources of answer `turn`: what was searched for, then one card per passage (hidden unless `shown`)."""
    head = f'<div class="dsqa-query">Sources of answer {turn}'
    if answer.query.strip():
        head += f" · searched for “{escape_text(answer.query.strip())}”"
    head += "</div>"
    if answer.abstained or not answer.citations:
        body = '<div class="dsqa-empty">No sources: the articles do not answer this question.</div>'
    else:
        cards = merge_citations(answer.citations)
        body = f'<ol class="dsqa-src-list">{"".join(render_card(c, turn, i) for i, c in enumerate(cards))}</ol>'
    hidden = "" if shown else " hidden"
    return f'<section class="dsqa-turn" id="dsqa-turn-{turn}" data-turn="{turn}"{hidden}>{head}{body}</section>'


def render_sources(answers: Sequence[Answer], selected: int | None = None) -> str:
    """The sources panel of a whole chat: every answer's own sources, answer `selected` (default: the
    latest) shown, the others one `[n]` click away (the page script switches sections)."""
    if not answers:
        return EMPTY_SOURCES
    selected = selected or len(answers)
    sections = "".join(render_turn_sources(a, k, k == selected) for k, a in enumerate(answers, start=1))
    close = '<button type="button" class="dsqa-drawer-close" title="Close the sources">Close</button>'
    return f'<div class="dsqa-sources" data-turn="{selected}">{close}{sections}</div>'


@dataclass(frozen=True)
class DocumentRow:
    """What the documents table shows of one `ArticleSummary`."""

    title: str
    date: str
    format: str
    pages: str
    passages: int


def document_rows(summaries: Iterable[ArticleSummary]) -> list[DocumentRow]:
    """Rows for the "What I know" table, one per document."""
    return [
        DocumentRow(s.title, s.date or "—", (s.format or "—").upper(), str(s.pages) if s.pages else "—", int(s.chunks))
        for s in summaries
    ]


def render_knowledge(summaries: Iterable[ArticleSummary]) -> str:
    """The "What I know" table: one row per document (title, date, format, pages, passages)."""
    rows = [
        f"<tr><td>{escape_text(r.title)}</td><td>{escape_text(r.date)}</td><td>{escape_text(r.format)}</td>"
        f'<td class="dsqa-num">{escape_text(r.pages)}</td><td class="dsqa-num">{r.passages}</td></tr>'
        for r in document_rows(summaries)
    ]
    if not rows:
        return '<div class="dsqa-empty">No documents are indexed yet.</div>'
    count = f"{len(rows)} document{'s' if len(rows) != 1 else ''}"
    return (
        f'<div class="dsqa-doc-count">{count}, searched passage by passage.</div>'
        '<table class="dsqa-knowledge"><thead><tr><th>Document</th><th>Date</th><th>Format</th>'
        f"<th>Pages</th><th>Passages</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def citation_records(answer: Answer) -> list[dict]:
    """Citations as plain dicts for the API and the feedback log (no chunk text: the quote and offsets)."""
    return [
        {
            "number": c.number,
            "article_id": c.article_id,
            "title": c.title,
            "date": c.date,
            "page": c.page,
            "quote": c.quote,
            "start": c.start,
            "end": c.end,
        }
        for c in answer.citations
    ]
