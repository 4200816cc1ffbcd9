"""Every failure of the chat is a message: no articles, a bad model setting, a silent Chroma server.

The CLI prints one `error: …` line and exits with code 2 (never a traceback, never a hang);
`/chat` through gradio_client raises `AppError` with the message. The silent server is a loopback
socket that accepts connections and never answers.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
from entry_points import run_entry
from gradio_client import Client
from gradio_client.exceptions import AppError

from bot import Bot
from bot.messages import NO_ARTICLES
from knowledge.settings import PROJECT_ROOT

SHIPPED_ARTICLES = PROJECT_ROOT / "knowledge" / "articles"

QUESTION = "When will IDSEA launch?"


def run_cli(args: list[str], env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return run_entry("cli.py", *args, env=env, timeout=timeout, drop_env="DSQA_")


def assert_one_error_line(result: subprocess.CompletedProcess, words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and words in errors[0], result.stderr


@pytest.mark.parametrize(
    ("command", "env", "words"),
    [
        (["ask", QUESTION], {"DSQA_MODEL": "/nonexistent"}, "cannot load the embedding model '/nonexistent'"),
        (["index"], {"DSQA_MODEL_SHA256": "00"}, "expected 00 (DSQA_MODEL_SHA256)"),
    ],
    ids=["DSQA_MODEL=/nonexistent", "DSQA_MODEL_SHA256=00"],
)
def test_a_bad_model_setting_is_one_error_line(tmp_path, command, env, words):
    knowledge = ["--knowledge", str(SHIPPED_ARTICLES), "--index", str(tmp_path / "index")]
    assert_one_error_line(run_cli([*command, *knowledge], env | {"DSQA_CACHE_DIR": str(tmp_path / "cache")}), words)


def test_a_silent_chroma_server_times_out_with_a_message(tmp_path):
    with socket.socket() as silent:  # accepts (the kernel completes the handshake) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        began = time.monotonic()
        result = run_cli(
            ["index", "--knowledge", str(SHIPPED_ARTICLES), "--index", str(tmp_path / "index"), "--quiet"],
            {"DSQA_CHROMA_URL": url, "DSQA_STORE_TIMEOUT_S": "2"},
        )
        seconds = time.monotonic() - began
    print(f"silent Chroma server: exit {result.returncode} after {seconds:.1f} s")
    assert_one_error_line(result, f"the Chroma server at {url} (DSQA_CHROMA_URL) is not answering")
    assert "no answer within 2 s" in result.stderr


@pytest.fixture
def emptied_chat(tmp_path, embedder):
    """A served chat whose folder lost every article after it started (as the watcher saw it)."""
    from web.page import build_app
    from web.server import launch

    folder = tmp_path / "articles"
    shutil.copytree(SHIPPED_ARTICLES, folder)
    bot = Bot(knowledge_dir=folder, index_dir=tmp_path / "index", embedder=embedder)
    bot.index(progress=False)
    demo = build_app(bot, examples=[QUESTION], stream_delay=0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = launch(demo, "127.0.0.1", port)
    for path in folder.iterdir():
        path.unlink()
    bot._on_tick(True)  # what the folder watcher calls on a change
    yield bot, url
    demo.close()


def test_no_articles_is_a_message_in_the_api_and_the_cli(emptied_chat, tmp_path):
    bot, url = emptied_chat
    assert bot.summaries() == []
    with pytest.raises(AppError, match=NO_ARTICLES):
        Client(url, verbose=False).predict(QUESTION, api_name="/chat")
    result = run_cli(
        ["ask", QUESTION, "--index", str(bot.settings.index_path), "--knowledge", str(tmp_path / "articles")], {}
    )
    assert_one_error_line(result, "No readable articles")
