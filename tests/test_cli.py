"""cli.py: `dsqa ask`, `dsqa chat`, `dsqa index` as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from knowledge.settings import PROJECT_ROOT


def dsqa(*args, stdin: str | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "cli.py"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT_ROOT,
    )


@pytest.mark.slow
def test_index_ask_json_and_chat(tmp_path):
    index = str(tmp_path / "cli-index")
    built = dsqa("index", "--index", index)
    assert built.returncode == 0, built.stderr
    assert "1 added" in built.stdout

    synced = dsqa("index", "--index", index)
    assert "0 added, 0 changed, 0 removed, 1 unchanged (0 texts embedded" in synced.stdout

    asked = dsqa("ask", "Where will the association be located?", "--json", "--index", index)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert "Hefei" in answer["text"] and answer["citations"][0]["quote"] and not answer["abstained"]

    plain = dsqa("ask", "Where will the association be located?", "--index", index)
    assert (
        "Sources:" in plain.stdout and "[1] China to Launch International Space Exploration Association" in plain.stdout
    )

    chat = dsqa("chat", "--index", index, stdin="What is the Deep Space Exploration Laboratory?\nWho set it up?\n\n")
    assert chat.returncode == 0, chat.stderr
    assert "understood as: Who set up Deep Space Exploration Laboratory?" in chat.stdout
    assert "China National Space Administration" in chat.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ask", ""), "question is empty"),
        (("ask", "   "), "question is empty"),
        (("ask", "Where?", "--knowledge", "/no/such/folder"), "Knowledge folder not found"),
        (("index", "--knowledge", "/no/such/folder"), "Knowledge folder not found"),
        (("ask",), "Missing argument"),
    ],
)
def test_bad_input_is_a_clear_message_and_exit_2(args, message):
    result = dsqa(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
