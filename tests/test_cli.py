"""cli.py: `dsqa ask`, `dsqa chat`, `dsqa index`, `dsqa serve`, `dsqa mcp` (and `python app.py`) as a user runs them
(real subprocesses): answers, quiet output, and one clear line with exit code 2 for every bad input."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from functools import partial

import pytest
from entry_points import run_entry

from knowledge.settings import PROJECT_ROOT

NOISE = ("Loading weights", "Batches", "it/s]", "Traceback", "Editable installation")


dsqa = partial(run_entry, "cli.py")
app_py = partial(run_entry, "app.py", timeout=60, drop_env="DSQA_AUTH")


def assert_one_clear_line(result: subprocess.CompletedProcess, message: str) -> None:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout


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
    assert "understood as: Who set Deep Space Exploration Laboratory up?" in chat.stdout
    assert "China National Space Administration" in chat.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ask", ""), "question is empty"),
        (("ask", "   "), "question is empty"),
        (("ask", "Where?", "--knowledge", "/no/such/folder"), "knowledge_dir=/no/such/folder: no such folder"),
        (("index", "--knowledge", "/no/such/folder"), "no such folder"),
        (("ask", "Where?", "--index", "/dev/null/x"), "index_dir=/dev/null/x: cannot be a folder"),
        (("ask",), "Missing argument"),
        (("index", "--bogus"), "No such option: --bogus"),
        (("frobnicate",), "No such command"),
    ],
)
def test_bad_input_is_a_clear_message_and_exit_2(args, message):
    assert_one_clear_line(dsqa(*args), message)


def busy_port() -> socket.socket:
    """A loopback socket that is listening, so its port is taken."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    return taken


# Every bad setting or argument of the chat server: (arguments, environment, what the one line says).
BAD_SERVE = [
    (["--port", "abc"], {}, "Invalid value for '--port'"),
    (["--port", "70000"], {}, "Invalid value for '--port'"),
    (["--knowledge", "/no/such/folder"], {}, "knowledge_dir=/no/such/folder: no such folder"),
    ([], {"DSQA_KNOWLEDGE_DIR": "/nonexistent"}, "DSQA_KNOWLEDGE_DIR=/nonexistent: no such folder"),
    (["--index", "/dev/null/x"], {}, "cannot be a folder"),
    ([], {"DSQA_TOP_K": "abc"}, "DSQA_TOP_K=abc: input should be a valid integer"),
    ([], {"DSQA_TOP_K": "-3"}, "DSQA_TOP_K=-3: input should be greater than 0"),
    ([], {"DSQA_ABSTAIN_BELOW": "high"}, "DSQA_ABSTAIN_BELOW=high"),
    ([], {"DSQA_ABSTAIN_BELOW": "nan"}, "DSQA_ABSTAIN_BELOW=nan: input should be a finite number"),
    (["--auth", "no-colon"], {}, "credentials must look like user:pass"),
    ([], {"DSQA_AUTH": ":password-but-no-user"}, "credentials must look like user:pass"),
    (["--host", "0.0.0.0"], {}, "refusing to serve on 0.0.0.0"),
    (["--host", "0.0.0.0", "--auth", "ann:"], {}, "credentials must look like user:pass"),
    (["--bogus"], {}, "No such option: --bogus"),
]


@pytest.mark.parametrize("entry", ["dsqa serve", "python app.py"])
@pytest.mark.parametrize(
    ("args", "env", "message"), BAD_SERVE, ids=[" ".join(a) or next(iter(e)) for a, e, _ in BAD_SERVE]
)
def test_every_bad_serve_setting_is_one_line_and_exit_2(entry, args, env, message):
    result = dsqa("serve", *args, env=env, timeout=60) if entry == "dsqa serve" else app_py(*args, env=env)
    assert_one_clear_line(result, message)


@pytest.mark.parametrize("entry", ["dsqa serve", "python app.py"])
def test_a_port_in_use_is_one_line_and_exit_2(entry):
    with busy_port() as taken:
        port = str(taken.getsockname()[1])
        result = dsqa("serve", "--port", port, timeout=60) if entry == "dsqa serve" else app_py("--port", port)
    assert_one_clear_line(result, f"cannot serve on 127.0.0.1:{port}: address already in use")


@pytest.mark.slow
def test_indexing_and_answering_print_no_library_noise(tmp_path):
    """`dsqa index --quiet`, `dsqa ask` and the Python API on a fresh index: the answer and nothing else."""
    index = str(tmp_path / "index")
    built = dsqa("index", "--index", index, "--quiet")
    assert built.returncode == 0 and built.stderr.strip() == "", built.stderr
    asked = dsqa("ask", "When will IDSEA launch?", "--index", index)
    assert asked.returncode == 0 and "July 7th 2025" in asked.stdout
    code = f"from bot import Bot\nprint(Bot(index_dir={str(tmp_path / 'api')!r}).ask('When will IDSEA launch?').text)"
    api = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert api.returncode == 0 and "July 7th 2025" in api.stdout
    for result in (built, asked, api):
        for noise in NOISE:
            assert noise not in result.stdout + result.stderr, (noise, result.stderr)


def test_make_run_serves_with_dsqa_and_setup_hides_the_editable_banner():
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "dsqa serve" in run and "app.py" not in run
    assert "pip install -qq -e" in makefile


@pytest.mark.parametrize(
    "args, env",
    [
        (["mcp", "--knowledge", "/no/such/folder"], None),
        (["mcp"], {"DSQA_TOP_K": "abc"}),
        (["mcp", "--bogus"], None),
    ],
)
def test_dsqa_mcp_bad_input_is_one_line_on_stderr_and_nothing_on_stdout(args, env):
    """stdout is the MCP protocol's: a bad start must leave it empty and say why on stderr."""
    result = dsqa(*args, env=env, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
