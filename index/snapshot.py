"""The snapshot: one immutable, versioned folder holding everything answering reads from an index.

Articles (text, title, date, format, pages), chunks and sentences (offsets, pages, unit vectors as
memory-mapped float32 `.npy`), search tokens, BM25 (`bm25s`, memory-mapped), token document
frequencies for IDF, and the spelling vocabulary. It is computed at index time and loaded, never
recomputed, at start-up. `write_snapshot` builds the next version from the previous one plus the
changed articles only; `index/folder.py` switches versions atomically. Reading is `Snapshot.open`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from index import faults
from index.bm25_index import write_bm25
from index.records import ArticleRecords, most_common_spellings, spelling_counts
from index.types import Chunk, SentenceTable
from knowledge.types import Article

FORMAT = 3  # 2: sentence contexts in the tokens and vectors, acronyms per article; 3: and what they point back to


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

    @property
    def chunk_count(self) -> int:
        return self.chunk_rows[1] - self.chunk_rows[0]

    @property
    def sentence_count(self) -> int:
        return self.sentence_rows[1] - self.sentence_rows[0]


@dataclass(frozen=True)
class NewArticle:
    """An article to put into the next snapshot: its records and their unit vectors."""

    records: ArticleRecords
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray


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
        rows = {name: n_chunks if name.startswith("chunk") else n_sentences for name in _ARRAYS}
        rows |= {"chunk_token_ptr": n_chunks + 1, "sentence_token_ptr": n_sentences + 1}
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

    @cached_property
    def _position(self) -> dict[str, int]:
        return {e.id: i for i, e in enumerate(self.entries)}

    def articles(self) -> list[Article]:
        """The articles as they were indexed (their text is what every offset points into)."""
        return [
            Article(id=e.id, title=e.title, text=t, path=Path(e.path) if e.path else None, metadata=dict(e.metadata))
            for e, t in zip(self.entries, self.texts, strict=True)
        ]

    # --- chunks and sentences -------------------------------------------------------------------
    @property
    def chunk_vectors(self) -> np.ndarray:
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

    # --- dense search over chunk vectors ------------------------------------------------------
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


# --- writing ----------------------------------------------------------------------------------
def write_snapshot(
    folder: Path,
    version: int,
    signature: dict,
    dimension: int,
    previous: Snapshot | None,
    keep: list[str],
    new: list[NewArticle],
) -> Path:
    """Write snapshot `version` into `folder/v<version>`: `keep` (ids of `previous`) plus `new`.

    Kept articles are copied from `previous` (no re-tokenising, no re-embedding); only new ones are
    processed. Written into a temporary folder, synced to disk, then renamed: a reader never sees a
    half-written version."""
    final = folder / f"v{version:08d}"
    temporary = folder / f".v{version:08d}.{os.getpid()}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    fresh = {n.records.article.id: n for n in new}
    order = sorted(set(keep) | set(fresh))
    old_vocabulary = previous.tokens if previous is not None else []
    extra: dict[str, int] = {}  # tokens of new articles missing from the old vocabulary

    def token_ids(tokens: list[str], lookup: dict[str, int]) -> np.ndarray:
        out = np.empty(len(tokens), dtype=np.int64)
        for i, t in enumerate(tokens):
            index = lookup.get(t)
            if index is None:
                index = extra.setdefault(t, len(old_vocabulary) + len(extra))
            out[i] = index
        return out

    old_lookup = {t: i for i, t in enumerate(old_vocabulary)} if fresh else {}
    entries, texts, chunk_ids = [], [], []
    pieces: dict[str, list[np.ndarray]] = {k: [] for k in _ARRAYS}
    chunk_token_lists: list[np.ndarray] = []
    sentence_token_lists: list[np.ndarray] = []
    n_chunks = n_sentences = 0
    for position, article_id in enumerate(order):
        if article_id in fresh:
            item = fresh[article_id]
            records, article = item.records, item.records.article
            spans = np.asarray(records.sentence_spans, dtype=np.int64).reshape(-1, 2)
            pieces["sentence_span"].append(spans)
            pieces["sentence_page"].append(np.asarray(records.sentence_pages, dtype=np.int32))
            pieces["sentence_vectors"].append(
                np.asarray(item.sentence_vectors, dtype=np.float32).reshape(-1, dimension)
            )
            pieces["chunk_span"].append(
                np.asarray([(c.start, c.end) for c in records.chunks], dtype=np.int64).reshape(-1, 2)
            )
            pieces["chunk_rows"].append(np.asarray(records.chunk_rows, dtype=np.int64).reshape(-1, 2) + n_sentences)
            pieces["chunk_vectors"].append(np.asarray(item.chunk_vectors, dtype=np.float32).reshape(-1, dimension))
            chunk_ids += [c.id for c in records.chunks]
            chunk_token_lists += [token_ids(t, old_lookup) for t in records.chunk_tokens]
            sentence_token_lists += [token_ids(t, old_lookup) for t in records.sentence_tokens]
            n_new_chunks, n_new_sentences = len(records.chunks), len(spans)
            pages = getattr(article, "page_starts", None)
            entry = {
                "id": article.id,
                "title": article.title,
                "date": article.date,
                "format": article.path.suffix.lstrip(".").lower() if article.path else "",
                "pages": len(pages) if pages else None,
                "path": str(article.path) if article.path else "",
                "hash": article.content_hash,
                "metadata": json.loads(json.dumps(article.metadata, default=str)),
                "acronyms": records.acronyms,
            }
            text = article.text
        else:
            old = previous.by_id[article_id]
            (ca, cb), (sa, sb) = old.chunk_rows, old.sentence_rows
            for name in ("sentence_span", "sentence_page", "sentence_vectors", "chunk_span", "chunk_vectors"):
                source = previous._array(name)
                pieces[name].append(np.asarray(source[sa:sb] if name.startswith("sentence") else source[ca:cb]))
            pieces["chunk_rows"].append(np.asarray(previous._array("chunk_rows")[ca:cb]) - sa + n_sentences)
            chunk_ids += previous.chunk_ids[ca:cb]
            chunk_token_lists += _token_slices(previous, "chunk", ca, cb)
            sentence_token_lists += _token_slices(previous, "sentence", sa, sb)
            n_new_chunks, n_new_sentences = cb - ca, sb - sa
            entry = {k: v for k, v in old.__dict__.items() if k not in ("chunk_rows", "sentence_rows")}
            text = previous.text_of(article_id)
        pieces["chunk_article"].append(np.full(n_new_chunks, position, dtype=np.int32))
        pieces["sentence_article"].append(np.full(n_new_sentences, position, dtype=np.int32))
        entry["chunk_rows"] = [n_chunks, n_chunks + n_new_chunks]
        entry["sentence_rows"] = [n_sentences, n_sentences + n_new_sentences]
        n_chunks += n_new_chunks
        n_sentences += n_new_sentences
        entries.append(entry)
        texts.append(text)

    vocabulary, chunk_flat, chunk_ptr, sentence_flat, sentence_ptr = _compact_tokens(
        old_vocabulary + list(extra), chunk_token_lists, sentence_token_lists
    )
    for name, (dtype, shape) in _ARRAYS.items():
        parts = pieces[name]
        array = np.concatenate(parts) if parts else np.zeros(shape(dimension), dtype=dtype)
        _save(temporary / f"{name}.npy", array.astype(dtype, copy=False))
    _save(temporary / "chunk_tokens.npy", chunk_flat)
    _save(temporary / "chunk_token_ptr.npy", chunk_ptr)
    _save(temporary / "sentence_tokens.npy", sentence_flat)
    _save(temporary / "sentence_token_ptr.npy", sentence_ptr)
    _save(temporary / "sentence_df.npy", np.bincount(sentence_flat, minlength=len(vocabulary)).astype(np.int32))
    _write_json(temporary / "tokens.json", vocabulary)
    _write_json(temporary / "chunk_ids.json", chunk_ids)
    _write_json(temporary / "texts.json", texts)
    counts = _spelling_counts(previous, keep, fresh)
    _write_json(
        temporary / "spelling_counts.json",
        {"pairs": ["\t".join(pair) for pair in counts], "counts": list(counts.values())},
    )
    _write_json(temporary / "spellings.json", most_common_spellings(counts))
    if n_chunks:
        write_bm25(temporary / "bm25", vocabulary, chunk_flat, chunk_ptr)
    faults.checkpoint("snapshot-half-written")
    manifest = {
        "format": FORMAT,
        "version": version,
        "signature": signature,
        "dimension": dimension,
        "chunks": n_chunks,
        "sentences": n_sentences,
        "articles": entries,
    }
    _write_json(temporary / "manifest.json", manifest)  # last: a folder without it is incomplete
    _fsync_dir(temporary)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(temporary, final)
    _fsync_dir(folder)
    return final


_ARRAYS = {  # name → (dtype, shape when empty, given the dimension)
    "chunk_article": (np.int32, lambda d: (0,)),
    "chunk_span": (np.int64, lambda d: (0, 2)),
    "chunk_rows": (np.int64, lambda d: (0, 2)),
    "chunk_vectors": (np.float32, lambda d: (0, d)),
    "sentence_article": (np.int32, lambda d: (0,)),
    "sentence_span": (np.int64, lambda d: (0, 2)),
    "sentence_page": (np.int32, lambda d: (0,)),
    "sentence_vectors": (np.float32, lambda d: (0, d)),
}


def _token_slices(previous: Snapshot, kind: str, a: int, b: int) -> list[np.ndarray]:
    flat, ptr = previous._array(f"{kind}_tokens"), previous._array(f"{kind}_token_ptr")
    start, stop = int(ptr[a]), int(ptr[b])
    block = np.asarray(flat[start:stop], dtype=np.int64)
    offsets = np.asarray(ptr[a : b + 1], dtype=np.int64) - start
    return np.split(block, offsets[1:-1]) if b > a else []


def _compact_tokens(union: list[str], chunk_lists, sentence_lists):
    """Keep only the tokens in use, sorted (so a clean build and a sync give the same ids)."""
    chunk_flat = np.concatenate(chunk_lists) if chunk_lists else np.zeros(0, dtype=np.int64)
    sentence_flat = np.concatenate(sentence_lists) if sentence_lists else np.zeros(0, dtype=np.int64)
    used = np.flatnonzero(np.bincount(np.concatenate([chunk_flat, sentence_flat]), minlength=len(union)))
    vocabulary = sorted(union[i] for i in used.tolist())
    rank = {t: i for i, t in enumerate(vocabulary)}
    remap = np.zeros(len(union), dtype=np.int32)
    for i in used.tolist():
        remap[i] = rank[union[i]]

    def pointers(lists) -> np.ndarray:
        return np.concatenate([[0], np.cumsum([len(x) for x in lists], dtype=np.int64)]).astype(np.int64)

    return (
        vocabulary,
        remap[chunk_flat].astype(np.int32),
        pointers(chunk_lists),
        remap[sentence_flat].astype(np.int32),
        pointers(sentence_lists),
    )


def _spelling_counts(previous: Snapshot | None, keep: list[str], fresh: dict[str, NewArticle]) -> Counter:
    """Global spelling counts: the previous ones, minus articles dropped or replaced, plus new ones."""
    counts: Counter = Counter()
    if previous is not None:
        stored = previous._json("spelling_counts")
        counts = Counter(
            {tuple(pair.split("\t")): n for pair, n in zip(stored["pairs"], stored["counts"], strict=True)}
        )
        kept = set(keep)
        for entry in previous.entries:
            if entry.id not in kept:
                counts.subtract(spelling_counts(previous.text_of(entry.id)))
    for item in fresh.values():
        counts.update(spelling_counts(item.records.article.text))
    return Counter({pair: n for pair, n in counts.items() if n > 0})


def _save(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())


def _write_json(path: Path, value) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, ensure_ascii=False, separators=(",", ":"))
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    for sub in [path, *[p for p in path.iterdir() if p.is_dir()]]:
        fd = os.open(sub, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
