"""A local HTTP server on loopback that speaks the OpenAI chat-completions protocol (plain JSON and
server-sent events), replying as a test scripts it: the real `ChatOpenAI` client code runs against it.

A script is a function of the request body returning a `Reply`: the text, an HTTP status, a delay
before the headers, or a stream cut after some chunks (chunked encoding left unterminated).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    text: str = ""
    status: int = 200
    delay: float = 0.0  # seconds before the response starts
    cut_after: int | None = None  # streamed pieces sent before the connection drops (no finish, no [DONE])
    piece_delay: float = 0.0  # seconds between streamed pieces


Script = Callable[[dict], Reply]
_PASSAGE = re.compile(r"^\[(\d+)\] \(.*?\)\n(.*?)(?=\n\n\[\d+\] \(|\n\nQuestion: )", re.S | re.M)


def passages_of(request: dict) -> dict[int, str]:
    """Passage number → text, read back from the grounded prompt the client sent."""
    user = request["messages"][-1]["content"]
    return {int(n): text for n, text in _PASSAGE.findall(user)}


def question_of(request: dict) -> str:
    return request["messages"][-1]["content"].rpartition("Question: ")[2].strip()


def first_sentence(text: str) -> str:
    """The passage's first sentence (up to its first full stop followed by a space), stop dropped."""
    line = text.strip().splitlines()[0]
    match = re.match(r"(.+?[a-z0-9)’”])[.!?](?:\s|$)", line)
    return (match.group(1) if match else line).rstrip(".")


QUESTION = "When will IDSEA launch?"


def json_answer(*items: tuple[str, list[int]]) -> str:
    """A structured reply: `json_answer(("It opened in 1932.", [1]))`."""
    return json.dumps({"sentences": [{"text": text, "passages": numbers} for text, numbers in items]})


def copies_passage_one(request: dict) -> Reply:
    """A correct answer: passage [1]'s first sentence, cited [1] (JSON when JSON was asked for)."""
    sentence = first_sentence(passages_of(request)[1]) + "."
    if "response_format" in request:
        return Reply(json_answer((sentence, [1])))
    return Reply(sentence[:-1] + " [1].")


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:  # a client hanging up is expected here
        pass


class FakeOpenAI:
    """`with FakeOpenAI(script) as server:` … `server.base_url` is http://127.0.0.1:PORT/v1."""

    def __init__(self, script: Script):
        self.script = script
        self.requests: list[dict] = []
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                body["_path"], body["_authorization"] = self.path, self.headers.get("Authorization", "")
                server.requests.append(body)
                reply = server.script(body)
                time.sleep(reply.delay)
                if not self.path.endswith("/chat/completions"):
                    return self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                if reply.status != 200:
                    return self._json(reply.status, {"error": {"message": "scripted failure", "type": "server_error"}})
                if body.get("stream"):
                    return self._stream(body, reply)
                message = {"role": "assistant", "content": reply.text}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                self._json(200, {**_envelope(body, "chat.completion"), "choices": [choice]})

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict, reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                pieces = re.findall(r"\S+\s*|\s+", reply.text)
                events = [{"role": "assistant", "content": ""}] + [{"content": p} for p in pieces]
                for number, delta in enumerate(events):
                    if reply.cut_after is not None and number > reply.cut_after:
                        self.wfile.flush()
                        self.connection.shutdown(2)  # drop the connection mid-stream
                        self.close_connection = True
                        return
                    self._event({**_envelope(body, "chat.completion.chunk"), "choices": [_delta(delta, None)]})
                    time.sleep(reply.piece_delay)
                self._event({**_envelope(body, "chat.completion.chunk"), "choices": [_delta({}, "stop")]})
                self._chunk(b"data: [DONE]\n\n")
                self._chunk(b"")

            def _event(self, payload: dict) -> None:
                self._chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

        return Handler


def _envelope(body: dict, kind: str) -> dict:
    return {"id": "chatcmpl-test", "object": kind, "created": int(time.time()), "model": body.get("model", "")}


def _delta(delta: dict, finish: str | None) -> dict:
    return {"index": 0, "delta": delta, "finish_reason": finish}
