"""A damaged index (a damaged snapshot or CURRENT) gives one clear warning and is rebuilt: never a
traceback, and the result is what a clean build gives. (The index folder holds no Chroma files: a
server's collection is checked by every sync, tests/index/test_server.py.)"""

from __future__ import annotations

import os

import pytest
from index_fixtures import AFTER, assert_same_index, build, copy_index, dsqa, write_folder

from index.folder import IndexFolder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clean(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("corrupt")
    write_folder(root / "articles", AFTER)
    build(root / "articles", root / "index-clean", embedder)
    return root


def _garbage(path) -> None:
    path.write_bytes(os.urandom(64 * 1024))


def _truncate(path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) // 3)


def _snapshot_file(index_dir, name):
    return IndexFolder(index_dir).snapshots / f"v{IndexFolder(index_dir).current_version():08d}" / name


DAMAGE = {
    "truncated chunk vectors": lambda d: _truncate(_snapshot_file(d, "chunk_vectors.npy")),
    "truncated sentence vectors": lambda d: _truncate(_snapshot_file(d, "sentence_vectors.npy")),
    "garbage snapshot manifest": lambda d: _garbage(_snapshot_file(d, "manifest.json")),
    "garbage CURRENT": lambda d: (d / "CURRENT").write_bytes(b"\x00\xff garbage"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_dsqa_index_rebuilds_a_damaged_index_with_one_warning(clean, embedder, tmp_path, damage):
    index_dir = tmp_path / "index"
    copy_index(clean / "index-clean", index_dir)
    DAMAGE[damage](index_dir)
    result = dsqa("index", "--knowledge", str(clean / "articles"), "--index", str(index_dir))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and "damaged" in warnings[0], result.stderr
    assert_same_index(index_dir, clean / "index-clean", embedder)


@pytest.mark.parametrize("damage", ["truncated sentence vectors", "garbage CURRENT"])
def test_a_question_over_a_damaged_snapshot_is_still_answered(clean, tmp_path, damage):
    index_dir = tmp_path / "index"
    copy_index(clean / "index-clean", index_dir)
    DAMAGE[damage](index_dir)
    result = dsqa(
        "ask",
        "Where did the Alpha rover land?",
        "--knowledge",
        str(clean / "articles"),
        "--index",
        str(index_dir),
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "[1] Alpha rover" in result.stdout and "damaged" in result.stderr  # cites the right article
