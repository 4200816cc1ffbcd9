"""The web chat: a Gradio page over `bot.Bot` with streamed, cited answers and every answer's sources.

Wiring only: answers come from `Bot.stream`, HTML from `app_render.py`, the browser-kept chats from
`app_state.py`, serving and the login gate from `app_server.py`, look and behaviour from `web/`.
Chats live in the browser (`gr.BrowserState`, localStorage), so they survive a reload and are never
kept on the server; gradio_client's `/chat` keeps one conversation per `Client` in a `gr.State`.
`python app.py` is `dsqa serve` (same options: --host, --port, --auth, --knowledge, --index).
"""

from __future__ import annotations

from knowledge.settings import go_offline

go_offline()  # before gradio (and anything that imports huggingface_hub) is imported

import itertools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import gradio as gr  # noqa: E402
from limits import parse  # noqa: E402
from limits.storage import MemoryStorage  # noqa: E402
from limits.strategies import MovingWindowRateLimiter  # noqa: E402

from app_render import (  # noqa: E402
    EMPTY_SOURCES,
    citation_records,
    render_answer,
    render_knowledge,
    render_sources,
    render_user,
    streamed_prefixes,
)
from app_server import LoginGate, check_binding  # noqa: E402
from app_state import (  # noqa: E402
    STORAGE_KEY,
    chat_choices,
    chat_turns,
    current_chat,
    empty_store,
    history_of,
    normalize_store,
    opened,
    with_turn,
    without_chat,
)
from bot import Answer, Bot  # noqa: E402
from bot.examples import suggest_questions  # noqa: E402
from knowledge.uploads import accepted_suffixes  # noqa: E402

ASSETS = Path(__file__).resolve().parent / "web"
CONCURRENCY_LIMIT = 4  # answers computed at once; the rest wait in the queue
QUEUE_SIZE = 64
FEEDBACK_FILE = "feedback.jsonl"
FEEDBACK_PER_SESSION = parse("60/hour")
FEEDBACK_OVERALL = parse("600/hour")  # a client can open new sessions; the file's growth is bounded too
EXAMPLE_COUNT = 4
# Not a secret from the user (the browser holds it to read its own store); a fixed value keeps chats
# readable after the server restarts.
BROWSER_STORE_SECRET = "deepspace-qa-chats-v1"

TITLE = "deepspace-qa"
INTRO = (
    f"<h1>{TITLE}</h1><p>Ask about the documents I have read. Every answer quotes them: click a "
    '<b>[n]</b> to see its source <span class="dsqa-wide">in the panel on the right</span>'
    '<span class="dsqa-narrow">(or tap <b>Sources</b> at the top right)</span>. '
    "Follow-up questions are fine, and your chats stay in this browser.</p>"
)


def theme() -> gr.themes.Base:
    """Gradio's default look in the system's own fonts (the page downloads no font), with muted text and
    primary buttons dark enough to read: Gradio's "subdued" grey and white-on-indigo are under 4.5:1."""
    sans = ["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "Noto Sans", "Liberation Sans", "DejaVu Sans"]
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "DejaVu Sans Mono"]
    return gr.themes.Default(primary_hue="indigo", font=[*sans, "sans-serif"], font_mono=[*mono, "monospace"]).set(
        body_text_color_subdued="*neutral_600",
        body_text_color_subdued_dark="*neutral_300",
        block_info_text_color="*neutral_600",
        block_info_text_color_dark="*neutral_300",
        input_placeholder_color="*neutral_500",
        input_placeholder_color_dark="*neutral_400",
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_background_fill_dark="*primary_600",
        button_primary_background_fill_hover_dark="*primary_700",
    )


def too_long_message(question: str, limit: int) -> str | None:
    """The message shown for a question over the limit, or None when it fits."""
    if len(question) <= limit:
        return None
    return f"That question is {len(question):,} characters long; the limit is {limit:,}. Please shorten it."


def plural(count: int, noun: str) -> str:
    """`plural(1, "passage") == "1 passage"`"""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def chat_messages(turns: list[tuple[str, Answer]]) -> list[dict]:
    """The chatbot's messages: user/assistant pairs, so message 2k+1 is the answer of turn k+1."""
    messages: list[dict] = []
    for number, (question, answer) in enumerate(turns, start=1):
        messages += [
            {"role": "user", "content": render_user(question)},
            {"role": "assistant", "content": render_answer(answer, turn=number, follow_up=number > 1)},
        ]
    return messages


def document_choices(bot: Bot) -> list[tuple[str, str]]:
    """(label, id) per indexed document, for the delete picker."""
    return [(f"{s.title} ({s.format or 'text'})", s.article_id) for s in bot.summaries()]


class ChatService:
    """What the page's events call: answer within this browser's chat, log feedback, add and delete documents."""

    def __init__(self, bot: Bot, examples: list[str] | None = None, stream_delay: float = 0.03):
        self.bot = bot
        self.stream_delay = stream_delay
        self.examples = suggest_questions(bot, EXAMPLE_COUNT) if examples is None else examples
        self.feedback_path = Path(bot.settings.data_dir) / FEEDBACK_FILE
        self._feedback_lock = threading.Lock()
        self._feedback_limiter = MovingWindowRateLimiter(MemoryStorage())

    # --- answering -------------------------------------------------------------------------------
    def answers(self, question: str, turns: list[tuple[str, Answer]]):
        """`Bot.stream` for one question in the context of `turns`; ValueError/TypeError on a bad question."""
        if not isinstance(question, str):
            raise TypeError(f"the question must be text, not {type(question).__name__}")
        message = too_long_message(question.strip(), self.bot.settings.max_question_chars)
        if message:
            raise ValueError(message)
        return self.bot.stream(question.strip(), history=history_of(turns))

    def example_updates(self) -> list:
        """The example buttons: one per suggested question, the rest hidden."""
        shown = self.examples[:EXAMPLE_COUNT]
        return [gr.update(value=q, visible=True) for q in shown] + [gr.update(visible=False)] * (
            EXAMPLE_COUNT - len(shown)
        )

    def screen(self, store: dict) -> tuple:
        """(chat messages, sources panel, chat list) for the chat `store` has open."""
        turns = chat_turns(current_chat(store))
        chats = gr.update(choices=chat_choices(store), value=store["current"] or None)
        return chat_messages(turns), render_sources([a for _, a in turns]), chats

    def load(self, stored):
        """Page load: this browser's open chat, its chat list, the documents and the examples."""
        store = normalize_store(stored)
        documents = gr.update(choices=document_choices(self.bot), value=None)
        return (*self.screen(store), store, render_knowledge(self.bot.summaries()), documents, *self.example_updates())

    def respond(self, question, stored):
        """Ask: yields (chat, textbox, sources, chat list, store) while the answer comes in."""
        store = normalize_store(stored)
        turns = chat_turns(current_chat(store))
        text = question.strip() if isinstance(question, str) else ""
        if not text:
            yield chat_messages(turns), "", gr.skip(), gr.skip(), gr.skip()
            return
        try:
            stream = self.answers(text, turns)
            first = next(stream)
        except (ValueError, TypeError) as error:  # too long or unusable: say so, keep the text for editing
            gr.Warning(str(error))
            yield chat_messages(turns), question, gr.skip(), gr.skip(), gr.skip()
            return
        shown = chat_messages(turns) + [
            {"role": "user", "content": render_user(text)},
            {"role": "assistant", "content": ""},
        ]
        turn, follow_up = len(turns) + 1, bool(turns)
        answer, partials = first, 0
        for answer in itertools.chain([first], stream):  # partial answers from an LLM, then the final one
            partials += 1
            shown[-1]["content"] = render_answer(answer, answer.text, turn=turn, follow_up=follow_up)
            yield shown, "", gr.skip(), gr.skip(), gr.skip()
        if partials == 1:  # a whole answer at once: reveal it a few words at a time
            for prefix in streamed_prefixes(answer.text):
                shown[-1]["content"] = render_answer(answer, prefix, turn=turn, follow_up=follow_up)
                yield shown, "", gr.skip(), gr.skip(), gr.skip()
                time.sleep(self.stream_delay)
        store = with_turn(store, text, answer)
        messages, panel, chats = self.screen(store)
        yield messages, "", panel, chats, store

    def new_chat(self, stored):
        """A new, empty chat (the old one stays in the list)."""
        store = opened(normalize_store(stored), "")
        return (*self.screen(store), "", store)

    def open_chat(self, chat_id, stored):
        """Show a chat picked in the list."""
        store = opened(normalize_store(stored), chat_id if isinstance(chat_id, str) else "")
        return (*self.screen(store), "", store)

    def delete_chat(self, stored):
        """Delete the open chat from this browser."""
        store = normalize_store(stored)
        store = without_chat(store, store["current"])
        return (*self.screen(store), "", store)

    def record_feedback(self, stored, data: gr.LikeData, request: gr.Request) -> None:
        """Thumbs up/down on an answer: append question, answer, citations and rating to feedback.jsonl.

        Bounded per session and overall; written as ASCII JSON, so U+2028 and friends are escaped."""
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        rating = {True: "up", False: "down", "Like": "up", "Dislike": "down"}.get(data.liked)
        turns = chat_turns(current_chat(normalize_store(stored)))
        if rating is None or not isinstance(index, int) or index % 2 == 0 or not 0 <= index // 2 < len(turns):
            return  # an un-vote, or not an answer of this chat
        session = getattr(request, "session_hash", None) or "unknown"
        allowed = self._feedback_limiter.hit(FEEDBACK_OVERALL, "all") and self._feedback_limiter.hit(
            FEEDBACK_PER_SESSION, session
        )
        if not allowed:
            gr.Warning("Thanks, but that is a lot of ratings: this one was not recorded.")
            return
        question, answer = turns[index // 2]
        record = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "rating": rating,
            "question": question,
            "query": answer.query,
            "answer": answer.text,
            "abstained": answer.abstained,
            "citations": citation_records(answer),
        }
        with self._feedback_lock:
            self.feedback_path.parent.mkdir(parents=True, exist_ok=True)
            with self.feedback_path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record, ensure_ascii=True) + "\n")

    # --- documents ------------------------------------------------------------------------------
    def _after_documents_changed(self) -> tuple:
        self.examples = suggest_questions(self.bot, EXAMPLE_COUNT)
        documents = gr.update(choices=document_choices(self.bot), value=None)
        return render_knowledge(self.bot.summaries()), documents, *self.example_updates()

    def upload_files(self, files):
        """Add uploaded files one by one, saying which is being indexed: yields (status, table, picker, examples…)."""
        paths = [Path(f) for f in (files or []) if f]
        lines: list[str] = []
        keep = (gr.skip(),) * (2 + EXAMPLE_COUNT)
        for number, path in enumerate(paths, start=1):
            yield "\n".join([*lines, f"Indexing **{path.name}** ({number} of {len(paths)})…"]), *keep, gr.skip()
            try:
                added = self.bot.add_documents([path])
            except ValueError as error:
                lines.append(f"- {error}")
                continue
            lines += [f"- {path.name}: added “{s.title}” ({plural(s.chunks, 'passage')})" for s in added] or [
                f"- {path.name}: could not be read as a document, so it was not added"
            ]
        yield "\n".join(lines) or "No file was given.", *self._after_documents_changed(), None

    def confirm_delete(self, article_id):
        """Ask before deleting: show the confirmation naming the document."""
        title = next((s.title for s in self.bot.summaries() if s.article_id == article_id), None)
        if title is None:
            return gr.update(visible=False), "Pick a document to delete first."
        return gr.update(visible=True), f"Delete “{title}”? Its file is removed from the knowledge folder."

    def delete_document(self, article_id):
        """Delete the picked document after confirmation: (status, table, picker, confirmation, examples…)."""
        try:
            self.bot.remove_document(article_id if isinstance(article_id, str) else "")
        except ValueError as error:
            return str(error), gr.skip(), gr.skip(), gr.update(visible=False), *(gr.skip(),) * EXAMPLE_COUNT
        table, picker, *examples = self._after_documents_changed()
        return "Deleted.", table, picker, gr.update(visible=False), *examples

    # --- program endpoints ------------------------------------------------------------------------
    def chat_api(self, question, turns: list[tuple[str, Answer]]):
        """`/chat`: (answer text with [n] markers, list of sources); a Client's calls share a conversation."""
        try:
            *_, answer = self.answers(question, turns)
        except (ValueError, TypeError) as error:
            raise gr.Error(str(error), print_exception=False) from None
        return answer.text, citation_records(answer), turns + [(question.strip(), answer)]

    def upload_api(self, files) -> list[dict]:
        """`/upload`: file paths in, the added documents' summaries out."""
        try:
            added = self.bot.add_documents([Path(f) for f in (files or []) if f])
        except ValueError as error:
            raise gr.Error(str(error), print_exception=False) from None
        self.examples = suggest_questions(self.bot, EXAMPLE_COUNT)
        return [
            {
                "article_id": s.article_id,
                "title": s.title,
                "date": s.date,
                "format": s.format,
                "pages": s.pages,
                "passages": s.chunks,
            }
            for s in added
        ]

    def delete_api(self, article_id) -> dict:
        """`/delete`: a document id in; {"deleted": id} out."""
        try:
            self.bot.remove_document(article_id if isinstance(article_id, str) else "")
        except ValueError as error:
            raise gr.Error(str(error), print_exception=False) from None
        self.examples = suggest_questions(self.bot, EXAMPLE_COUNT)
        return {"deleted": article_id}


def build_app(bot: Bot, examples: list[str] | None = None, stream_delay: float = 0.03) -> gr.Blocks:
    """The page: chats in a sidebar; the chat and examples; sources and "What I know" beside it (a drawer
    on phones). `examples` defaults to questions the bot answers with high confidence (checked now)."""
    service = ChatService(bot, examples=examples, stream_delay=stream_delay)
    private = {"api_visibility": "private"}
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        store = gr.BrowserState(empty_store(), storage_key=STORAGE_KEY, secret=BROWSER_STORE_SECRET)
        api_turns = gr.State([])  # per gradio_client session: [(question, Answer)]
        with gr.Sidebar(label="Chats", open=True, elem_id="dsqa-sidebar"):
            new_chat = gr.Button("New chat", variant="primary", elem_id="dsqa-new-chat")
            chats = gr.Radio(label="Chats in this browser", choices=[], elem_id="dsqa-chats")
            delete_chat = gr.Button("Delete this chat", size="sm", elem_id="dsqa-delete-chat")
        gr.HTML(INTRO, elem_id="dsqa-intro")
        gr.HTML('<button type="button" id="dsqa-sources-toggle" aria-expanded="false">Sources</button>')
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=280):
                chatbot = gr.Chatbot(
                    label="Chat",
                    elem_id="dsqa-chat",
                    height=520,
                    feedback_options=("Like", "Dislike"),
                    latex_delimiters=[],
                    allow_tags=False,
                    buttons=[],  # the built-in copy would copy HTML; each answer has its own Copy
                    placeholder="Ask a question, or pick an example below.",
                )
                with gr.Row(equal_height=True):
                    question = gr.Textbox(
                        show_label=False,
                        placeholder="Ask about the documents…",
                        elem_id="dsqa-question",
                        scale=6,
                        lines=1,
                        max_lines=5,
                        autofocus=True,
                    )
                    ask = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="dsqa-ask")
                gr.Markdown("Try one of these:", elem_classes=["dsqa-examples-label"])
                with gr.Row(elem_id="dsqa-examples"):
                    example_buttons = [
                        gr.Button(q, size="sm", variant="secondary", visible=False) for q in [""] * EXAMPLE_COUNT
                    ]
            with gr.Column(scale=2, min_width=280, elem_id="dsqa-side"):
                gr.Markdown("### Sources")
                sources = gr.HTML(EMPTY_SOURCES, elem_id="dsqa-sources")
                with gr.Accordion("What I know", open=False, elem_id="dsqa-knowledge"):
                    documents = gr.HTML(elem_id="dsqa-documents")
                    limit = f"{bot.settings.max_upload_mb:g} MB"
                    upload = gr.File(
                        label=f"Add documents ({' '.join(accepted_suffixes())}, up to {limit} each)",
                        file_count="multiple",
                        file_types=list(accepted_suffixes()),
                        elem_id="dsqa-upload",
                    )
                    upload_status = gr.Markdown(elem_id="dsqa-upload-status")
                    with gr.Row(equal_height=True):
                        picked = gr.Dropdown(label="Document", choices=[], scale=3, elem_id="dsqa-doc-choice")
                        delete_doc = gr.Button("Delete…", size="sm", scale=1, elem_id="dsqa-delete-doc")
                    with gr.Row(visible=False, elem_id="dsqa-confirm") as confirm:
                        confirm_text = gr.Markdown()
                        confirm_yes = gr.Button("Yes, delete", variant="stop", size="sm", elem_id="dsqa-confirm-delete")
                        confirm_no = gr.Button("Cancel", size="sm", elem_id="dsqa-cancel-delete")

        screen = [chatbot, sources, chats]
        demo.load(service.load, [store], [*screen, store, documents, picked, *example_buttons], **private)
        answer_outputs = [chatbot, question, sources, chats, store]
        for trigger in (question.submit, ask.click):
            trigger(service.respond, [question, store], answer_outputs, **private)
        for button in example_buttons:
            button.click(lambda q: q, button, question, queue=False, **private).then(
                service.respond, [question, store], answer_outputs, **private
            )
        chat_outputs = [*screen, question, store]
        new_chat.click(service.new_chat, [store], chat_outputs, queue=False, **private)
        chatbot.clear(service.new_chat, [store], chat_outputs, queue=False, **private)
        chats.input(service.open_chat, [chats, store], chat_outputs, queue=False, **private)
        delete_chat.click(service.delete_chat, [store], chat_outputs, queue=False, **private)
        chatbot.like(service.record_feedback, [store], None, queue=False, **private)

        changed = [documents, picked, *example_buttons]
        upload.upload(service.upload_files, [upload], [upload_status, *changed, upload], **private)
        delete_doc.click(service.confirm_delete, [picked], [confirm, confirm_text], queue=False, **private)
        confirm_no.click(lambda: gr.update(visible=False), None, confirm, queue=False, **private)
        confirm_yes.click(
            service.delete_document, [picked], [upload_status, documents, picked, confirm, *example_buttons], **private
        )

        # Program endpoints: hidden components, so gradio_client sees plain inputs and outputs.
        api_question = gr.Textbox(visible=False, label="question")
        api_answer = gr.Textbox(visible=False, label="answer")
        api_sources = gr.JSON(visible=False, label="sources")
        gr.Button(visible=False).click(
            service.chat_api,
            [api_question, api_turns],
            [api_answer, api_sources, api_turns],
            api_name="chat",
            api_description="Answer a question from the documents; a Client's calls share one conversation.",
        )
        api_files = gr.File(visible=False, file_count="multiple", label="files")
        api_added = gr.JSON(visible=False, label="added")
        gr.Button(visible=False).click(
            service.upload_api,
            [api_files],
            [api_added],
            api_name="upload",
            api_description="Add documents (file paths); returns the added documents' summaries.",
        )
        api_document = gr.Textbox(visible=False, label="article_id")
        api_deleted = gr.JSON(visible=False, label="deleted")
        gr.Button(visible=False).click(
            service.delete_api,
            [api_document],
            [api_deleted],
            api_name="delete",
            api_description="Delete a document by its id (as /upload returns it).",
        )
    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=QUEUE_SIZE)
    return demo


def launch(demo: gr.Blocks, host: str, port: int, auth: tuple[str, str] | None = None, max_file_mb: float = 20) -> str:
    """Start serving `demo` on host:port in the background and return its URL (see `check_binding`)."""
    from starlette.middleware import Middleware

    check_binding(host, auth)
    _, url, _ = demo.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        share=False,
        quiet=True,
        prevent_thread_lock=True,
        footer_links=["api"],
        enable_monitoring=False,
        mcp_server=False,
        ssr_mode=False,
        pwa=False,
        run_history=False,
        max_file_size=int(max_file_mb * 1_000_000),
        app_kwargs={"middleware": [Middleware(LoginGate)]},
        theme=theme(),
        css_paths=[ASSETS / "chat.css"],
        head=f"<script>{(ASSETS / 'chat.js').read_text(encoding='utf-8')}</script>",
    )
    return url


def main(argv: list[str] | None = None) -> None:
    """`python app.py [options]`: the same as `dsqa serve [options]`."""
    from cli import main as dsqa

    dsqa(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
