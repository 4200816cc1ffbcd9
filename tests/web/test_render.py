"""The web chat's HTML helpers on hand-made `Citation`s and `Answer`s: escaping, links, highlighting, streaming."""

from __future__ import annotations

import re

from bot.types import AbstainReason, Answer, AnswerMode, ArticleSummary, Citation
from web.render import (
    EMPTY_SOURCES,
    answer_as_text,
    citation_records,
    escape_text,
    render_answer,
    render_knowledge,
    render_query_note,
    render_sources,
    render_user,
    render_with_markers,
    streamed_prefixes,
)

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
CHUNK = (
    "Xinhua reported on July 1st that China will launch the International Deep Space Exploration "
    "Association (IDSEA) on Monday, July 7th 2025. The association is set to be located in Hefei."
)
QUOTE = "The association is set to be located in Hefei."


def citation(number=1, chunk=CHUNK, quote=QUOTE, chunk_start=500, title="China to Launch IDSEA", **extra) -> Citation:
    """A citation whose offsets point at `quote` inside `chunk`, as the bot builds them."""
    start = chunk_start + chunk.index(quote) if quote in chunk else chunk_start
    fields = dict(
        number=number,
        article_id="idsea",
        title=title,
        quote=quote,
        start=start,
        end=start + len(quote),
        text=chunk,
        chunk_start=chunk_start,
        date="2025-07-01",
    )
    fields.update(extra)
    return Citation(**fields)


def answer(
    text="It will be based in Hefei [1].",
    citations=None,
    abstained=False,
    query="Where is IDSEA based?",
    question="Where is IDSEA based?",
    **extra,
) -> Answer:
    return Answer(
        text=text,
        citations=[citation()] if citations is None else citations,
        abstained=abstained,
        query=query,
        question=question,
        **extra,
    )


def no_live_markup(html: str) -> bool:
    """True when no tag or attribute an attacker wrote survives as markup."""
    return "<script" not in html and "<img" not in html and not re.search(r"<[^>]*onerror", html)


def test_escape_text_neutralises_html_and_markdown():
    out = escape_text(HOSTILE + " *bold* _it_ [link](http://x) $x$ a\nb")
    assert no_live_markup(out)
    assert "&lt;script&gt;" in out
    assert "*" not in out and "_" not in out and "[" not in out and "$" not in out
    assert out.endswith("a<br>b")


def test_escape_text_of_an_entity_shows_the_entity_itself():
    assert escape_text("&lt;") == "&amp;lt;"
    assert escape_text("it's") == "it&#39;s"


def test_markers_with_a_source_become_links_to_their_card_and_the_rest_is_escaped():
    out = render_with_markers(f"Hefei [1] and {HOSTILE} [12].", {1: "dsqa-src-3-0"})
    assert out.count('class="dsqa-cite"') == 1 and 'href="#dsqa-src-3-0"' in out
    assert "&#91;12&#93;" in out and "dsqa-src-3-1" not in out  # a bracketed number with no source stays text
    assert no_live_markup(out)


def test_each_marker_of_an_answer_links_to_that_answers_card():
    second = citation(number=2, chunk="Another passage entirely.", quote="Another passage entirely.", chunk_start=5000)
    out = render_answer(answer(text="Hefei [1]. Also [2].", citations=[citation(), second]), turn=4)
    assert 'href="#dsqa-src-4-0"' in out and 'href="#dsqa-src-4-1"' in out


def test_answer_bubble_shows_the_rewritten_query_muted_only_for_a_follow_up():
    follow_up = answer(question="And where?", query="Where will IDSEA be based?")
    assert 'class="dsqa-query"' in render_answer(follow_up, follow_up=True)
    assert "Understood as" in render_answer(follow_up, follow_up=True)
    assert "dsqa-query" not in render_answer(follow_up)  # a first question: the panel shows the query
    same = answer(question="Where is IDSEA based?", query="where is IDSEA based")
    assert "dsqa-query" not in render_answer(same, follow_up=True)
    assert render_query_note("q?", "") == ""


def test_a_direct_answer_comes_first_in_bold_then_the_quote_and_its_article():
    out = render_answer(answer(short_answer="Hefei"))
    assert out.index("<strong>Hefei</strong>") < out.index("dsqa-answer-text")
    assert "From “China to Launch IDSEA” · quoted" in out
    assert "<strong>" not in render_answer(answer())  # no short answer, no bold line
    assert "LLM, verified" in render_answer(answer(mode=AnswerMode.LLM))


def test_a_streaming_answer_has_no_copy_button_or_source_line_until_it_is_complete():
    partial = render_answer(answer(short_answer="Hefei"), text="It will")
    assert "dsqa-copy" not in partial and "dsqa-from" not in partial and "<strong>" not in partial
    assert "dsqa-copy" in render_answer(answer())


def test_the_copy_button_holds_the_answer_with_its_sources_as_plain_text():
    out = render_answer(answer())
    held = re.search(r'<span hidden class="dsqa-copy-text">(.*?)</span>', out).group(1)
    assert "<br>" not in held and "&#10;&#10;Sources&#58;&#10;" in held
    assert answer_as_text(answer()) == (
        f"It will be based in Hefei [1].\n\nSources:\n[1] China to Launch IDSEA (2025-07-01) — “{QUOTE}”"
    )
    assert "p. 17" in answer_as_text(answer(citations=[citation(page=17)]))


def test_abstention_looks_different_from_an_answer_and_says_why():
    abstain = answer(text="The articles do not say. They cover IDSEA.", citations=[], abstained=True)
    out = render_answer(abstain)
    assert 'class="dsqa-abstain"' in out and "Not in the articles" in out
    assert "dsqa-answer" not in out
    assert "dsqa-answer" in render_answer(answer())
    premise = answer(text="No.", citations=[], abstained=True, abstain_reason=AbstainReason.FALSE_PREMISE)
    assert "The articles don&#39;t say that" in render_answer(premise)


def test_streamed_prefixes_grow_to_the_full_text():
    text = "China will launch IDSEA on Monday, July 7th 2025 [1]."
    steps = list(streamed_prefixes(text, words_per_step=2))
    assert steps[-1] == text
    assert len(steps) == 5
    assert all(text.startswith(s) for s in steps)
    assert all(len(a) < len(b) for a, b in zip(steps, steps[1:], strict=False))
    assert list(streamed_prefixes("")) == [""]


def test_hostile_article_text_renders_as_text_in_the_sources_panel():
    hostile_chunk = f"Before {HOSTILE}. {QUOTE} After {HOSTILE}."
    c = citation(chunk=hostile_chunk, title=f"Title {HOSTILE}", date=f"2025 {HOSTILE}")
    out = render_sources([answer(citations=[c], query=f"q {HOSTILE}")])
    assert no_live_markup(out)
    assert out.count("&lt;script&gt;") == 5  # title, date, query and twice in the context
    assert "<mark>" in out


def test_sources_panel_keeps_every_answers_sources_and_shows_the_latest():
    far = citation(number=2, chunk="A passage far away.", quote="A passage far away.", chunk_start=9000)
    out = render_sources([answer(), answer(citations=[citation(), far])])
    assert 'id="dsqa-turn-1" data-turn="1" hidden' in out and 'id="dsqa-turn-2" data-turn="2">' in out
    assert out.count('class="dsqa-src"') == 3 and 'id="dsqa-src-1-0"' in out and 'id="dsqa-src-2-1"' in out
    assert "2025&#45;07&#45;01" in out and "searched for" in out
    assert 'id="dsqa-turn-1" data-turn="1">' in render_sources([answer(), answer()], selected=1)


def test_sources_panel_for_an_abstention_and_before_any_question():
    out = render_sources([answer(text="Not covered.", citations=[], abstained=True)])
    assert "No sources" in out and "dsqa-src-list" not in out
    assert render_sources([]) == EMPTY_SOURCES


def test_knowledge_panel_lists_documents_in_plain_words_escaped():
    out = render_knowledge(
        [ArticleSummary("a", f"T {HOSTILE}", "2025-07-01", 9, "md"), ArticleSummary("b", "U", "", 2, "pdf", 20)]
    )
    assert out.count("<tr>") == 3 and no_live_markup(out)
    assert ">9</td>" in out and ">20</td>" in out and "PDF" in out and "—" in out
    assert "Passages" in out and "Document" in out and "chunk" not in out.lower()
    assert "No documents" in render_knowledge([])


def test_user_bubble_and_citation_records():
    assert no_live_markup(render_user(HOSTILE))
    record = citation_records(answer())[0]
    assert record["quote"] == QUOTE and record["number"] == 1 and "text" not in record and "page" in record
