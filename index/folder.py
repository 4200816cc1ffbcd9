"""One index folder on disk: its layout, its lock, and the pointer to the current snapshot.

    <index>/CURRENT          the committed snapshot version (replaced atomically: the commit point)
    <index>/snapshots/vN/    immutable snapshots (index/snapshot.py)
    <index>/pending.json     the articles an unfinished sync was writing (redone by the next one)
    <index>/parts/           vectors embedded by an unfinished sync, so a crash loses no embedding
    <index>/index.lock       one writer at a time (`filelock`); readers never take it
    <index>/identity         names the index's collection on a Chroma server (index/store.py)

Readers open the version CURRENT names and never see a half-written one. Deciding what to write is
`index/build.py`'s job.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import time
from pathlib import Path

import numpy as np

from index.snapshot import Snapshot, SnapshotError

log = logging.getLogger(__name__)


class IndexBusyError(RuntimeError):
    """Another process is writing this index (and we chose not to wait any longer)."""


class IndexFolder:
    """The files of one index. `IndexFolder(".index/articles-1a2b3c4d").snapshot()`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def snapshots(self) -> Path:
        return self.path / "snapshots"

    def remove_embedded_chroma(self) -> None:
        """Delete the embedded Chroma store earlier versions kept beside the snapshot (a second copy
        of its chunk vectors, never read)."""
        shutil.rmtree(self.path / "chroma", ignore_errors=True)

    def exists(self) -> bool:
        return (self.path / "CURRENT").exists()

    # --- locking -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self, wait: float | None = None, on_wait=None):
        """Hold the folder's write lock. `wait`: seconds to wait for another writer (None: for ever,
        0: not at all); `on_wait(owner)` is called once if we have to wait. Raises `IndexBusyError`."""
        from filelock import FileLock, Timeout

        self.path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path / "index.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            owner = self.lock_owner()
            if wait == 0:
                raise IndexBusyError(self._busy_message(owner)) from None
            if on_wait is not None:
                on_wait(owner)
            try:
                lock.acquire(timeout=-1 if wait is None else wait)
            except Timeout:
                raise IndexBusyError(self._busy_message(self.lock_owner())) from None
        try:
            _atomic_write(self.path / "index.owner", json.dumps({"pid": os.getpid(), "since": time.time()}))
            yield
        finally:
            with contextlib.suppress(OSError):
                (self.path / "index.owner").unlink()
            lock.release()

    def lock_owner(self) -> str:
        """ "process 1234 (for 12 s)", from what the writer recorded, or "another process"."""
        try:
            owner = json.loads((self.path / "index.owner").read_text(encoding="utf-8"))
            return f"process {owner['pid']} (for {time.time() - owner['since']:.0f} s)"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def _busy_message(self, owner: str) -> str:
        return f"the index at {self.path} is being written by {owner}; try again when it has finished"

    # --- the current snapshot ------------------------------------------------------------------
    def current_version(self) -> int | None:
        try:
            return int((self.path / "CURRENT").read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            return None

    def snapshot(self) -> Snapshot | None:
        """The committed snapshot, or None when there is none yet. `SnapshotError` when damaged."""
        for _ in range(3):  # a writer may remove an old version between our two reads: read again
            version = self.current_version()
            if version is None:
                if (self.path / "CURRENT").exists():
                    raise SnapshotError(f"{self.path / 'CURRENT'} is damaged")
                return None
            try:
                return Snapshot.open(self.snapshots / f"v{version:08d}")
            except SnapshotError:
                if self.current_version() == version:
                    raise
        raise SnapshotError(f"the snapshot named by {self.path / 'CURRENT'} keeps disappearing")

    def next_version(self) -> int:
        existing = [int(p.name[1:]) for p in self.snapshots.glob("v*") if p.name[1:].isdigit()]
        return max([self.current_version() or 0, *existing]) + 1

    def switch(self, version: int) -> None:
        """Make `version` the committed snapshot (one atomic rename), then drop the older ones."""
        _atomic_write(self.path / "CURRENT", f"{version}\n")
        for old in self.snapshots.iterdir():
            if old.name != f"v{version:08d}":  # readers keep mapped files open; unlinking is safe
                shutil.rmtree(old, ignore_errors=True)

    # --- an unfinished sync --------------------------------------------------------------------
    def pending(self) -> set[str]:
        """Articles an interrupted sync was writing, or an empty set."""
        try:
            return set(json.loads((self.path / "pending.json").read_text(encoding="utf-8")))
        except FileNotFoundError:
            return set()
        except (OSError, ValueError):
            return {"*"}  # unreadable journal: distrust everything

    def set_pending(self, article_ids: set[str]) -> None:
        _atomic_write(self.path / "pending.json", json.dumps(sorted(article_ids)))

    def clear_pending(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.path / "pending.json").unlink()
        shutil.rmtree(self.path / "parts", ignore_errors=True)

    def save_part(self, article_hash: str, key: str, chunk_vectors: np.ndarray, sentence_vectors: np.ndarray) -> None:
        """Keep one article's new vectors until the snapshot holding them is committed."""
        folder = self.path / "parts"
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{article_hash}-{key}.npz"
        temporary = folder / f".{article_hash}-{key}.{os.getpid()}.npz"
        np.savez(temporary, chunks=chunk_vectors, sentences=sentence_vectors)
        os.replace(temporary, final)

    def load_part(self, article_hash: str, key: str) -> tuple[np.ndarray, np.ndarray] | None:
        try:
            with np.load(self.path / "parts" / f"{article_hash}-{key}.npz", allow_pickle=False) as data:
                return data["chunks"], data["sentences"]
        except (OSError, ValueError, KeyError):
            return None

    # --- identity (names this index's collection on a shared Chroma server) ---------------------
    def identity(self) -> str:
        path = self.path / "identity"
        try:
            return path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            self.path.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, secrets.token_hex(6) + "\n")
            return path.read_text(encoding="utf-8").strip()

    def remove_snapshots(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.path / "CURRENT").unlink()
        shutil.rmtree(self.snapshots, ignore_errors=True)


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
