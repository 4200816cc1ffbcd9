"""kill -9 of a real `dsqa index` at every step of a sync, then a sync: the index is exactly a clean
build's (0 half-indexed articles, same answers), and until then readers only see a whole snapshot.
With a real Chroma server holding the chunk vectors, too: until the next sync, a search finds only
the committed snapshot's chunks, whatever rows the killed sync had written or not yet deleted."""

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

from evals.chroma_server import start_chroma_server
from index.folder import IndexFolder
from index.store import ChromaServer, WithinSnapshot

pytestmark = pytest.mark.slow

# Every checkpoint of index/build.py and index/snapshot.py, in the order a sync passes them
# (SERVER_KILL_POINTS: with a Chroma server, which adds the last two).
KILL_POINTS = [
    "locked",
    "journaled",
    "article-written#1",  # one new article embedded (its chunks' rows on the server, with one), the others not
    "article-written#2",
    "writing-snapshot",
    "snapshot-half-written",  # arrays on disk, no manifest
    "snapshot-written",  # the next version complete, not yet current
    "switched",  # committed, the journal not yet cleared (and the server's old rows not yet deleted)
]
SERVER_KILL_POINTS = [
    *KILL_POINTS,
    "deleted",  # the server's old rows deleted, its marker not yet set
    "marked",  # the server's marker says the new version, the journal not yet cleared
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
    _killed_then_synced(states, embedder, index_dir, result)


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


# --- with a Chroma server ------------------------------------------------------------------------
QUESTIONS = ["Which moon did the Beta orbiter map?", "Where did the Alpha rover land?", "What was the Beta camera?"]


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder, states):
    """A real `chroma run` server, and clean server-backed builds of BEFORE and AFTER on it."""
    root = tmp_path_factory.mktemp("crash-served")
    process, url = start_chroma_server(root / "chroma")
    clean = {}
    for name in ("before", "after"):
        index_dir = root / f"clean-{name}"
        build(states[name], index_dir, embedder, ChromaServer(url, f"clean-{name}"))
        clean[name] = index_dir
    yield {"url": url, "clean": clean, "answers": answers(states["after"], clean["after"], embedder, url)}
    process.terminate()
    process.wait(timeout=30)


def _dense_hits(index_dir, server, embedder) -> list[list[str]]:
    """What a reader's dense search finds now, for each question: chunk ids, best first."""
    snapshot = IndexFolder(index_dir).snapshot()
    search = WithinSnapshot(server.reader(), snapshot.chunk_position)
    return [[i for i, _ in search.search(embedder.embed_query_vector(q), 4)] for q in QUESTIONS]


@pytest.mark.parametrize("point", SERVER_KILL_POINTS)
def test_kill_during_a_sync_with_a_server_never_serves_a_mixed_index(states, served, embedder, point, tmp_path):
    index_dir = tmp_path / "index"
    server = ChromaServer(served["url"], f"t-{point.replace('#', '-')}")
    build(states["before"], index_dir, embedder, server)
    (index_dir / "identity").write_text(server.identity + "\n", encoding="utf-8")
    result = dsqa(
        "index",
        "--knowledge",
        str(states["after"]),
        "--index",
        str(index_dir),
        env={"DSQA_KILL_AT": point, "DSQA_CHROMA_URL": served["url"]},
    )
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    committed = IndexFolder(index_dir).snapshot()
    state = "after" if committed.chunk_ids == states["after_ids"] else "before"
    assert committed.chunk_ids == states[f"{state}_ids"]
    clean = ChromaServer(served["url"], f"clean-{state}")
    assert _dense_hits(index_dir, server, embedder) == _dense_hits(served["clean"][state], clean, embedder)

    report = build(states["after"], index_dir, embedder, server)
    assert not report.warnings, report.warnings
    assert_same_index(index_dir, served["clean"]["after"], embedder, server)
    assert answers(states["after"], index_dir, embedder, served["url"]) == served["answers"]
    if point in ("article-written#1", "article-written#2", "switched"):
        assert report.repaired  # uncommitted rows, or the old snapshot's: found and removed


def test_dense_hits_are_checked_against_a_mixed_collection(states, served, embedder, tmp_path):
    """The check above can fail: the raw collection after a kill holds rows of both snapshots."""
    index_dir = tmp_path / "index"
    server = ChromaServer(served["url"], "t-raw")
    build(states["before"], index_dir, embedder, server)
    (index_dir / "identity").write_text(server.identity + "\n", encoding="utf-8")
    env = {"DSQA_KILL_AT": "snapshot-written", "DSQA_CHROMA_URL": served["url"]}
    dsqa("index", "--knowledge", str(states["after"]), "--index", str(index_dir), env=env)
    raw = server.reader()
    vector = embedder.embed_query_vector(QUESTIONS[0])
    found = {i for i, _ in raw.search(vector, len(states["before_ids"]) + len(states["after_ids"]))}
    assert found - set(states["before_ids"])  # rows the committed (BEFORE) snapshot does not hold
