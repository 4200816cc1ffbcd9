"""Load a folder of articles (`.md` with YAML front matter, `.txt`, `.html`, `.pdf`, `.docx`) into `Article`s.

Every file that cannot be used is skipped with a warning naming it and saying why; one bad file never
stops the others. The folder is a boundary (`knowledge/folder.py`), each file has a size limit, and
HTML, PDF and DOCX are parsed in a worker process with a time limit (`knowledge/sandbox.py`). A
missing folder, or one with no readable article, is an `ArticleFolderError`. No network, no OCR.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from knowledge.documents import DocumentError
from knowledge.folder import SUPPORTED_SUFFIXES, Candidate, SkipFile, assign_ids, list_candidates, read_inside, slugify
from knowledge.formats import Extracted, parse_markdown, parse_text
from knowledge.sandbox import ExtractionFailed, ExtractionTimeout, Sandbox
from knowledge.settings import Settings
from knowledge.text import NotText, decode
from knowledge.types import Article, FolderLoad, SkippedFile

log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_MB = Settings.max_file_mb  # the Settings default; the Bot passes its own setting
DEFAULT_TIME_LIMIT_S = 60.0  # per file; a 20 MB PDF or HTML page parses in a few seconds
_SANDBOXED = {".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}
_UNSAFE_TEXT = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0e-\x1f\x7f]")  # lone surrogates, control characters

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ArticleFolderError",
    "ArticleRefused",
    "load_article",
    "load_articles",
    "load_folder",
    "read_article",
    "slugify",
]


class ArticleFolderError(ValueError):
    """The knowledge folder is missing or holds no readable article."""


def load_articles(
    folder: str | Path, max_file_mb: float = DEFAULT_MAX_FILE_MB, time_limit_s: float = DEFAULT_TIME_LIMIT_S
) -> list[Article]:
    """Every readable article under `folder`, sorted by id (each skipped file logged as a warning).

    >>> [a.id for a in load_articles("knowledge/articles")]  # doctest: +SKIP
    ['idsea-launch-2025-07-01']
    """
    loaded = load_folder(folder, max_file_mb, time_limit_s)
    if not loaded.articles:
        raise ArticleFolderError(
            f"No readable articles in {folder}: add files ending in {', '.join(SUPPORTED_SUFFIXES)}"
            + (f" ({len(loaded.skipped)} skipped: see the warnings)" if loaded.skipped else "")
        )
    return loaded.articles


def load_folder(
    folder: str | Path, max_file_mb: float = DEFAULT_MAX_FILE_MB, time_limit_s: float = DEFAULT_TIME_LIMIT_S
) -> FolderLoad:
    """The articles under `folder` and every file skipped, with its reason; an empty folder is no error."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArticleFolderError(
            f"Knowledge folder not found: {folder} (create it and add .md, .txt, .html, .pdf or .docx articles)"
        )
    candidates, passed_over = list_candidates(folder)
    skipped = [_skip(path, reason) for path, reason in passed_over]
    ids, notes = assign_ids([c.relative for c in candidates])
    for note in notes:
        log.warning("Article id collision: %s", note)
    articles = []
    with Sandbox() as sandbox:
        for candidate in candidates:
            try:
                articles.append(_load(candidate, ids[candidate.relative], max_file_mb, time_limit_s, sandbox))
            except SkipFile as why:
                skipped.append(_skip(candidate.path, str(why)))
    return FolderLoad(articles=sorted(articles, key=lambda a: a.id), skipped=skipped)


def load_article(
    path: str | Path,
    article_id: str | None = None,
    max_file_mb: float = DEFAULT_MAX_FILE_MB,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> Article | None:
    """One article from a file, or None (with a warning naming the file) when it cannot be used.

    The file must be a regular file, not a link: its own folder is its boundary.
    """
    try:
        return read_article(path, article_id, max_file_mb, time_limit_s)
    except ArticleRefused as why:
        _skip(Path(path), why.reason)
        return None


class ArticleRefused(ValueError):
    """A file cannot be an article: `reason` says why ("it is an encrypted PDF that needs a password")."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path.name}: {reason}")
        self.path, self.reason = path, reason


def read_article(
    path: str | Path,
    article_id: str | None = None,
    max_file_mb: float = DEFAULT_MAX_FILE_MB,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> Article:
    """One article from a file, or `ArticleRefused` with the reason (what an upload is checked with).

    >>> read_article("locked.pdf")  # doctest: +SKIP
    ArticleRefused: locked.pdf: it is an encrypted PDF that needs a password
    """
    path = Path(path)
    if path.is_symlink():
        raise ArticleRefused(path, "it is a link (only files inside the knowledge folder are read)")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise ArticleRefused(path, f"this kind of file is not read (use {' '.join(SUPPORTED_SUFFIXES)})")
    candidate = Candidate(path=path, real=path.absolute(), relative=path.name, root=path.absolute().parent)
    with Sandbox() as sandbox:
        try:
            return _load(candidate, article_id or slugify(path.stem), max_file_mb, time_limit_s, sandbox)
        except SkipFile as why:
            raise ArticleRefused(path, str(why)) from None


def _load(candidate: Candidate, article_id: str, max_file_mb: float, time_limit_s: float, sandbox) -> Article:
    """One candidate file as an Article; raises `SkipFile` with the reason it cannot be one."""
    max_bytes = int(max_file_mb * 1_000_000)
    raw = read_inside(candidate, max_bytes)
    suffix = candidate.path.suffix.lower()
    try:
        found = _extract(suffix, raw, max_bytes, time_limit_s, sandbox)
    except ExtractionTimeout as exc:
        raise SkipFile(f"reading it took longer than {time_limit_s:g} s") from exc
    except RecursionError as exc:
        raise SkipFile("it is nested too deep to parse") from exc
    except Exception as exc:  # a malformed file must not stop the others loading
        raise SkipFile(_reason(exc)) from exc
    text, title = _clean(found.text), _clean(found.title).strip()
    if not text.strip():
        raise SkipFile("it holds no text")
    metadata = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in found.metadata.items()}
    metadata.setdefault("file", candidate.path.name)
    return Article(
        id=article_id,
        title=title or candidate.path.stem,
        text=text,
        path=candidate.path,
        metadata=metadata,
        format=suffix.lstrip("."),
        page_starts=found.page_starts,
    )


def _extract(suffix: str, raw: bytes, max_bytes: int, time_limit_s: float, sandbox: Sandbox) -> Extracted:
    if suffix in (".pdf", ".docx"):
        return sandbox.run(_SANDBOXED[suffix], raw, max_bytes, time_limit_s)
    source = decode(raw)
    if suffix in _SANDBOXED:  # HTML: decoded here, so every text format decodes the same way
        return sandbox.run(_SANDBOXED[suffix], source.encode("utf-8"), max_bytes, time_limit_s)
    if suffix in (".md", ".markdown"):
        return parse_markdown(source)
    return parse_text(source)


def _clean(text: str) -> str:
    """Text safe to hash, store and show: no lone surrogates or control characters (a PDF can hold them)."""
    return _UNSAFE_TEXT.sub("", text)


def _reason(exc: Exception) -> str:
    if isinstance(exc, (NotText, DocumentError, ExtractionFailed)):
        return str(exc)
    return f"cannot parse it ({exc})"


def _skip(path: Path, reason: str) -> SkippedFile:
    log.warning("Skipping %s: %s", path, reason)
    return SkippedFile(path=path, reason=reason)
