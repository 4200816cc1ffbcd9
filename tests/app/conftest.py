"""Fixtures for the web chat tests: a socket guard, one real Bot, one app launched for the whole session.

The Bot is the real one (bundled model, real Chroma in a temp dir) over the bundled articles plus one
hostile article whose title and text hold `<script>` and `onerror=`. The app is served once on a free
loopback port, so the client and browser tests share its start-up cost.
"""

from __future__ import annotations

import shutil
import socket
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


@pytest.fixture(scope="session")
def chat_settings(tmp_path_factory) -> Settings:
    """Settings over a temp copy of the bundled articles plus the hostile one; index and data in temp."""
    root = tmp_path_factory.mktemp("webchat")
    articles = root / "articles"
    shutil.copytree(BUNDLED_ARTICLES, articles)
    (articles / "zephyr-rover-2025-05-05.md").write_text(HOSTILE_ARTICLE, encoding="utf-8")
    return Settings(knowledge_dir=articles, index_dir=root / "index", data_dir=root / "data", progress=False)


@pytest.fixture(scope="session")
def chat_bot(chat_settings, network_guard, embedder):
    """The real Bot (the shared, already loaded bundled model), indexed once."""
    from bot import Bot

    bot = Bot(settings=chat_settings, embedder=embedder)
    bot.index()
    return bot


@dataclass
class RunningApp:
    """The served app: its URL, the Blocks (to inspect per-session state) and its settings."""

    url: str
    demo: object
    settings: Settings

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
    from app import BUNDLED_EXAMPLES, build_app, launch

    demo = build_app(chat_bot, examples=BUNDLED_EXAMPLES, stream_delay=0.01)
    url = launch(demo, "127.0.0.1", free_port())
    yield RunningApp(url=url, demo=demo, settings=chat_settings)
    demo.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/ (git-ignored): screenshots for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
