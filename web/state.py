"""This browser's chats, as the web chat keeps them in the browser's localStorage (`gr.BrowserState`).

The store is plain JSON: `{"current": chat id, "chats": [{"id", "title", "updated", "turns": [{"question",
"answer"}]}]}`, newest chat first. It comes back from the browser on every event, so it is treated as
untrusted input: `normalize_store` keeps only well-formed chats and turns (answers are rebuilt by
pydantic from `bot.types.Answer`) and bounds how many and how large, dropping the oldest chats first.
Nothing here is kept on the server.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict
from datetime import UTC, datetime

from pydantic import TypeAdapter, ValidationError

from bot.types import Answer

STORAGE_KEY = "deepspace-qa-chats"
MAX_CHATS = 30
MAX_TURNS_PER_CHAT = 50
MAX_TURN_CHARS = 40_000  # one stored question and answer, as JSON
MAX_STORE_CHARS = 1_500_000  # localStorage holds about 5 MB per site; the store is encrypted on top
TITLE_CHARS = 60

_ANSWER = TypeAdapter(Answer)


def empty_store() -> dict:
    """No chats yet."""
    return {"current": "", "chats": []}


def stored_answer(answer: Answer) -> dict:
    """What the browser keeps of an answer: everything the page shows, not the retrieval details."""
    data = asdict(answer)
    data.pop("retrieved", None)
    data.pop("timings", None)
    return data


def answer_from_stored(data: object) -> Answer | None:
    """The `Answer` a stored dict describes, or None when it does not describe one."""
    if not isinstance(data, dict):
        return None
    try:
        return _ANSWER.validate_python({**data, "retrieved": [], "timings": {}})
    except (ValidationError, TypeError, ValueError):
        return None


def _clean_turn(turn: object) -> dict | None:
    if not isinstance(turn, dict) or not isinstance(turn.get("question"), str):
        return None
    answer = answer_from_stored(turn.get("answer"))
    if answer is None:
        return None
    cleaned = {"question": turn["question"], "answer": stored_answer(answer)}
    return cleaned if len(json.dumps(cleaned, ensure_ascii=False)) <= MAX_TURN_CHARS else None


def _clean_chat(chat: object) -> dict | None:
    if not isinstance(chat, dict) or not isinstance(chat.get("id"), str) or not chat["id"]:
        return None
    raw_turns = chat.get("turns") if isinstance(chat.get("turns"), list) else []
    turns = [t for t in (_clean_turn(t) for t in raw_turns[-MAX_TURNS_PER_CHAT:]) if t]
    if not turns:
        return None
    title = chat.get("title") if isinstance(chat.get("title"), str) else ""
    updated = chat.get("updated") if isinstance(chat.get("updated"), str) else ""
    return {
        "id": chat["id"][:40],
        "title": title[:TITLE_CHARS] or chat_title(turns[0]["question"]),
        "updated": updated[:40],
        "turns": turns,
    }


def normalize_store(value: object) -> dict:
    """A well-formed, bounded store from whatever the browser sent (junk becomes an empty store)."""
    if not isinstance(value, dict) or not isinstance(value.get("chats"), list):
        return empty_store()
    chats = [c for c in (_clean_chat(c) for c in value["chats"][:MAX_CHATS]) if c]
    ids = [c["id"] for c in chats]
    chats = [c for i, c in enumerate(chats) if c["id"] not in ids[:i]]  # first of each id wins
    current = value.get("current") if value.get("current") in {c["id"] for c in chats} else ""
    return _bounded({"current": current, "chats": chats})


def _bounded(store: dict) -> dict:
    """Under MAX_STORE_CHARS: the oldest chats go first, then the oldest turns of the one left."""
    while len(json.dumps(store, ensure_ascii=False)) > MAX_STORE_CHARS:
        if len(store["chats"]) > 1:
            dropped = store["chats"].pop()
            if store["current"] == dropped["id"]:
                store["current"] = ""
        elif store["chats"] and len(store["chats"][0]["turns"]) > 1:
            store["chats"][0] = {**store["chats"][0], "turns": store["chats"][0]["turns"][1:]}
        else:
            break
    return store


def chat_title(question: str) -> str:
    """A chat's name in the list: its first question, shortened."""
    title = " ".join(question.split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"


def current_chat(store: dict) -> dict | None:
    """The chat on screen, or None for a new, empty one."""
    return next((c for c in store["chats"] if c["id"] == store["current"]), None)


def chat_turns(chat: dict | None) -> list[tuple[str, Answer]]:
    """(question, Answer) per turn of a normalized chat."""
    if chat is None:
        return []
    return [(t["question"], answer_from_stored(t["answer"])) for t in chat["turns"]]


def history_of(turns: list[tuple[str, Answer]]) -> list[dict]:
    """The conversation so far as role/content messages, the form `Bot.ask` takes."""
    messages: list[dict] = []
    for question, answer in turns:
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]
    return messages


def with_turn(store: dict, question: str, answer: Answer) -> dict:
    """The store after `answer` to `question` in the current chat (a new chat if none is open)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    chat = current_chat(store)
    chats = [c for c in store["chats"] if c is not chat]
    if chat is None:
        chat = {"id": secrets.token_hex(6), "title": chat_title(question), "updated": now, "turns": []}
    turn = {"question": question, "answer": stored_answer(answer)}
    chat = {**chat, "updated": now, "turns": (chat["turns"] + [turn])[-MAX_TURNS_PER_CHAT:]}
    return _bounded({"current": chat["id"], "chats": ([chat] + chats)[:MAX_CHATS]})


def without_chat(store: dict, chat_id: str) -> dict:
    """The store with chat `chat_id` deleted (the screen shows a new chat if it was the open one)."""
    chats = [c for c in store["chats"] if c["id"] != chat_id]
    return {"current": store["current"] if store["current"] != chat_id else "", "chats": chats}


def opened(store: dict, chat_id: str) -> dict:
    """The store with chat `chat_id` on screen (unknown ids open a new chat)."""
    return {**store, "current": chat_id if any(c["id"] == chat_id for c in store["chats"]) else ""}


def chat_choices(store: dict) -> list[tuple[str, str]]:
    """(title, id) of every stored chat, newest first: the sidebar's list."""
    return [(c["title"], c["id"]) for c in store["chats"]]
