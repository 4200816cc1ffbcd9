"""The folder boundary under a race: a subfolder swapped for a link to an outside folder, in a loop,
while the folder is loaded and indexed, never yields outside text.

A thread moves `sub/` aside, puts a link to the outside folder (same file names, a canary in every
file) in its place, then puts `sub/` back, as fast as it can. Loading and indexing run meanwhile; the
test fails on the first article, chunk or answer that holds the canary, and checks that the race was
run: some loads saw `sub/` and some did not.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from knowledge import load_folder

CANARY = "CANARY-RACE-4242"
FILES = [f"report-{n}.md" for n in range(8)]


def _folders(root: Path) -> tuple[Path, Path]:
    folder, outside = root / "articles", root / "outside"
    (folder / "sub").mkdir(parents=True)
    outside.mkdir()
    (folder / "base.md").write_text("# Base\n\nThe base station tracks the rover every night.\n", encoding="utf-8")
    for name in FILES:
        (folder / "sub" / name).write_text(f"# Inside {name}\n\nThe inside team logged {name}.\n", encoding="utf-8")
        (outside / name).write_text(f"# Secret {name}\n\n{CANARY} secret {name}.\n", encoding="utf-8")
    return folder, outside


class Swapper:
    """Swaps folder/sub for a link to `outside` and back, in a loop, until stopped."""

    def __init__(self, folder: Path, outside: Path):
        self.sub, self.held, self.outside = folder / "sub", folder / ".sub-held", outside
        self.swaps = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Swapper:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            os.rename(self.sub, self.held)
            os.symlink(self.outside, self.sub)
            time.sleep(0.0005)
            os.unlink(self.sub)
            os.rename(self.held, self.sub)
            self.swaps += 1
            time.sleep(0.0005)


def test_loading_during_a_subfolder_swap_never_reads_outside(tmp_path):
    folder, outside = _folders(tmp_path)
    loads = with_sub = 0
    with Swapper(folder, outside) as swapper:
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            loaded = load_folder(folder)
            leaked = [a.path for a in loaded.articles if CANARY in a.text or CANARY in a.title]
            assert leaked == [], f"load {loads} returned outside files: {leaked}"
            loads += 1
            with_sub += any(a.id.startswith("sub-") for a in loaded.articles)
    print(f"{loads} loads during {swapper.swaps} swaps; {with_sub} saw sub/, {loads - with_sub} did not")
    assert swapper.swaps > 100 and loads > 50
    assert 0 < with_sub < loads  # the race really ran: both states were seen


def test_indexing_during_a_subfolder_swap_never_indexes_or_answers_outside_text(tmp_path, embedder):
    from bot import Bot

    folder, outside = _folders(tmp_path)
    bot = Bot(knowledge_dir=folder, index_dir=tmp_path / "index", embedder=embedder)
    with Swapper(folder, outside):
        for _ in range(6):
            bot.index(progress=False)
            assert all(CANARY not in a.text for a in bot.articles())
            assert all(CANARY not in chunk.text for chunk in bot._search.chunks)
            answer = bot.ask("What does the secret canary race say?")
            assert CANARY not in answer.text
