"""Run a parser where it can be stopped: a worker process with a time limit per file and a memory cap.

HTML, PDF and DOCX parsers are C libraries that a hostile file can send into a long loop or a huge
allocation; a thread cannot be stopped, a process can. One worker serves a whole folder load; when a
file runs over its time, the worker is killed and the next file gets a fresh one. The worker gets
bytes, never a path, so it reads nothing on its own, and answers in JSON, not pickle, so even a
parser bug exploited inside it cannot run code in the caller. Run as `python -m knowledge.sandbox`.
"""

from __future__ import annotations

import json
import os
import select
import struct
import subprocess
import sys
import time

from knowledge.formats import Extracted
from knowledge.settings import PROJECT_ROOT

MEMORY_LIMIT_BYTES = 4 * 1024**3  # address space of the worker: far above what a 20 MB document needs
_HEADER = struct.Struct("!Q")


class ExtractionTimeout(Exception):
    """The parser ran over its time limit and was stopped."""


class ExtractionFailed(Exception):
    """The parser raised; the message is its reason (or the worker died)."""


def run_parser(kind: str, payload: bytes, max_bytes: int) -> Extracted:
    """What the worker does for one file: call the parser for `kind` (HTML comes as UTF-8 bytes)."""
    from knowledge.documents import parse_docx, parse_pdf
    from knowledge.formats import parse_html

    if kind == "html":
        return parse_html(payload.decode("utf-8"))
    if kind == "pdf":
        return parse_pdf(payload)
    if kind == "docx":
        return parse_docx(payload, max_bytes)
    raise ValueError(f"no parser for {kind!r}")


class Sandbox:
    """A worker process, started on first use: `with Sandbox() as box: box.run("pdf", data, max_bytes, 60)`."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker (it also stops by itself when its input closes)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                stream.close()
            self._process = None

    def run(self, kind: str, payload: bytes, max_bytes: int, time_limit_s: float) -> Extracted:
        """The parser's result, or `ExtractionTimeout` / `ExtractionFailed`."""
        process = self._worker()
        deadline = time.monotonic() + time_limit_s
        try:
            _write_frame(process.stdin, json.dumps({"kind": kind, "max_bytes": max_bytes}).encode())
            _write_frame(process.stdin, payload)
            reply = json.loads(self._read_frame(process.stdout.fileno(), deadline))
        except ExtractionTimeout:
            self.close()
            raise
        except (OSError, EOFError, ValueError) as exc:  # the worker died (memory cap, a crash)
            code = process.poll()
            self.close()
            raise ExtractionFailed(f"its parser stopped (exit code {code})") from exc
        if "error" in reply:
            raise ExtractionFailed(str(reply["error"]))
        return Extracted(
            title=str(reply["title"]),
            text=str(reply["text"]),
            metadata={str(k): str(v) for k, v in dict(reply["metadata"]).items()},
            page_starts=tuple(int(n) for n in reply["page_starts"]),
        )

    def _worker(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None:
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
            self._process = subprocess.Popen(
                [sys.executable, "-m", "knowledge.sandbox"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                cwd=PROJECT_ROOT,
            )
        return self._process

    @staticmethod
    def _read_frame(fd: int, deadline: float) -> bytes:
        header = _read_exact(fd, _HEADER.size, deadline)
        return _read_exact(fd, _HEADER.unpack(header)[0], deadline)


def _read_exact(fd: int, size: int, deadline: float) -> bytes:
    chunks, remaining = [], size
    while remaining:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise ExtractionTimeout()
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("worker closed its output")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _write_frame(stream, data: bytes) -> None:
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def _serve() -> None:
    """The worker's loop: a request and a payload frame in, one JSON reply frame out."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ImportError, ValueError, OSError):  # not on this platform, or a lower limit is set already
        pass
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a library's stray print must not corrupt a frame
    while True:
        request, payload = _read_blocking(requests), _read_blocking(requests)
        if request is None or payload is None:
            return
        ask = json.loads(request)
        try:
            found = run_parser(ask["kind"], payload, ask["max_bytes"])
            reply = {
                "title": found.title,
                "text": found.text,
                "metadata": {k: str(v) for k, v in found.metadata.items()},
                "page_starts": list(found.page_starts),
            }
        except MemoryError:
            reply = {"error": "it needs more memory than a document may use"}
        except RecursionError:
            reply = {"error": "it is nested too deep to parse"}
        except Exception as exc:
            reply = {"error": str(exc) or type(exc).__name__}
        _write_frame(replies, json.dumps(reply).encode())


def _read_blocking(stream) -> bytes | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    return stream.read(_HEADER.unpack(header)[0])


if __name__ == "__main__":
    _serve()
