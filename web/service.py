"""What the web chat's events do: answer within this browser's chat, log feedback, add and delete documents.

`web/page.py` wires these methods to the page's components; HTML comes from `web/render.py` and the
browser-kept chats from `web/state.py`. Answers come through `Bot.stream` (partial answers, then the
final one). Feedback is bounded per session and overall, and written as ASCII JSON lines. Every
title, file name and reason shown in the page's Markdown goes through `escape_text` first.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import gradio as gr
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from bot import Answer, Bot
from bot.examples import suggest_questions
from knowledge.errors import Unavailable
from web.render import (
    citation_records,
    escape_text,
    render_answer,
    render_knowledge,
    render_sources,
    render_user,
    streamed_prefixes,
)
from web.state import (
    MAX_TURNS_PER_CHAT,
    chat_choices,
    chat_turns,
    current_chat,
    history_of,
    normalize_store,
    opened,
    with_turn,
    without_chat,
)

FEEDBACK_FILE = "feedback.jsonl"
FEEDBACK_PER_SESSION = parse("60/hour")
FEEDBACK_OVERALL = parse("600/hour")  # a client can open new sessions; the file's growth is bounded too
EXAMPLE_COUNT = 4


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


def discard_uploads(paths: list[Path]) -> None:
    """Delete Gradio's temporary copies of uploaded files once they are handled: the knowledge folder
    holds the document now, and a deleted document must not stay downloadable through `/file=`.
    Files outside Gradio's upload folder (a caller's own) are left alone."""
    from gradio.utils import get_upload_folder

    uploads = Path(get_upload_folder()).resolve()
    for path in paths:
        if uploads not in path.resolve().parents:
            continue
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()  # Gradio keeps each upload in a folder of its own
        except OSError:
            pass


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
        except (ValueError, TypeError, Unavailable) as error:  # too long, unusable, or no articles: say so
            gr.Warning(escape_text(str(error)))
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
            name = escape_text(path.name)
            yield "\n".join([*lines, f"Indexing **{name}** ({number} of {len(paths)})…"]), *keep, gr.skip()
            try:
                added = self.bot.add_documents([path])
            except ValueError as error:
                lines.append(f"- {escape_text(str(error))}")
                continue
            lines += [f"- {name}: added “{escape_text(s.title)}” ({plural(s.chunks, 'passage')})" for s in added] or [
                f"- {name}: could not be read as a document, so it was not added"
            ]
        discard_uploads(paths)
        yield "\n".join(lines) or "No file was given.", *self._after_documents_changed(), None

    def confirm_delete(self, article_id):
        """Ask before deleting: show the confirmation naming the document."""
        title = next((s.title for s in self.bot.summaries() if s.article_id == article_id), None)
        if title is None:
            return gr.update(visible=False), "Pick a document to delete first."
        return gr.update(visible=True), f"Delete “{escape_text(title)}”? Its file is removed from the knowledge folder."

    def delete_document(self, article_id):
        """Delete the picked document after confirmation: (status, table, picker, confirmation, examples…)."""
        try:
            self.bot.remove_document(article_id if isinstance(article_id, str) else "")
        except ValueError as error:
            return (
                escape_text(str(error)),
                gr.skip(),
                gr.skip(),
                gr.update(visible=False),
                *(gr.skip(),) * EXAMPLE_COUNT,
            )
        table, picker, *examples = self._after_documents_changed()
        return "Deleted.", table, picker, gr.update(visible=False), *examples

    # --- program endpoints ------------------------------------------------------------------------
    def chat_api(self, question, turns: list[tuple[str, Answer]]):
        """`/chat`: (answer text with [n] markers, list of sources); a Client's calls share a conversation."""
        try:
            *_, answer = self.answers(question, turns)
        except (ValueError, TypeError, Unavailable) as error:
            raise gr.Error(str(error), print_exception=False) from None
        kept = (turns + [(question.strip(), answer)])[-MAX_TURNS_PER_CHAT:]  # a Client's history is bounded too
        return answer.text, citation_records(answer), kept

    def upload_api(self, files) -> list[dict]:
        """`/upload`: file paths in, the added documents' summaries out."""
        paths = [Path(f) for f in (files or []) if f]
        try:
            added = self.bot.add_documents(paths)
        except ValueError as error:
            raise gr.Error(str(error), print_exception=False) from None
        finally:
            discard_uploads(paths)
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
