"""Fixtures for the web chat tests: a socket guard, one real Bot, the app in-process, and `dsqa serve`.

The Bot is the real one (bundled model, a real index in a temp dir) over the bundled articles plus one
hostile article whose title and text hold `<script>` and `onerror=`. The in-process app (client and
service tests, which look at per-session state) and the `dsqa serve` subprocess (browser tests: the
command people run) are each started once per session.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from netguard import block_non_loopback

from knowledge.settings import PROJECT_ROOT, Settings, go_offline

go_offline()

BUNDLED_ARTICLES = PROJECT_ROOT / "knowledge" / "articles"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
HOSTILE_ARTICLE = """---
title: "Rover <script>window.__pwned = 'title'</script> report <img src=x onerror=\\"window.__pwned = 'img'\\">"
reported: 2025-05-05
---

The Zephyr rover drilled into the red cliffs of Jezero crater in May 2025.
The rover's team said the drill samples contain <script>window.__pwned = 'body'</script> banded clay <img src=x onerror="window.__pwned = 'onerror'"> from an ancient lake.
The samples will wait in a sealed tube for a later mission.
"""
EXAMPLES = ["When will IDSEA launch?", "Where will the association be based?"]  # fixed, for the in-process app


@pytest.fixture(scope="session")
def network_guard():
    """Fail (and record) every non-loopback connection the test process tries: app server included."""
    attempts: list[tuple] = []

    def refuse(address) -> None:
        attempts.append(tuple(address))
        raise ConnectionRefusedError(f"network blocked in tests: {address!r}")

    with pytest.MonkeyPatch.context() as patch:
        block_non_loopback(patch, refuse)
        yield attempts


def article_folder(root: Path) -> Path:
    """A temp copy of the bundled articles plus the hostile one."""
    articles = root / "articles"
    shutil.copytree(BUNDLED_ARTICLES, articles)
    (articles / "zephyr-rover-2025-05-05.md").write_text(HOSTILE_ARTICLE, encoding="utf-8")
    return articles


@pytest.fixture(scope="session")
def chat_settings(tmp_path_factory) -> Settings:
    """Settings over the temp articles; index and data in temp."""
    root = tmp_path_factory.mktemp("webchat")
    return Settings(
        reader="extractive",
        knowledge_dir=article_folder(root),
        index_dir=root / "index",
        data_dir=root / "data",
        progress=False,
    )


@pytest.fixture(scope="session")
def chat_bot(chat_settings, network_guard, embedder):
    """The real Bot (the shared, already loaded bundled model), indexed once."""
    from bot import Bot

    bot = Bot(settings=chat_settings, embedder=embedder)
    bot.index()
    return bot


@dataclass
class RunningApp:
    """A served app: its URL, and in-process its Blocks (to inspect per-session state) and settings."""

    url: str
    settings: Settings
    demo: object = None

    @property
    def feedback_path(self) -> Path:
        return Path(self.settings.data_dir) / "feedback.jsonl"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def unused_port() -> int:
    """A free loopback port for a server a test starts itself."""
    return free_port()


@pytest.fixture(scope="session")
def running_app(chat_bot, chat_settings, network_guard):
    """The web chat, launched in-process on a free loopback port for the whole test session."""
    from web.page import build_app
    from web.server import launch

    demo = build_app(chat_bot, examples=EXAMPLES, stream_delay=0.01)
    url = launch(demo, "127.0.0.1", free_port())
    yield RunningApp(url=url, settings=chat_settings, demo=demo)
    demo.close()


def start_dsqa(args: list[str], env: dict[str, str], timeout: float = 240) -> tuple[subprocess.Popen, str, list[str]]:
    """Run `dsqa <args>` (cli.py, as the console script does) until it prints the chat's address."""
    server = subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "cli.py"), *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    printed: list[str] = []
    timer = threading.Timer(timeout, server.kill)  # a hung start-up fails the test instead of hanging it
    timer.start()
    try:
        for line in server.stdout:
            printed.append(line)
            if "web chat: " in line:
                return server, line.split("web chat: ")[1].split()[0], printed
    finally:
        timer.cancel()
    server.wait(timeout=10)
    raise AssertionError("dsqa serve stopped before serving:\n" + "".join(printed))


@pytest.fixture(scope="session")
def served_chat(tmp_path_factory):
    """`dsqa serve --quiet` as a user runs it, over a temp copy of the articles (its own index and data)."""
    root = tmp_path_factory.mktemp("served")
    articles = article_folder(root)
    # The extractive reader, as `settings` below: the tests compare its answers with an in-process Bot's.
    # (A session fixture starts before the autouse fixture that sets DSQA_READER, so it is set here;
    # the reading model has its own tests, tests/bot/test_reading_model.py.)
    env = {k: v for k, v in os.environ.items() if k not in ("DSQA_AUTH", "DSQA_API_KEY")} | {
        "DSQA_DATA_DIR": str(root / "data"),
        "DSQA_READER": "extractive",
    }
    args = [
        "serve",
        "--port",
        str(free_port()),
        "--knowledge",
        str(articles),
        "--index",
        str(root / "index"),
        "--quiet",
    ]
    started = time.perf_counter()
    server, url, printed = start_dsqa(args, env)
    settings = Settings(reader="extractive", knowledge_dir=articles, index_dir=root / "index", data_dir=root / "data")
    app = RunningApp(url=url, settings=settings)
    app.start_seconds = time.perf_counter() - started
    app.printed = printed
    yield app
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/ (git-ignored): screenshots for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
