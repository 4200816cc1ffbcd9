"""A hostile document title or file name never becomes live markup in the page's Markdown.

The upload status, the delete confirmation and the delete status are Gradio Markdown, which renders
links, images and raw HTML. Each is rendered here with markdown-it (HTML allowed, as the page does)
and must hold no link, image or tag from the user's text, only the text itself.
"""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from bot import Bot
from web.service import ChatService

HOSTILE_TITLE = "Harbour [click me](http://evil.example/phish) <img src=x onerror=alert(1)> **loud**"
HOSTILE_NAME = "[doc](http:evil.example) <img src=y onerror=alert(2)>.md"  # no "/": it is a file name
TAGS = re.compile(r"<(a|img|script|em)\b", re.IGNORECASE)  # the page's own markup is only <strong>


def rendered(markdown: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).render(markdown)


@pytest.fixture
def service(tmp_path, embedder):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "base.md").write_text("# Base\n\nThe base station tracks the rover every night.\n", encoding="utf-8")
    bot = Bot(knowledge_dir=folder, index_dir=tmp_path / "index", embedder=embedder)
    bot.index(progress=False)
    return ChatService(bot, examples=[])


def test_a_hostile_title_and_file_name_are_text_in_every_status(service, tmp_path):
    upload = tmp_path / "upload" / HOSTILE_NAME
    upload.parent.mkdir()
    upload.write_text(f"---\ntitle: {HOSTILE_TITLE!r}\n---\n\nThe harbour crane lifts the probe.\n", encoding="utf-8")
    statuses = [step[0] for step in service.upload_files([str(upload)])]
    (added,) = [s for s in service.bot.summaries() if s.title == HOSTILE_TITLE]

    _, confirmation = service.confirm_delete(added.article_id)
    deleted = service.delete_document(added.article_id)[0]
    refused = service.delete_document("no-such-id")[0]
    for markdown in [*statuses, confirmation, deleted, refused]:
        html = rendered(markdown)
        assert not TAGS.search(html), html
        assert "href" not in html, html
    final = rendered(statuses[-1])
    assert "[click me](http://evil.example/phish)" in _text(final)
    assert "<img src=x onerror=alert(1)> **loud**" in _text(final)
    assert HOSTILE_NAME in _text(rendered(statuses[0])) and HOSTILE_NAME in _text(final)
    assert HOSTILE_TITLE in _text(rendered(confirmation))


def _text(html: str) -> str:
    """What the reader sees: tags dropped, entities decoded."""
    import html as entities

    return entities.unescape(re.sub(r"<[^>]+>", "", html))
