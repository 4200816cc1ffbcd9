"""kill -9 of a real `dsqa index` at every step of a sync, then a sync: the index is exactly a clean
build's (0 half-indexed articles, same answers), and until then readers only see a whole snapshot."""

from __future__ import annotations

import signal
import time

import pytest
from index_fixtures import (
    AFTER,
    BEFORE,
    answers,
    assert_same_index,
    build,
    copy_index,
    dsqa,
    popen_dsqa,
    write_folder,
)

from index.folder import IndexFolder

pytestmark = pytest.mark.slow

# Every checkpoint of index/build.py and index/snapshot.py, in the order a sync passes them.
KILL_POINTS = [
    "locked",
    "journaled",
    "deleted",
    "article-written#1",  # one new article's chunks stored, the others not
    "article-written#2",
    "writing-snapshot",
    "snapshot-half-written",  # arrays on disk, no manifest
    "snapshot-written",  # the next version complete, not yet current
    "marked",  # the store says the next version, CURRENT the previous one
    "switched",  # committed, the journal not yet cleared
]


@pytest.fixture(scope="module")
def states(tmp_path_factory, embedder):
    """The index of BEFORE, and a clean build of AFTER with its answers."""
    root = tmp_path_factory.mktemp("crash")
    before, after = root / "before", root / "after"
    write_folder(before, BEFORE)
    write_folder(after, AFTER)
    build(before, root / "index-before", embedder)
    build(after, root / "index-clean", embedder)
    return {
        "root": root,
        "before": before,
        "after": after,
        "index_before": root / "index-before",
        "clean": root / "index-clean",
        "answers": answers(after, root / "index-clean", embedder),
        "before_ids": IndexFolder(root / "index-before").snapshot().chunk_ids,
        "after_ids": IndexFolder(root / "index-clean").snapshot().chunk_ids,
    }


def _killed_then_synced(states, embedder, index_dir, result) -> list[str]:
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    committed = IndexFolder(index_dir).snapshot()  # what a reader would open now: one whole snapshot
    assert committed is None or committed.chunk_ids in (states["before_ids"], states["after_ids"])
    report = build(states["after"], index_dir, embedder)
    assert not report.warnings, report.warnings
    assert_same_index(index_dir, states["clean"], embedder)
    assert answers(states["after"], index_dir, embedder) == states["answers"]
    return report.repaired


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_during_a_sync_then_sync_equals_a_clean_build(states, embedder, point, tmp_path):
    index_dir = tmp_path / "index"
    copy_index(states["index_before"], index_dir)
    result = dsqa("index", "--knowledge", str(states["after"]), "--index", str(index_dir), env={"DSQA_KILL_AT": point})
    repaired = _killed_then_synced(states, embedder, index_dir, result)
    if point in ("article-written#1", "article-written#2"):
        assert repaired  # stored chunks of an uncommitted article: found, removed and redone


@pytest.mark.parametrize("point", ["article-written#1", "snapshot-half-written"])
def test_kill_during_the_first_build_then_sync_equals_a_clean_build(states, embedder, point, tmp_path):
    index_dir = tmp_path / "index"
    result = dsqa("index", "--knowledge", str(states["after"]), "--index", str(index_dir), env={"DSQA_KILL_AT": point})
    _killed_then_synced(states, embedder, index_dir, result)


def test_kill_from_outside_while_embedding(states, embedder, tmp_path):
    """A plain `kill -9` from another process, as soon as the sync reports embedding progress."""
    index_dir = tmp_path / "index"
    copy_index(states["index_before"], index_dir)
    process = popen_dsqa("index", "--knowledge", str(states["after"]), "--index", str(index_dir))
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if (index_dir / "pending.json").exists():  # the sync has started writing
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)

    class Result:
        returncode = process.returncode
        stderr = ""

    if process.returncode == 0:  # it finished before the kill landed: still must be a clean index
        assert_same_index(index_dir, states["clean"], embedder)
    else:
        _killed_then_synced(states, embedder, index_dir, Result)
