"""Writing the next snapshot version (`index/snapshot.py` reads it): kept articles plus new ones.

The work follows what changed, not the size of the index. Kept articles lie in runs the previous
version holds in the same order, so their rows (vectors above all, 1.5 kB a sentence) and texts are
carried over file to file (`index/carry_over.py`), their tokens are sliced as whole runs, and only
the words they touch have their spelling decided again. BM25, whose every score depends on the
average chunk length, is rebuilt, vectorised (`index/bm25_index.py`). Only new articles are
processed. All of it goes into a temporary folder, synced to disk, then renamed into place.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import faults
from index.bm25_index import write_bm25
from index.carry_over import write_json_strings, write_rows
from index.records import ArticleRecords, most_common_spellings, spelling_counts
from index.snapshot import ARRAYS, CHUNK_STORE, FORMAT, SNAPSHOT, Snapshot


@dataclass(frozen=True)
class NewArticle:
    """An article to put into the next snapshot: its records and their unit vectors (the chunks'
    are None when a Chroma server holds them)."""

    records: ArticleRecords
    chunk_vectors: np.ndarray | None
    sentence_vectors: np.ndarray


@dataclass(frozen=True)
class _Run:
    """Consecutive kept articles: their positions, chunk rows and sentence rows in the previous snapshot."""

    articles: tuple[int, int]
    chunks: tuple[int, int]
    sentences: tuple[int, int]

    def then(self, other: _Run) -> _Run | None:
        """This run and `other` as one, when `other` follows it directly."""
        if (self.articles[1], self.chunks[1], self.sentences[1]) != (
            other.articles[0],
            other.chunks[0],
            other.sentences[0],
        ):
            return None
        return _Run(
            (self.articles[0], other.articles[1]),
            (self.chunks[0], other.chunks[1]),
            (self.sentences[0], other.sentences[1]),
        )


_ROWS = {  # the per-row arrays copied for kept runs: name → a new article's rows
    "chunk_span": lambda n: [(c.start, c.end) for c in n.records.chunks],
    "chunk_vectors": lambda n: n.chunk_vectors,
    "sentence_span": lambda n: n.records.sentence_spans,
    "sentence_page": lambda n: n.records.sentence_pages,
    "sentence_vectors": lambda n: n.sentence_vectors,
}


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
    half-written version, and `previous` is never touched.

    >>> write_snapshot(Path(".index/x/snapshots"), 2, signature, 384, snapshot, ["alpha"], [])  # doctest: +SKIP
    PosixPath('.index/x/snapshots/v00000002')
    """
    with _cyclic_gc_paused():
        return _write(folder, version, signature, dimension, previous, keep, new)


@contextlib.contextmanager
def _cyclic_gc_paused():
    """Writing allocates a few hundred thousand short-lived, acyclic objects (JSON pieces, counts):
    enough to set off a full collection, which walks every object the process holds (0.3 s in a
    50k-chunk sync). Reference counting frees them all the same."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _write(folder, version, signature, dimension, previous, keep, new) -> Path:
    final = folder / f"v{version:08d}"
    temporary = folder / f".v{version:08d}.{os.getpid()}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    fresh = {n.records.article.id: n for n in new}
    parts: list[_Run | NewArticle] = []  # in article order
    entries, chunk_counts, sentence_counts = [], [], []
    n_chunks = n_sentences = 0
    for article_id in sorted(set(keep) | set(fresh)):
        if article_id in fresh:
            item = fresh[article_id]
            parts.append(item)
            entry = _new_entry(item.records)
            chunk_count, sentence_count = len(item.records.chunks), len(item.records.sentence_spans)
        else:
            old = previous.by_id[article_id]
            (ca, cb), (sa, sb) = old.chunk_rows, old.sentence_rows
            position = previous.position_of(article_id)
            run = _Run((position, position + 1), (ca, cb), (sa, sb))
            joined = parts[-1].then(run) if parts and isinstance(parts[-1], _Run) else None
            if joined:
                parts[-1] = joined
            else:
                parts.append(run)
            entry = {k: v for k, v in old.__dict__.items() if k not in ("chunk_rows", "sentence_rows")}
            chunk_count, sentence_count = cb - ca, sb - sa
        entry["chunk_rows"] = [n_chunks, n_chunks + chunk_count]
        entry["sentence_rows"] = [n_sentences, n_sentences + sentence_count]
        n_chunks, n_sentences = n_chunks + chunk_count, n_sentences + sentence_count
        chunk_counts.append(chunk_count)
        sentence_counts.append(sentence_count)
        entries.append(entry)

    rows = {k: v for k, v in _ROWS.items() if k != "chunk_vectors" or signature.get(CHUNK_STORE, SNAPSHOT) == SNAPSHOT}
    for name, new_rows in rows.items():
        dtype, empty = ARRAYS[name]
        tail = empty(dimension)[1:]
        blocks = [
            (p.chunks if name.startswith("chunk") else p.sentences)
            if isinstance(p, _Run)
            else np.asarray(new_rows(p), dtype=dtype).reshape(-1, *tail)
            for p in parts
        ]
        write_rows(temporary / f"{name}.npy", dtype, tail, blocks, previous._array(name) if previous else None)
    with ThreadPoolExecutor(max_workers=1) as background:  # the disk writes the rows while we work on
        rows_synced = background.submit(_fsync_files, [temporary / f"{name}.npy" for name in rows])
        _save(temporary / "chunk_rows.npy", _chunk_rows(previous, parts))
        positions = np.arange(len(entries), dtype=np.int32)
        _save(temporary / "chunk_article.npy", np.repeat(positions, chunk_counts))
        _save(temporary / "sentence_article.npy", np.repeat(positions, sentence_counts))

        vocabulary, chunk_flat, chunk_ptr, sentence_flat, sentence_ptr = _tokens(previous, parts)
        _save(temporary / "chunk_tokens.npy", chunk_flat)
        _save(temporary / "chunk_token_ptr.npy", chunk_ptr)
        _save(temporary / "sentence_tokens.npy", sentence_flat)
        _save(temporary / "sentence_token_ptr.npy", sentence_ptr)
        _save(temporary / "sentence_df.npy", np.bincount(sentence_flat, minlength=len(vocabulary)).astype(np.int32))
        _write_json(temporary / "tokens.json", vocabulary)
        _write_json(temporary / "chunk_ids.json", _chunk_ids(previous, parts))
        _save(temporary / "texts_offsets.npy", _write_texts(temporary / "texts.json", previous, parts))
        counts, spellings = _spellings(previous, keep, fresh)
        _write_json(temporary / "spelling_counts.json", {"pairs": list(counts), "counts": list(counts.values())})
        _write_json(temporary / "spellings.json", spellings)

        if n_chunks:
            write_bm25(temporary / "bm25", vocabulary, chunk_flat, chunk_ptr)
            _fsync_files(list((temporary / "bm25").iterdir()))
        rows_synced.result()
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


def _new_entry(records: ArticleRecords) -> dict:
    article = records.article
    pages = getattr(article, "page_starts", None)
    return {
        "id": article.id,
        "title": article.title,
        "date": article.date,
        "format": article.path.suffix.lstrip(".").lower() if article.path else "",
        "pages": len(pages) if pages else None,
        "path": str(article.path) if article.path else "",
        "hash": article.content_hash,
        "metadata": json.loads(json.dumps(article.metadata, default=str)),
        "acronyms": records.acronyms,
        "language": records.language,
    }


def _chunk_rows(previous: Snapshot | None, parts: list) -> np.ndarray:
    """Each chunk's sentence rows in the new numbering (a kept run's shift by where it now starts)."""
    blocks, start = [], 0
    for part in parts:
        if isinstance(part, _Run):
            (ca, cb), (sa, sb) = part.chunks, part.sentences
            blocks.append(np.asarray(previous._array("chunk_rows")[ca:cb], dtype=np.int64) - sa + start)
            start += sb - sa
        else:
            blocks.append(np.asarray(part.records.chunk_rows, dtype=np.int64).reshape(-1, 2) + start)
            start += len(part.records.sentence_spans)
    return np.concatenate(blocks) if blocks else np.zeros((0, 2), dtype=np.int64)


def _chunk_ids(previous: Snapshot | None, parts: list) -> list[str]:
    ids: list[str] = []
    for part in parts:
        ids += (
            previous.chunk_ids[slice(*part.chunks)] if isinstance(part, _Run) else [c.id for c in part.records.chunks]
        )
    return ids


def _tokens(previous: Snapshot | None, parts: list):
    """The vocabulary (only tokens in use, sorted: a clean build and a sync give the same ids) and
    the chunk and sentence tokens as flat ids plus pointers."""
    union = list(previous.tokens) if previous is not None else []
    lookup: dict[str, int] | None = None
    flats: dict[str, list[np.ndarray]] = {"chunk": [], "sentence": []}
    lengths: dict[str, list[np.ndarray]] = {"chunk": [], "sentence": []}
    for part in parts:
        for kind in ("chunk", "sentence"):
            if isinstance(part, _Run):
                a, b = part.chunks if kind == "chunk" else part.sentences
                flat, ptr = (
                    previous._array(f"{kind}_tokens"),
                    np.asarray(previous._array(f"{kind}_token_ptr")[a : b + 1]),
                )
                flats[kind].append(np.asarray(flat[ptr[0] : ptr[-1]], dtype=np.int64))
                lengths[kind].append(np.diff(ptr))
            else:
                if lookup is None:
                    lookup = {t: i for i, t in enumerate(union)}
                lists = part.records.chunk_tokens if kind == "chunk" else part.records.sentence_tokens
                ids = [lookup.setdefault(t, len(lookup)) for tokens in lists for t in tokens]
                flats[kind].append(np.asarray(ids, dtype=np.int64))
                lengths[kind].append(np.asarray([len(tokens) for tokens in lists], dtype=np.int64))
    if lookup is not None:
        union = list(lookup)  # the previous vocabulary, then new tokens in order of appearance
    chunk_flat, sentence_flat = (np.concatenate(flats[k] or [np.zeros(0, np.int64)]) for k in ("chunk", "sentence"))
    used = np.flatnonzero(np.bincount(np.concatenate([chunk_flat, sentence_flat]), minlength=len(union)))
    if previous is not None and len(used) == len(union) == len(previous.tokens):  # the same vocabulary
        vocabulary, remap = previous.tokens, np.arange(len(union), dtype=np.int32)
    else:
        vocabulary = sorted(union[i] for i in used.tolist())
        rank = {t: i for i, t in enumerate(vocabulary)}
        remap = np.zeros(len(union), dtype=np.int32)
        remap[used] = [rank[union[i]] for i in used.tolist()]

    def pointers(kind: str) -> np.ndarray:
        counts = np.concatenate(lengths[kind] or [np.zeros(0, np.int64)])
        return np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)

    return vocabulary, remap[chunk_flat], pointers("chunk"), remap[sentence_flat], pointers("sentence")


def _write_texts(path: Path, previous: Snapshot | None, parts: list) -> np.ndarray:
    """texts.json, kept runs copied from the previous one's file; its strings' byte offsets."""
    blocks = [p.articles if isinstance(p, _Run) else p.records.article.text for p in parts]
    if previous is None:
        return write_json_strings(path, blocks, None, None, [])
    offsets = previous.texts_offsets()
    source = previous.path / "texts.json" if offsets is not None else None
    return write_json_strings(path, blocks, source, offsets, previous.texts)


def _spellings(previous: Snapshot | None, keep: list[str], fresh: dict[str, NewArticle]) -> tuple[dict, dict]:
    """Global spelling counts ("word\tspelling" → occurrences: the previous ones, minus articles
    dropped or replaced, plus new ones) and each word's most common spelling, decided again only for
    the words those articles hold (by `most_common_spellings`: ties to the smallest string)."""
    counts: dict[str, int] = {}
    spellings: dict[str, str] = {}
    changes: list[tuple[Counter, int]] = []
    if previous is not None:
        stored = previous._json("spelling_counts")
        counts = dict(zip(stored["pairs"], stored["counts"], strict=True))
        spellings = dict(previous.spellings())
        kept = set(keep)
        changes += [(spelling_counts(previous.text_of(e.id)), -1) for e in previous.entries if e.id not in kept]
    changes += [(spelling_counts(item.records.article.text), 1) for item in fresh.values()]
    touched_pairs: set[str] = set()
    for change, sign in changes:
        for (word, surface), n in change.items():
            key = f"{word}\t{surface}"
            counts[key] = counts.get(key, 0) + sign * n
            touched_pairs.add(key)
    for key in touched_pairs:
        if counts[key] <= 0:
            del counts[key]
    touched = {key.partition("\t")[0] for key in touched_pairs}
    touched_counts: Counter = Counter()
    for key, count in counts.items():
        word, _, surface = key.partition("\t")
        if word in touched:
            touched_counts[(word, surface)] = count
    best = most_common_spellings(touched_counts)
    new_words = False
    for word in touched:
        if word in best:
            new_words = new_words or word not in spellings
            spellings[word] = best[word]
        else:
            spellings.pop(word, None)
    return counts, dict(sorted(spellings.items())) if new_words else spellings


def _save(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())


def _write_json(path: Path, value) -> None:
    # `json.dumps`, not `json.dump`: only the one-shot encoder is the C one (texts.json is ~25 MB at 50k chunks).
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_files(paths: list[Path]) -> None:
    """Sync files written without it (bm25s saves without syncing)."""
    for path in paths:
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    for sub in [path, *[p for p in path.iterdir() if p.is_dir()]]:
        fd = os.open(sub, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
