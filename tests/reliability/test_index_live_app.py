"""The real web app (`python app.py`) over a real folder: a file added while it runs is answered
within 10 s of being written, and a deleted file's content is no longer cited 10 s after."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
from index_fixtures import BEFORE, write_folder

from knowledge.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

LIMIT = 10.0
KAPPA = "Kappa balloon\n\nThe Kappa balloon flew over Antarctica in 2020. It carried a neutrino detector.\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _seconds_until(check, limit=LIMIT) -> float:
    began = time.monotonic()
    while not check():
        assert time.monotonic() - began < limit, f"not within {limit} s"
        time.sleep(0.25)
    return time.monotonic() - began


def test_the_running_app_sees_added_and_deleted_files(tmp_path):
    from gradio_client import Client

    knowledge = tmp_path / "articles"
    write_folder(knowledge, BEFORE)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DSQA_AUTH"}
    env |= {
        "DSQA_KNOWLEDGE_DIR": str(knowledge),
        "DSQA_INDEX_DIR": str(tmp_path / "index"),
        "DSQA_DATA_DIR": str(tmp_path / "data"),
        "DSQA_PROGRESS": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for line in server.stdout:
            if "web chat:" in line:
                break
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)

        def cites(title: str, question: str) -> bool:
            text, sources = client.predict(question, api_name="/chat")
            return title in str(sources)

        question = "Which instrument did the Kappa balloon carry?"
        assert not cites("Kappa balloon", question)
        (knowledge / "kappa.txt").write_text(KAPPA, encoding="utf-8")
        added = _seconds_until(lambda: cites("Kappa balloon", question))
        gamma = "When did the Gamma probe fly past Venus?"
        assert cites("Gamma probe", gamma)  # cited while the file is there …
        (knowledge / "gamma.md").unlink()
        deleted = _seconds_until(lambda: not cites("Gamma probe", gamma))  # … and no longer once it is gone
        print(f"real app: added file answered after {added:.1f} s, deleted file gone after {deleted:.1f} s")
    finally:
        server.terminate()
        server.wait(timeout=30)
