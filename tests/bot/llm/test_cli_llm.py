"""`dsqa ask --llm/--no-llm` as a user runs it (real subprocesses, a scripted server on loopback)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from fake_openai import QUESTION, copies_passage_one

from knowledge.settings import PROJECT_ROOT


def dsqa(*args, index, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DSQA_LLM")} | env
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "cli.py"), "ask", QUESTION, "--index", str(index), *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=PROJECT_ROOT,
        env=environ,
    )


@pytest.mark.slow
def test_ask_with_and_without_the_llm(serve, shipped_bot):
    index = shipped_bot.settings.index_dir
    server = serve(copies_passage_one)
    answered = dsqa(index=index, DSQA_LLM_BASE_URL=server.base_url)
    assert answered.returncode == 0, answered.stderr
    assert "(written by the LLM; every sentence checked against the passage it cites)" in answered.stdout
    plain = dsqa("--no-llm", index=index, DSQA_LLM_BASE_URL=server.base_url)
    assert "written by the LLM" not in plain.stdout and len(server.requests) == 1

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = dsqa(index=index, DSQA_LLM_BASE_URL=f"http://127.0.0.1:{port}/v1")
    assert down.returncode == 0 and "(LLM server unreachable (" in down.stdout and "July 7th 2025" in down.stdout

    missing = dsqa("--llm", index=index)
    assert missing.returncode == 2 and "--llm needs a server: set DSQA_LLM_BASE_URL" in missing.stderr
