"""Sync an index with a list of articles: crash-safe, one writer at a time, embedding only what changed.

Under the folder's lock: read the committed snapshot, record the articles about to be touched, embed
the new or changed ones in large batches (near the model's raw throughput; vectors are kept per
article until the commit, so a crash loses no embedding), then write the next snapshot and switch to
it in one atomic rename. Until that rename readers keep the previous one.

With a Chroma server (which then holds the chunk vectors, index/store.py) a sync also checks the
server's collection against the committed snapshot first (a crashed sync's rows are redone: "1
repaired"; missing chunks are embedded again), writes new chunks' rows before the switch and
deletes old ones only after it, so a reader of either snapshot finds all of its own rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from index import faults
from index.chunking import split_into_chunks, split_into_sentences
from index.embeddings import Embedder
from index.folder import IndexFolder
from index.lexical import tokenize
from index.records import ArticleRecords, derive_records
from index.snapshot import CHUNK_STORE, SERVER, SNAPSHOT, Snapshot, SnapshotError
from index.snapshot_write import NewArticle, write_snapshot
from index.store import ChromaServer, Store
from index.types import SyncPhase, SyncProgress
from knowledge.types import Article

log = logging.getLogger(__name__)

EMBED_GROUP = 2048  # texts per embedding call: large enough for full batches, small enough for progress
ProgressCallback = Callable[[SyncProgress], None]


@dataclass(frozen=True)
class SyncReport:
    """What a sync did. `report.embedded == 0` means nothing was re-embedded."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    rebuilt: bool = False
    embedded: int = 0
    seconds: float = 0.0
    version: int | None = None  # the committed snapshot version after the sync
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people: `2 added, 0 changed, 1 removed, 5 unchanged (40 texts embedded, 1.2 s)`."""
        head = "rebuilt: " if self.rebuilt else ""
        repaired = f", {len(self.repaired)} repaired" if self.repaired else ""
        return (
            f"{head}{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged{repaired} ({self.embedded} texts embedded, {self.seconds:.1f} s)"
        )


REBUILT_WHEN_CHANGED = ("embedding_model", "dimension", "chunking", CHUNK_STORE)


def index_signature(embedder: Embedder, chunk_size: int, chunk_overlap: int, server: bool = False) -> dict[str, str]:
    """What an index was built with. A different model or chunking needs new vectors, and so does
    moving the chunk vectors between the snapshot and a Chroma server; a different tokenizer only
    new search tokens. Fingerprints catch behaviour changes in code we call."""
    probe = "Dr. Li met the U.S. team. It rained.\nChang’e 6 (嫦娥六号) landed in 2024! Did it? Yes."
    chunking = _fingerprint([split_into_sentences(probe), [(c.start, c.end) for c in _probe_chunks(probe)]])
    return {
        "embedding_model": embedder.name,
        "dimension": str(embedder.dimension),
        "chunking": f"{chunk_size}/{chunk_overlap}/{chunking}",
        "lexical": _fingerprint(
            [tokenize(probe + " Türkiye’s launches IDSEA's"), tokenize("L’association sera située à Hefei.", "fr")]
        ),
        CHUNK_STORE: SERVER if server else SNAPSHOT,
    }


def sync_index(
    articles: list[Article],
    folder: IndexFolder,
    embedder: Embedder,
    chunk_size: int = 700,
    chunk_overlap: int = 150,
    server: ChromaServer | None = None,
    rebuild: bool = False,
    progress: ProgressCallback | None = None,
    wait: float | None = None,
    on_wait: Callable[[str], None] | None = None,
    verify: bool = True,
) -> SyncReport:
    """Make the index hold exactly `articles`, embedding only new or changed ones.

    `server`: the Chroma server holding the chunk vectors (None: the snapshot holds them). `wait`:
    seconds to wait for another writer (None: as long as it takes; 0: raise `IndexBusyError` at
    once). `verify=False` skips checking the server when nothing changed (a question's quick sync);
    a sync with work always checks it.

    >>> sync_index(load_articles("knowledge/articles"), IndexFolder(".index/x"), embedder).summary()  # doctest: +SKIP
    '1 added, 0 changed, 0 removed, 0 unchanged (49 texts embedded, 0.9 s)'
    """
    began = time.perf_counter()
    signature = index_signature(embedder, chunk_size, chunk_overlap, server is not None)
    with folder.writing(wait=wait, on_wait=on_wait):
        faults.checkpoint("locked")
        sync = _Sync(articles, folder, signature, embedder, chunk_size, chunk_overlap, progress or (lambda _: None))
        return sync.run(server, rebuild, verify, began)


class _Sync:
    """One sync under the lock (a class only to share its many inputs between the steps)."""

    def __init__(self, articles, folder, signature, embedder, chunk_size, chunk_overlap, progress):
        self.articles = {a.id: a for a in articles}
        self.folder, self.signature, self.embedder = folder, signature, embedder
        self.chunk_size, self.chunk_overlap = chunk_size, chunk_overlap
        self.progress = progress
        self.warnings: list[str] = []
        self.rebuilt = False
        self.part_key = _fingerprint({k: signature[k] for k in ("embedding_model", "dimension", "chunking")})

    def warn(self, message: str) -> None:
        log.warning(message)
        self.warnings.append(message)

    def run(self, server: ChromaServer | None, rebuild: bool, verify: bool, began: float) -> SyncReport:
        snapshot = self._committed_snapshot(rebuild)
        committed = {e.id: e for e in snapshot.entries} if snapshot else {}
        added = [i for i in self.articles if i not in committed]
        changed = [i for i in self.articles if i in committed and committed[i].hash != self.articles[i].content_hash]
        removed = sorted(set(committed) - set(self.articles))
        unchanged = [i for i in self.articles if i in committed and i not in changed]
        relex = snapshot is not None and snapshot.signature.get("lexical") != self.signature["lexical"]
        pending = self.folder.pending()
        if snapshot is not None and not (added or changed or removed or relex or pending or verify):
            return SyncReport(unchanged=unchanged, seconds=time.perf_counter() - began, version=snapshot.version)

        self.progress(SyncProgress(SyncPhase.SCANNING, articles_total=len(self.articles)))
        if server is None:
            self.folder.remove_embedded_chroma()  # an earlier version's copy of the snapshot's chunk vectors
        store = self._open_store(server) if server is not None else None
        try:
            repaired, re_embedded = (
                self._reconcile(store, snapshot, pending, set(added) | set(changed) | set(removed))
                if store is not None
                else (set(), 0)
            )
            work = sorted(added + changed)
            if not (work or removed or relex or snapshot is None):  # the snapshot stands; the server matches it now
                if store is not None and (repaired or store.marker() != snapshot.version):
                    store.set_marker(snapshot.version)
                self.folder.clear_pending()
                return self._report(added, changed, removed, unchanged, repaired, re_embedded, began, snapshot.version)
            self.folder.set_pending(pending | set(work) | set(removed) | set(repaired))
            faults.checkpoint("journaled")
            fresh, embedded = self._embed_and_store(work, store)
            if relex:  # a new tokenizer: re-derive every kept article's tokens, keep its vectors
                fresh += [self._rederive(snapshot, i) for i in unchanged]
                keep = []
            else:
                keep = unchanged
            self.progress(SyncProgress(SyncPhase.WRITING, articles_total=len(self.articles)))
            version = self.folder.next_version()
            faults.checkpoint("writing-snapshot")
            write_snapshot(
                self.folder.snapshots, version, self.signature, self.embedder.dimension, snapshot, keep, fresh
            )
            faults.checkpoint("snapshot-written")
            self.folder.switch(version)
            faults.checkpoint("switched")
            if store is not None:  # the old snapshot's rows, now that no new reader opens it
                kept = {c.id for n in fresh for c in n.records.chunks}
                store.delete_ids(sorted(_chunk_ids_of(snapshot, removed + changed) - kept))
                faults.checkpoint("deleted")
                store.set_marker(version)
                faults.checkpoint("marked")
            self.folder.clear_pending()
        finally:
            _close(store)
        self.progress(SyncProgress(SyncPhase.DONE, articles_total=len(self.articles)))
        return self._report(added, changed, removed, unchanged, repaired, embedded + re_embedded, began, version)

    def _report(self, added, changed, removed, unchanged, repaired, embedded, began, version) -> SyncReport:
        return SyncReport(
            added=added,
            changed=changed,
            removed=removed,
            unchanged=unchanged,
            repaired=sorted(repaired),
            rebuilt=self.rebuilt,
            embedded=embedded,
            seconds=time.perf_counter() - began,
            version=version,
            warnings=self.warnings,
        )

    def _committed_snapshot(self, rebuild: bool) -> Snapshot | None:
        """The committed snapshot if it can be built upon, else None (and a rebuild)."""
        try:
            snapshot = self.folder.snapshot()
        except SnapshotError as exc:
            self.warn(f"The index at {self.folder.path} is damaged ({exc}); rebuilding it from the articles")
            self.folder.remove_snapshots()
            snapshot, self.rebuilt = None, True
        if snapshot is not None and rebuild:  # the old snapshot answers until the new one is committed
            snapshot, self.rebuilt = None, True
        elif snapshot is not None and any(
            snapshot.signature.get(k, SNAPSHOT if k == CHUNK_STORE else None) != self.signature[k]
            for k in REBUILT_WHEN_CHANGED
        ):
            self.warn("Index was built with another model, chunking or vector store: rebuilding it from the articles")
            self.folder.remove_snapshots()  # its vectors do not fit this model's questions
            snapshot, self.rebuilt = None, True
        return snapshot

    def _open_store(self, server: ChromaServer) -> Store:
        """The server's collection; a server we cannot reach is an error (nothing is deleted)."""
        store = server.open(self.signature)
        store.count()
        return store

    def _reconcile(
        self, store: Store, snapshot: Snapshot | None, pending: set[str], touched: set[str]
    ) -> tuple[set[str], int]:
        """Make the server hold exactly the committed snapshot's chunks (except for articles this
        sync rewrites anyway): rows of no committed chunk are deleted, missing ones embedded again.
        Returns the articles that needed it (an interrupted sync's, or all of them for a server
        restarted empty) and the number of texts embedded."""
        if snapshot is None:
            if store.count():
                store.reset()
            return set(), 0
        if not store.signature_matches():
            store.reset()
        elif not pending and store.marker() == snapshot.version and store.count() == snapshot.manifest["chunks"]:
            return set(), 0
        held = store.ids_by_article()
        extra: set[str] = set()
        missing: set[str] = set()
        repaired = set()
        for article_id in sorted(set(held) | set(snapshot.by_id)):
            entry = snapshot.by_id.get(article_id)
            expected = set(snapshot.chunk_ids[entry.chunk_rows[0] : entry.chunk_rows[1]]) if entry else set()
            have = held.get(article_id, set())
            if have == expected:
                continue
            repaired.add(article_id)
            extra |= have - expected
            if article_id not in touched:
                missing |= expected - have
        store.delete_ids(sorted(extra))
        if missing:
            chunks = [c for c in snapshot.chunks() if c.id in missing]
            for i in range(0, len(chunks), EMBED_GROUP):
                group = chunks[i : i + EMBED_GROUP]
                store.upsert(group, self.embedder.encode([c.text for c in group]))
        if repaired:
            log.info("Repaired %d article(s) the Chroma server held incompletely", len(repaired))
        return repaired, len(missing)

    def _embed_and_store(self, work: list[str], store: Store | None) -> tuple[list[NewArticle], int]:
        """Records and vectors of the articles in `work` (vectors from an interrupted sync's parts
        when present), their chunks written to the server (if any) as each group is embedded."""
        records = [derive_records(self.articles[i], self.chunk_size, self.chunk_overlap) for i in work]
        vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for r in records:
            part = self.folder.load_part(r.article.content_hash, self.part_key)
            if part is not None and len(part[0]) == len(r.chunks) and len(part[1]) == len(r.sentence_spans):
                vectors[r.article.id] = part
        todo = [r for r in records if r.article.id not in vectors]
        total = sum(len(r.chunks) + len(r.sentence_spans) for r in todo)
        done, started = 0, time.perf_counter()
        fresh: list[NewArticle] = []
        for r in records:  # resumed articles first: they cost no embedding
            if r.article.id in vectors:
                fresh.append(self._store_article(r, *vectors[r.article.id], store))
        for group in _groups(todo, EMBED_GROUP):
            texts = [t for r in group for t in r.texts_to_embed()]
            elapsed = time.perf_counter() - started
            self.progress(embedding_progress(len(fresh), len(records), done, total, elapsed, group[0].article.title))
            embedded = self.embedder.encode(texts)
            cursor = 0
            for r in group:
                n_chunks, n_sentences = len(r.chunks), len(r.sentence_spans)
                chunk_vectors = embedded[cursor : cursor + n_chunks]
                sentence_vectors = embedded[cursor + n_chunks : cursor + n_chunks + n_sentences]
                cursor += n_chunks + n_sentences
                self.folder.save_part(r.article.content_hash, self.part_key, chunk_vectors, sentence_vectors)
                fresh.append(self._store_article(r, chunk_vectors, sentence_vectors, store))
                faults.checkpoint("article-written")
            done += len(texts)
        if todo:
            self.progress(embedding_progress(len(fresh), len(records), done, total, time.perf_counter() - started))
        return fresh, total

    @staticmethod
    def _store_article(r: ArticleRecords, chunk_vectors, sentence_vectors, store: Store | None) -> NewArticle:
        if store is None:
            return NewArticle(r, chunk_vectors, sentence_vectors)
        store.upsert(r.chunks, chunk_vectors)
        return NewArticle(r, None, sentence_vectors)

    def _rederive(self, snapshot: Snapshot, article_id: str) -> NewArticle:
        entry = snapshot.by_id[article_id]
        records = derive_records(self.articles[article_id], self.chunk_size, self.chunk_overlap)
        (ca, cb), (sa, sb) = entry.chunk_rows, entry.sentence_rows
        chunk_vectors = np.asarray(snapshot.chunk_vectors[ca:cb]) if snapshot.holds_chunk_vectors else None
        return NewArticle(records, chunk_vectors, np.asarray(snapshot._array("sentence_vectors")[sa:sb]))


def _chunk_ids_of(snapshot: Snapshot | None, article_ids: list[str]) -> set[str]:
    """The chunk ids `snapshot` holds for these articles."""
    ids: set[str] = set()
    for article_id in article_ids:
        entry = snapshot.by_id.get(article_id) if snapshot is not None else None
        if entry is not None:
            ids.update(snapshot.chunk_ids[entry.chunk_rows[0] : entry.chunk_rows[1]])
    return ids


def _groups(records: list[ArticleRecords], size: int):
    """Consecutive articles in groups of about `size` texts (an article is never split)."""
    group, count = [], 0
    for r in records:
        group.append(r)
        count += len(r.chunks) + len(r.sentence_spans)
        if count >= size:
            yield group
            group, count = [], 0
    if group:
        yield group


def embedding_progress(
    articles_done: int, articles_total: int, done: int, total: int, seconds: float, article: str = ""
) -> SyncProgress:
    """An embedding-phase progress event; without an `article` it is the last one (nothing left)."""
    return SyncProgress(
        SyncPhase.EMBEDDING,
        articles_done=articles_done,
        articles_total=articles_total,
        texts_done=done,
        texts_total=total,
        article=article,
        seconds=seconds,
        seconds_left=_eta(done, total, seconds) if article else 0.0,
    )


def _eta(done: int, total: int, seconds: float) -> float | None:
    return seconds / done * (total - done) if done and seconds > 1 else None


def _fingerprint(value) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, default=str).encode()).hexdigest()[:10]


def _probe_chunks(text: str):
    return split_into_chunks(Article(id="probe", title="Probe", text=text * 20), 200, 40)


def _close(store: Store | None) -> None:
    """Release the server's client now (the next sync opens its own)."""
    if store is not None:
        store.close()


def progress_bar(file=None) -> ProgressCallback:
    """A `tqdm` bar on stderr for a sync's progress: texts embedded, the article, time left."""
    from tqdm import tqdm

    bar: dict[str, tqdm] = {}

    def show(event: SyncProgress) -> None:
        if event.phase is SyncPhase.EMBEDDING and event.texts_total:
            if "bar" not in bar:
                bar["bar"] = tqdm(total=event.texts_total, unit="text", desc="Embedding", file=file, leave=False)
            current = bar["bar"]
            current.update(event.texts_done - current.n)
            current.set_postfix_str(
                f"{event.articles_done}/{event.articles_total} articles"
                + (f", {event.article[:40]}" if event.article else "")
            )
        elif event.phase in (SyncPhase.WRITING, SyncPhase.DONE) and "bar" in bar:
            bar.pop("bar").close()

    return show
