"""Nothing leaves the machine, measured below Python: a real `dsqa index` and `dsqa ask` run under
strace, and the test fails on any connect to a non-loopback address or any DNS query (port 53).
onnxruntime ≥ 1.29 resolves a telemetry host at start-up unless ORT_DISABLE_TELEMETRY=1 (set by
knowledge.settings.go_offline before any library loads)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
from index_fixtures import BEFORE, write_folder

from knowledge.settings import PROJECT_ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (make strace installs it)"),
]

_ADDRESS = re.compile(r'connect\(\d+, \{sa_family=AF_INET6?, sin6?_port=htons\((\d+)\),.*?"([^"]+)"')


def outside_connections(trace: str) -> list[str]:
    """connect() calls in an strace log that reach beyond loopback, or ask a resolver (port 53)."""
    found = []
    for line in trace.splitlines():
        match = _ADDRESS.search(line)
        if match:
            port, address = int(match.group(1)), match.group(2)
            if port == 53 or not (address.startswith("127.") or address in ("::1", "::ffff:127.0.0.1")):
                found.append(line.strip())
    return found


def _traced(tmp_path, name, *args) -> list[str]:
    log = tmp_path / f"{name}.strace"
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}  # the project must set it itself
    done = subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=connect",
            "-o",
            str(log),
            sys.executable,
            str(PROJECT_ROOT / "cli.py"),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return outside_connections(log.read_text(encoding="utf-8", errors="replace"))


def test_the_parser_sees_a_dns_query_and_a_remote_connect():
    trace = (
        '12 connect(8, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = 0\n'
        '12 connect(9, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("20.42.65.92")}, 16) = -1\n'
        '12 connect(9, {sa_family=AF_INET, sin_port=htons(8000), sin_addr=inet_addr("127.0.0.1")}, 16) = 0\n'
    )
    assert len(outside_connections(trace)) == 2


def test_indexing_and_answering_make_no_outside_connection(tmp_path):
    knowledge = tmp_path / "articles"
    write_folder(knowledge, BEFORE)
    index = ["--knowledge", str(knowledge), "--index", str(tmp_path / "index")]
    assert _traced(tmp_path, "index", "index", *index) == []
    assert _traced(tmp_path, "ask", "ask", "Where did the Alpha rover land?", *index) == []
