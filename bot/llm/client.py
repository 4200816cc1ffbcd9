"""The LLM connection: LangChain's `ChatOpenAI` pointed at any OpenAI-compatible server, with one
deadline for the whole LLM part of an answer and every failure turned into an `LLMFailure` note.

Calls run in a worker thread that the caller waits on with the time left, so a slow, stalled or
trickling server never holds an answer past its deadline. No retries, no token counting (which
would make tiktoken download its encodings), and the API key is read from the environment
variable named in Settings only when the client is built, never logged.
"""

from __future__ import annotations

import errno
import os
import queue
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bot.llm import prompts
from knowledge.settings import Settings

ANSWER_MAX_TOKENS = 400  # a short answer of one to three sentences, with room for a wordy model
CONDENSE_MAX_TOKENS = 120  # one standalone question
CONNECT_TIMEOUT_S = 10.0  # a server that does not accept the connection in this long is down
NO_KEY = "not-needed"
CUT = "it ended before the reply was complete"  # local servers ignore the key, but the OpenAI client insists on one


@dataclass(frozen=True)
class Deadline:
    """A point in time (monotonic clock) by which the LLM part of one answer must be done."""

    at: float
    seconds: float  # the budget it was made with, for messages

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """`Deadline.after(60).remaining()` ≈ 60."""
        return cls(time.monotonic() + seconds, seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()


class LLMFailure(Exception):
    """The LLM gave no usable text; `note` says why, in words for the user (no secrets)."""

    def __init__(self, note: str):
        super().__init__(note)
        self.note = note


class LLMClient:
    """One `ChatOpenAI` per configured server, shared by every question (its HTTP client is thread-safe)."""

    def __init__(self, settings: Settings):
        if not settings.llm_base_url:
            raise ValueError("llm_base_url is empty: set DSQA_LLM_BASE_URL to use an LLM")
        if settings.llm_timeout_s <= 0:
            raise ValueError(f"llm_timeout_s must be positive, not {settings.llm_timeout_s}")
        self.base_url = settings.llm_base_url
        self.model = settings.llm_model
        self.timeout_s = float(settings.llm_timeout_s)
        self.structured = settings.llm_structured
        self._key_env = settings.llm_api_key_env
        self._chat = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never shows the key
        return f"LLMClient(base_url={self.base_url!r}, model={self.model!r}, timeout_s={self.timeout_s:g})"

    @property
    def chat(self):
        """The `ChatOpenAI` model, built on first use (importing the openai client takes a moment);
        raises `LLMFailure` with the set-up note when the client cannot be built."""
        with self._lock:
            if self._chat is None:
                self._chat = self._build()
            return self._chat

    def _build(self):
        try:
            from langchain_openai import ChatOpenAI

            key = os.environ.get(self._key_env, "") if self._key_env else ""
            return ChatOpenAI(
                base_url=self.base_url,
                model=self.model,
                api_key=key or NO_KEY,
                temperature=0,
                max_retries=0,  # one deadline for the whole answer: a retry would only eat into it
                timeout=request_timeout(self.timeout_s),
                stream_usage=False,  # many OpenAI-compatible servers reject stream_options
            )
        except Exception as error:  # noqa: BLE001 - a client that cannot be built is the project's fault, not the server's
            raise LLMFailure(prompts.NOTE_SETUP.format(detail=_short(error))) from error

    def deadline(self) -> Deadline:
        """A fresh deadline of the configured timeout."""
        return Deadline.after(self.timeout_s)

    def stream_text(
        self,
        messages: Sequence[tuple[str, str]],
        deadline: Deadline,
        max_tokens: int = ANSWER_MAX_TOKENS,
        response_format: dict | None = None,
    ) -> Iterator[str]:
        """Yield the reply's text as it streams in (server-sent events); raises `LLMFailure`."""
        body = _limit(max_tokens) | ({"response_format": response_format} if response_format else {})
        yield from self._run(lambda: self.chat.stream(list(messages), extra_body=body), deadline)

    def complete(
        self, messages: Sequence[tuple[str, str]], deadline: Deadline, max_tokens: int = CONDENSE_MAX_TOKENS
    ) -> str:
        """The whole reply of one plain (non-streamed) request; raises `LLMFailure`."""
        return "".join(self._run(lambda: [self.chat.invoke(list(messages), extra_body=_limit(max_tokens))], deadline))

    def _run(self, produce, deadline: Deadline) -> Iterator[str]:
        """Run `produce()` (an iterable of message chunks) in a worker; yield text until the deadline."""
        inbox: queue.Queue = queue.Queue()
        stop = threading.Event()

        def work() -> None:
            try:
                finished = False
                for chunk in produce():
                    if stop.is_set():
                        return
                    finished = finished or bool(getattr(chunk, "response_metadata", {}).get("finish_reason"))
                    inbox.put(("text", _text_of(chunk)))
                # Every OpenAI-compatible server ends a reply with a finish reason; without one it was cut.
                inbox.put(("end", None) if finished else ("error", LLMFailure(prompts.NOTE_BROKEN.format(detail=CUT))))
            except BaseException as error:  # noqa: BLE001 - handed to the caller, who decides
                inbox.put(("error", error))

        threading.Thread(target=work, name="dsqa-llm", daemon=True).start()
        try:
            while True:
                left = deadline.remaining()
                if left <= 0:
                    raise LLMFailure(prompts.NOTE_TIMEOUT.format(seconds=deadline.seconds))
                try:
                    kind, value = inbox.get(timeout=left)
                except queue.Empty:
                    raise LLMFailure(prompts.NOTE_TIMEOUT.format(seconds=deadline.seconds)) from None
                if kind == "end":
                    return
                if kind == "error":
                    raise describe_failure(value, deadline) from value
                if value:
                    yield value
        finally:
            stop.set()  # the worker stops at its next chunk; its HTTP timeout bounds a silent server


def request_timeout(seconds: float) -> tuple[float, float, float, float]:
    """(connect, read, write, pool) seconds, the plain tuple both httpx and openai's httpx2 accept.

    An `httpx.Timeout` object no longer works: openai ≥ 3.6 sends through httpx2 and rejects it, and
    LangChain caches its HTTP client by the timeout, which must be hashable.

    >>> request_timeout(60)
    (10.0, 60.0, 60.0, 60.0)
    """
    seconds = float(seconds)
    return (min(CONNECT_TIMEOUT_S, seconds), seconds, seconds, seconds)


def _limit(max_tokens: int) -> dict:
    # In the request body as `max_tokens`, which every OpenAI-compatible server reads: ChatOpenAI's own
    # field would send only `max_completion_tokens`, which Ollama and LM Studio ignore. (A
    # `response_format` goes the same way, so LangChain sends it as-is rather than parsing it.)
    return {"max_tokens": max_tokens}


def _text_of(chunk) -> str:
    content = getattr(chunk, "content", "")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))  # content blocks


def describe_failure(error: BaseException, deadline: Deadline) -> LLMFailure:
    """The user-facing note for an exception from the client, judged by the whole chain of causes
    (LangChain wraps the OpenAI client's error, which wraps its HTTP library's, which wraps the
    socket's). Only openai's public exceptions and the standard library's are looked at, so a change
    of HTTP library under openai (httpx → httpx2) does not change the notes."""
    import openai

    chain, seen = [], error
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(isinstance(e, LLMFailure) for e in chain):
        return next(e for e in chain if isinstance(e, LLMFailure))
    if any(isinstance(e, openai.APITimeoutError | TimeoutError) for e in chain):
        return LLMFailure(prompts.NOTE_TIMEOUT.format(seconds=deadline.seconds))
    status = next((e for e in chain if isinstance(e, openai.APIStatusError)), None)
    if status is not None:
        return LLMFailure(prompts.NOTE_HTTP.format(status=status.status_code))
    # No connection was made: refused, no such host, no route. A connection that broke mid-reply
    # (reset, closed early) is a cut reply, below.
    unreachable = next((e for e in chain if _never_connected(e)), None)
    if unreachable is not None:
        return LLMFailure(prompts.NOTE_UNREACHABLE.format(detail=_short(unreachable)))
    return LLMFailure(prompts.NOTE_BROKEN.format(detail=_short(chain[-1])))


def _never_connected(error: BaseException) -> bool:
    if isinstance(error, ConnectionRefusedError | socket.gaierror | socket.herror):
        return True
    return isinstance(error, OSError) and error.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL)


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:120]
