"""The snapshot: one immutable, versioned folder holding everything answering reads from an index.

Articles (text, title, date, format, pages), chunks and sentences (offsets, pages, unit vectors as
memory-mapped float32 `.npy`), search tokens, BM25 (`bm25s`, memory-mapped), token document
frequencies for IDF, and the spelling vocabulary. The chunk vectors are here only when no Chroma
server holds them (`holds_chunk_vectors`; index/store.py): one store of record for them either way.
It is computed at index time and loaded, never recomputed, at start-up. Reading is `Snapshot.open`; `index/snapshot_write.py` builds the next
version from the previous one plus the changed articles only; `index/folder.py` switches versions
atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from index.types import Chunk, SentenceTable
from knowledge.types import Article

FORMAT = 3  # 2: sentence contexts in the tokens and vectors, acronyms per article; 3: and what they point back to
CHUNK_STORE = "chunk_store"  # the signature's key for where the chunk vectors live: SNAPSHOT or SERVER
SNAPSHOT, SERVER = "snapshot", "chroma-server"


class SnapshotError(RuntimeError):
    """A snapshot folder is missing, unreadable or inconsistent (a damaged index)."""


@dataclass(frozen=True)
class ArticleEntry:
    """One article of a snapshot: what it is, and where its chunk and sentence rows lie."""

    id: str
    title: str
    date: str
    format: str
    pages: int | None
    path: str
    hash: str
    metadata: dict
    chunk_rows: tuple[int, int]
    sentence_rows: tuple[int, int]
    acronyms: dict = field(default_factory=dict)  # lower-case acronym → the name the article spells out
    language: str = ""  # ISO 639-1, `Article.language` at index time ("": a snapshot written before it was kept)

    @property
    def chunk_count(self) -> int:
        return self.chunk_rows[1] - self.chunk_rows[0]

    @property
    def sentence_count(self) -> int:
        return self.sentence_rows[1] - self.sentence_rows[0]


class Snapshot:
    """A read-only view of one snapshot version. `Snapshot.open(path).chunks()[0].text`.

    Arrays are memory-mapped; Python lists (chunks, sentences, tokens) are built when asked for."""

    def __init__(self, path: Path, manifest: dict):
        self.path = Path(path)
        self.manifest = manifest
        self.version: int = manifest["version"]
        self.signature: dict = manifest["signature"]
        self.entries = [
            ArticleEntry(**{**e, "chunk_rows": tuple(e["chunk_rows"]), "sentence_rows": tuple(e["sentence_rows"])})
            for e in manifest["articles"]
        ]
        self.by_id = {e.id: e for e in self.entries}

    @property
    def holds_chunk_vectors(self) -> bool:
        """False when a Chroma server holds this index's chunk vectors (a snapshot written before
        the signature named the store held them)."""
        return self.signature.get(CHUNK_STORE, SNAPSHOT) == SNAPSHOT

    @classmethod
    def open(cls, path: str | Path) -> Snapshot:
        """Open a snapshot folder, mapping or reading every file now (so a writer may delete the
        folder afterwards without harm); `SnapshotError` when it is damaged or gone."""
        path = Path(path)
        try:
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("format") != FORMAT:
                raise SnapshotError(f"{path} has snapshot format {manifest.get('format')}, expected {FORMAT}")
            snapshot = cls(path, manifest)
            snapshot._load()
            return snapshot
        except SnapshotError:
            raise
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise SnapshotError(f"cannot read the snapshot at {path}: {exc}") from exc

    def _load(self) -> None:
        n_chunks, n_sentences = self.manifest["chunks"], self.manifest["sentences"]
        rows = {name: n_chunks if name.startswith("chunk") else n_sentences for name in ARRAYS}
        rows |= {"chunk_token_ptr": n_chunks + 1, "sentence_token_ptr": n_sentences + 1}
        if not self.holds_chunk_vectors:
            del rows["chunk_vectors"]
        for name, expected in rows.items():  # every array is there, with the rows promised
            if len(self._array(name)) != expected:
                raise SnapshotError(f"{self.path / name}.npy holds {len(self._array(name))} rows, expected {expected}")
        for name in ("chunk_tokens", "sentence_tokens", "sentence_df"):
            self._array(name)
        self.texts: list[str] = self._json("texts")
        self.tokens: list[str] = self._json("tokens")
        self.chunk_ids: list[str] = self._json("chunk_ids")
        self._spellings: dict[str, str] = self._json("spellings")
        if len(self.texts) != len(self.entries) or len(self.chunk_ids) != n_chunks:
            raise SnapshotError(f"{self.path} is inconsistent: texts or chunk ids do not match its manifest")
        self._bm25 = None
        if n_chunks:
            import bm25s

            self._bm25 = bm25s.BM25.load(str(self.path / "bm25"), mmap=True)

    def _array(self, name: str) -> np.ndarray:
        cache = self.__dict__.setdefault("_arrays", {})
        if name not in cache:
            cache[name] = np.load(self.path / f"{name}.npy", mmap_mode="r", allow_pickle=False)
        return cache[name]

    def _json(self, name: str):
        # Bytes, not text: a text read also translates newlines (0.18 s for texts.json at 50k chunks,
        # against 0.05 s to decode it); JSON written by `json.dumps` holds none outside its strings.
        return json.loads((self.path / f"{name}.json").read_bytes())

    # --- articles -------------------------------------------------------------------------------
    def article_texts(self) -> dict[str, str]:
        return {e.id: t for e, t in zip(self.entries, self.texts, strict=True)}

    def text_of(self, article_id: str) -> str:
        return self.texts[self._position[article_id]]

    def position_of(self, article_id: str) -> int:
        """The article's place in `entries` and `texts` (its id's rank)."""
        return self._position[article_id]

    @cached_property
    def _position(self) -> dict[str, int]:
        return {e.id: i for i, e in enumerate(self.entries)}

    def texts_offsets(self) -> np.ndarray | None:
        """Where each article's text lies in texts.json (for the next version to copy it from), or
        None for a snapshot written without them. Checked against the file by the writer."""
        try:
            return np.load(self.path / "texts_offsets.npy", allow_pickle=False)
        except (OSError, ValueError):
            return None

    def articles(self) -> list[Article]:
        """The articles as they were indexed (their text is what every offset points into)."""
        return [_article(e, t) for e, t in zip(self.entries, self.texts, strict=True)]

    def languages(self) -> frozenset[str]:
        """The languages the articles are written in, as indexed (`Article.language`: the front matter's
        `language`, else identified from the text; identified now for an entry that did not keep it)."""
        return frozenset(e.language or _article(e, t).language for e, t in zip(self.entries, self.texts, strict=True))

    # --- chunks and sentences -------------------------------------------------------------------
    @property
    def chunk_vectors(self) -> np.ndarray:
        """The chunks' unit vectors, one row per chunk (SnapshotError when a Chroma server holds them)."""
        if not self.holds_chunk_vectors:
            raise SnapshotError(f"{self.path} holds no chunk vectors: its Chroma server does")
        return self._array("chunk_vectors")

    @cached_property
    def chunk_position(self) -> dict[str, int]:
        """Chunk id → row (built once per snapshot, not per question)."""
        return {chunk_id: row for row, chunk_id in enumerate(self.chunk_ids)}

    def chunks(self) -> list[Chunk]:
        """Every chunk in article then offset order, with its sentences' spans (clipped to it)."""
        texts, spans = self.texts, self._array("sentence_span").tolist()
        result = []
        for chunk_id, article, (start, end), (first, stop) in zip(
            self.chunk_ids,
            self._array("chunk_article").tolist(),
            self._array("chunk_span").tolist(),
            self._array("chunk_rows").tolist(),
            strict=True,
        ):
            entry = self.entries[article]
            inside = tuple((max(s, start), min(e, end)) for s, e in spans[first:stop])
            result.append(
                Chunk(
                    chunk_id,
                    entry.id,
                    entry.title,
                    texts[article][start:end],
                    start,
                    end,
                    inside,
                    entry.hash,
                    entry.date,
                )
            )
        return result

    def sentence_table(self) -> SentenceTable:
        """Every sentence in article then offset order, with memory-mapped vectors."""
        ids, article_ids, texts = [], [], []
        spans = [tuple(s) for s in self._array("sentence_span").tolist()]
        for entry, text in zip(self.entries, self.texts, strict=True):
            first, stop = entry.sentence_rows
            ids += [f"{entry.id}:s{n}" for n in range(stop - first)]
            article_ids += [entry.id] * (stop - first)
            texts += [text[s:e] for s, e in spans[first:stop]]
        pages = [p or None for p in self._array("sentence_page").tolist()]
        return SentenceTable(ids, article_ids, spans, texts, self._array("sentence_vectors"), pages)

    def rows_of_chunk(self) -> list[list[int]]:
        """Chunk row → the sentence rows it overlaps."""
        return [list(range(a, b)) for a, b in self._array("chunk_rows").tolist()]

    def chunk_of_sentence(self) -> list[list[int]]:
        """Sentence row → the chunks overlapping it (a sentence longer than a chunk spans two)."""
        holders: list[list[int]] = [[] for _ in range(self.manifest["sentences"])]
        for chunk, (a, b) in enumerate(self._array("chunk_rows").tolist()):
            for row in range(a, b):
                holders[row].append(chunk)
        return holders

    # --- lexical side ---------------------------------------------------------------------------
    def sentence_tokens(self) -> list[frozenset[str]]:
        """Each sentence's distinct search tokens."""
        vocabulary, flat = self.tokens, self._array("sentence_tokens").tolist()
        ptr = self._array("sentence_token_ptr").tolist()
        return [frozenset(vocabulary[t] for t in flat[a:b]) for a, b in zip(ptr, ptr[1:], strict=False)]

    def idf(self) -> dict[str, float]:
        """Search token → inverse sentence frequency, `log(1 + (n - df + 0.5) / (df + 0.5))`."""
        df = np.asarray(self._array("sentence_df"), dtype=np.float64)
        n = max(self.manifest["sentences"], 1)
        values = np.log(1 + (n - df + 0.5) / (df + 0.5))
        return {t: v for t, v, f in zip(self.tokens, values.tolist(), df.tolist(), strict=True) if f > 0}

    def bm25(self):
        """BM25 over chunk tokens (`bm25s`, memory-mapped); None for an empty index."""
        return self._bm25

    def spellings(self) -> dict[str, str]:
        """Normalised word → its most common spelling in the articles."""
        return self._spellings

    def acronyms(self) -> dict[str, str]:
        """Lower-case acronym → the name the articles spell out (the first article's, when two differ)."""
        found: dict[str, str] = {}
        for entry in self.entries:
            for acronym, name in entry.acronyms.items():
                found.setdefault(acronym, name)
        return found

    # --- dense search over chunk vectors (the `DenseSearch` of an index without a server) ------
    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The `k` chunks nearest a unit vector, exactly: (chunk id, cosine similarity), best first."""
        vectors = self.chunk_vectors
        if not len(vectors) or k <= 0:
            return []
        scores = np.asarray(vectors @ np.asarray(vector, dtype=np.float32))
        top = top_k(scores, k)
        return [(self.chunk_ids[i], float(scores[i])) for i in top]


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indexes of the `k` highest scores, best first (ties by lower index): a partition, not a sort."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k < len(scores):
        part = np.argpartition(-scores, k - 1)[:k]
    else:
        part = np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]


ARRAYS = {  # the arrays with a row per chunk or sentence: name → (dtype, shape when empty, given the dimension)
    "chunk_article": (np.int32, lambda d: (0,)),
    "chunk_span": (np.int64, lambda d: (0, 2)),
    "chunk_rows": (np.int64, lambda d: (0, 2)),
    "chunk_vectors": (np.float32, lambda d: (0, d)),
    "sentence_article": (np.int32, lambda d: (0,)),
    "sentence_span": (np.int64, lambda d: (0, 2)),
    "sentence_page": (np.int32, lambda d: (0,)),
    "sentence_vectors": (np.float32, lambda d: (0, d)),
}


def _article(entry: ArticleEntry, text: str) -> Article:
    """The article `entry` describes, as it was indexed."""
    return Article(
        id=entry.id,
        title=entry.title,
        text=text,
        path=Path(entry.path) if entry.path else None,
        metadata=dict(entry.metadata),
    )
