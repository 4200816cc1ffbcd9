"""The web chat in a real headless Chromium (Debian's, never a downloaded one) against `dsqa serve`.

Covers the page's promises: contrast of every text in light and dark mode, `[n]` links to each
answer's own sources, chats that survive a reload, the phone layout, examples that answer, upload and
delete, escaping. Every request a page makes is recorded and must stay on loopback. Screenshots go to
test-artifacts/; with DSQA_UPDATE_SCREENSHOTS=1 they also replace the README's ones in docs/.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from knowledge.settings import PROJECT_ROOT
from knowledge.uploads import accepted_suffixes

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
CONTRAST_JS = (Path(__file__).parent / "contrast.js").read_text(encoding="utf-8")
MIN_CONTRAST = 4.5  # WCAG AA for normal text; applied to every text, large or not
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
HOSTILE_QUESTION = (
    "What did the Zephyr rover find? <script>window.__pwned='q'</script><img src=x onerror=\"window.__pwned='qi'\">"
)
DRAWER_OPEN = "document.querySelector('#dsqa-side').classList.contains('dsqa-open')"
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


def marks(locator) -> str:
    """The highlighted quotes inside an answer or a source card (a card merges an article's passages)."""
    return " ".join(locator.locator("mark").all_inner_texts())


def save_screenshot(page, artifacts: Path, name: str) -> None:
    """A screenshot in test-artifacts/, and in docs/ (shown by the README) when asked to update them."""
    path = artifacts / name
    page.screenshot(path=str(path))
    if os.environ.get("DSQA_UPDATE_SCREENSHOTS") == "1":
        (PROJECT_ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(path, PROJECT_ROOT / "docs" / name)


class Chat:
    """One browser tab on the chat, with the few moves a person makes."""

    def __init__(self, page, url: str):
        self.page = page
        self.url = url
        self.dialogs: list[str] = []
        page.on("request", lambda request: REQUESTED.append(request.url))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.open()

    def open(self, query: str = "") -> None:
        self.page.goto(self.url + query)
        self.page.wait_for_selector("#dsqa-question textarea")
        self.page.wait_for_function("document.querySelector('#dsqa-examples button') !== null")

    @property
    def bot_messages(self):
        return self.page.locator('#dsqa-chat [data-testid="bot"]')

    @property
    def user_messages(self):
        return self.page.locator('#dsqa-chat [data-testid="user"]')

    def wait_for_answer(self, number: int) -> None:
        """Until answer `number` is complete: its sources are in the panel and its bubble is final."""
        self.page.wait_for_function(
            """n => { const panel = document.querySelector('#dsqa-sources .dsqa-sources');
                const bots = document.querySelectorAll('#dsqa-chat [data-testid="bot"]');
                return panel && panel.dataset.turn === String(n) && bots.length === n
                  && bots[n - 1].querySelector('.dsqa-copy, .dsqa-abstain') !== null; }""",
            arg=number,
            timeout=30_000,
        )

    def ask(self, question: str, press_enter: bool = True) -> None:
        number = self.bot_messages.count() + 1
        self.page.fill("#dsqa-question textarea", question)
        if press_enter:
            self.page.keyboard.press("Enter")
        else:
            self.page.click("#dsqa-ask")
        self.wait_for_answer(number)

    def last_answer(self):
        return self.bot_messages.last

    def in_view(self, locator) -> bool:
        """True when the element is shown and inside the viewport (what a person can see now)."""
        if not locator.is_visible():
            return False
        box, size = locator.bounding_box(), self.page.viewport_size
        return box is not None and box["y"] >= 0 and box["y"] < size["height"] and 0 <= box["x"] < size["width"]


@pytest.fixture
def new_chat(browser, served_chat):
    """Open a chat page in a fresh browser profile: `new_chat(viewport=…, query=…, **context options)`."""
    contexts = []

    def open_chat(viewport=DESKTOP, query: str = "", **options) -> Chat:
        context = browser.new_context(viewport=viewport, **options)
        contexts.append(context)
        page = context.new_page()
        chat = Chat(page, served_chat.url)
        if query:
            chat.open(query)
        return chat

    yield open_chat
    for context in contexts:
        context.close()


def test_serve_starts_quietly_and_prints_its_address(served_chat):
    output = "".join(served_chat.printed)
    assert output.strip().startswith("deepspace-qa web chat: http://127.0.0.1:")
    for noise in ("Loading weights", "Batches", "it/s", "Traceback"):
        assert noise not in output
    print(f"\ndsqa serve: indexed and serving in {served_chat.start_seconds:.1f} s")


def test_a_question_streams_a_direct_answer_with_links_and_its_source(new_chat):
    chat = new_chat()
    chat.page.evaluate(
        """() => { window.__lengths = [];
        new MutationObserver(() => { const m = document.querySelectorAll('#dsqa-chat [data-testid="bot"]');
          if (m.length) window.__lengths.push(m[m.length - 1].innerText.length); })
        .observe(document.querySelector('#dsqa-chat'), {subtree: true, childList: true, characterData: true}); }"""
    )
    chat.ask("When will IDSEA launch?")
    answer = chat.last_answer()
    assert "July 7" in answer.inner_text()
    assert answer.locator("a.dsqa-cite").count() >= 1
    assert "From “China to Launch International Space Exploration Association” · quoted" in answer.inner_text()
    short = answer.locator(".dsqa-short strong")
    assert short.count() == 1 and short.inner_text() in answer.locator(".dsqa-answer-text").inner_text()
    lengths = chat.page.evaluate("window.__lengths")
    assert len(set(lengths)) > 2, f"the answer arrived in one piece, not streamed: {lengths}"
    card = chat.page.locator("#dsqa-src-1-0")
    assert "China to Launch International Space Exploration Association" in card.locator(".dsqa-src-title").inner_text()
    assert "2025-07-01" in card.locator(".dsqa-src-date").inner_text()
    assert "July 7th 2025" in card.locator("mark").first.inner_text()


def test_clicking_1_of_the_first_of_two_answers_shows_the_first_answers_source(new_chat, artifacts):
    chat = new_chat()
    chat.ask("When will IDSEA launch?")
    chat.ask("Where will it be located?", press_enter=False)
    latest = chat.page.locator("#dsqa-turn-2")
    assert latest.is_visible() and not chat.page.locator("#dsqa-turn-1").is_visible()
    assert "Hefei" in marks(latest)
    save_screenshot(chat.page, artifacts, "chat-desktop.png")

    chat.bot_messages.first.locator("a.dsqa-cite").first.click()
    card = chat.page.locator("#dsqa-src-1-0")
    chat.page.wait_for_function("document.querySelector('#dsqa-turn-1').hidden === false")
    assert not latest.is_visible()
    assert chat.in_view(card) and chat.in_view(card.locator("mark").first)
    assert "July 7th 2025" in card.locator("mark").first.inner_text()
    chat.last_answer().locator("a.dsqa-cite").first.click()  # and back to the second answer's own source
    chat.page.wait_for_function("document.querySelector('#dsqa-turn-2').hidden === false")
    assert "Hefei" in marks(chat.page.locator("#dsqa-src-2-0"))


def test_a_follow_up_shows_how_it_was_understood(new_chat):
    chat = new_chat()
    chat.ask("When will IDSEA launch?")
    chat.ask("Where will it be located?")
    note = chat.last_answer().locator(".dsqa-query")
    assert note.count() == 1 and "Understood as" in note.inner_text() and "IDSEA" in note.inner_text()
    assert chat.bot_messages.first.locator(".dsqa-query").count() == 0  # a first question needs no note


def test_the_conversation_survives_a_reload_and_past_chats_can_be_opened_and_deleted(new_chat):
    chat = new_chat()
    chat.ask("When will IDSEA launch?")
    chat.ask("Where will it be located?")
    chat.open()  # reload
    chat.page.wait_for_function("document.querySelectorAll('#dsqa-chat [data-testid=\"user\"]').length === 2")
    assert chat.user_messages.all_inner_texts() == ["When will IDSEA launch?", "Where will it be located?"]
    assert "Hefei" in chat.last_answer().inner_text()
    chat.last_answer().locator("a.dsqa-cite").first.click()  # the sources came back too
    assert "Hefei" in marks(chat.page.locator("#dsqa-src-2-0"))

    chat.page.click("#dsqa-new-chat")
    chat.page.wait_for_function("document.querySelectorAll('#dsqa-chat [data-testid=\"bot\"]').length === 0")
    chat.ask("What did Fu Cong say about outer space?")
    chats = chat.page.locator("#dsqa-chats label")
    assert chats.all_inner_texts() == ["What did Fu Cong say about outer space?", "When will IDSEA launch?"]
    chats.nth(1).click()
    chat.page.wait_for_function("document.querySelectorAll('#dsqa-chat [data-testid=\"user\"]').length === 2")
    assert chat.user_messages.first.inner_text() == "When will IDSEA launch?"

    chat.page.click("#dsqa-delete-chat")
    chat.page.wait_for_function("document.querySelectorAll('#dsqa-chats label').length === 1")
    chat.open()
    chat.page.wait_for_selector("#dsqa-chats label")
    assert chat.page.locator("#dsqa-chats label").all_inner_texts() == ["What did Fu Cong say about outer space?"]


def test_the_copy_button_copies_the_answer_with_its_sources(new_chat):
    chat = new_chat(permissions=["clipboard-read", "clipboard-write"])
    chat.ask("When will IDSEA launch?")
    chat.last_answer().locator("button.dsqa-copy").click()
    chat.page.wait_for_function("document.querySelector('#dsqa-chat button.dsqa-copy').textContent === 'Copied'")
    copied = chat.page.evaluate("navigator.clipboard.readText()")
    text, _, sources = copied.partition("\n\nSources:\n")
    assert "July 7th 2025" in text and "[1]" in text
    assert sources.startswith("[1] China to Launch International Space Exploration Association (2025-07-01) — “")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_text_has_at_least_4_5_to_1_contrast(new_chat, artifacts, theme):
    chat = new_chat(query="?__theme=dark" if theme == "dark" else "")
    chat.ask("Who won the 1998 football World Cup final?")  # a refusal: the text that was hardest to read
    chat.ask("When will IDSEA launch?")
    chat.ask("Where will it be located?")  # a follow-up: its "understood as" line
    chat.page.get_by_text("What I know").click()
    chat.page.locator("#dsqa-documents table").wait_for()
    result = chat.page.evaluate(CONTRAST_JS, ["body", MIN_CONTRAST])
    assert result["checked"] > 40, result
    assert result["failures"] == [], result["failures"]
    print(f"\n{theme}: {result['checked']} texts, lowest contrast {result['lowest']}:1")
    chat.page.get_by_text("What I know").click()
    if theme == "dark":
        save_screenshot(chat.page, artifacts, "chat-dark.png")


def test_phone_width_has_no_horizontal_scroll_and_the_sources_are_one_tap_away(new_chat, artifacts):
    chat = new_chat(viewport=PHONE, has_touch=True, is_mobile=True)
    assert not chat.page.locator("#dsqa-sidebar").evaluate("e => e.classList.contains('open')")  # the chat first
    intro = chat.page.locator("#dsqa-intro").inner_text()
    assert "on the right" not in intro and "Sources" in intro
    chat.ask("Who won the 1998 football World Cup final?")
    chat.ask("When will IDSEA launch?")
    width = chat.page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"horizontal scroll at 390 px: {width}"
    card = chat.page.locator("#dsqa-src-2-0")
    assert not chat.in_view(card)
    save_screenshot(chat.page, artifacts, "chat-phone.png")

    chat.page.locator("#dsqa-sources-toggle").tap()  # one tap on "Sources" shows the latest answer's …
    chat.page.wait_for_function(DRAWER_OPEN)
    chat.page.wait_for_timeout(300)  # the drawer slides in
    assert chat.in_view(card) and "July 7th 2025" in marks(card)
    width = chat.page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1]
    chat.page.locator("#dsqa-sources .dsqa-drawer-close").tap()
    chat.page.wait_for_function(f"!{DRAWER_OPEN}")

    chat.page.evaluate("document.querySelector('#dsqa-side').scrollTop = 10000")  # somewhere else in the drawer
    chat.last_answer().locator("a.dsqa-cite").first.tap()  # … and one tap on [1] shows that answer's card
    chat.page.wait_for_function(DRAWER_OPEN)
    chat.page.wait_for_timeout(300)
    assert chat.in_view(card) and "July 7th 2025" in marks(card)
    save_screenshot(chat.page, artifacts, "chat-phone-sources.png")


def test_all_four_examples_give_answers_not_refusals(new_chat):
    chat = new_chat()
    buttons = chat.page.locator("#dsqa-examples button:visible")
    examples = buttons.all_inner_texts()
    assert len(examples) == 4, examples
    for number, example in enumerate(examples, start=1):
        chat.page.get_by_role("button", name=example).click()
        chat.wait_for_answer(number)
        answer = chat.last_answer()
        assert chat.user_messages.last.inner_text().strip() == example
        assert answer.locator(".dsqa-abstain").count() == 0, (example, answer.inner_text())
        assert answer.locator("a.dsqa-cite").count() >= 1


def test_markup_in_articles_and_questions_renders_as_text(new_chat):
    chat = new_chat()
    chat.ask(HOSTILE_QUESTION)
    assert "<script>window.__pwned='q'</script>" in chat.user_messages.last.inner_text()
    sources = chat.page.locator("#dsqa-sources").inner_text()
    assert "<script>" in sources and "onerror=" in sources  # the article's markup, shown as text
    chat.page.get_by_text("What I know").click()
    chat.page.locator("#dsqa-documents table").wait_for()
    assert "<script>" in chat.page.locator("#dsqa-documents").inner_text()
    assert chat.page.evaluate("window.__pwned") is None
    assert chat.page.locator('img[src="x"]').count() == 0
    assert chat.page.locator("#dsqa-chat script, #dsqa-sources script, #dsqa-documents script").count() == 0
    assert chat.dialogs == []


def test_a_too_long_question_gets_a_clear_message(new_chat, served_chat):
    chat = new_chat()
    limit = served_chat.settings.max_question_chars
    chat.page.fill("#dsqa-question textarea", "why " * limit)
    chat.page.keyboard.press("Enter")
    chat.page.get_by_text(f"the limit is {limit:,}").first.wait_for(timeout=10_000)
    assert chat.bot_messages.count() == 0


def test_thumbs_up_appends_the_turn_to_the_feedback_file(new_chat, served_chat):
    chat = new_chat()
    path = served_chat.feedback_path
    before = path.read_text().splitlines() if path.exists() else []
    chat.ask("When will IDSEA launch?")
    chat.page.locator('#dsqa-chat button[aria-label="Like"]').last.click()
    for _ in range(50):
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) > len(before):
            break
        chat.page.wait_for_timeout(100)
    record = json.loads(lines[-1])
    assert record["rating"] == "up"
    assert record["question"] == "When will IDSEA launch?"
    assert record["citations"] and record["citations"][0]["quote"] in record["answer"]
    assert lines[-1].isascii()  # U+2028 and every other non-ASCII character is escaped


def test_two_people_never_see_each_others_turns(new_chat):
    ann, bob = new_chat(), new_chat()
    ann.ask("When will IDSEA launch?")
    bob.ask("What did Fu Cong say about outer space?")
    ann.ask("Where will it be located?")
    assert ann.user_messages.all_inner_texts() == ["When will IDSEA launch?", "Where will it be located?"]
    assert bob.user_messages.all_inner_texts() == ["What did Fu Cong say about outer space?"]
    bob.open()
    assert bob.page.locator("#dsqa-chats label").all_inner_texts() == ["What did Fu Cong say about outer space?"]


def test_what_i_know_lists_documents_in_plain_words(new_chat):
    chat = new_chat()
    chat.page.get_by_text("What I know").click()
    table = chat.page.locator("#dsqa-documents table")
    table.wait_for()
    assert table.locator("th").all_inner_texts() == ["Document", "Date", "Format", "Pages", "Passages"]
    rows = table.locator("tbody tr").all_inner_texts()
    assert any("China to Launch International Space Exploration Association" in r and "2025-07-01" in r for r in rows)
    assert all(int(r.split()[-1]) > 0 for r in rows)
    assert "chunk" not in chat.page.locator("#dsqa-knowledge").inner_text().lower()


def write_pdf(path: Path, lines: list[str]) -> None:
    """A one-page PDF with a real text layer (matplotlib writes the text as text, not as an image)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure = pyplot.figure(figsize=(8.27, 11.69))
    for number, line in enumerate(lines):
        figure.text(0.08, 0.9 - 0.04 * number, line, fontsize=12)
    figure.savefig(path, format="pdf")
    pyplot.close(figure)


@pytest.mark.parametrize("kind", ["md", "pdf"])
def test_upload_a_document_ask_about_it_then_delete_it_after_confirming(new_chat, tmp_path, kind):
    if f".{kind}" not in accepted_suffixes():
        pytest.skip(f".{kind} files are not read by knowledge/loaders.py yet")
    path = tmp_path / f"tern probe.{kind}"
    sentence = "The Tern probe reached comet Halvorsen in March 2026 and mapped its icy crust."
    if kind == "pdf":
        write_pdf(path, ["Tern reaches comet Halvorsen", "", sentence])
    else:
        path.write_text(f"---\ntitle: Tern reaches comet Halvorsen\n---\n\n{sentence}\n", encoding="utf-8")
    chat = new_chat()
    chat.page.get_by_text("What I know").click()
    chat.page.locator("#dsqa-upload").wait_for()
    chat.page.evaluate(
        """() => { window.__status = [];
        new MutationObserver(() => window.__status.push(document.querySelector('#dsqa-upload-status')?.innerText))
        .observe(document.querySelector('#dsqa-knowledge'), {subtree: true, childList: true, characterData: true}); }"""
    )
    chat.page.locator("#dsqa-upload input[type=file]").set_input_files(str(path))
    chat.page.get_by_text("added “Tern reaches comet Halvorsen”").wait_for(timeout=120_000)
    progress = chat.page.evaluate("window.__status")
    assert any(f"Indexing {path.name} (1 of 1)" in (s or "") for s in progress), progress
    assert "Tern reaches comet Halvorsen" in chat.page.locator("#dsqa-documents").inner_text()

    chat.ask("Which comet did the Tern probe reach?")
    assert "Halvorsen" in chat.last_answer().inner_text()

    chat.page.locator("#dsqa-doc-choice input").click()
    chat.page.get_by_role("option", name=f"Tern reaches comet Halvorsen ({kind})").click()
    chat.page.click("#dsqa-delete-doc")
    confirm = chat.page.locator("#dsqa-confirm")
    confirm.wait_for()
    assert "Delete “Tern reaches comet Halvorsen”?" in confirm.inner_text()
    chat.page.click("#dsqa-confirm-delete")
    chat.page.get_by_text("Deleted.").wait_for(timeout=60_000)
    assert "Tern reaches comet Halvorsen" not in chat.page.locator("#dsqa-documents").inner_text()
    chat.ask("Which comet did the Tern probe reach?")
    assert "Halvorsen" not in chat.last_answer().inner_text()


def test_a_hostile_uploaded_title_is_text_in_the_status_and_the_confirmation(new_chat, tmp_path):
    title = "Harbour [click me](http://evil.example/phish) <img src=x onerror=window.__pwned=1>"
    path = tmp_path / "harbour notes.md"
    path.write_text(f"---\ntitle: {json.dumps(title)}\n---\n\nThe harbour crane lifted the probe.\n", encoding="utf-8")
    chat = new_chat()
    chat.page.get_by_text("What I know").click()
    chat.page.locator("#dsqa-upload").wait_for()
    chat.page.locator("#dsqa-upload input[type=file]").set_input_files(str(path))
    status = chat.page.locator("#dsqa-upload-status")
    status.get_by_text("added").wait_for(timeout=120_000)
    assert title in status.inner_text()
    chat.page.locator("#dsqa-doc-choice input").click()
    chat.page.get_by_role("option", name=f"{title} (md)").click()
    chat.page.click("#dsqa-delete-doc")
    confirm = chat.page.locator("#dsqa-confirm")
    confirm.wait_for()
    assert f"Delete “{title}”?" in confirm.inner_text()
    for where in (status, confirm):
        assert where.locator("a, img").count() == 0
    assert chat.page.evaluate("window.__pwned") is None
    chat.page.click("#dsqa-confirm-delete")
    chat.page.get_by_text("Deleted.").wait_for(timeout=60_000)


def test_every_request_stayed_on_loopback(new_chat):
    new_chat().ask("When will IDSEA launch?")  # so a run of this test alone still records a full page
    hosts = {urlsplit(url).hostname for url in REQUESTED if not url.startswith(("data:", "blob:"))}
    assert hosts and hosts <= {"127.0.0.1", "localhost"}, hosts
