"""The web chat: a Gradio page over `bot.Bot` with streamed, cited answers and a sources panel.

Wiring only: answers come from `bot`, HTML from `app_render.py`. Each browser tab (and each
gradio_client `Client`) has its own conversation in a `gr.State`; `/chat` is the endpoint for
programs. `python app.py [--host H] [--port P] [--auth user:pass]` serves on 127.0.0.1:7860;
binding beyond loopback needs credentials. Nothing here reaches past loopback: no share link,
no analytics, system fonts only (the page requests nothing but this server).
"""

from __future__ import annotations

from knowledge.settings import go_offline

go_offline()  # before gradio (and anything that imports huggingface_hub) is imported

import argparse  # noqa: E402
import ipaddress  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import NoReturn  # noqa: E402

import gradio as gr  # noqa: E402

from app_render import (  # noqa: E402
    CSS,
    EMPTY_SOURCES,
    citation_records,
    render_answer,
    render_knowledge,
    render_sources,
    render_user,
    streamed_prefixes,
)
from bot import Answer, Bot  # noqa: E402
from knowledge.settings import Settings  # noqa: E402

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 7860
AUTH_ENV = "DSQA_AUTH"  # "user:pass", the alternative to --auth
CONCURRENCY_LIMIT = 4  # answers computed at once; the rest wait in the queue
QUEUE_SIZE = 64
FEEDBACK_FILE = "feedback.jsonl"

TITLE = "deepspace-qa"
INTRO = (
    "Ask about the news articles I have read. Every answer quotes them: each **[n]** points to a "
    "source on the right. Follow-up questions are fine."
)
# Questions the bundled articles answer; another folder of articles gets questions from its titles.
BUNDLED_EXAMPLES = [
    "When will IDSEA launch?",
    "Where will the association be based?",
    "What did Wang Zhongmin say about developing countries?",
]


def theme() -> gr.themes.Base:
    """Gradio's default look in the system's own fonts: the page downloads no font at all.

    (The font files bundled with this gradio build are tiny subsets, so a glyph here and there came
    from them and the rest from a fallback; system fonts look even and need no request.)
    """
    sans = [
        "ui-sans-serif",
        "system-ui",
        "Segoe UI",
        "Roboto",
        "Noto Sans",
        "Liberation Sans",
        "DejaVu Sans",
        "sans-serif",
    ]
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "DejaVu Sans Mono", "monospace"]
    return gr.themes.Default(primary_hue="indigo", font=sans, font_mono=mono)


def example_questions(bot: Bot) -> list[str]:
    """Clickable example questions: the curated ones for the bundled articles, else from titles."""
    from knowledge.settings import PROJECT_ROOT

    if Path(bot.settings.knowledge_dir).resolve() == (PROJECT_ROOT / "knowledge" / "articles").resolve():
        return BUNDLED_EXAMPLES
    return [f"What does “{s.title}” report?" for s in bot.summaries()[:3]]


def too_long_message(question: str, limit: int) -> str | None:
    """The message shown for a question over the limit, or None when it fits."""
    if len(question) <= limit:
        return None
    return f"That question is {len(question):,} characters long; the limit is {limit:,}. Please shorten it."


def history_of(turns: list[tuple[str, Answer]]) -> list[dict]:
    """The conversation so far as role/content messages, the form `Bot.ask` takes."""
    messages: list[dict] = []
    for question, answer in turns:
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]
    return messages


def chat_messages(turns: list[tuple[str, Answer]]) -> list[dict]:
    """The chatbot's messages: user/assistant pairs, so message 2k+1 is the answer of turn k."""
    messages: list[dict] = []
    for number, (question, answer) in enumerate(turns):
        messages += [
            {"role": "user", "content": render_user(question)},
            {"role": "assistant", "content": render_answer(answer, follow_up=number > 0)},
        ]
    return messages


def start_over() -> tuple[list, str, str, list]:
    """A new chat: empty conversation, empty box, empty sources panel, no turns."""
    return [], "", EMPTY_SOURCES, []


class ChatService:
    """What the page's events call: ask the bot for one session, stream the answer, log feedback."""

    def __init__(self, bot: Bot, stream_delay: float = 0.03):
        self.bot = bot
        self.stream_delay = stream_delay
        self.feedback_path = Path(bot.settings.data_dir) / FEEDBACK_FILE
        self._feedback_lock = threading.Lock()

    def ask(self, question: str, turns: list[tuple[str, Answer]]) -> Answer:
        """One answer in the context of this session's turns; raises ValueError on a bad question."""
        question = (question or "").strip()
        message = too_long_message(question, self.bot.settings.max_question_chars)
        if message:
            raise ValueError(message)
        return self.bot.ask(question, history=history_of(turns))

    def respond(self, question: str, turns: list[tuple[str, Answer]]):
        """UI event: yields (chat messages, textbox, sources panel, turns) while the answer streams in."""
        question = (question or "").strip()
        if not question:
            yield chat_messages(turns), "", gr.skip(), turns
            return
        try:
            answer = self.ask(question, turns)
        except ValueError as error:  # too long or unusable: say so, keep the text for editing
            gr.Warning(str(error))
            yield chat_messages(turns), question, gr.skip(), turns
            return
        shown = chat_messages(turns) + [
            {"role": "user", "content": render_user(question)},
            {"role": "assistant", "content": ""},
        ]
        for prefix in streamed_prefixes(answer.text):
            shown[-1]["content"] = render_answer(answer, prefix, follow_up=bool(turns))
            yield shown, "", gr.skip(), turns
            time.sleep(self.stream_delay)
        turns = turns + [(question, answer)]
        yield chat_messages(turns), "", render_sources(answer, turn=len(turns)), turns

    def chat_api(self, question: str, turns: list[tuple[str, Answer]]):
        """The `/chat` endpoint: (answer text with [n] markers, list of sources); keeps the conversation."""
        try:
            answer = self.ask(question, turns)
        except ValueError as error:
            raise gr.Error(str(error)) from None
        return answer.text, citation_records(answer), turns + [(question.strip(), answer)]

    def record_feedback(self, turns: list[tuple[str, Answer]], data: gr.LikeData) -> None:
        """Thumbs up/down on an answer: append question, answer, citations and rating to feedback.jsonl."""
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        rating = {True: "up", False: "down", "Like": "up", "Dislike": "down"}.get(data.liked)
        if rating is None or not isinstance(index, int) or index % 2 == 0 or index // 2 >= len(turns):
            return  # an un-vote, or not an answer of this session
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
                out.write(json.dumps(record, ensure_ascii=False) + "\n")


def build_app(bot: Bot, examples: list[str] | None = None, stream_delay: float = 0.03) -> gr.Blocks:
    """The page: chat and example questions on the left, sources and "what I know" on the right."""
    service = ChatService(bot, stream_delay=stream_delay)
    examples = example_questions(bot) if examples is None else examples
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        turns = gr.State([])  # per session: [(question, Answer)], deep-copied for each visitor
        gr.Markdown(f"## {TITLE}\n{INTRO}", elem_id="dsqa-intro")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat",
                    elem_id="dsqa-chat",
                    height=520,
                    feedback_options=("Like", "Dislike"),
                    latex_delimiters=[],
                    allow_tags=False,
                    buttons=[],  # a copy button would copy the escaped HTML, not the text
                    placeholder="Ask a question, or pick an example below.",
                )
                with gr.Row(equal_height=True):
                    question = gr.Textbox(
                        show_label=False,
                        placeholder="Ask about the articles…",
                        elem_id="dsqa-question",
                        scale=6,
                        lines=1,
                        max_lines=5,
                        autofocus=True,
                    )
                    ask = gr.Button("Ask", variant="primary", scale=1, min_width=100, elem_id="dsqa-ask")
                    new_chat = gr.Button(
                        "New chat", variant="secondary", scale=1, min_width=120, elem_id="dsqa-new-chat"
                    )
                gr.Markdown("Try one of these:", elem_classes=["dsqa-examples-label"])
                with gr.Row(elem_id="dsqa-examples"):
                    example_buttons = [gr.Button(q, size="sm", variant="secondary") for q in examples]
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(EMPTY_SOURCES, elem_id="dsqa-sources")
                with gr.Accordion("What I know", open=False, elem_id="dsqa-knowledge"):
                    gr.HTML(render_knowledge(bot.summaries()))

        outputs = [chatbot, question, sources, turns]
        for trigger in (question.submit, ask.click):
            trigger(service.respond, [question, turns], outputs, api_visibility="private")
        for button in example_buttons:
            button.click(lambda q=button.value: q, None, question, queue=False, api_visibility="private").then(
                service.respond, [question, turns], outputs, api_visibility="private"
            )

        new_chat.click(start_over, None, outputs, queue=False, api_visibility="private")
        chatbot.clear(start_over, None, outputs, queue=False, api_visibility="private")  # its own bin icon
        chatbot.like(service.record_feedback, [turns], None, queue=False, api_visibility="private")

        # The program endpoint: hidden components, so gradio_client sees one input and two outputs.
        api_question = gr.Textbox(visible=False, label="question")
        api_answer = gr.Textbox(visible=False, label="answer")
        api_sources = gr.JSON(visible=False, label="sources")
        gr.Button(visible=False).click(
            service.chat_api,
            [api_question, turns],
            [api_answer, api_sources, turns],
            api_name="chat",
            api_description="Answer a question from the articles; a Client's calls share one conversation.",
        )
    demo.queue(default_concurrency_limit=CONCURRENCY_LIMIT, max_size=QUEUE_SIZE)
    return demo


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refuse(message: str) -> NoReturn:
    """Stop with a clear message on stderr and exit code 2 (bad input), never a traceback."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """'user:pass' → ('user', 'pass'); None stays None; anything else is a clear error."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        refuse(f"credentials must look like user:pass (from --auth or ${AUTH_ENV})")
    return user, password


def check_binding(host: str, auth: tuple[str, str] | None) -> None:
    """Refuse (exit 2 with a clear message) to bind beyond loopback without credentials."""
    if not is_loopback(host) and auth is None:
        refuse(
            f"refusing to serve on {host}, which is reachable beyond this machine, without credentials.\n"
            f"Pass --auth user:pass or set {AUTH_ENV}=user:pass, or keep the default --host {DEFAULT_HOST}."
        )


def launch(demo: gr.Blocks, host: str, port: int, auth: tuple[str, str] | None = None) -> str:
    """Start serving `demo` on host:port in the background and return its URL (see `check_binding`)."""
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
        theme=theme(),
        css=CSS,
    )
    return url


def main(argv: list[str] | None = None) -> None:
    """`python app.py [--host H] [--port P] [--auth user:pass]`: index if needed, then serve the chat."""
    parser = argparse.ArgumentParser(description="Serve the deepspace-qa web chat.")
    parser.add_argument("--host", default=DEFAULT_HOST, help="Address to bind (default: %(default)s, loopback).")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="Port (default: %(default)s).")
    parser.add_argument("--auth", help=f"user:pass, required beyond loopback (or set {AUTH_ENV}).")
    args = parser.parse_args(argv)
    auth = parse_auth(args.auth or os.environ.get(AUTH_ENV))
    check_binding(args.host, auth)  # before the slow start-up, so a refusal is immediate
    bot = Bot(settings=Settings.from_env())
    bot.index()
    if bot.settings.watch:
        bot.watch()  # added, changed and deleted files are answered from without a restart
    demo = build_app(bot)
    try:
        url = launch(demo, args.host, args.port, auth)
    except OSError as error:  # most often: the port is taken
        refuse(f"cannot serve on {args.host}:{args.port} ({error}). Try another --port.")
    where = "" if is_loopback(args.host) else f" (bound to {args.host}, login required)"
    print(f"deepspace-qa web chat: {url}{where}  (Ctrl+C to stop)", flush=True)
    demo.block_thread()


if __name__ == "__main__":
    main()
