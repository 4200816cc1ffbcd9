"""Watch a knowledge folder (`watchfiles`) and call back, in a background thread, when its articles
change: once the changed files have stopped changing (a file being written is picked up complete).
Folders count too: one created, moved in, renamed, moved out or deleted changes the articles in it.

The callback also runs every `interval` seconds with no change (`changed=False`), so the owner can
notice a snapshot committed by another process (`dsqa index` in another terminal) and retry a sync
that found the index busy. What to do on a change is the owner's business (`bot/service.py`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def is_article_path(path: Path, suffixes: tuple[str, ...]) -> bool:
    """A file the loaders would read: a known suffix, not hidden, not an editor's temporary file.

    >>> is_article_path(Path("a/.#notes.md"), (".md",)), is_article_path(Path("a/notes.md"), (".md",))
    (False, True)
    """
    name = path.name
    return (
        path.suffix.lower() in suffixes
        and not name.startswith((".", "~"))
        and not name.endswith(("~", ".swp", ".tmp", ".part"))
    )


def is_relevant(change, path: Path, suffixes: tuple[str, ...]) -> bool:
    """Whether a change can add or remove articles: an article file, a folder created or moved in
    (its files come with it, with no event of their own), or anything deleted or moved out that is
    not hidden (a folder's files go with it; a deleted path cannot tell whether it was a folder)."""
    from watchfiles import Change

    if is_article_path(path, suffixes):
        return True
    if path.name.startswith((".", "~")):
        return False
    return change == Change.deleted or (change == Change.added and path.is_dir())


class FolderWatcher:
    """`FolderWatcher(folder, on_tick).start()`; `on_tick(changed: bool)` runs in the watcher thread.

    `settle`: seconds a changed file's size and mtime must stay the same before it counts as written.
    """

    def __init__(
        self,
        folder: str | Path,
        on_tick: Callable[[bool], None],
        suffixes: tuple[str, ...],
        settle: float = 2.0,
        interval: float = 1.0,
    ):
        self.folder = Path(folder)
        self.on_tick = on_tick
        self.suffixes = suffixes
        self.settle, self.interval = settle, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> FolderWatcher:
        self._thread = threading.Thread(target=self._run, name=f"dsqa-watch-{self.folder.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        from watchfiles import watch

        while not self._stop.is_set():
            try:
                for changes in watch(
                    self.folder,
                    stop_event=self._stop,
                    rust_timeout=int(self.interval * 1000),
                    yield_on_timeout=True,
                    debounce=400,
                    step=50,
                    raise_interrupt=False,
                    ignore_permission_denied=True,
                ):
                    relevant = {Path(p) for change, p in changes if is_relevant(change, Path(p), self.suffixes)}
                    if relevant:
                        self._wait_until_written(_with_articles_inside(relevant, self.suffixes))
                    self._tick(bool(relevant))
            except Exception as exc:  # a vanished folder, an inotify limit: keep ticking, retry the watch
                log.warning("Watching %s failed (%s); retrying", self.folder, exc)
                self._tick(False)
                self._stop.wait(self.interval)

    def _tick(self, changed: bool) -> None:
        try:
            self.on_tick(changed)
        except Exception:  # the owner's failure must not end the watch
            log.exception("Syncing %s after a change failed", self.folder)

    def _wait_until_written(self, paths: set[Path], limit: float = 60.0) -> None:
        """Return once none of `paths` has changed size or mtime for `settle` seconds."""
        deadline = time.monotonic() + limit
        before = _stats(paths)
        while time.monotonic() < deadline and not self._stop.wait(self.settle):
            after = _stats(paths)
            if after == before:
                return
            before = after


def _with_articles_inside(paths: set[Path], suffixes: tuple[str, ...]) -> set[Path]:
    """`paths`, plus the article files inside those that are folders (so a folder still being copied
    in is waited for until its files stop changing)."""
    inside = {f for p in paths if p.is_dir() for f in p.rglob("*") if is_article_path(f, suffixes)}
    return paths | inside


def _stats(paths: set[Path]) -> dict[Path, tuple[int, int] | None]:
    found = {}
    for path in paths:
        try:
            stat = path.stat()
            found[path] = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            found[path] = None
    return found
