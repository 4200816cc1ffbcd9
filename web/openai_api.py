"""OpenAI-compatible chat over the bot: `POST /v1/chat/completions` and `GET /v1/models`, on the page's server.

The last user message is the question and the turns before it its history; the reply's content is the
answer text with its `[n]` markers. Citations (one object per marker), or a decline and its reason, travel
in `reference`, where RAGFlow puts its sources: on `choices[0].message` and on the final stream chunk's
`choices[0].delta`. Answers come from `Bot.stream` (so an LLM answerer streams its verified sentences),
run in worker threads, at most `CONCURRENCY_LIMIT` at once. Credentials and the per-client rate limit
are checked before any of this, by `web.server.LoginGate`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from bot import Answer, Bot
from web.page import CONCURRENCY_LIMIT
from web.render import citation_records

MODEL_ID = "deepspace-qa"
ROLES = frozenset({"system", "developer", "user", "assistant"})  # system/developer prompts are read and ignored


class RequestError(ValueError):
    """A request the API refuses: its status and OpenAI-style error fields."""

    def __init__(self, message: str, param: str | None = None, status: int = 400, code: str | None = None):
        super().__init__(message)
        self.param, self.status, self.code = param, status, code


def error_body(message: str, param: str | None = None, code: str | None = None, kind: str = "invalid_request_error"):
    """OpenAI's error shape: `{"error": {"message", "type", "param", "code"}}`."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_response(error: RequestError) -> JSONResponse:
    """The JSON response for a refused request."""
    return JSONResponse(error_body(str(error), error.param, error.code), status_code=error.status)


class Message(BaseModel):
    """One chat message as clients send it; content is text or a list of parts (`{"type": "text", "text"}`)."""

    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict] | None = None


class ChatRequest(BaseModel):
    """The fields of a chat completion request this server reads; others (temperature, …) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[Message]
    stream: bool = False


def message_text(message: Message) -> str:
    """The text of a message: its string, or its text parts joined (images and other parts are not read)."""
    if isinstance(message.content, str):
        return message.content
    parts = message.content or []
    return "\n".join(p["text"] for p in parts if p.get("type") == "text" and isinstance(p.get("text"), str))


def parse_request(body: bytes, max_question_chars: int) -> tuple[ChatRequest, str, list[dict]]:
    """(request, question, history) from a request body, or a `RequestError` saying what is wrong.

    >>> parse_request(b'{"model": "deepspace-qa", "messages": [{"role": "user", "content": "Hi?"}]}', 2000)[1]
    'Hi?'
    """
    try:
        request = ChatRequest.model_validate_json(body)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or None
        raise RequestError(f"{where or 'body'}: {first['msg']}", param=where) from None
    if request.model != MODEL_ID:
        raise RequestError(
            f"unknown model {request.model!r}; this server has {MODEL_ID!r}", "model", 400, "model_not_found"
        )
    if not request.messages:
        raise RequestError("messages is empty: send at least one user message", "messages")
    for number, message in enumerate(request.messages):
        if message.role not in ROLES:
            raise RequestError(
                f"messages.{number}.role {message.role!r} is not one of {', '.join(sorted(ROLES))}",
                f"messages.{number}.role",
            )
    last = request.messages[-1]
    if last.role != "user":
        raise RequestError(f"the last message must be the user's question, not {last.role!r}", "messages")
    question = message_text(last).strip()
    if not question:
        raise RequestError("the question (the last user message) is empty", "messages")
    if len(question) > max_question_chars:
        raise RequestError(
            f"the question is {len(question):,} characters long; the limit is {max_question_chars:,}", "messages"
        )
    history = [
        {"role": m.role, "content": message_text(m)} for m in request.messages[:-1] if m.role in ("user", "assistant")
    ]
    return request, question, history


def reference(answer: Answer) -> dict:
    """The extra field: citations (one per `[n]`), whether the bot declined and why, and how it read the question."""
    return {
        "citations": citation_records(answer),
        "declined": answer.abstained,
        "decline_reason": answer.abstain_reason.value if answer.abstain_reason else None,
        "understood_as": answer.query,
        "mode": str(answer.mode),
    }


def completion(answer: Answer, completion_id: str, created: int) -> dict:
    """A whole `chat.completion` object for a final answer."""
    message = {"role": "assistant", "content": answer.text, "reference": reference(answer)}
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": MODEL_ID,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }


def chunk(completion_id: str, created: int, delta: dict, finish_reason: str | None = None) -> str:
    """One `chat.completion.chunk` as a Server-Sent Event."""
    body = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL_ID,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


class OpenAIRoutes:
    """The routes and what they share: the bot and a cap on the answers computed at once."""

    def __init__(self, bot: Bot):
        self.bot = bot
        self.threads = anyio.CapacityLimiter(CONCURRENCY_LIMIT)  # as many answers at once as the page computes
        self.router = APIRouter(prefix="/v1")
        self.router.add_api_route("/models", self.models, methods=["GET"])
        self.router.add_api_route("/chat/completions", self.chat_completions, methods=["POST"])

    async def models(self):
        """`GET /v1/models`: the one model, `deepspace-qa`."""
        return {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "deepspace-qa"}],
        }

    async def chat_completions(self, request: Request):
        """`POST /v1/chat/completions`: the answer, whole or streamed, with its `reference`."""
        try:
            body, question, history = parse_request(await request.body(), self.bot.settings.max_question_chars)
            answers = await anyio.to_thread.run_sync(self.bot.stream, question, history, limiter=self.threads)
        except RequestError as error:
            return error_response(error)
        except (ValueError, TypeError) as error:  # what the bot itself refuses (bot/inputs.py)
            return error_response(RequestError(str(error), "messages"))
        except RuntimeError as error:  # nothing to answer from (an empty knowledge folder): say so, OpenAI-style
            return JSONResponse(error_body(str(error), kind="server_error"), status_code=503)
        completion_id, created = f"chatcmpl-{secrets.token_hex(12)}", int(time.time())
        if body.stream:
            return StreamingResponse(
                self._events(answers, completion_id, created),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        final = None
        while (answer := await self._next(answers)) is not None:
            final = answer
        return completion(final, completion_id, created)

    async def _next(self, answers: Iterator[Answer]) -> Answer | None:
        return await anyio.to_thread.run_sync(next, answers, None, limiter=self.threads)

    async def _events(self, answers: Iterator[Answer], completion_id: str, created: int) -> AsyncIterator[str]:
        """The role, then each piece of text as it is verified, then `reference` with finish_reason "stop"."""
        yield chunk(completion_id, created, {"role": "assistant", "content": ""})
        sent, final = "", None
        try:
            while (answer := await self._next(answers)) is not None:
                final = answer
                if answer.text.startswith(sent) and len(answer.text) > len(sent):
                    yield chunk(completion_id, created, {"content": answer.text[len(sent) :]})
                    sent = answer.text
        except Exception as error:  # noqa: BLE001 - mid-stream, the status is sent: say it the way OpenAI does
            yield f"data: {json.dumps(error_body(str(error), kind='server_error'))}\n\n"
            return
        if final is not None and not final.text.startswith(sent):
            # An LLM answer fell back to the quoted one after verified sentences were sent: a stream cannot take
            # them back, so the final answer follows them whole, and `reference` is the final answer's.
            yield chunk(completion_id, created, {"content": "\n\n" + final.text})
        yield chunk(completion_id, created, {"reference": reference(final)}, finish_reason="stop")
        yield "data: [DONE]\n\n"
