"""A real Chroma server for benchmarks and tests: `chroma run` on a free port of 127.0.0.1 only.

Never bind it beyond loopback: chroma's server has an unfixed pre-authentication remote code
execution hole (CVE-2026-45829). The README's "Serving a team" says how to put it behind an
authenticating proxy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_chroma_server(path: Path) -> tuple[subprocess.Popen, str]:
    """`chroma run` on a free port of 127.0.0.1 (never beyond loopback), once it answers its heartbeat
    (the benchmark's server, and the one the server tests start)."""
    import chromadb

    port = free_port()
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    process = subprocess.Popen(
        [chroma, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
            return process, f"http://127.0.0.1:{port}"
        except Exception:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("chroma run did not start") from None
            time.sleep(0.3)
