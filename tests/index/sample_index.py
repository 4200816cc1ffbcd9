"""Helpers for the index tests: a folder of small articles and a sync over a real index folder."""

from __future__ import annotations

import hashlib

from index.build import sync_index
from index.folder import IndexFolder
from knowledge import load_articles

ARTICLES = {
    "alpha.txt": "Alpha\n\nThe Alpha rover landed in 2021 near the crater Jezero. It found ice under the dust.\n",
    "beta.txt": "Beta\n\nThe Beta orbiter mapped the poles of Mars. Its camera was built in Sweden.\n",
    "gamma.md": "---\ntitle: Gamma\n---\nThe Gamma probe flew past Venus in 2019.\n\nIt measured the clouds.\n",
}

MORE = {  # enough articles for kept runs on both sides of a changed one
    "delta.txt": "Delta\n\nThe Delta lander touched down on Titan in 2034. Its drill reached the ice.\n",
    "epsilon.txt": "Epsilon\n\nEpsilon studied the Sun’s corona. It was IDSEA’s first mission.\n",
    "zeta.txt": "Zeta\n\nZeta — 泽塔 — mapped the asteroid belt. Its camera was built in Hefei.\n",
}


def file_digests(path) -> dict[str, str]:
    """sha256 of every file under `path`, by relative name."""
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def write_articles(folder, articles=None):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (articles or ARTICLES).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


class Index:
    """An index folder in tmp_path, its chunk vectors in its snapshot or on `server` (a
    `ChromaServer`): `index.sync(knowledge)`."""

    def __init__(self, path, embedder, server=None):
        self.folder = IndexFolder(path)
        self.server = server
        self.embedder = embedder

    def sync(self, knowledge, **options):
        return sync_index(load_articles(knowledge), self.folder, self.embedder, server=self.server, **options)

    def store(self):
        """The server's collection (a `ChromaStore`)."""
        from index.build import index_signature

        return self.server.open(index_signature(self.embedder, 700, 150, server=True))
