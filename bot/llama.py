"""The local reading model in this process: llama.cpp through the prebuilt `xllamacpp` wheel, one
instance per process, fed by one worker thread from a bounded queue.

A question waits for the model at most its `wait_s` (the chats ahead of it in the queue), then reads
for at most its `read_s`: a full queue answers None at once, a request not begun within `wait_s` is
withdrawn (the worker drops it), and a read still running at `read_s` stops at its next token (llama.cpp
is told the limit too). The model's start-up (loading, then the instructions' prefill) is no other chat's
read: a question asked meanwhile waits for it, up to its `read_s`, before its wait begins, so the first
question of a new process is read too. xllamacpp also opens llama.cpp's HTTP server; it is bound to
127.0.0.1 on a port the system picks, and nothing here uses it. Fetching the model is `bot/gguf.py`'s job.

    model = LocalModel.shared(path, threads=2); model.chat({"messages": [...]}, wait_s=3.0, read_s=10.0)
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

QUEUE_SIZE = 4  # questions waiting beyond this would wait longer than any budget: they are refused at once
CONTEXT_TOKENS = 2048  # a question and two windows need about 300
UNWAITED_S = 600  # the budget of a request nobody waits for (a prefill)


@dataclass
class _Request:
    body: dict
    begin_by: float  # time.monotonic() past which nobody waits for the read to begin
    read_s: float  # how long the read may take once begun
    deadline: float = 0.0  # time.monotonic() past which nobody waits for the reply (set when it begins)
    began: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    withdrawn: bool = False  # the caller stopped waiting before the read began
    lock: threading.Lock = field(default_factory=threading.Lock)
    reply: dict | None = None

    def begin(self) -> bool:
        """Called by the worker: True (and the read's deadline set) unless the caller has stopped waiting."""
        with self.lock:
            now = time.monotonic()
            if self.withdrawn or now > self.begin_by:
                return False
            self.deadline = now + self.read_s
            self.began.set()
            return True

    @classmethod
    def unwaited(cls, body: dict) -> _Request:
        """A request nobody waits for (a prefill): it may begin and run whenever the model is free."""
        return cls(body, time.monotonic() + UNWAITED_S, UNWAITED_S)

    def withdraw(self) -> bool:
        """Called by the caller whose wait ended: True when the read had not begun (it never will)."""
        with self.lock:
            self.withdrawn = not self.began.is_set()
            return self.withdrawn


class LocalModel:
    """One llama.cpp model, loaded by its worker thread; `chat()` is safe from any thread."""

    _shared: dict[tuple[str, int], LocalModel] = {}
    _shared_lock = threading.Lock()

    def __init__(self, path: Path, threads: int = 2, queue_size: int = QUEUE_SIZE, load=None):
        """`load(path, threads)` builds the engine (anything with `handle_chat_completions(body) -> dict`);
        llama.cpp by default."""
        self.path, self.threads = Path(path), threads
        self._load = load or load_llama
        self._requests: queue.Queue[_Request] = queue.Queue(maxsize=queue_size)
        self._ready = threading.Event()  # loaded and warmed up (the prefills asked for by then), or failed
        self._warmups: list[dict] = []  # prefills asked for before the model was ready
        self._warmups_lock = threading.Lock()
        self.failure: str | None = None  # why the model cannot answer (it failed to load), once known
        self._failed_once = False
        self._closing = threading.Event()
        self._worker = threading.Thread(target=self._serve, name="dsqa-reading-model", daemon=True)
        self._worker.start()
        # llama.cpp must not be inside a request when the interpreter ends (its thread would be torn down
        # in C++ code, which aborts the process): stop at the next token and let the worker return first.
        atexit.register(self.close)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the worker: a request in progress stops at its next token; the model is freed."""
        self._closing.set()
        try:
            self._requests.put_nowait(_Request({}, 0.0, 0.0))  # wakes a worker waiting for work
        except queue.Full:
            pass
        if self._worker is not threading.current_thread():
            self._worker.join(timeout)

    @classmethod
    def shared(cls, path: Path, threads: int = 2) -> LocalModel:
        """The process's one instance for this model file (loaded on first call, in the background)."""
        key = (str(Path(path).resolve()), threads)
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = cls(path, threads)
            return cls._shared[key]

    def wait_loaded(self, timeout: float | None = None) -> bool:
        """Block until the model is loaded and warmed up (or failed to load); True when it can answer."""
        self._ready.wait(timeout)
        return self._ready.is_set() and self.failure is None

    def prefill(self, body: dict) -> None:
        """Run `body` once when the model is free, with nobody waiting: the prompt's shared beginning (a
        system prompt) stays in llama.cpp's cache, so a question's prompt is read from where it differs.
        Asked before the model is ready, it is part of the start-up."""
        with self._warmups_lock:
            if not self._ready.is_set():
                self._warmups.append(body)
                return
        try:
            self._requests.put_nowait(_Request.unwaited(body))
        except queue.Full:
            pass

    def chat(self, body: dict, wait_s: float, read_s: float) -> dict | None:
        """An OpenAI-style chat completion for `body`, or None: the queue is full, the read did not begin
        within `wait_s` seconds (other chats' reads ahead of it), it did not end within `read_s` seconds
        of beginning, or the model failed (or did not start within `read_s`)."""
        if not self._ready.wait(read_s) or self.failure is not None:
            return None
        request = _Request(body, time.monotonic() + wait_s, read_s)
        try:
            self._requests.put_nowait(request)
        except queue.Full:
            return None
        if not request.began.wait(wait_s) and request.withdraw():
            return None
        request.done.wait(max(request.deadline - time.monotonic(), 0.0) + 0.05)
        return request.reply if request.done.is_set() else None

    # --- the worker ---------------------------------------------------------------------------------
    def _serve(self) -> None:
        try:
            server = self._load(self.path, self.threads)
        except Exception as exc:  # a broken wheel or file: every question keeps its extractive answer
            self.failure = f"{type(exc).__name__}: {exc}"
            log.warning("Local reading model %s could not be loaded (%s): extractive answers only", self.path.name, exc)
            self._ready.set()
            return
        self._warm_up(server)
        while not self._closing.is_set():
            request = self._requests.get()
            if not request.begin():  # nobody waits for it any more
                continue
            try:
                reply = _streamed(server, request, self._closing)
            except Exception as exc:
                if not self._failed_once:  # one line, not one per question
                    log.warning("Local reading model failed (%s): those questions keep their extractive answer", exc)
                self._failed_once, reply = True, None
            request.reply = reply
            request.done.set()

    def _warm_up(self, server) -> None:
        """Run the prefills asked for so far, then mark the model ready (later ones go through the queue)."""
        while True:
            with self._warmups_lock:  # held while deciding, so a prefill asked for now is not lost
                if not self._warmups or self._closing.is_set():
                    self._ready.set()
                    return
                body = self._warmups.pop(0)
            request = _Request.unwaited(body)
            request.begin()
            try:
                _streamed(server, request, self._closing)
            except Exception:  # not fatal: a question meeting the same failure logs it
                pass


def _streamed(server, request: _Request, closing: threading.Event) -> dict | None:
    """Run one request token by token and stop as soon as nobody waits for it (so a late question does
    not hold the model from the next one); the reply as a plain chat completion, or None."""
    left = request.deadline - time.monotonic()
    body = {**request.body, "stream": True, "t_max_predict_ms": int(left * 1000)}
    parts: list[str] = []
    tokens: list[dict] = []  # with `logprobs` asked for: each token and its likeliest alternatives
    broken: list[object] = []

    def take(chunk) -> bool:
        if not isinstance(chunk, dict) or "choices" not in chunk:
            broken.append(chunk)
            return True
        for choice in chunk["choices"]:
            parts.append((choice.get("delta") or {}).get("content") or "")
            tokens.extend((choice.get("logprobs") or {}).get("content") or ())
        return closing.is_set() or time.monotonic() >= request.deadline  # True stops llama.cpp

    server.handle_chat_completions(body, take)
    if broken or time.monotonic() >= request.deadline:
        return None
    choice = {"message": {"role": "assistant", "content": "".join(parts)}}
    if tokens:
        choice["logprobs"] = {"content": tokens}
    return {"choices": [choice]}


def load_llama(path: Path, threads: int):
    """llama.cpp's server object for the GGUF at `path` (its HTTP side on 127.0.0.1, a free port)."""
    from knowledge.settings import passive_threads

    passive_threads()
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.hostnames = ["127.0.0.1"]  # its HTTP side stays on loopback, on a port the system picks
    params.port = 0
    params.n_ctx = CONTEXT_TOKENS
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.cpuparams.poll = 0  # ggml's own threads sleep between tokens too (OMP_WAIT_POLICY above)
    params.cpuparams_batch.poll = 0
    params.warmup = False
    params.verbosity = -1  # llama.cpp's per-request log lines are not this program's output
    return xllamacpp.Server(params)
