"""Two `dsqa index` at once never corrupt an index: one waits for the other (or exits 2 with a clear
message), and questions keep being answered from the last complete index while one writes."""

from __future__ import annotations

import pytest
from index_fixtures import AFTER, BEFORE, assert_same_index, build, copy_index, dsqa, popen_dsqa, write_folder

from index.folder import IndexFolder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def folders(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("concurrency")
    write_folder(root / "before", BEFORE)
    write_folder(root / "after", AFTER)
    build(root / "before", root / "index-before", embedder)
    build(root / "after", root / "index-clean", embedder)
    return root


def test_two_indexers_at_once_leave_a_clean_index(folders, embedder, tmp_path):
    index_dir = tmp_path / "index"
    copy_index(folders / "index-before", index_dir)
    args = ("index", "--knowledge", str(folders / "after"), "--index", str(index_dir))
    first, second = popen_dsqa(*args), popen_dsqa(*args)
    outputs = [p.communicate(timeout=600) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    summaries = sorted(out.strip().rsplit(": ", 1)[-1] for out, _ in outputs)
    assert summaries[0].startswith("0 added, 0 changed, 0 removed, 5 unchanged")  # the one that waited
    assert summaries[1].startswith("2 added, 1 changed, 1 removed, 2 unchanged")
    assert any("Waiting for process" in err for _, err in outputs)
    assert_same_index(index_dir, folders / "index-clean", embedder)


def test_a_second_indexer_exits_2_with_a_clear_message_when_told_not_to_wait(folders, tmp_path):
    index_dir = tmp_path / "index"
    copy_index(folders / "index-before", index_dir)
    with IndexFolder(index_dir).writing():  # this test process is the first indexer
        result = dsqa("index", "--knowledge", str(folders / "after"), "--index", str(index_dir), "--wait", "0")
        waited = dsqa("index", "--knowledge", str(folders / "after"), "--index", str(index_dir), "--wait", "1")
    for run in (result, waited):
        assert run.returncode == 2
        assert "is being written by process" in run.stderr and "Traceback" not in run.stderr
        assert len(run.stderr.strip().splitlines()) <= 2
    assert IndexFolder(index_dir).snapshot().version == 1  # untouched


def test_questions_are_answered_from_the_last_index_while_another_process_writes(folders, tmp_path):
    index_dir = tmp_path / "index"
    copy_index(folders / "index-before", index_dir)
    with IndexFolder(index_dir).writing():
        result = dsqa(
            "ask",
            "When did the Gamma probe fly past Venus?",
            "--knowledge",
            str(folders / "after"),
            "--index",
            str(index_dir),
        )
    assert result.returncode == 0, result.stderr
    assert "[1] Gamma probe" in result.stdout  # Gamma is gone from the folder, not yet from the index
    assert "answering from the last complete index" in result.stderr and "Traceback" not in result.stderr
