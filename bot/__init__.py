"""The bot stage: retrieve → answer with citations, conversation aware. The public Python API.

    from bot import answer, Bot
    a = answer("When will IDSEA launch?")          # default Bot over knowledge/articles
    bot = Bot(knowledge_dir="my/articles", index_dir="my/index")
    a = bot.ask("Where will it be based?", history=[{"role": "user", "content": "..."}])

Importing this package is cheap: models, LangChain (and Chroma's client, with a server) load on the first question.
"""

from __future__ import annotations

import threading

from bot.service import Bot
from bot.types import Answer, ArticleSummary, Citation, RetrievedChunk

__all__ = ["Answer", "ArticleSummary", "Bot", "Citation", "RetrievedChunk", "answer", "default_bot"]

_default: Bot | None = None
_default_lock = threading.Lock()


def default_bot() -> Bot:
    """The process-wide Bot over the configured knowledge folder (built on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Bot()
        return _default


def answer(question: str, history: list[dict] | None = None) -> Answer:
    """Answer one question with the default Bot. `answer("Where is IDSEA based?").text`"""
    return default_bot().ask(question, history=history)
