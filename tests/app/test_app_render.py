"""The web chat's HTML helpers on hand-made `Citation`s and `Answer`s: escaping, highlighting, streaming."""

from __future__ import annotations

import re

from app_render import (
    EMPTY_SOURCES,
    citation_records,
    escape_text,
    quote_in_context,
    render_answer,
    render_knowledge,
    render_query_note,
    render_sources,
    render_user,
    render_with_markers,
    streamed_prefixes,
)
from bot.types import Answer, ArticleSummary, Citation

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
) -> Answer:
    return Answer(
        text=text,
        citations=[citation()] if citations is None else citations,
        abstained=abstained,
        query=query,
        question=question,
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


def test_markers_become_styled_superscripts_and_the_rest_is_escaped():
    out = render_with_markers(f"Hefei [1] and {HOSTILE} [12].")
    assert out.count('class="dsqa-cite"') == 2
    assert "&#91;12&#93;</sup>" in out
    assert no_live_markup(out)


def test_answer_bubble_shows_the_rewritten_query_muted_only_for_a_follow_up():
    follow_up = answer(question="And where?", query="Where will IDSEA be based?")
    assert 'class="dsqa-query"' in render_answer(follow_up, follow_up=True)
    assert "Understood as" in render_answer(follow_up, follow_up=True)
    assert "dsqa-query" not in render_answer(follow_up)  # a first question: the panel shows the query
    same = answer(question="Where is IDSEA based?", query="where is IDSEA based")
    assert "dsqa-query" not in render_answer(same, follow_up=True)
    assert render_query_note("q?", "") == ""


def test_abstention_looks_different_from_an_answer():
    abstain = answer(text="The articles do not say. They cover IDSEA.", citations=[], abstained=True)
    out = render_answer(abstain)
    assert 'class="dsqa-abstain"' in out and "Not in the articles" in out
    assert "dsqa-answer" not in out
    assert "dsqa-answer" in render_answer(answer())


def test_streamed_prefixes_grow_to_the_full_text():
    text = "China will launch IDSEA on Monday, July 7th 2025 [1]."
    steps = list(streamed_prefixes(text, words_per_step=2))
    assert steps[-1] == text
    assert len(steps) == 5
    assert all(text.startswith(s) for s in steps)
    assert all(len(a) < len(b) for a, b in zip(steps, steps[1:], strict=False))
    assert list(streamed_prefixes("")) == [""]


def test_quote_is_highlighted_inside_its_chunk():
    out = quote_in_context(citation())
    assert f"<mark>{escape_text(QUOTE)}</mark>" in out
    assert out.startswith(escape_text("Xinhua reported"))


def test_quote_highlight_falls_back_to_search_when_offsets_are_off():
    off = citation(start=0, end=5)  # offsets that do not point at the quote
    assert f"<mark>{escape_text(QUOTE)}</mark>" in quote_in_context(off)
    missing = citation(quote="A sentence from elsewhere.", chunk="Some other chunk.")
    assert quote_in_context(missing) == f"<mark>{escape_text('A sentence from elsewhere.')}</mark>"


def test_long_chunks_are_trimmed_around_the_quote_at_word_boundaries():
    chunk = "word " * 200 + QUOTE + " tail" * 200
    out = quote_in_context(citation(chunk=chunk), context_chars=50)
    assert out.startswith("…word") and out.endswith("tail…")
    assert len(out) < 600


def test_trimmed_context_starts_on_a_whole_line():
    chunk = (
        "China to Launch International Space Exploration Association\nCollaborative projects could begin.\n\n" + QUOTE
    )
    out = quote_in_context(citation(chunk=chunk), context_chars=50)
    assert out.startswith("…Collaborative") and out.endswith("</mark>")


def test_hostile_article_text_renders_as_text_in_the_sources_panel():
    hostile_chunk = f"Before {HOSTILE}. {QUOTE} After {HOSTILE}."
    c = citation(chunk=hostile_chunk, title=f"Title {HOSTILE}", date=f"2025 {HOSTILE}")
    out = render_sources(answer(citations=[c], query=f"q {HOSTILE}"))
    assert no_live_markup(out)
    assert out.count("&lt;script&gt;") == 5  # title, date, query and twice in the context
    assert "<mark>" in out


def test_sources_panel_lists_each_citation_with_title_date_and_number():
    second = citation(
        number=2,
        quote="Xinhua reported on July 1st that China will launch the International Deep Space Exploration Association (IDSEA) on Monday, July 7th 2025.",
    )
    out = render_sources(answer(citations=[citation(), second]))
    assert out.count('class="dsqa-src"') == 2
    assert 'id="dsqa-src-2"' in out and "2025&#45;07&#45;01" in out
    assert "searched for" in out and 'data-turn="1"' in out
    assert 'data-turn="3"' in render_sources(answer(), turn=3)


def test_sources_panel_for_an_abstention_and_before_any_question():
    out = render_sources(answer(text="Not covered.", citations=[], abstained=True))
    assert "No sources" in out and "dsqa-src-list" not in out
    assert render_sources(None) == EMPTY_SOURCES


def test_knowledge_panel_lists_articles_escaped():
    out = render_knowledge([ArticleSummary("a", f"T {HOSTILE}", "2025-07-01", 9), ArticleSummary("b", "U", "", 2)])
    assert out.count("<tr>") == 3 and no_live_markup(out)
    assert ">9</td>" in out and "—" in out
    assert "No articles" in render_knowledge([])


def test_user_bubble_and_citation_records():
    assert no_live_markup(render_user(HOSTILE))
    record = citation_records(answer())[0]
    assert record["quote"] == QUOTE and record["number"] == 1 and "text" not in record
