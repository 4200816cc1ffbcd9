"""The chat page: a Gradio `Blocks` over `bot.Bot` with streamed, cited answers and every answer's sources.

Layout and wiring only: what events do is `web/service.py` (answers through `Bot.stream`), HTML
`web/render.py`, the browser-kept chats `web/state.py`; serving is `web/server.py`. Chats live in the
browser (`gr.BrowserState`, localStorage), so they survive a reload and are never kept on the server;
gradio_client's `/chat` keeps one conversation per `Client` in a `gr.State`.
"""

from __future__ import annotations

import gradio as gr

from bot import Bot
from knowledge.uploads import accepted_suffixes
from web.render import EMPTY_SOURCES
from web.service import EXAMPLE_COUNT, ChatService
from web.state import STORAGE_KEY, empty_store

CONCURRENCY_LIMIT = 4  # answers computed at once; the rest wait in the queue
QUEUE_SIZE = 64
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


def endpoint(name: str, description: str, fn, inputs: list, outputs: list) -> None:
    """A named API endpoint for gradio_client (`api_name="/<name>"`), behind a hidden button."""
    gr.Button(visible=False).click(fn, inputs, outputs, api_name=name, api_description=description)


def build_app(bot: Bot, examples: list[str] | None = None, stream_delay: float = 0.03) -> gr.Blocks:
    """The page: chats in a sidebar; the chat and examples; sources and "What I know" beside it (a drawer
    on phones). `examples` defaults to questions the bot answers with high confidence (checked now)."""
    service = ChatService(bot, examples=examples, stream_delay=stream_delay)
    private = {"api_visibility": "private"}
    # delete_cache: uploads never used by an event (a client that only uploads) are deleted after 15 minutes
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(300, 900)) as demo:
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
        endpoint(
            "chat",
            "Answer a question from the documents; a Client's calls share one conversation.",
            service.chat_api,
            [api_question, api_turns],
            [gr.Textbox(visible=False, label="answer"), gr.JSON(visible=False, label="sources"), api_turns],
        )
        endpoint(
            "upload",
            "Add documents (file paths); returns the added documents' summaries.",
            service.upload_api,
            [gr.File(visible=False, file_count="multiple", label="files")],
            [gr.JSON(visible=False, label="added")],
        )
        endpoint(
            "delete",
            "Delete a document by its id (as /upload returns it).",
            service.delete_api,
            [gr.Textbox(visible=False, label="article_id")],
            [gr.JSON(visible=False, label="deleted")],
        )
    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=QUEUE_SIZE)
    return demo
