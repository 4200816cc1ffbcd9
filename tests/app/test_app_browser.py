"""The web chat in a real headless Chromium (Debian's, never a downloaded one), driven by playwright.

Every request any page makes is recorded; the last test asserts they all stayed on loopback, and the
socket guard asserts the same for the server side. A screenshot lands in test-artifacts/chat.png.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
# Runs as root in containers (no sandbox); the rest stop Chromium's own calls to Google hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE_QUESTION = (
    "What did the Zephyr rover find? <script>window.__pwned='q'</script><img src=x onerror=\"window.__pwned='qi'\">"
)
REQUESTED: list[str] = []  # every URL any page of this module asked for


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `make browser` (never `playwright install`).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Chat:
    """One browser tab on the chat, with the few moves a person makes."""

    def __init__(self, page, url: str):
        self.page = page
        self.dialogs: list[str] = []
        page.on("request", lambda request: REQUESTED.append(request.url))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(url)
        page.wait_for_selector("#dsqa-question textarea")
        self.answers = 0

    @property
    def bot_messages(self):
        return self.page.locator('#dsqa-chat [data-testid="bot"]')

    @property
    def user_messages(self):
        return self.page.locator('#dsqa-chat [data-testid="user"]')

    def wait_for_answer(self) -> None:
        """Until the sources panel shows the next answer's number: the stream has finished."""
        self.answers += 1
        self.page.wait_for_selector(f'#dsqa-sources [data-turn="{self.answers}"]', timeout=30_000)

    def ask(self, question: str, press_enter: bool = True) -> None:
        self.page.fill("#dsqa-question textarea", question)
        if press_enter:
            self.page.keyboard.press("Enter")
        else:
            self.page.click("#dsqa-ask")
        self.wait_for_answer()

    def last_answer(self):
        return self.bot_messages.last


@pytest.fixture
def chat(browser, running_app):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield Chat(context.new_page(), running_app.url)
    context.close()


def test_a_question_streams_an_answer_with_markers_and_sources(chat):
    chat.page.evaluate(
        """() => { window.__lengths = [];
        new MutationObserver(() => { const m = document.querySelectorAll('#dsqa-chat [data-testid="bot"]');
          if (m.length) window.__lengths.push(m[m.length - 1].innerText.length); })
        .observe(document.querySelector('#dsqa-chat'), {subtree: true, childList: true, characterData: true}); }"""
    )
    chat.ask("When will IDSEA launch?")
    answer = chat.last_answer()
    assert "July 7" in answer.inner_text()
    assert answer.locator("sup.dsqa-cite").count() >= 1
    lengths = chat.page.evaluate("window.__lengths")
    assert len(set(lengths)) > 2, f"the answer arrived in one piece, not streamed: {lengths}"
    sources = chat.page.locator("#dsqa-sources")
    assert sources.locator(".dsqa-src").count() >= 1
    first = sources.locator(".dsqa-src").first
    assert (
        "China to Launch International Space Exploration Association" in first.locator(".dsqa-src-title").inner_text()
    )
    assert "2025-07-01" in first.locator(".dsqa-src-date").inner_text()
    assert any("July 7th 2025" in t for t in sources.locator("mark").all_inner_texts())
    assert len(first.locator(".dsqa-src-context").inner_text()) > len(first.locator("mark").inner_text())


def test_a_follow_up_shows_how_it_was_understood(chat, artifacts):
    chat.ask("When will IDSEA launch?")
    chat.ask("Where will it be located?", press_enter=False)
    answer = chat.last_answer()
    note = answer.locator(".dsqa-query")
    assert note.count() == 1 and "Understood as" in note.inner_text() and "IDSEA" in note.inner_text()
    assert chat.bot_messages.first.locator(".dsqa-query").count() == 0  # a first question needs no note
    assert "Hefei" in answer.inner_text()
    assert "Answer 2" in chat.page.locator("#dsqa-sources .dsqa-query").inner_text()
    chat.page.screenshot(path=str(artifacts / "chat.png"), full_page=True)


def test_clicking_an_example_asks_it(chat):
    chat.page.get_by_role("button", name="Where will the association be based?").click()
    chat.wait_for_answer()
    assert chat.user_messages.last.inner_text().strip() == "Where will the association be based?"
    assert "Hefei" in chat.last_answer().inner_text()


def test_an_abstention_looks_different_and_says_what_is_covered(chat):
    chat.ask("Who won the 1998 football World Cup final?")
    answer = chat.last_answer()
    assert answer.locator(".dsqa-abstain").count() == 1
    assert answer.locator(".dsqa-answer").count() == 0
    assert "not in the articles" in answer.inner_text().lower()
    assert "No sources" in chat.page.locator("#dsqa-sources").inner_text()


def test_markup_in_articles_and_questions_renders_as_text(chat):
    chat.ask(HOSTILE_QUESTION)
    assert "<script>window.__pwned='q'</script>" in chat.user_messages.last.inner_text()
    sources = chat.page.locator("#dsqa-sources").inner_text()
    assert "<script>" in sources and "onerror=" in sources  # the article's markup, shown as text
    chat.page.get_by_text("What I know").click()
    chat.page.locator("#dsqa-knowledge table").wait_for()
    assert "<script>" in chat.page.locator("#dsqa-knowledge").inner_text()
    assert chat.page.evaluate("window.__pwned") is None
    assert chat.page.locator('img[src="x"]').count() == 0
    assert chat.page.locator("#dsqa-chat script, #dsqa-sources script, #dsqa-knowledge script").count() == 0
    assert chat.dialogs == []


def test_a_too_long_question_gets_a_clear_message(chat, running_app):
    limit = running_app.settings.max_question_chars
    chat.page.fill("#dsqa-question textarea", "why " * limit)
    chat.page.keyboard.press("Enter")
    chat.page.get_by_text(f"the limit is {limit:,}").first.wait_for(timeout=10_000)
    assert chat.bot_messages.count() == 0


def test_thumbs_up_appends_the_turn_to_the_feedback_file(chat, running_app):
    before = running_app.feedback_path.read_text().splitlines() if running_app.feedback_path.exists() else []
    chat.ask("Where will the association be based?")
    chat.page.locator('#dsqa-chat button[aria-label="Like"]').last.click()
    for _ in range(50):
        lines = running_app.feedback_path.read_text().splitlines() if running_app.feedback_path.exists() else []
        if len(lines) > len(before):
            break
        chat.page.wait_for_timeout(100)
    record = json.loads(lines[-1])
    assert record["rating"] == "up"
    assert record["question"] == "Where will the association be based?"
    assert record["answer"].split("[")[0].strip() in chat.last_answer().inner_text()
    assert record["citations"] and record["citations"][0]["quote"] in record["answer"]


def test_new_chat_starts_over(chat):
    chat.ask("When will IDSEA launch?")
    chat.page.click("#dsqa-new-chat")
    chat.page.wait_for_function("document.querySelectorAll('#dsqa-chat [data-testid=\"bot\"]').length === 0")
    assert "appear here" in chat.page.locator("#dsqa-sources").inner_text()
    chat.answers = 0
    chat.ask("Where will it be located?")
    assert chat.user_messages.count() == 1


def test_two_people_never_see_each_others_turns(browser, running_app):
    tabs = []
    for _ in range(2):
        context = browser.new_context()
        tabs.append((context, Chat(context.new_page(), running_app.url)))
    (_, ann), (_, bob) = tabs
    ann.ask("When will IDSEA launch?")
    bob.ask("What did Fu Cong say about outer space?")
    ann.ask("Where will it be located?")
    assert ann.user_messages.all_inner_texts() == ["When will IDSEA launch?", "Where will it be located?"]
    assert bob.user_messages.all_inner_texts() == ["What did Fu Cong say about outer space?"]
    for context, _ in tabs:
        context.close()


def test_what_i_know_lists_the_indexed_articles(chat):
    chat.page.get_by_text("What I know").click()
    rows = chat.page.locator("#dsqa-knowledge table.dsqa-knowledge tbody tr")
    rows.first.wait_for()
    texts = rows.all_inner_texts()
    assert len(texts) == 2
    assert any("China to Launch International Space Exploration Association" in t and "2025-07-01" in t for t in texts)
    assert all(int(t.split()[-1]) > 0 for t in texts)


def test_every_request_stayed_on_loopback(chat, network_guard):
    chat.ask("When will IDSEA launch?")  # so a run of this test alone still records a full page
    hosts = {urlsplit(url).hostname for url in REQUESTED if not url.startswith(("data:", "blob:"))}
    assert hosts and hosts <= {"127.0.0.1", "localhost"}, hosts
    assert network_guard == []
