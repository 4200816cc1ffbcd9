"""Shared by the index reliability tests: two states of a small folder, real `dsqa index` processes,
and the checks that an index is exactly what a clean build of the same folder gives."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np

from index.build import sync_index
from index.folder import IndexFolder
from knowledge import load_articles
from knowledge.settings import PROJECT_ROOT, Settings

BEFORE = {
    "alpha.txt": "Alpha rover\n\nThe Alpha rover landed in 2021 near the crater Jezero. It found ice under the dust.\n",
    "beta.txt": "Beta orbiter\n\nThe Beta orbiter mapped the poles of Mars. Its camera was built in Sweden.\n",
    "gamma.md": "---\ntitle: Gamma probe\n---\nThe Gamma probe flew past Venus in 2019.\n\nIt measured sulphuric clouds.\n",
    "delta.txt": "Delta lander\n\nThe Delta lander reached Titan in 2034. It drilled into methane ice.\n",
}
AFTER = {  # beta changed, gamma deleted, epsilon and zeta added
    "alpha.txt": BEFORE["alpha.txt"],
    "beta.txt": "Beta orbiter\n\nThe Beta orbiter mapped Phobos, the larger moon of Mars, in 2023.\n",
    "delta.txt": BEFORE["delta.txt"],
    "epsilon.txt": "Epsilon telescope\n\nThe Epsilon telescope observed the corona of the Sun from Chile.\n",
    "zeta.txt": "Zeta station\n\nZeta station will be assembled in lunar orbit by 2030. Kenya supplies its antenna.\n",
}
QUESTIONS = [
    "Which moon did the Beta orbiter map?",
    "Where did the Epsilon telescope observe from?",
    "Who supplies the antenna of Zeta station?",
    "Where did the Alpha rover land?",
    "What did the Gamma probe measure?",
]


def write_folder(folder, files) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def build(knowledge, index_dir, embedder, server=None):
    """Sync `index_dir` with `knowledge`, the chunk vectors in the snapshot or on `server` (a `ChromaServer`)."""
    return sync_index(load_articles(knowledge), IndexFolder(index_dir), embedder, server=server)


def dsqa(*args, env=None, timeout=300) -> subprocess.CompletedProcess:
    """Run the real CLI in a new process."""
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "cli.py"), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def popen_dsqa(*args, env=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "cli.py"), *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def copy_index(source, target) -> None:
    shutil.copytree(source, target)
    for lock in ("index.lock", "index.owner"):
        (target / lock).unlink(missing_ok=True)


def store_ids(server, embedder) -> set[str]:
    """The chunk ids `server`'s collection holds."""
    from index.build import index_signature

    store = server.open(index_signature(embedder, 700, 150, server=True))
    try:
        return {i for ids in store.ids_by_article().values() for i in ids}
    finally:
        store.close()


def assert_same_index(index_dir, clean_dir, embedder, server=None) -> None:
    """`index_dir` holds exactly what the clean build holds: snapshot, the server's rows (when
    `server` holds the chunk vectors) and nothing pending."""
    ours, clean = IndexFolder(index_dir), IndexFolder(clean_dir)
    a, b = ours.snapshot(), clean.snapshot()
    assert [(e.id, e.hash, e.chunk_count, e.sentence_count) for e in a.entries] == [
        (e.id, e.hash, e.chunk_count, e.sentence_count) for e in b.entries
    ]
    assert a.chunk_ids == b.chunk_ids and a.tokens == b.tokens and a.spellings() == b.spellings()
    for name in ("chunk_span", "chunk_rows", "sentence_span", "sentence_df", "chunk_tokens"):
        assert np.array_equal(a._array(name), b._array(name)), name
    assert np.allclose(a._array("sentence_vectors"), b._array("sentence_vectors"), atol=1e-4)
    if server is None:
        assert np.allclose(a.chunk_vectors, b.chunk_vectors, atol=1e-4)
        assert not (ours.path / "chroma").exists()
    else:  # 0 half-indexed articles and no stale rows on the server
        assert not a.holds_chunk_vectors and store_ids(server, embedder) == set(a.chunk_ids)
    assert ours.pending() == set() and not (ours.path / "parts").exists()


def answers(knowledge, index_dir, embedder, chroma_url="") -> list[str]:
    from bot import Bot

    settings = Settings(
        reader="extractive", knowledge_dir=knowledge, index_dir=index_dir, chroma_url=chroma_url, progress=False
    )
    bot = Bot(settings=settings, embedder=embedder)
    return [bot.ask(q).text for q in QUESTIONS]
